"""The observatory table covers PINT's and resolves every code TEMPO/TEMPO2/PINT use."""

import json

import pytest

from conftest import SHARED
from jugbayes.geometry.sites import resolve_site, sites

PINT_SITES = json.loads((SHARED / "observatories" / "pint-observatories.json").read_text())


@pytest.mark.parametrize("name", sorted(PINT_SITES))
def test_every_pint_site_with_its_position(name):
    entry = PINT_SITES[name]
    site = sites()[resolve_site(name)]
    assert site.name == name.lower()
    assert site.itrf_xyz_m == tuple(entry["itrf_xyz"])


@pytest.mark.parametrize("name", sorted(n for n, e in PINT_SITES.items() if e.get("tempo_code")))
def test_tempo_codes(name):
    assert resolve_site(PINT_SITES[name]["tempo_code"]) == name.lower()


@pytest.mark.parametrize(
    ("code", "site"),
    [("1", "gbt"), ("GB", "gbt"), ("gb", "gbt"), ("GBT", "gbt"), ("3", "arecibo"), ("ao", "arecibo"),
     ("AO", "arecibo"), ("7", "parkes"), ("pks", "parkes"), ("@", "barycenter"), ("bat", "barycenter"),
     ("coe", "geocenter"), ("0", "geocenter"), ("ncy", "nancay"), ("f", "nancay"), ("eff", "effelsberg"),
     ("jb", "jodrell"), ("8", "jodrell"), ("m", "meerkat"), ("chime", "chime"), ("y", "chime")],
)
def test_codes_and_aliases(code, site):
    assert resolve_site(code) == site


def test_unknown_code():
    with pytest.raises(KeyError):
        resolve_site("nowhere")


def test_pseudo_sites_have_no_position():
    assert sites()["barycenter"].pseudo and sites()["barycenter"].itrf_xyz_m is None
    assert sites()["geocenter"].pseudo


def _ends_in_gps(clock_files) -> bool:
    """A chain whose last file goes to GPS, by TEMPO2's header (``# UTC(X) UTC(GPS)``) or its name."""
    if not clock_files:
        return False
    name = clock_files[-1]["name"] if isinstance(clock_files[-1], dict) else clock_files[-1]
    path = SHARED / "clock" / "T2runtime" / "clock" / name
    if path.exists() and path.read_text().startswith("#"):
        return path.read_text().splitlines()[0].split()[-1].upper() == "UTC(GPS)"
    return name.lower().endswith("2gps.clk")


@pytest.mark.parametrize("name", sorted(PINT_SITES))
def test_gps_step_where_the_chain_ends_in_gps_or_pint_applies_it(name):
    entry = PINT_SITES[name]
    raw = entry.get("clock_file") or []
    chain = raw if isinstance(raw, list) else [raw]
    site = sites()[resolve_site(name)]
    expected = _ends_in_gps(chain) or entry.get("apply_gps2utc", True)  # PINT's default is to apply it
    assert site.apply_gps2utc == expected


def test_gps_referenced_sites_without_pint_flags():
    table = sites()
    assert all(table[s].apply_gps2utc for s in ("gmrt", "chime", "nancay", "lofar", "fast", "effelsberg_asterix"))
    assert not table["axis"].apply_gps2utc  # PINT says false
