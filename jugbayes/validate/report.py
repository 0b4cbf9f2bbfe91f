"""A study's report: per method and parameter, coverage of the 68%/95% intervals (binomial errors),
pull mean/sd/histogram, SBC rank histograms with a chi-square uniformity test, and NUTS sd / WLS
sd (posterior sds under the same prior: the SBC prior, or none); as ``report.json`` and PNG figures (coverage.png, pulls_<method>.png, ranks_<method>.png,
parity.png)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jugbayes.io.output import save_figure, write_json
from jugbayes.validate.config import StudyConfig
from jugbayes.validate.stats import LEVELS, coverage, pull_summary, rank_histogram, uniformity_test


def load_results(outdir: Path, n: int) -> list[dict]:
    """The finished data sets' records with index < n, in index order."""
    from jugbayes.validate.runner import dataset_path

    return [json.loads(p.read_text()) for i in range(n) if (p := dataset_path(outdir, i)).exists()]


def summarise(cfg: StudyConfig, results: list[dict], reference: dict) -> dict:
    """The report dictionary (see the module docstring) from the data sets' records."""
    names = reference["names"]
    out = {"n_datasets": len(results), "config": cfg.to_dict(), "reference_sigma": dict(zip(names, reference["sigma"])),
           "converged": int(sum(r["converged"] for r in results)),
           "reduced_chi2_mean": float(np.mean([r["chi2"] / r["dof"] for r in results])), "methods": {}}
    for method in cfg.methods:
        per = {}
        for j, name in enumerate(names):
            block = [r[method] for r in results]
            entry = {f"coverage{round(lv * 100)}": coverage([b[f"covered{round(lv * 100)}"][j] for b in block])
                     for lv in LEVELS}
            entry["pulls"] = pull_summary([b["pull"][j] for b in block])
            if cfg.sbc:
                hist = rank_histogram([b["rank"][j] for b in block], cfg.sbc_draws, cfg.sbc_bins)
                entry["ranks"] = {"counts": hist.tolist(), **uniformity_test(hist)}
            per[name] = entry
        out["methods"][method] = per
    if "nuts" in cfg.methods:
        out["parity_nuts_sd_over_wls_sigma"] = {
            name: float(np.mean([r["nuts"]["sd"][j] / r["wls"]["sd"][j] for r in results]))
            for j, name in enumerate(names)}
        out["nuts_divergences"] = int(sum(r["nuts"]["divergences"] for r in results))
    return out


def write_report(cfg: StudyConfig, outdir: str | Path, reference: dict) -> dict:
    """Summarise the finished data sets into ``outdir/report.json`` and the figures; returns the report."""
    outdir = Path(outdir)
    results = load_results(outdir, cfg.n_datasets)
    report = summarise(cfg, results, reference)
    write_json(outdir / "report.json", report, indent=1)
    plot_report(report, outdir)
    return report


def _grid(n: int):
    import matplotlib.pyplot as plt

    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def plot_report(report: dict, outdir: Path) -> None:
    """Write the PNG figures for a report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = report["methods"]
    names = list(report["reference_sigma"])
    n = report["n_datasets"]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names) + 2), 4))
    x = np.arange(len(names))
    for k, (method, per) in enumerate(methods.items()):
        for lv, marker in zip(LEVELS, "os"):
            c = [per[p][f"coverage{round(lv * 100)}"] for p in names]
            f = np.array([e["fraction"] for e in c])
            lo, hi = np.array([e["wilson68"] for e in c]).T
            ax.errorbar(x + 0.15 * k, f, yerr=np.clip([f - lo, hi - f], 0.0, None), fmt=marker, label=f"{method} {round(lv * 100)}%")
    for lv in LEVELS:
        ax.axhline(lv, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, names, rotation=60, fontsize=8)
    ax.set_ylabel("coverage")
    ax.set_title(f"interval coverage, {n} data sets (68% Wilson binomial intervals)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, outdir / "coverage.png", dpi=110)
    plt.close(fig)
    grid = np.linspace(-5, 5, 201)
    for method, per in methods.items():
        fig, axes = _grid(len(names))
        for ax, name in zip(axes, names):
            h = per[name]["pulls"]["histogram"]
            edges = np.asarray(h["edges"])
            ax.stairs(h["counts"], edges)
            ax.plot(grid, n * (edges[1] - edges[0]) * np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), lw=0.8)
            ax.set_title(f"{name}: {per[name]['pulls']['mean']:+.2f} +- {per[name]['pulls']['sd']:.2f}", fontsize=8)
        fig.suptitle(f"{method} pulls (fit - truth) / sigma, N(0,1) expected")
        fig.tight_layout()
        save_figure(fig, outdir / f"pulls_{method}.png", dpi=110)
        plt.close(fig)
        if "ranks" in per[names[0]]:
            fig, axes = _grid(len(names))
            for ax, name in zip(axes, names):
                r = per[name]["ranks"]
                bins = len(r["counts"])
                ax.bar(np.arange(bins), r["counts"], width=1.0, color="C0", alpha=0.7)
                lo, hi = _binomial_band(n, 1.0 / bins)
                ax.axhspan(lo, hi, color="grey", alpha=0.3)
                ax.set_title(f"{name}: p = {r['p']:.3f}", fontsize=8)
                ax.set_xlabel("rank bin", fontsize=7)
            fig.suptitle(f"{method} SBC ranks (99% band for uniform ranks)")
            fig.tight_layout()
            save_figure(fig, outdir / f"ranks_{method}.png", dpi=110)
            plt.close(fig)
    if "parity_nuts_sd_over_wls_sigma" in report:
        par = report["parity_nuts_sd_over_wls_sigma"]
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names) + 2), 3.5))
        ax.bar(x, [par[p] for p in names])
        ax.axhline(1.0, color="grey", ls="--")
        ax.set_xticks(x, names, rotation=60, fontsize=8)
        ax.set_ylabel("NUTS sd / WLS sd")
        fig.tight_layout()
        save_figure(fig, outdir / "parity.png", dpi=110)
        plt.close(fig)


def _binomial_band(n: int, p: float) -> tuple[float, float]:
    from scipy import stats

    return float(stats.binom.ppf(0.005, n, p)), float(stats.binom.ppf(0.995, n, p))
