"""Study configuration: a TOML file naming the truth .par, the TOA layout, N, methods and parameters.

Example (paths are relative to the TOML file)::

    [study]
    par = "../models/isolated_msp/isolated_msp.par"   # the truth (or the prior's centre, for SBC)
    n_datasets = 200
    methods = ["wls"]            # "wls" and/or "nuts"
    params = ["F0", "F1"]        # fitted and reported; default: the .par's free parameters
    seed = 1

    [layout]                     # as `jugbayes simulate`: start/end/ntoa/... or template = "x.tim"
    start = 55000
    end = 58650
    ntoa = 300
    cadence_days = 30
    obs = ["coe"]
    freqs = [820, 1400]
    error_us = 0.5

    [sbc]                        # simulation-based calibration (Talts et al. 2018)
    enabled = true
    prior_width = 3.0            # prior sd = prior_width x the expected (WLS) sigma
    draws = 99                   # posterior draws the truth is ranked among
    bins = 10

    [nuts]
    chains = 2
    warmup = 300
    samples = 500
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from pathlib import Path

from jugbayes.errors import InputError

METHODS = ("wls", "nuts")
RESULT_VERSION = 2  # 2: under SBC, NUTS samples with the SBC prior (1: flat prior, draws importance-resampled)
_SECTIONS = {"study": {"par", "n_datasets", "methods", "params", "seed"},
             "layout": {"start", "end", "ntoa", "cadence_days", "obs", "freqs", "error_us", "template"},
             "sbc": {"enabled", "prior_width", "draws", "bins"},
             "nuts": {"chains", "warmup", "samples"}}


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """One validation study; ``par`` and ``template`` are absolute paths."""

    par: str
    n_datasets: int
    methods: tuple[str, ...] = ("wls",)
    params: tuple[str, ...] = ()
    seed: int = 1
    layout: dict = dataclasses.field(default_factory=dict)
    sbc: bool = False
    prior_width: float = 3.0
    sbc_draws: int = 99
    sbc_bins: int = 10
    nuts_chains: int = 2
    nuts_warmup: int = 300
    nuts_samples: int = 500

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Hash of everything that changes a data set's result (not N: a study can be extended), and of
        :data:`RESULT_VERSION`, so that an outdir from an older way of computing them is not resumed."""
        d = self.to_dict()
        d.pop("n_datasets")
        d["result_version"] = RESULT_VERSION
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _need(cond: bool, path: Path, problem: str) -> None:
    if not cond:
        raise InputError(path, None, problem)


def load_config(path: str | Path, **overrides) -> StudyConfig:
    """Read and check a study TOML; ``overrides`` (e.g. ``n_datasets``, ``methods``) replace its values."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, None, f"not valid TOML: {exc}") from None
    for section, keys in raw.items():
        _need(section in _SECTIONS, path, f"unknown section [{section}] (known: {', '.join(_SECTIONS)})")
        _need(isinstance(keys, dict), path, f"[{section}] must be a table")
        unknown = sorted(set(keys) - _SECTIONS[section])
        _need(not unknown, path, f"[{section}]: unknown key(s) {', '.join(unknown)}")
    study, layout, sbc, nuts = (raw.get(k, {}) for k in ("study", "layout", "sbc", "nuts"))
    _need("par" in study, path, "[study] needs par = \"truth.par\"")
    par = (path.parent / study["par"]).resolve()
    _need(par.is_file(), path, f"[study] par: no such file {par}")
    layout = dict(layout)
    if "template" in layout:
        layout["template"] = str((path.parent / layout["template"]).resolve())
        _need(Path(layout["template"]).is_file(), path, f"[layout] template: no such file {layout['template']}")
        _need(set(layout) == {"template"}, path, "[layout]: give template or start/end/ntoa options, not both")
    else:
        missing = [k for k in ("start", "end", "ntoa") if k not in layout]
        _need(not missing, path, f"[layout] needs {', '.join(missing)} (or template = \"x.tim\")")
    cfg = dict(par=str(par), n_datasets=study.get("n_datasets", 0), methods=tuple(study.get("methods", ["wls"])),
               params=tuple(study.get("params", ())), seed=study.get("seed", 1), layout=layout,
               sbc=bool(sbc.get("enabled", False)), prior_width=float(sbc.get("prior_width", 3.0)),
               sbc_draws=int(sbc.get("draws", 99)), sbc_bins=int(sbc.get("bins", 10)),
               nuts_chains=int(nuts.get("chains", 2)), nuts_warmup=int(nuts.get("warmup", 300)),
               nuts_samples=int(nuts.get("samples", 500)))
    cfg.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items() if v is not None})
    _need(isinstance(cfg["n_datasets"], int) and cfg["n_datasets"] >= 2, path, "[study] n_datasets must be >= 2")
    bad = [m for m in cfg["methods"] if m not in METHODS]
    _need(cfg["methods"] and not bad, path, f"[study] methods: {', '.join(bad) or 'none'} (choose from wls, nuts)")
    _need(cfg["prior_width"] > 0, path, "[sbc] prior_width must be positive")
    _need(cfg["sbc_draws"] >= 9 and cfg["sbc_bins"] >= 2 and (cfg["sbc_draws"] + 1) % cfg["sbc_bins"] == 0, path,
          "[sbc] draws + 1 must be a multiple of bins (e.g. draws = 99, bins = 10)")
    return StudyConfig(**cfg)
