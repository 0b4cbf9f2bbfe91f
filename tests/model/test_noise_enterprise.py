"""The sampled-noise likelihood against enterprise (a peer; its numbers are stored, enterprise is not needed here).

``tests/data/enterprise/B1855+09_9yv1_noise_loglike.json`` (``tools/make_enterprise_references.py``): enterprise's
log-likelihood of jugbayes's B1855+09 9yv1 residuals at 20 noise-parameter vectors, with jugbayes's TOA times,
per-backend EFAC/T2EQUAD (``MeasurementNoise``), ECORR (``EcorrKernelNoise``), the 45-component red power law and
the phase offset as its only timing-model column.  enterprise keeps -n/2 log(2 pi) and the offset's prior variance
1e40 (normed column: 1e40 / n in s^2), jugbayes drops both, so the two differ by -n/2 log(2 pi) - 1/2 log(1e40 / n)
at every vector; when made they agreed to 2.2e-9 (worst vector, log-likelihood -7.5e4; <= 3.4e-10 elsewhere).
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from conftest import ROOT, shared_model

from jugbayes.model.noise import noise_for_model, noise_loglike, noise_parameters

REFERENCE = ROOT / "tests" / "data" / "enterprise" / "B1855+09_9yv1_noise_loglike.json"
TOL = 1e-6  # log-likelihood, absolute


@pytest.fixture(scope="module")
def b1855():
    ref = json.loads(REFERENCE.read_text())
    _, model = shared_model("B1855+09_9yv1")
    return ref, model, noise_for_model(model)


def test_same_noise_model_as_enterprise_reference(b1855):
    """The reference was made for this noise model: parameter names and order, ECORR epochs per backend (the
    same 1 s grouping on both sides), Tspan and red-noise components, and these residuals."""
    ref, model, noise = b1855
    assert [p.name for p in noise_parameters(noise)] == ref["names"]
    counts = {}
    for j in noise.ecorr_param:
        label = noise.labels["ecorr"][j].split()[2]
        counts[label] = counts.get(label, 0) + 1
    assert counts == ref["ecorr_epochs"]["jugbayes"]
    assert ref["ecorr_epochs"]["enterprise"] == counts
    assert noise.names["red"]["nf"] == ref["red_components"] == 45
    assert abs(noise.names["red"]["tspan_s"] - ref["tspan_s"]) < 1e-6
    resid = np.asarray(model.residuals()["time_s"])
    assert len(resid) == ref["n_toas"]
    assert np.max(np.abs(resid - np.array(ref["resid_s"]))) < 1e-9  # s: the stored residuals are still ours


def test_noise_loglike_differences_equal_enterprise(b1855):
    """jugbayes's noise_loglike minus enterprise's log-likelihood is the same constant at all 20 vectors (the
    .par's values, 9 perturbations, 10 prior draws) to 1e-6, and that constant is the predicted one."""
    ref, _, noise = b1855
    resid = np.array(ref["resid_s"])
    f = jax.jit(lambda v: noise_loglike(noise, resid, v))
    ours = np.array([float(f(np.array(v))) for v in ref["vectors"]])
    diff = np.array(ref["enterprise_loglike"]) - ours
    n = ref["n_toas"]
    constant = -0.5 * n * np.log(2.0 * np.pi) - 0.5 * np.log(1e40 / n)
    assert np.max(np.abs(diff - diff[0])) < TOL, diff - diff[0]
    assert np.max(np.abs(diff - constant)) < TOL, diff - constant
