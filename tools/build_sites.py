"""Regenerate ``jugbayes/geometry/sites.json`` from the observatory tables in ``../shared``.

Run from the project root: ``python tools/build_sites.py [SHARED_DIR]``.  The facts
(ITRF positions, TEMPO codes, ITOA codes, aliases, clock files) come from PINT's
observatory list; TEMPO2's ``observatories.dat`` contributes its short codes as
extra aliases (and sites PINT lacks).  The output is our own table, committed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _clock_files(entry: dict) -> list[dict]:
    raw = entry.get("clock_file")
    if not raw:
        return []
    raw = raw if isinstance(raw, list) else [raw]
    out = []
    for item in raw:
        if isinstance(item, str):
            item = {"name": item}
        out.append({"name": item["name"], "valid_beyond_ends": bool(item.get("valid_beyond_ends", False))})
    return out


def _applies_gps2utc(entry: dict, clocks: list[dict]) -> bool:
    """Whether the site's TOAs go on through GPS -> UTC after its own clock files.

    PINT's table decides where it says so; where it is silent PINT applies the GPS step (its
    default), and a chain ending in a ``*2gps.clk`` file (a clock referenced to GPS, as TEMPO2
    chains them) always gets it.
    """
    ends_in_gps = bool(clocks) and clocks[-1]["name"].lower().endswith("2gps.clk")
    return ends_in_gps or bool(entry.get("apply_gps2utc", True))


# TEMPO2 lists these as fake positions; they are our pseudo-sites below.
_PSEUDO_T2_CODES = {"coe", "stl_bat"}
PSEUDO_SITES = {
    "barycenter": {"fullname": "Solar-system barycentre", "aliases": ["@", "ssb", "bary", "bat", "barycentre"],
                   "tempo2_code": "@"},
    "geocenter": {"fullname": "Geocentre", "aliases": ["coe", "0", "o", "geo", "geocentre"], "tempo2_code": "coe"},
}


def _tempo2_sites(path: Path) -> list[tuple[str, str, list[float]]]:
    sites = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        x, y, z = (float(v) for v in parts[:3])
        if parts[4].lower() in _PSEUDO_T2_CODES:
            continue
        sites.append((parts[3].lower(), parts[4].lower(), [x, y, z]))
    return sites


def build(shared: Path) -> dict:
    pint = json.loads((shared / "observatories" / "pint-observatories.json").read_text())
    sites: dict[str, dict] = {}
    for name, entry in pint.items():
        clocks = _clock_files(entry)
        sites[name.lower()] = {
            "fullname": entry.get("fullname", name),
            "tempo_code": entry.get("tempo_code"),
            "itoa_code": entry.get("itoa_code"),
            "aliases": [a.lower() for a in entry.get("aliases", [])],
            "itrf_xyz_m": entry["itrf_xyz"],
            "clock_files": clocks,
            "clock_format": entry.get("clock_fmt", "tempo" if clocks else None),
            "apply_gps2utc": _applies_gps2utc(entry, clocks),
            "bogus_last_correction": bool(entry.get("bogus_last_correction", False)),
        }
    for name, extra in PSEUDO_SITES.items():
        sites[name] = {
            "fullname": extra["fullname"], "tempo_code": None, "itoa_code": None, "aliases": extra["aliases"],
            "itrf_xyz_m": None, "clock_files": [], "clock_format": None, "apply_gps2utc": False,
            "bogus_last_correction": False,
            "pseudo": True, "tempo2_code": extra["tempo2_code"],
        }
    taken = set()
    for name, s in sites.items():
        taken |= {name, *(s["aliases"])}
        taken |= {c.lower() for c in (s["tempo_code"], s["itoa_code"]) if c}
    for t2name, code, xyz in _tempo2_sites(shared / "observatories" / "observatories.dat"):
        near = [n for n, s in sites.items() if s["itrf_xyz_m"] and math.dist(s["itrf_xyz_m"], xyz) < 50.0]
        if near and not sites[near[0]].get("tempo2_code"):
            sites[near[0]]["tempo2_code"] = code
        for label in (code, t2name):
            if label in taken:
                continue
            if near:
                sites[near[0]]["aliases"].append(label)
            else:
                sites[label] = {
                    "fullname": t2name.upper(), "tempo_code": None, "itoa_code": None, "aliases": [],
                    "itrf_xyz_m": xyz, "clock_files": [], "clock_format": None, "apply_gps2utc": False,
                    "tempo2_code": code,
                }
                near = [label]
            taken.add(label)
    return {
        "_source": "PINT observatories.json and TEMPO2 observatories.dat (facts: ITRF positions, codes, clock files)",
        "sites": sites,
    }


if __name__ == "__main__":
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    out = ROOT / "jugbayes" / "geometry" / "sites.json"
    out.write_text(json.dumps(build(shared), indent=1) + "\n")
    print(f"wrote {out}")
