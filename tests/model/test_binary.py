"""Binary delays (ELL1/ELL1H, DD/DDH/DDS/DDK/DDGR, BT) against PINT, per TOA, and their JAX behaviour (jit,
derivatives)."""

from __future__ import annotations

import csv
import glob
import math
from decimal import Decimal
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import DATASETS, PINT_DATASETS

from jugbayes.config import enable_x64
from jugbayes.constants import T_SUN_S
from jugbayes.errors import InputError
from jugbayes.io.par import parse_par_lines
from jugbayes.model import astrometry
from jugbayes.model.binary import (
    binary_for_par,
    bt_delay_s,
    dd,
    dd_delay_s,
    ddgr,
    ddgr_delay_s,
    ddk,
    ddk_delay_s,
    ddk_geometry,
    ell1,
    ell1_delay_s,
    orbit,
)

enable_x64()

NS = 1e-9


# ------------------------------------------------------------------ helpers


def _pint_binary_columns(name: str):
    """(accumulated delay before the binary, PINT's binary delay, column name) per TOA in .tim order."""
    folder = (DATASETS / PINT_DATASETS[name][0]).parent
    stem = PINT_DATASETS[name][0].split("/")[-1].removesuffix(".par")
    (path,) = glob.glob(str(folder / f"{stem}*.pint_residuals.csv"))
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames
        rows = sorted(reader, key=lambda r: int(r["index"]))
    delays = [c for c in columns if c.startswith("delay_")]
    (binary,) = [c for c in delays if c.startswith("delay_Binary")]
    before = delays[: delays.index(binary)]
    acc = np.array([math.fsum(float(r[c]) for c in before) for r in rows])
    return acc, np.array([float(r[binary]) for r in rows]), binary


def _split_epoch(par, name: str) -> tuple[int, float]:
    """The epoch as (integer MJD, float64 fraction), exactly from the .par text."""
    exact: Decimal = par[name].as_decimal()
    day = int(exact // 1)
    return day, float(exact - day)


def _geometry(par, prep):
    """DDK's geometry from the .par's astrometry (as the residual function builds it, at the .par values)."""
    astro = astrometry.astrometry_from_par(par)
    pm = ("PMRA", "PMDEC") if astro.frame == "icrs" else ("PMELONG", "PMELAT")
    value = lambda n: par[n].as_float() if par.get(n) is not None else 0.0  # noqa: E731
    return ddk_geometry(prep.ssb_obs_pos_ls, astro.direction(prep.tdb.as_float()), value("PX"), value(pm[0]),
                        value(pm[1]), astro.obliquity_rad if astro.frame == "ecliptic" else None)


def _dataset(prepared, name: str):
    """(model, dt, PINT's delay, PINT's column, delay(dt, values)): DDK's geometry already bound."""
    par, prep = prepared(name)
    model = binary_for_par(par)
    acc, ref, column = _pint_binary_columns(name)
    day, frac = _split_epoch(par, model.epoch)
    dt = (prep.tdb.day - day) * 86400.0 + (prep.tdb.frac - frac) * 86400.0 - acc
    delay = partial(model.delay_s, geometry=_geometry(par, prep)) if model.name == "DDK" else model.delay_s
    return model, jnp.asarray(dt), ref, column, delay


def _par(text: str, path="test.par"):
    return parse_par_lines(text.strip().splitlines(), path, warn=False)


# ------------------------------------------------------------------ against PINT's per-TOA delays

CASES = [("J0613-0200_dfg12", "ELL1"), ("B1855+09_dfg12", "DD"), ("B1855+09_9yv1", "DD"), ("J1713+0747", "DDK")]


@pytest.mark.parametrize("name,binary", CASES)
def test_binary_delay_matches_pint_per_toa(prepared, name, binary):
    model, dt, ref, column, delay = _dataset(prepared, name)
    assert model.name == binary and column == f"delay_Binary{binary}"
    ours = np.asarray(delay(dt, model.values))
    diff = np.abs(ours - ref)
    assert len(ours) == len(ref) and np.all(np.isfinite(ours))
    assert diff.max() < 1 * NS, f"{name}: max |ours - PINT| = {diff.max() / NS:.4g} ns over {len(ref)} TOAs"


@pytest.mark.parametrize("name,binary", CASES)
def test_jit_gives_the_same_delays(prepared, name, binary):
    model, dt, _, _, delay = _dataset(prepared, name)
    eager = np.asarray(delay(dt, model.values))
    jitted = np.asarray(jax.jit(delay)(dt, model.values))
    # XLA may round the orbital phase differently by an ulp (~1e-12 rad at ~1e4 orbits).
    diff = np.abs(eager - jitted).max()
    assert diff < 1e-11, f"{name}: max |jit - eager| = {diff:.3g} s"


# ------------------------------------------------------------------ derivatives

FD_STEPS = {  # central-difference steps in the units of v
    "A1": 1e-6,
    "PB": 1e-3,
    "EPS1": 1e-8,
    "EPS2": 1e-8,
    "ECC": 1e-8,
    "OM": 1e-6,
}


def _check_jacobian(delay, dt, values, names, rtol=1e-5, steps=None):
    steps = FD_STEPS | (steps or {})
    jac = jax.jacfwd(delay, argnums=1)(dt, values)
    for key, col in jac.items():
        assert np.all(np.isfinite(np.asarray(col))), f"d delay / d {key} is not finite"
    for key in names:
        h = steps[key]
        up = dict(values, **{key: values[key] + h})
        down = dict(values, **{key: values[key] - h})
        fd = (np.asarray(delay(dt, up)) - np.asarray(delay(dt, down))) / (2 * h)
        ad = np.asarray(jac[key])
        err = np.abs(ad - fd).max()
        scale = np.abs(fd).max()
        assert err <= rtol * scale, f"d delay / d {key}: max |jacfwd - FD| = {err:.3g}, max |FD| = {scale:.3g}"


def test_ell1_jacobian_matches_finite_differences(prepared):
    model, dt, _, _, _ = _dataset(prepared, "J0613-0200_dfg12")
    _check_jacobian(ell1_delay_s, dt, model.values, ["A1", "PB", "EPS1", "EPS2"])


@pytest.mark.parametrize("name", ["B1855+09_dfg12", "B1855+09_9yv1"])
def test_dd_jacobian_matches_finite_differences(prepared, name):
    model, dt, _, _, _ = _dataset(prepared, name)
    _check_jacobian(dd_delay_s, dt, model.values, ["A1", "PB", "ECC", "OM"])


def test_ddk_jacobian_matches_finite_differences(prepared):
    """J1713+0747: KIN and KOM enter only through Shapiro (M2 ~ 1.4 us) and the Kopeikin terms (~3 us),
    so their steps are larger (the delay itself, up to 32 s, rounds at ~1e-14 s)."""
    model, dt, _, _, delay = _dataset(prepared, "J1713+0747")
    _check_jacobian(delay, dt, model.values, ["KIN", "KOM", "A1", "PB"], steps={"KIN": 5e-4, "KOM": 3e-3})


def test_ddk_jacobian_in_the_geometry_is_finite(prepared):
    """The geometry (parallax, proper motion, observatory projections) is differentiable too."""
    par, prep = prepared("J1713+0747")
    model, dt, _, _, _ = _dataset(prepared, "J1713+0747")
    jac = jax.jacfwd(ddk_delay_s, argnums=2)(dt, model.values, _geometry(par, prep))
    for key, col in jac.items():
        assert np.all(np.isfinite(np.asarray(col))), f"d delay / d {key} is not finite"
    assert np.abs(np.asarray(jac["px_rad"])).max() > 0 and np.abs(np.asarray(jac["pm_lon_rad_s"])).max() > 0


def test_dd_jacobian_at_high_eccentricity():
    """Through Kepler's equation at e = 0.6 (derivative from the implicit-function step)."""
    v = dd.values_from_par(_par(PINT_SYNTHETIC_PARS["dd_a"]))
    dt = jnp.linspace(-1e7, 4e8, 2001)
    # PB = 0.32 d: 1.4e4 orbits, so a smaller PB step keeps the FD truncation error below 1e-5.
    _check_jacobian(dd_delay_s, dt, v, ["A1", "PB", "ECC", "OM"], steps={"PB": 1e-5})


def test_ddgr_jacobian_through_the_masses_matches_finite_differences():
    """MTOT and M2 reach the delay through every post-Keplerian term (SINI, GAMMA, PBDOT, k, DR, DTH).

    B1913+16-like orbit (SINI 0.73: far from the Shapiro spike of SINI ~ 1, where finite differences
    fail) with every time-dependent term switched on; ~1200 orbits, so rounding of the orbital phase and
    of omega (which the masses and ECC move through PBDOT and k) stays ~1e-12 s: steps that keep it < 1e-6."""
    v, delay = _synthetic("ddgr_c")
    v = dict(v, EDOT=jnp.float64(1e-15), A1DOT=jnp.float64(-2e-14), XOMDOT=jnp.float64(1e-10),
             XPBDOT=jnp.float64(3e-13))
    dt = jnp.linspace(-2e7, 2e7, 1001)
    _check_jacobian(delay, dt, v, ["MTOT", "M2", "A1", "ECC", "OM", "PB", "XOMDOT"],
                    steps={"MTOT": 1e-3, "M2": 1e-3, "PB": 1e-4, "ECC": 1e-6, "XOMDOT": 1e-12})


def test_ddgr_post_keplerian_values_match_the_hulse_taylor_pulsar():
    """B1913+16 (Weisberg & Huang 2016): masses 1.438 and 1.390 Msun (rounded to 0.001) predict the measured
    OMDOT 4.226585 deg/yr and GAMMA 4.307 ms, and GR's PBDOT -2.40263e-12, to the masses' rounding (< 5e-4)."""
    pb_s = 0.322997448918 * 86400
    pk = ddgr.pk_parameters({"PB": pb_s, "MTOT": 1.438 + 1.390, "M2": 1.390}, 0.6171340, 2.341776)
    omdot_deg_yr = float(pk["K"]) * (2 * math.pi / pb_s) * math.degrees(1) * 365.25 * 86400
    assert omdot_deg_yr == pytest.approx(4.226585, rel=5e-4)
    assert float(pk["GAMMA"]) == pytest.approx(0.004307, rel=5e-4)
    assert float(pk["PBDOT"]) == pytest.approx(-2.40263e-12, rel=5e-4)
    assert 0.0 < float(pk["SINI"]) < 1.0 and 0.0 < float(pk["DR"]) < float(pk["DTH"]) < 1e-4


@pytest.mark.parametrize("name", ["ell1h_h3", "ell1h_h4", "ell1h_stig", "ddh", "ell1_fb", "dd_fb", "bt_a", "bt_fb",
                                  "dds_a"])
def test_other_parameterisations_have_finite_jacobians(name):
    v, delay = _synthetic(name)
    dt = jnp.linspace(-3e7, 4e8, 501)
    jac = jax.jacfwd(delay, argnums=1)(dt, v)
    for key, col in jac.items():
        assert np.all(np.isfinite(np.asarray(col))), f"{name}: d delay / d {key} is not finite"


# ------------------------------------------------------------------ synthetic models against PINT
#
# Code paths the shared data sets do not exercise (FB0..FBn, ELL1H, DDH, EDOT, OMDOT, GAMMA, A0/B0,
# DR/DTH, A1DOT, PBDOT and EPS1DOT in TEMPO's 1e-12 units, DD with ECC = 0, BT, DDS): PINT 1.1.8's delay
# (``binarymodel_delay`` with barycentric TOAs, no earlier delays) at four times each.  The BT and DDS
# values were computed with PINT 1.1.8 for this test (TOAs at "@", MJD 53000.123456, 54561.98765,
# 56283.5 and 57999.25, the accumulated delay set to zero, so dt = TDB - T0); the dt are rounded to
# float64, which moves the delay by up to ~4e-11 s for the fast orbits (dt ~ 4e8 s, v/c ~ 5e-4).
# The DDGR values too (PINT 1.1.8's ``DDGRmodel``, same four TOAs at "@"): a 0737A-like orbit with EDOT,
# A1DOT, XOMDOT, XPBDOT (in 1e-12 units) and A0/B0; a B1855+09-like near-circular one; a B1913+16-like one.

_ELL1_ORBIT = "PB 1.1985125565750837634\nA1 1.0914442883943099366\nTASC 53315.26938004487133\nEPS1 2.2e-5\nEPS2 1.0e-5\n"
PINT_SYNTHETIC_PARS = {
    "ell1_a": """BINARY ELL1\nPB 1.1985125565750837634\nPBDOT 50\nA1 1.0914442883943099366\nA1DOT 1.5
TASC 53315.26938004487133\nEPS1 1.2e-3\nEPS2 -0.7e-3\nEPS1DOT 3\nEPS2DOT -2\nM2 0.3\nSINI 0.95""",
    "ell1_fb": """BINARY ELL1\nFB0 9.6572e-06\nFB1 -2.1e-19\nFB2 3.0e-28\nA1 3.5\nTASC 53315.26938004487133
EPS1 2.2e-5\nEPS2 1.0e-5\nM2 0.2\nSINI 0.8""",
    "ell1h_h3": "BINARY ELL1H\n" + _ELL1_ORBIT + "H3 2.7e-7",
    "ell1h_h4": "BINARY ELL1H\n" + _ELL1_ORBIT + "H3 2.7e-7\nH4 1.9e-7",
    "ell1h_h4n": "BINARY ELL1H\n" + _ELL1_ORBIT + "H3 2.7e-7\nH4 2.2e-7\nNHARMS 12",
    "ell1h_stig": "BINARY ELL1H\n" + _ELL1_ORBIT + "H3 2.7e-7\nSTIGMA 0.83",
    "dd_a": """BINARY DD\nPB 0.3229974484\nPBDOT -2.4\nA1 2.3417725\nA1DOT -0.02\nT0 53155.9074280\nECC 0.6171334
EDOT 2e-15\nOM 292.54450\nOMDOT 4.226585\nGAMMA 0.004295\nM2 1.39\nSINI 0.73\nA0 1e-6\nB0 2e-6\nDR 1e-3\nDTH 2e-3""",
    "dd_fb": """BINARY DD\nFB0 3.58e-5\nFB1 -1.1e-18\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 0.3
OM 110.5\nOMDOT 0.5\nM2 0.26\nSINI 0.997""",
    "ddh": """BINARY DDH\nPB 12.327171194774200418\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 2.17e-5
OM 276.55\nH3 3.4e-6\nSTIGMA 0.93""",
    "bt_a": """BINARY BT\nPB 0.3229974484\nPBDOT -2.4\nA1 2.3417725\nA1DOT -0.02\nT0 53155.9074280\nECC 0.6171334
EDOT 2e-15\nOM 292.54450\nOMDOT 4.226585\nGAMMA 0.004295""",
    "bt_fb": """BINARY BT\nFB0 3.58e-5\nFB1 -1.1e-18\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 0.3\nOM 110.5
OMDOT 0.5""",
    "bt_e0": """BINARY BT\nPB 79.517379\nA1 9.332791\nT0 54696.879781933\nECC 0\nOM 49.8""",
    "dds_a": """BINARY DDS\nPB 0.3229974484\nPBDOT -2.4\nA1 2.3417725\nT0 53155.9074280\nECC 0.6171334
OM 292.54450\nOMDOT 4.226585\nGAMMA 0.004295\nM2 1.39\nSHAPMAX 4.5""",
    "dds_b": """BINARY DDS\nPB 12.327171194774200418\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 2.17e-5
OM 276.55\nM2 0.26\nSHAPMAX 9.2""",
    "dd_e0": """BINARY DD\nPB 12.327171194774200418\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 0
OM 276.55\nM2 0.2\nSINI 0.9""",
    "ddgr_a": """BINARY DDGR\nPB 0.102251562477\nXPBDOT -0.5\nA1 1.415031643\nA1DOT -0.02\nT0 53155.907428029
ECC 0.0877771091\nEDOT 2e-15\nOM 87.033202584512\nXOMDOT 0.01\nMTOT 2.58708\nM2 1.2489\nA0 1e-6\nB0 2e-6""",
    "ddgr_b": """BINARY DDGR\nPB 12.327171194774200418\nA1 9.2307804312998001928\nT0 53155.9074280\nECC 2.17e-5
OM 276.55\nMTOT 1.7828\nM2 0.2611""",
    "ddgr_c": """BINARY DDGR\nPB 0.3229974484\nA1 2.3417725\nT0 53155.9074280\nECC 0.6171334\nOM 292.54450
MTOT 2.8284\nM2 1.3886\nXPBDOT 1e-13""",
}
PINT_SYNTHETIC_DELAYS = {  # name: (dt_s from the epoch, PINT's delay in s)
    "ddgr_a": (
        [-13459735.1833056, 121485331.1782944, 270223998.2182944, 418464798.2182944],
        [-1.4328870878498519, -1.0334487994373385, -0.7739084901555332, -1.2754977424383478],
    ),
    "ddgr_b": (
        [-13459735.1808, 121485331.1808, 270223998.2208, 418464798.2208],
        [6.758400075753282, -8.039547798007735, 0.9469609352075513, -8.03573809625463],
    ),
    "ddgr_c": (
        [-13459735.1808, 121485331.1808, 270223998.2208, 418464798.2208],
        [2.450270170341401, 2.908440345200974, 0.2546007910362104, -0.5359403890222094],
    ),
    "bt_a": (
        [-13459735.1807999, 121485331.18080024, 270223998.2208, 418464798.2208],
        [2.4502364555625453, 2.908423484401797, 0.2547001905501629, -0.5356612005565835],
    ),
    "bt_fb": (
        [-13459735.1807999, 121485331.18080024, 270223998.2208, 418464798.2208],
        [-1.9785488956100792, -3.8834933346620555, 6.413384126489296, 6.669750223494856],
    ),
    "bt_e0": (
        [-146599746.5606111, -11654680.19901096, 137083986.8409888, 285324786.8409888],
        [-8.873246677047295, 3.329204290570666, 5.072725304399847, -8.135761514114037],
    ),
    "dds_a": (
        [-13459735.1807999, 121485331.18080024, 270223998.2208, 418464798.2208],
        [2.4502696173113576, 2.908481798610932, 0.25472105831482433, -0.5356583812541473],
    ),
    "dds_b": (
        [-13459735.1807999, 121485331.18080024, 270223998.2208, 418464798.2208],
        [6.758608138447168, -8.040902509563455, 0.9530634501416647, -8.031059011900973],
    ),
    "dd_a": (
        [-13470401.77859121, 121421164.48679383, 270192248.8235027, 418529598.2224576],
        [3.3884407353422787, -0.8428507307902172, -1.0961396844591391, 1.8761495594581723],
    ),
    "dd_e0": (
        [-13470401.779880151, 121421164.48449692, 270192248.82195294, 418529598.2209829],
        [7.380630363142807, 0.18834260918260687, -8.484202989222192, -2.261838089856268],
    ),
    "dd_fb": (
        [-13470401.777733482, 121421164.48702292, 270192248.8221487, 418529598.222357],
        [-1.615284523628976, 4.389464362063045, 3.434593295258052, -9.151928189894974],
    ),
    "ddh": (
        [-13470401.780137382, 121421164.4864413, 270192248.8227804, 418529598.2211583],
        [6.3498825041979, -9.146872822146682, 2.6461316772192847, -9.148822790053686],
    ),
    "ell1_a": (
        [-27239274.435510367, 107652291.82769594, 256423376.16675016, 404760725.5642779],
        [-0.34108050486048486, -0.6512099839326511, 1.0611783455678783, -1.06129327980687],
    ),
    "ell1_fb": (
        [-27239274.435618747, 107652291.82751901, 256423376.1650508, 404760725.56561536],
        [-1.1895236335368287, -2.373060065199326, 3.1111396351082274, -2.9382912913492185],
    ),
    "ell1h_h3": (
        [-27239274.434776984, 107652291.82882874, 256423376.1653304, 404760725.5644004],
        [-0.3408122343876984, -0.6505423031750479, 1.0592934887572554, -1.0616358741713985],
    ),
    "ell1h_h4": (
        [-27239274.434776973, 107652291.8288286, 256423376.16533056, 404760725.5644005],
        [-0.340812234427166, -0.6505424441853592, 1.059293634516327, -1.0616357903092022],
    ),
    "ell1h_h4n": (
        [-27239274.43477685, 107652291.82882877, 256423376.16533065, 404760725.5644006],
        [-0.3408122684379929, -0.6505424432508283, 1.0592935750440113, -1.0616357907437675],
    ),
    "ell1h_stig": (
        [-27239274.43477985, 107652291.82882565, 256423376.16533074, 404760725.5643977],
        [-0.3408132757058369, -0.6505435722307067, 1.0592956317516098, -1.0616367280196504],
    ),
}


def _synthetic(name):
    model = binary_for_par(_par(PINT_SYNTHETIC_PARS[name]))
    return model.values, model.delay_s


@pytest.mark.parametrize("name", sorted(PINT_SYNTHETIC_DELAYS))
def test_synthetic_models_match_pint(name):
    v, delay = _synthetic(name)
    dt, ref = (np.array(x) for x in PINT_SYNTHETIC_DELAYS[name])
    diff = np.abs(np.asarray(delay(jnp.asarray(dt), v)) - ref).max()
    assert diff < 1 * NS, f"{name}: max |ours - PINT| = {diff / NS:.4g} ns"


# ------------------------------------------------------------------ internal consistency


def _circular_pair(ecc=0.0, om_deg=0.0):
    pb_d, a1, m2, sini = 3.7, 6.5, 0.3, 0.9
    n = 2 * math.pi / (pb_d * 86400)
    om = math.radians(om_deg)
    v_dd = dd.values_from_par(
        _par(f"BINARY DD\nPB {pb_d}\nA1 {a1}\nT0 55000\nECC {ecc}\nOM {om_deg}\nM2 {m2}\nSINI {sini}")
    )
    v_ell1 = ell1.values_from_par(
        _par(
            f"BINARY ELL1\nPB {pb_d}\nA1 {a1}\nTASC 55000\nEPS1 {ecc * math.sin(om)}\nEPS2 {ecc * math.cos(om)}"
            f"\nM2 {m2}\nSINI {sini}"
        )
    )
    # TASC = T0 - OM / n: the ELL1 clock runs OM/n ahead of the DD one.
    return v_dd, v_ell1, om / n


def test_dd_at_zero_eccentricity_equals_ell1():
    v_dd, v_ell1, shift = _circular_pair()
    dt = jnp.linspace(-2e8, 2e8, 4001)
    diff = np.abs(np.asarray(dd_delay_s(dt, v_dd)) - np.asarray(ell1_delay_s(dt + shift, v_ell1))).max()
    assert diff < 1e-13, f"max |DD(e=0) - ELL1(eps=0)| = {diff:.3g} s"


@pytest.mark.parametrize("ecc", [1e-3, 1e-2])
def test_dd_at_small_eccentricity_agrees_with_ell1(ecc):
    """ELL1 is DD expanded to third order in e, less the constant -(3/2) A1 EPS1 in the Roemer delay.

    With that constant put back into ELL1's Dre (it also enters the inverse-delay terms), the two
    agree to ~A1 e^4 (ELL1's Shapiro delay ignores e, so M2 = 0 here).
    """
    v_dd, v_ell1, shift = _circular_pair(ecc=ecc, om_deg=40.0)
    dt = jnp.linspace(-2e8, 2e8, 4001)
    delay_dd = np.asarray(dd_delay_s(dt, dict(v_dd, M2=0.0)))
    orbits, pb = orbit.orbits_and_period(dt + shift, v_ell1)
    phi, _ = orbit.mean_anomaly(orbits)
    a1 = v_ell1["A1"]
    r, r1, r2 = ell1.roemer_series(phi, v_ell1["EPS1"], v_ell1["EPS2"])
    delay_ell1 = np.asarray(ell1.inverse_delay(a1 * (r - 1.5 * v_ell1["EPS1"]), a1 * r1, a1 * r2, 2 * math.pi / pb))
    diff = np.abs(delay_dd - delay_ell1).max()
    bound = 2 * float(a1) * ecc**4 + 2e-11
    assert diff < bound, f"e = {ecc}: max |DD - ELL1| = {diff:.3g} s (bound {bound:.3g} s)"
    # Without the constant the difference is the constant itself (and its inverse-delay terms).
    plain = np.asarray(ell1_delay_s(dt + shift, dict(v_ell1, M2=0.0)))
    nx = 2 * math.pi / float(v_ell1["PB"]) * float(a1)  # v/c: the inverse-delay terms' size
    assert np.abs(delay_dd - plain + 1.5 * float(a1 * v_ell1["EPS1"])).max() < 3 * ecc * float(a1) * nx


def test_dds_is_dd_with_sini_from_shapmax():
    v = dd.values_from_par(_par(PINT_SYNTHETIC_PARS["dds_a"]))
    v_dd = {k: x for k, x in v.items() if k != "SHAPMAX"} | {"SINI": 1.0 - math.exp(-4.5)}
    dt = jnp.linspace(-1e7, 4e8, 2001)
    np.testing.assert_array_equal(np.asarray(dd_delay_s(dt, v)), np.asarray(dd_delay_s(dt, v_dd)))


_DDK_PAR = """BINARY DDK\nPB 67.82512992243068\nA1 32.342422803\nT0 55388.8362191749\nECC 7.49406e-05
OM 176.198458885014\nM2 0.283395\nKOM 83.1\nKIN 71.969\nPX 0.8211"""


def _ddk_geometry(n=1001, px_mas=0.8211, pm=(5.2671, -3.4428), seed=3):
    """A made-up geometry: an observatory ~1 au from the SSB seen from a pulsar at (lon, lat) = (4.48, 0.54)."""
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(n, 3)) * 290.0
    psr = np.tile(astrometry.unit_vector(4.48, 0.54), (n, 1))
    return ddk_geometry(jnp.asarray(r), jnp.asarray(psr), px_mas, *pm)


def test_ddk_without_kinematics_is_dd_with_sini_from_kin():
    """No parallax and no proper motion (or K96 N and no parallax): the DD delay with SINI = sin(KIN)."""
    v = ddk.values_from_par(_par(_DDK_PAR))
    assert float(v["K96"]) == 1.0  # PINT's default
    v_dd = {k: x for k, x in v.items() if k not in ("KIN", "KOM", "K96")} | {"SINI": jnp.sin(v["KIN"])}
    dt = jnp.linspace(-1e8, 2e8, 1001)
    expected = np.asarray(dd_delay_s(dt, v_dd))
    still = _ddk_geometry(px_mas=0.0, pm=(0.0, 0.0))
    np.testing.assert_allclose(np.asarray(ddk_delay_s(dt, v, still)), expected, rtol=0, atol=1e-15)
    no_k96 = ddk.values_from_par(_par(_DDK_PAR + "\nK96 N"))
    assert float(no_k96["K96"]) == 0.0
    moving = _ddk_geometry(px_mas=0.0)
    np.testing.assert_allclose(np.asarray(ddk_delay_s(dt, no_k96, moving)), expected, rtol=0, atol=1e-15)
    # and with K96 the proper motion does change the delay (by microseconds over years for J1713+0747)
    change = np.abs(np.asarray(ddk_delay_s(dt, v, moving)) - expected).max()
    assert 1e-7 < change < 1e-4, change


def test_ddk_geometry_projects_onto_east_and_north():
    """Delta_I0, Delta_J0 (Kopeikin 1995 eqs. 15-16) are the components along the sky's east and north;
    for an ecliptic .par the ICRS vectors are rotated into the ecliptic first."""
    lon, lat, obl = 4.48, 0.54, math.radians(23.4)
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
    n_ecl = np.asarray(astrometry.unit_vector(lon, lat))
    r_ecl = 3.0 * east - 2.0 * north + 5.0 * n_ecl
    to_icrs = lambda x: np.asarray(astrometry.ecliptic_to_icrs(jnp.asarray(x), obl))  # noqa: E731
    g = ddk_geometry(to_icrs(r_ecl)[None], to_icrs(n_ecl)[None], 1.0, 2.0, 3.0, obl)
    assert float(g["east_ls"][0]) == pytest.approx(3.0, abs=1e-12)
    assert float(g["north_ls"][0]) == pytest.approx(-2.0, abs=1e-12)
    assert float(g["px_rad"]) == pytest.approx(math.pi / 180 / 3600e3, rel=1e-15)
    assert float(g["pm_lat_rad_s"]) == pytest.approx(3.0 * math.pi / 180 / 3600e3 / (365.25 * 86400), rel=1e-15)
    g_icrs = ddk_geometry(r_ecl[None], n_ecl[None], 1.0, 2.0, 3.0)  # the same numbers read as ICRS
    assert float(g_icrs["east_ls"][0]) == pytest.approx(3.0, abs=1e-12)


def test_bt_at_zero_eccentricity_is_a_circular_orbit():
    """e = 0: L = a1 sin(omega + u), and R = 1 - n a1 cos(omega + u) with n = 2 pi / PB."""
    v = binary_for_par(_par(PINT_SYNTHETIC_PARS["bt_e0"])).values
    dt = jnp.linspace(-1e8, 1e8, 2001)
    phase = 2 * math.pi * np.asarray(dt) / float(v["PB"]) + float(v["OM"])
    a1, n = float(v["A1"]), 2 * math.pi / float(v["PB"])
    expected = a1 * np.sin(phase) * (1 - n * a1 * np.cos(phase))
    np.testing.assert_allclose(np.asarray(bt_delay_s(dt, v)), expected, rtol=0, atol=1e-10)


def test_ell1h_stigma_is_ell1_shapiro_up_to_a_constant():
    """Freire & Wex eq. 29 is -2 M2 ln(1 - SINI sin Phi) - 2 M2 ln(1 + stigma^2)."""
    stigma, h3 = 0.83, 2.7e-7
    v = ell1.values_from_par(_par(PINT_SYNTHETIC_PARS["ell1h_stig"]))
    m2 = h3 / stigma**3
    sini = 2 * stigma / (1 + stigma**2)
    v_ell1 = {k: x for k, x in v.items() if k not in ("H3", "STIGMA")} | {"M2": m2, "SINI": sini}
    dt = jnp.linspace(0, 1e8, 1001)
    diff = np.asarray(ell1_delay_s(dt, v)) - np.asarray(ell1_delay_s(dt, v_ell1))
    np.testing.assert_allclose(diff, -2 * m2 * math.log(1 + stigma**2), rtol=0, atol=1e-15)


def test_ell1h_harmonic_series_converges_to_the_exact_form():
    """Harmonics 3..32 of the H3/H4 series equal Freire & Wex eq. 28 (the exact form less harmonics 0-2)."""
    stigma, h3 = 0.5, 2.7e-7
    phi = jnp.linspace(0, 2 * math.pi, 721)
    series = ell1.shapiro_delay(phi, {"H3": h3, "H4": h3 * stigma, "NHARMS": float(ell1.MAX_HARMONICS)})
    s = jnp.sin(phi)
    exact3p = -2 * h3 / stigma**3 * (jnp.log(1 + stigma**2 - 2 * stigma * s) + 2 * stigma * s - stigma**2 * jnp.cos(2 * phi))
    np.testing.assert_allclose(np.asarray(series), np.asarray(exact3p), rtol=0, atol=h3 * 2 * stigma**30)


def test_kepler_solver_reaches_float64_resolution():
    mean = jnp.linspace(0, 2 * math.pi, 20001)[:-1]
    for e in (0.0, 1e-5, 0.3, 0.6, 0.9, 0.99, 0.999):
        u = dd.eccentric_anomaly(mean, jnp.full_like(mean, e))
        resid = np.abs(np.asarray(u - e * jnp.sin(u) - mean)).max()
        assert resid < 4e-15, f"e = {e}: max |u - e sin u - M| = {resid:.3g}"
        grad = jax.vmap(jax.grad(dd.eccentric_anomaly))(mean, jnp.full_like(mean, e))
        # rtol: 1 - e cos u cancels to ~1e-3 at e = 0.999, so either side carries ~eps / (1 - e) ~ 1e-13 per term
        np.testing.assert_allclose(np.asarray(grad), np.asarray(1 / (1 - e * jnp.cos(u))), rtol=2e-12)
        u2, s, c = orbit.kepler(mean, jnp.full_like(mean, e))  # the sin and cos it returns are those of u
        assert np.abs(np.asarray(s - jnp.sin(u2))).max() < 2e-15 and np.abs(np.asarray(c - jnp.cos(u2))).max() < 2e-15
        de = jax.vmap(jax.grad(lambda m, ecc: orbit.kepler(m, ecc)[0], argnums=1))(mean, jnp.full_like(mean, e))
        np.testing.assert_allclose(np.asarray(de), np.asarray(jnp.sin(u) / (1 - e * jnp.cos(u))), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ reading the .par


def test_values_follow_tempo_and_pint_units():
    v = dd.values_from_par(_par(PINT_SYNTHETIC_PARS["dd_a"]))
    assert float(v["PB"]) == 0.3229974484 * 86400
    assert float(v["PBDOT"]) == pytest.approx(-2.4e-12, rel=1e-15)  # |PBDOT| > 1e-7: units of 1e-12
    assert float(v["A1DOT"]) == pytest.approx(-0.02e-12, rel=1e-15)
    assert float(v["EDOT"]) == 2e-15  # small: taken as written
    assert float(v["OM"]) == pytest.approx(math.radians(292.54450), rel=1e-15)
    assert float(v["OMDOT"]) == pytest.approx(math.radians(4.226585) / (365.25 * 86400), rel=1e-15)
    assert float(v["M2"]) == pytest.approx(1.39 * T_SUN_S, rel=1e-15)
    assert float(v["A0"]) == 1e-6 and float(v["DTH"]) == 2e-3
    w = ell1.values_from_par(_par(PINT_SYNTHETIC_PARS["ell1_a"]))
    assert float(w["EPS1DOT"]) == pytest.approx(3e-12, rel=1e-15)  # PINT: EPS1DOT is in 1e-12/s
    assert float(w["PBDOT"]) == pytest.approx(50e-12, rel=1e-15)
    factors = ell1.par_factors(_par(PINT_SYNTHETIC_PARS["ell1_a"]))
    assert factors["PB"] == ("PB", 86400.0) and factors["M2"] == ("M2", T_SUN_S)
    for key, (name, factor) in dd.par_factors(_par(PINT_SYNTHETIC_PARS["dd_a"])).items():
        par_value = _par(PINT_SYNTHETIC_PARS["dd_a"]).get(name)
        if par_value is not None:
            assert float(v[key]) == pytest.approx(factor * par_value.as_float(), rel=1e-15), key


def test_binary_for_par_picks_model_and_epoch():
    assert binary_for_par(_par("PSR J0000+0000\nF0 1")) is None
    ell = binary_for_par(_par(PINT_SYNTHETIC_PARS["ell1h_h4"]))
    assert (ell.name, ell.epoch, ell.delay_s) == ("ELL1H", "TASC", ell1_delay_s)
    assert float(ell.values["NHARMS"]) == 7.0  # PINT: at least 7 harmonics with H4
    ddm = binary_for_par(_par(PINT_SYNTHETIC_PARS["ddh"]))
    assert (ddm.name, ddm.epoch, ddm.delay_s) == ("DDH", "T0", dd_delay_s)
    bt = binary_for_par(_par(PINT_SYNTHETIC_PARS["bt_a"]))
    assert (bt.name, bt.epoch, bt.delay_s) == ("BT", "T0", bt_delay_s) and "M2" not in bt.values
    dds = binary_for_par(_par(PINT_SYNTHETIC_PARS["dds_a"]))
    assert (dds.name, dds.epoch, dds.delay_s) == ("DDS", "T0", dd_delay_s) and float(dds.values["SHAPMAX"]) == 4.5
    gr = binary_for_par(_par(PINT_SYNTHETIC_PARS["ddgr_a"]))
    assert (gr.name, gr.epoch, gr.delay_s) == ("DDGR", "T0", ddgr_delay_s)
    assert float(gr.values["XPBDOT"]) == pytest.approx(-0.5e-12, rel=1e-15)  # TEMPO's 1e-12 units, as PBDOT
    assert float(gr.values["XOMDOT"]) == pytest.approx(math.radians(0.01) / (365.25 * 86400), rel=1e-15)
    assert gr.par_factors["MTOT"] == ("MTOT", 1.0) and not {"SINI", "GAMMA", "PBDOT", "OMDOT"} & set(gr.values)
    k = binary_for_par(_par(_DDK_PAR))
    assert (k.name, k.epoch, k.delay_s) == ("DDK", "T0", ddk_delay_s)
    assert float(k.values["KIN"]) == pytest.approx(math.radians(71.969), rel=1e-15)
    assert k.par_factors["KOM"] == ("KOM", math.pi / 180) and k.par_factors["K96"] == ("K96", 1.0)


def test_zero_eccentricity_zeroes_om_as_pint_does():
    v = dd.values_from_par(_par(PINT_SYNTHETIC_PARS["dd_e0"]))
    assert float(v["OM"]) == 0.0 and float(v["OMDOT"]) == 0.0


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("BINARY ELL1\nPB 1.2\nFB0 9.6e-6\nA1 1\nTASC 55000", 3, "both PB and FB0"),
        ("BINARY ELL1\nFB0 9.6e-6\nFB2 1e-28\nA1 1\nTASC 55000", 3, "FB1 is missing"),
        ("BINARY ELL1\nPB 1.2\nA1 1\nTASC 55000\nSINI 1.2\nM2 0.2", 5, "SINI must lie in [0, 1]"),
        ("BINARY ELL1\nPB 1.2\nA1 1\nTASC 55000\nM2 -0.2", 5, "M2 cannot be negative"),
        ("BINARY ELL1\nPB 1.2\nA1 1", None, "needs TASC"),
        ("BINARY ELL1\nPB 0\nA1 1\nTASC 55000", 2, "PB must be positive"),
        ("BINARY ELL1H\nPB 1.2\nA1 1\nTASC 55000\nH3 1e-7\nH4 1e-7\nSTIGMA 0.5", 6, "H4 or STIGMA"),
        ("BINARY ELL1H\nPB 1.2\nA1 1\nTASC 55000\nH3 1e-7\nSTIGMA 0", 6, "STIGMA must be positive"),
        ("BINARY ELL1H\nPB 1.2\nA1 1\nTASC 55000\nH3 0\nH4 1e-7", 6, "nonzero H3"),
        ("BINARY DD\nPB 1.2\nA1 1\nT0 55000\nECC 1.0", 5, "ECC must lie in [0, 1)"),
        ("BINARY DD\nPB 1.2\nA1 1\nT0 55000\nECC 0.1\nSINI -0.1", 6, "SINI must lie in [0, 1]"),
        ("BINARY DDH\nPB 1.2\nA1 1\nT0 55000\nH3 1e-7", None, "needs STIGMA"),
        ("BINARY DD\nPB 1.2\nA1 1\nT0 55000\nX2DOT 1e-20", 5, "X2DOT"),
        ("BINARY T2\nPB 1.2\nA1 1\nT0 55000", 1, "BINARY T2 is not supported"),
        ("BINARY BT\nPB 1.2\nA1 1\nT0 55000\nM2 0.2", 5, "no Shapiro delay"),
        ("BINARY DDS\nPB 1.2\nA1 1\nT0 55000\nM2 0.2\nSHAPMAX -0.7", 6, "SHAPMAX must be greater than -ln 2"),
        ("BINARY DDS\nPB 1.2\nA1 1\nT0 55000\nSINI 0.9", 5, "give SHAPMAX instead"),
        ("BINARY DDK\nPB 1.2\nA1 1\nT0 55000\nKIN 60\nSINI 0.9\nPX 1", 6, "give KIN instead"),
        ("BINARY DDK\nPB 1.2\nA1 1\nT0 55000\nKIN 60", None, "positive parallax PX"),
        ("BINARY DDK\nPB 1.2\nA1 1\nT0 55000\nKIN 60\nPX -0.1", 6, "positive parallax PX"),
        ("BINARY DDK\nPB 1.2\nA1 1\nT0 55000\nPX 1", None, "needs KIN"),
        ("BINARY DDK\nPB 1.2\nA1 1\nT0 55000\nKIN 0\nPX 1", 5, "sin(KIN) = 0"),
        ("BINARY DDGR\nPB 1.2\nA1 1\nT0 55000\nM2 0.3", None, "needs MTOT"),
        ("BINARY DDGR\nPB 1.2\nA1 1\nT0 55000\nMTOT 2.6\nM2 1.2\nSINI 0.9", 7, "derives SINI"),
        ("BINARY DDGR\nPB 1.2\nA1 1\nT0 55000\nMTOT 2.6\nM2 1.2\nOMDOT 0.1", 7, "derives OMDOT"),
        ("BINARY DDGR\nPB 1.2\nA1 1\nT0 55000\nMTOT 1.2\nM2 1.3", 6, "0 < M2 < MTOT"),
        ("BINARY DDGR\nPB 1.2\nA1 30\nT0 55000\nMTOT 2.6\nM2 0.2", 5, "SINI"),
        ("BINARY DDGR\nFB0 1e-5\nA1 1\nT0 55000\nMTOT 2.6\nM2 1.2", None, "needs PB"),
    ],
)
def test_bad_binary_parameters_are_input_errors(text, line, words):
    with pytest.raises(InputError) as err:
        binary_for_par(_par(text, "bad.par"))
    assert err.value.path == "bad.par" and err.value.line == line, str(err.value)
    assert words in err.value.problem, str(err.value)
