"""One self-contained HTML page of a fit (and posterior): tables, warnings and figures embedded as base64 PNG.

Sections, each an ``<section id=...>``: ``fit`` (the terminal fit table and its summary line), ``noise``
(the .par's noise values, also in enterprise's names), ``warnings``, ``residuals`` (the residual figure),
and after NUTS ``posterior`` (summary table), ``trace`` and ``corner``.  No scripts, no external files.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

STYLE = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
         "pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
         ".warn{color:#a40000}img{max-width:100%}")


def png_data_uri(fig) -> str:
    """A matplotlib Figure as a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>\n{body}\n</section>'


def pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def image(fig, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="{png_data_uri(fig)}">'


def warnings_html(items: list[str]) -> str:
    if not items:
        return "<p>none</p>"
    return "<ul>" + "".join(f'<li class="warn">{html.escape(w)}</li>' for w in items) + "</ul>"


def noise_html(par) -> str:
    """The noise lines of the .par (family, selector, value, unit) and the enterprise dictionary."""
    import json

    from jugbayes.io.noise_dict import noise_dict

    from jugbayes.model.catalog import NOISE

    rows = [(p.written_name, " ".join(p.selector), p.value, p.spec.unit or "")
            for p in par.params.values() if p.spec.component == NOISE]
    table = ("<table><tr><th>parameter</th><th>selector</th><th>value</th><th>unit</th></tr>"
             + "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
             + "</table>") if rows else "<p>no noise parameters in the .par (TOA errors as given)</p>"
    return table + "<p>enterprise names:</p>" + pre(json.dumps(noise_dict(par), indent=1))


def page(title: str, sections: list[str]) -> str:
    """The whole HTML document."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n" + "\n".join(sections)
            + "\n</body></html>\n")


def posterior_sections(idata, table) -> list[str]:
    """Summary table, trace plot and corner plot of a posterior."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jugbayes.report.corner import corner_plot
    from jugbayes.report.posterior import default_corner_names

    cols = ["mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat", "wls", "wls_sigma",
            "(mean-wls)/sigma", "sd/sigma"]
    summary = table[[c for c in cols if c in table.columns]].to_html(float_format=lambda x: f"{x:.10g}")
    names = default_corner_names(list(idata.posterior.data_vars))[:8]
    axes = az.plot_trace(idata, var_names=names, compact=False, figsize=(12, 2.0 * len(names)))
    trace_fig = axes.ravel()[0].figure
    trace = image(trace_fig, "trace plot")
    plt.close(trace_fig)
    return [section("posterior", "Posterior summary (NUTS) against the WLS fit", summary),
            section("trace", "Trace plots", trace),
            section("corner", "Corner plot (WLS 1- and 2-sigma ellipses)", image(corner_plot(idata), "corner plot"))]


def write_report(path: str | os.PathLike, text: str, *, protect: tuple = ()) -> Path:
    from jugbayes.io.output import atomic_write_text
    from jugbayes.io.textfile import refuse_overwrite

    out = refuse_overwrite(path, protect)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, text)


def fit_report(model, fit, noise, path, *, idata=None, fit_text: str = "", protect: tuple = (),
               warnings: list[str] = ()) -> Path:
    """Write the page for a fit (and its posterior ``idata``) to ``path``; returns the path.  ``warnings``: what
    the run warned of (reading, fit quality, ...), listed with the fit's and the posterior's own."""
    import numpy as np

    from jugbayes.report.plots import plot_model_residuals
    from jugbayes.report.posterior import diagnostics, summary_table
    from jugbayes.report.posterior import warnings as posterior_warnings

    line = (f"chi2 {fit.chi2:.3f} for {fit.dof} dof (reduced {fit.reduced_chi2:.4f}); weighted rms "
            f"{fit.wrms_prefit_us:.4f} -> {fit.wrms_postfit_us:.4f} us; {fit.iterations} iterations, "
            f"{'converged' if fit.converged else 'NOT converged'}")
    warn = list(warnings) + ([] if fit.converged else ["the fit did not converge"])
    warn += [f"dropped from the fit (degenerate): {', '.join(fit.dropped)}"] if fit.dropped else []
    panels = {"pre-fit": np.asarray(model.residuals()["time_s"]), "post-fit": fit.residuals_s}
    fig = plot_model_residuals(model, panels, None, noise=noise)
    sections = [section("fit", "Fit", pre(fit_text + "\n" + line)), section("noise", "Noise", noise_html(model.par))]
    post = []
    if idata is not None:
        table = summary_table(idata)
        warn += posterior_warnings(diagnostics(idata, table))
        post = posterior_sections(idata, table)
    sections += [section("warnings", "Warnings", warnings_html(warn)),
                 section("residuals", "Residuals (error bars EFAC/EQUAD-scaled)", image(fig, "residuals")), *post]
    title = f"jugbayes: {model.par.pulsar or Path(model.par.path or '').stem}"
    return write_report(path, page(title, sections), protect=protect)

