"""Peer check: PINT reads the files jugbayes writes exactly as it reads the originals.

Run by hand with a Python that has PINT (``pip install pint-pulsar``), from the project root:
``python tools/check_with_pint.py [SHARED_DIR]``.  For every shared ``.par``, jugbayes reads and
rewrites it and PINT's ``get_model`` loads both; every parameter PINT knows must have the same
value, frozen state and uncertainty.  For every shared ``.tim``, jugbayes rewrites it as TEMPO2
format and PINT's TOA-file parser reads both; TOA count, MJD text, observatory and flags must
agree.  PINT is a peer to compare with, never a dependency of jugbayes.
"""

from __future__ import annotations

import glob
import io
import logging
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jugbayes.io import read_par, read_tim, write_par, write_tim  # noqa: E402


def _pint_model(path):
    from pint.models import get_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_model(str(path), allow_name_mixing=True, allow_tcb=True, allow_T2=True)


def _state(model):
    out = {}
    for name in model.params:
        p = getattr(model, name)
        if p.value is None:
            continue
        out[name] = (str(p.value), p.frozen, None if p.uncertainty is None else str(p.uncertainty))
    return out


def check_pars(shared: Path, tmp: Path) -> int:
    bad = 0
    for path in sorted(glob.glob(str(shared / "datasets/*/*.par")) + glob.glob(str(shared / "parfiles/*.par"))):
        name = Path(path).name
        try:
            ref = _state(_pint_model(path))
        except Exception as exc:  # PINT cannot read some shared files at all
            print(f"  skip {name}: PINT cannot read the original ({type(exc).__name__})")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = tmp / name
            write_par(read_par(path), out)
        ours = _state(_pint_model(out))
        diffs = [k for k in ref if ours.get(k) != ref[k]] + [k for k in ours if k not in ref]
        status = "same" if not diffs else f"DIFFER: {diffs[:6]}"
        bad += bool(diffs)
        print(f"  {name:<50} {len(ref):4d} params  {status}")
    return bad


def check_tims(shared: Path, tmp: Path) -> int:
    from pint.toa import read_toa_file

    bad = 0
    files = sorted(glob.glob(str(shared / "datasets/*/*.tim")) + glob.glob(str(shared / "parfiles/*.tim")))
    for path in files + [str(shared / "parfiles/parkes.toa")]:
        name = Path(path).name
        out = tmp / (name + ".out.tim")
        write_tim(read_tim(path), out)
        ref, _ = read_toa_file(path)
        ours, _ = read_toa_file(str(out))
        same_n = len(ref) == len(ours)
        same = same_n and all(
            a.mjd.jd1 == b.mjd.jd1 and a.mjd.jd2 == b.mjd.jd2 and a.obs == b.obs
            and {k: v for k, v in a.flags.items() if k not in ("format", "name")}
            == {k: v for k, v in b.flags.items() if k not in ("format", "name")}
            for a, b in zip(ref, ours)
        ) if same_n else False
        bad += not same
        print(f"  {name:<50} {len(ref):5d} TOAs  {'same' if same else 'DIFFER'}")
    return bad


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    logging.disable(logging.WARNING)
    try:
        from loguru import logger

        logger.remove()
        logger.add(io.StringIO())
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as t:
        print("PINT get_model on original vs jugbayes-written .par:")
        bad = check_pars(shared, Path(t))
        print("PINT read_toa_file on original vs jugbayes-written .tim:")
        bad += check_tims(shared, Path(t))
    print("all agree" if not bad else f"{bad} file(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
