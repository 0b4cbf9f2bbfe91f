"""The prepared-TOA table (``jugbayes toas``): one CSV row per TOA in .tim order."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from jugbayes.io.output import atomic_write_text
from jugbayes.io.textfile import refuse_overwrite
from jugbayes.prepare import PreparedTOAs

COLUMNS = (
    "index", "mjd_utc", "obs", "freq_mhz", "error_us", "clock_corr_s", "tt_mjd", "tdb_mjd",
    "ssb_obs_pos_x_ls", "ssb_obs_pos_y_ls", "ssb_obs_pos_z_ls",
    "ssb_obs_vel_x_c", "ssb_obs_vel_y_c", "ssb_obs_vel_z_c",
    "obs_sun_pos_x_ls", "obs_sun_pos_y_ls", "obs_sun_pos_z_ls",
)


def _g(x: float) -> str:
    return repr(float(x))  # shortest string that reads back to the same float64


def toa_rows(prep: PreparedTOAs) -> list[list[str]]:
    """Table rows as strings: MJDs at full precision (16 decimals), floats round-trip exactly."""
    toas = prep.toas
    tt, tdb = prep.tt.to_strings(), prep.tdb.to_strings()
    clock = prep.clock.total_s
    vectors = np.hstack([prep.ssb_obs_pos_ls, prep.ssb_obs_vel_c, prep.obs_sun_pos_ls])
    rows = []
    for i in range(len(toas)):
        rows.append([str(i), toas.mjd_text[i], toas.obs[i], _g(toas.freq_mhz[i]), _g(toas.error_us[i]),
                     _g(clock[i]), tt[i], tdb[i], *(_g(v) for v in vectors[i])])
    return rows


def format_toa_table(prep: PreparedTOAs) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(toa_rows(prep))
    return out.getvalue()


def write_toa_table(prep: PreparedTOAs, path: str | os.PathLike, protect: tuple = ()) -> None:
    """Write the table to ``path``, refusing to overwrite the .tim files (or ``protect``) it came from."""
    atomic_write_text(refuse_overwrite(path, (*prep.toas.files, *protect)), format_toa_table(prep))
