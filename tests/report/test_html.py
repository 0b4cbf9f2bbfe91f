"""fit --report's page: its sections, the fit's numbers in it, warnings listed, figures embedded, nothing external."""

from __future__ import annotations

import base64
import html.parser



class _Page(html.parser.HTMLParser):
    """What the structure tests look at: section ids, headings, images, table cells, list items, and any
    element that would load something from elsewhere."""

    def __init__(self, text: str):
        super().__init__()
        self.sections, self.images, self.items, self.cells, self.external, self.scripts = [], [], [], [], [], 0
        self._tag = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._tag = tag
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if key in a and not a[key].startswith("data:"):
                self.external.append((tag, a[key]))

    def handle_endtag(self, tag):
        self._tag = None

    def handle_data(self, data):
        if self._tag == "li":
            self.items.append(data)
        if self._tag in ("td", "th"):
            self.cells.append(data)


def _assert_self_contained(page: _Page) -> None:
    assert page.scripts == 0 and page.external == []
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"


def test_wls_report_sections_numbers_and_warnings(ngc_fit, tmp_path):
    from jugbayes.report.fit_table import fit_table
    from jugbayes.report.fitted_par import fitted_values
    from jugbayes.report.html import fit_report

    model, fit = ngc_fit
    text = fit_table(fitted_values(model, fit))
    out = fit_report(model, fit, None, tmp_path / "rep" / "report.html", fit_text=text,
                     warnings=["a made-up warning <b>"])
    body = out.read_text()
    page = _Page(body)
    assert page.sections == ["fit", "noise", "warnings", "residuals"]
    _assert_self_contained(page)
    assert len(page.images) == 1
    assert page.items == ["a made-up warning <b>"]  # escaped, not markup
    assert "<b>" not in body.replace("&lt;b&gt;", "")
    for name in fit.names:
        if name != "OFFSET":
            assert name in body
    assert f"chi2 {fit.chi2:.3f} for {fit.dof} dof" in body


def test_report_after_nuts_adds_posterior_trace_and_corner(ngc_fit, draw_gaussian, tmp_path):
    from jugbayes.model.noise import noise_for_model
    from jugbayes.report.html import fit_report
    from jugbayes.report.posterior import inference_data, summary_table

    model, fit = ngc_fit
    noise = noise_for_model(model)
    idata = inference_data(model, draw_gaussian(fit, chains=2, draws=300), fit, noise=noise)
    out = fit_report(model, fit, noise, tmp_path / "report.html", idata=idata)
    page = _Page(out.read_text())
    assert page.sections == ["fit", "noise", "warnings", "residuals", "posterior", "trace", "corner"]
    _assert_self_contained(page)
    assert len(page.images) == 3
    table = summary_table(idata)
    for name in table.index:
        assert name in page.cells


def test_cli_report_lists_what_the_run_warned(tmp_path):
    """jugbayes fit --report: the page's warnings are the run's (here the .par has no CLK line)."""
    from pathlib import Path

    from conftest import CLOCK_DIR, EPHEM_DIR

    from jugbayes.cli import main

    folder = Path(__file__).resolve().parents[2] / "models" / "isolated_msp"
    par = tmp_path / "p.par"
    par.write_text("\n".join(ln for ln in (folder / "isolated_msp.par").read_text().splitlines()
                             if not ln.startswith("CLK")) + "\n")
    rc = main([
        "fit", str(par), str(folder / "isolated_msp.tim"), "--report", str(tmp_path / "rep"),
        "--clock-dir", str(CLOCK_DIR), "--ephem-file", str(EPHEM_DIR / "de421.bsp")])
    assert rc == 0
    page = _Page((tmp_path / "rep" / "report.html").read_text())
    assert any("CLK" in item for item in page.items), page.items
    assert page.sections == ["fit", "noise", "warnings", "residuals"]
