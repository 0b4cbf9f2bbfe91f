"""Solar-system ephemerides: JPL SPK kernels through ``jplephem``.

Where a kernel comes from, in order (the first that exists wins):

1. ``--ephem-file FILE`` (any SPK ``.bsp``);
2. ``$JUGBAYES_EPHEM_DIR/<name>.bsp`` (name lower case, e.g. ``de421.bsp``);
3. the download cache (``$JUGBAYES_CACHE_DIR/ephem``, else ``~/.cache/jugbayes/ephem``),
   filled by ``jugbayes ephem download NAME`` from JPL's NAIF server;
4. an installed PyPI package of that name (``de405``, ``de421``, ...), read offline.

Positions are in km and velocities in km/s, ICRF axes, relative to the
solar-system barycentre, at TDB times given as split MJDs.
"""

from __future__ import annotations

import atexit
import http.client
import os
import re
import shutil
import tempfile
import urllib.request
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.timescales.mjd import SECONDS_PER_DAY, SplitMJD

NAIF_URL = "https://naif.jpl.nasa.gov/pub/naif/generic_kernels/spk/planets/"
BODIES = ("sun", "earth", "moon", "mercury", "venus", "mars", "jupiter", "saturn", "uranus", "neptune", "pluto")
# SPK chains from the barycentre (0) to each body: planets by their system barycentres (1-9),
# as PINT does; Earth and Moon through the Earth-Moon barycentre (3).
_SPK_CHAINS = {
    "sun": ((0, 10),), "earth": ((0, 3), (3, 399)), "moon": ((0, 3), (3, 301)),
    "mercury": ((0, 1),), "venus": ((0, 2),), "mars": ((0, 4),), "jupiter": ((0, 5),),
    "saturn": ((0, 6),), "uranus": ((0, 7),), "neptune": ((0, 8),), "pluto": ((0, 9),),
}
_PACKAGE_NAMES = {"mars": "mars", "jupiter": "jupiter", "saturn": "saturn", "uranus": "uranus",
                  "neptune": "neptune", "pluto": "pluto", "mercury": "mercury", "venus": "venus", "sun": "sun"}
_NAME_RE = re.compile(r"^de\d{3}[a-z0-9_]*$")


class EphemerisError(JugbayesError):
    """An ephemeris that cannot be found, read, or does not cover the times asked for."""


class SPKEphemeris:
    """A JPL SPK kernel (``.bsp``) read with ``jplephem``."""

    def __init__(self, path: str | os.PathLike, name: str | None = None):
        from jplephem.spk import SPK

        self.path = Path(path)
        self.name = name or self.path.stem.lower()
        try:
            self._kernel = SPK.open(os.fspath(self.path))
        except Exception as exc:  # jplephem raises assorted errors on non-SPK files
            raise EphemerisError(f"{self.path}: not a readable JPL SPK kernel ({exc})") from None
        # jplephem reads segment data lazily: check now that every segment lies inside the file.
        needed = max((seg.end_i for seg in self._kernel.segments), default=0) * 8
        if needed > self.path.stat().st_size:
            self._kernel.close()
            raise EphemerisError(f"{self.path}: truncated JPL SPK kernel ({self.path.stat().st_size} bytes, "
                                 f"its segments need {needed})")
        self._pairs = {(s.center, s.target): s for s in self._kernel.segments}

    def close(self) -> None:
        self._kernel.close()

    def posvel_km(self, body: str, tdb: SplitMJD) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s) of ``body`` relative to the SSB; shapes (n, 3)."""
        jd1, jd2 = tdb.jd_pair()
        pos = np.zeros((3, len(tdb)))
        vel = np.zeros((3, len(tdb)))
        for pair in _SPK_CHAINS[body]:
            if pair not in self._pairs:
                raise EphemerisError(f"{self.path}: no segment {pair[0]} -> {pair[1]} (needed for {body})")
            try:
                p, v = self._pairs[pair].compute_and_differentiate(jd1, jd2)
            except Exception as exc:  # jplephem: ValueError for dates outside the segment, others for bad data
                raise EphemerisError(f"{self.path}: {exc}") from None
            pos += p
            vel += v
        return pos.T, vel.T / SECONDS_PER_DAY


class PackageEphemeris:
    """An ephemeris installed as a PyPI package (``de405``, ``de421``...), read with ``jplephem.ephem``."""

    def __init__(self, module):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from jplephem.ephem import Ephemeris
        self.name = module.__name__.lower()
        self.path = Path(module.__file__).parent
        self._eph = Ephemeris(module)

    def _posvel(self, series: str, jd1, jd2) -> tuple[np.ndarray, np.ndarray]:
        try:
            p, v = self._eph.position_and_velocity(series, jd1, jd2)
        except Exception as exc:  # jplephem's DateError
            raise EphemerisError(f"ephemeris package {self.name}: {exc}") from None
        return np.asarray(p), np.asarray(v)

    def posvel_km(self, body: str, tdb: SplitMJD) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s) of ``body`` relative to the SSB; shapes (n, 3)."""
        jd1, jd2 = tdb.jd_pair()
        if body in ("earth", "moon"):
            emb_p, emb_v = self._posvel("earthmoon", jd1, jd2)
            moon_p, moon_v = self._posvel("moon", jd1, jd2)  # geocentric Moon
            share = self._eph.earth_share if body == "earth" else -self._eph.moon_share
            pos, vel = emb_p - share * moon_p, emb_v - share * moon_v
        else:
            pos, vel = self._posvel(_PACKAGE_NAMES[body], jd1, jd2)
        return pos.T, vel.T / SECONDS_PER_DAY


def ephem_cache_dir() -> Path:
    """Where ``jugbayes ephem download`` puts kernels."""
    from jugbayes.config import cache_root

    return cache_root() / "ephem"


def _normalise(name: str) -> str:
    name = name.strip().lower()
    if not _NAME_RE.match(name):
        raise EphemerisError(f"EPHEM {name!r} is not a JPL development ephemeris name such as DE421 or DE440")
    return name


def candidates(name: str) -> list[tuple[str, Path]]:
    """Labelled places a kernel called ``name`` is looked for (files only; the PyPI package comes last)."""
    name = _normalise(name)
    out = []
    if os.environ.get("JUGBAYES_EPHEM_DIR"):
        out.append(("$JUGBAYES_EPHEM_DIR", Path(os.environ["JUGBAYES_EPHEM_DIR"]) / f"{name}.bsp"))
    out.append(("download cache", ephem_cache_dir() / f"{name}.bsp"))
    return out


@lru_cache(maxsize=8)
def _open_spk(path: str, name: str) -> SPKEphemeris:
    kernel = SPKEphemeris(path, name)
    atexit.register(kernel.close)
    return kernel


def load_ephemeris(name: str, ephem_file: str | os.PathLike | None = None):
    """The ephemeris ``name`` (a .par's ``EPHEM``), from the first source that has it."""
    if ephem_file is not None:
        path = Path(ephem_file)
        if not path.is_file():
            raise EphemerisError(f"--ephem-file {path}: no such file")
        return _open_spk(os.fspath(path.resolve()), path.stem.lower())
    tried = []
    for label, path in candidates(name):
        if path.is_file():
            return _open_spk(os.fspath(path.resolve()), _normalise(name))
        tried.append(f"{label} {path}")
    try:
        module = __import__(_normalise(name))
        return PackageEphemeris(module)
    except ImportError:
        tried.append(f"PyPI package {_normalise(name)} (not installed)")
    raise EphemerisError(f"ephemeris {name.upper()} not found: looked in " + ", ".join(tried)
                         + f"; give --ephem-file, or run `jugbayes ephem download {name.upper()}`")


def download_ephemeris(name: str, url: str = NAIF_URL, dest: Path | None = None, timeout_s: float = 60.0) -> Path:
    """Fetch ``<name>.bsp`` from ``url`` into the cache (atomically) and return its path."""
    name = _normalise(name)
    dest = Path(dest) if dest is not None else ephem_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    source = url.rstrip("/") + f"/{name}.bsp"
    target = dest / f"{name}.bsp"
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(source, timeout=timeout_s) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
            expected = response.headers.get("Content-Length")
            if expected is not None and out.tell() != int(expected):
                raise EphemerisError(f"could not download {source}: got {out.tell()} of {expected} bytes")
        SPKEphemeris(tmp, name).close()  # refuse to install something jplephem cannot read
        os.replace(tmp, target)
    except EphemerisError:
        os.unlink(tmp)
        raise
    except (OSError, http.client.HTTPException) as exc:
        os.unlink(tmp)
        raise EphemerisError(f"could not download {source}: {exc}") from None
    return target
