"""The Python API for notebooks and scripts: thin functions over the modules the command line uses.

>>> import jugbayes
>>> psr = jugbayes.load("models/isolated_msp/isolated_msp.par", "models/isolated_msp/isolated_msp.tim")
>>> fit = psr.fit()                         # WLS, or GLS with the .par's correlated noise
>>> print(psr.fit_table())
>>> idata = psr.sample(chains=2, warmup=300, samples=300)   # NUTS -> ArviZ InferenceData
>>> psr.summary()                           # pandas DataFrame, posterior against the fit
>>> fig = psr.corner()
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Pulsar:
    """A .par's timing and noise model over a .tim's TOAs, with the latest fit and posterior."""

    model: object  # jugbayes.model.timing_model.TimingModel
    noise: object  # jugbayes.model.noise.NoiseModel
    fit_result: object | None = None  # the latest :meth:`fit`
    nuts_result: object | None = None  # the latest :meth:`sample`'s draws
    idata: object | None = None  # ... and its InferenceData
    changes: list = field(default_factory=list)  # what a noise dictionary changed

    @property
    def par(self):
        return self.model.par

    @property
    def toas(self):
        return self.model.toas

    def fit(self, fit=None, freeze=()):
        """WLS/GLS fit of the .par's free parameters (or ``fit``, less ``freeze``); a ``FitResult``.

        >>> psr.fit(freeze=["DM"]).chi2
        """
        from jugbayes.fit.wls import fit_wls

        free = [n for n in (fit or self.model.free) if n not in set(freeze)]
        self.fit_result = fit_wls(self.model, tuple(free), noise=self.noise)
        return self.fit_result

    def _fitted(self):
        return self.fit_result if self.fit_result is not None else self.fit()

    def values(self):
        """The fit's values and uncertainties in .par units (``FittedValue``: name, prefit, value, uncertainty).

        >>> {v.name: float(v.value) for v in psr.values()}
        """
        from jugbayes.report.fitted_par import fitted_values

        return fitted_values(self.model, self._fitted())

    def fit_table(self, parenthesis: bool = False) -> str:
        """The fit as the terminal table of ``jugbayes fit``.

        >>> print(psr.fit_table(parenthesis=True))
        """
        from jugbayes.report.fit_table import fit_table

        return fit_table(self.values(), parenthesis=parenthesis)

    def sample(self, chains: int = 4, warmup: int = 500, samples: int = 1000, seed: int = 0, **kw):
        """NUTS posterior from the fit (fitted first if need be) as ArviZ InferenceData, with the
        ``log_likelihood`` group (``az.loo`` runs on it); ``kw``: :func:`jugbayes.sample.nuts.sample_nuts`'s.

        >>> idata = psr.sample(chains=2, warmup=200, samples=200, seed=1)
        """
        from jugbayes.report.posterior import inference_data
        from jugbayes.sample.nuts import sample_nuts

        fit = self._fitted()
        self.nuts_result = sample_nuts(self.model, fit, self.noise, chains=chains, warmup=warmup, samples=samples,
                                       seed=seed, **kw)
        self.idata = inference_data(self.model, self.nuts_result, fit, noise=self.noise, log_likelihood=True)
        return self.idata

    def _sampled(self):
        if self.idata is None:
            raise ValueError("no posterior yet: call .sample() first")
        return self.idata

    def summary(self):
        """The posterior summary (mean, sd, HDI, ESS, R-hat) beside the WLS value and sigma: a DataFrame.

        >>> psr.summary()[["mean", "sd", "r_hat", "sd/sigma"]]
        """
        from jugbayes.report.posterior import summary_table

        return summary_table(self._sampled())

    def corner(self, path: str | os.PathLike | None = None, names=None):
        """Corner plot of the posterior with the WLS ellipses; a matplotlib Figure (and ``path`` if given).

        >>> psr.corner("corner.png", names="F0,F1")
        """
        from jugbayes.report.corner import corner_plot

        return corner_plot(self._sampled(), names=names, path=path)

    def plot(self, path: str | os.PathLike):
        """Pre- and post-fit residuals (against MJD, orbital phase, frequency) into ``path``, as ``fit --plot``.

        >>> psr.plot("residuals.png")
        """
        from jugbayes.report.plots import plot_model_residuals

        panels = {"pre-fit": np.asarray(self.model.residuals()["time_s"]), "post-fit": self._fitted().residuals_s}
        return plot_model_residuals(self.model, panels, path, noise=self.noise, title=self.par.pulsar or "")

    def noise_dict(self) -> dict:
        """The noise values in enterprise's names: posterior medians of sampled ones, else the .par's.

        >>> psr.noise_dict()["J1756+1822_Rcvr1_2_ASP_efac"]
        """
        from jugbayes.io.noise_dict import noise_dict
        from jugbayes.report.posterior import posterior_medians

        return noise_dict(self.par, posterior_medians(self.idata) if self.idata is not None else None)


def load(par: str | os.PathLike, tim: str | os.PathLike, *, noise_dict: str | os.PathLike | None = None,
         **time_transfer) -> Pulsar:
    """Read a .par and .tim and build the timing and noise models; ``noise_dict``: an enterprise noise
    dictionary (JSON) whose values replace the .par's; ``time_transfer``: ``clock_dir``, ``ephem_file``,
    ``clk``, ``timeeph``, ... as :func:`jugbayes.prepare.prepare_toas` takes them.

    >>> psr = jugbayes.load("J1909.par", "J1909.tim", noise_dict="J1909_noise.json",
    ...                     clock_dir="../shared/clock", ephem_file="../shared/ephem/de421.bsp")
    """
    from jugbayes.io import read_par, read_tim
    from jugbayes.io.noise_dict import apply_noise_dict, read_noise_dict
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    par_file, toas = read_par(par), read_tim(tim)
    changes = []
    if noise_dict is not None:
        par_file, changes = apply_noise_dict(par_file, read_noise_dict(noise_dict), toas, path=noise_dict)
    model = build_model(par_file, toas, **time_transfer)
    return Pulsar(model, noise_for_model(model), changes=changes)
