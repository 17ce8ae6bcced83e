"""report.html is laid out as sections and tables (not pasted terminal text), plots come
in PNG, SVG or PDF at print resolution, and runs left out of a fit are drawn apart
(issue 18)."""

from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner

from scaling import fits
from scaling.commands import main
from scaling.data import load_chinchilla_epoch
from scaling.fits.plots import left_out_points
from scaling.fits.report_files import write_report

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


class _Page(HTMLParser):
    """Sections (their h2 titles), tables (their header cells) and figures of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.tables, self.figures, self.pre = [], [], [], 0
        self._stack, self._text = [], ""

    def handle_starttag(self, tag, attrs):
        self._stack.append(tag)
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "figure":
            self.figures.append({})
        elif tag in ("img", "a") and "figure" in self._stack:
            self.figures[-1][tag] = attrs.get("src") or attrs.get("href")
        elif tag == "pre":
            self.pre += 1
        self._text = ""

    def handle_data(self, data):
        self._text += data

    def handle_endtag(self, tag):
        if tag == "h2" and "section" in self._stack:
            self.sections.append(self._text.strip())
        elif tag == "th":
            self.tables[-1].append(self._text.strip())
        elif tag == "figcaption":
            self.figures[-1]["caption"] = self._text.strip()
        if tag in self._stack:
            del self._stack[len(self._stack) - 1 - self._stack[::-1].index(tag):]


@pytest.fixture(scope="module")
def fit():
    table = load_chinchilla_epoch()
    return fits.ScalingLawFit(law="power-law", x="C", starts=8, drop_highest=5).fit(
        table).result_, table


def _page(folder):
    page = _Page()
    page.feed((folder / "report.html").read_text())
    return page


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_plots_in_each_format_start_with_its_magic_bytes(tmp_path, fit, fmt):
    result, table = fit
    write_report(result, tmp_path, table=table, fmt=fmt)
    for name in ("fit", "residuals"):
        head = (tmp_path / f"{name}.{fmt}").read_bytes()[:400]
        if fmt == "svg":
            assert head.startswith(b"<?xml") and b"<svg" in head
        else:
            assert head.startswith(MAGIC[fmt])
    page = _page(tmp_path)
    sources = [f.get("img") or f.get("a") for f in page.figures]
    if fmt == "pdf":  # PDFs are linked, never inlined
        assert sources == ["fit.pdf", "residuals.pdf"]
    else:
        mime = {"png": "image/png", "svg": "image/svg+xml"}[fmt]
        assert len(sources) == 2 and all(s.startswith(f"data:{mime};base64,") for s in sources)
    assert all(f["caption"] for f in page.figures)
    assert not list(tmp_path.glob("*.png")) or fmt == "png"


def test_png_plots_are_at_print_resolution(tmp_path, fit):
    import struct

    result, table = fit
    write_report(result, tmp_path, table=table)
    data = (tmp_path / "fit.png").read_bytes()
    width = struct.unpack(">I", data[16:20])[0]
    assert width >= 1000  # 6.4 in at 200 dpi (less the tight bounding box)


def test_html_report_is_sections_and_tables(tmp_path, fit):
    result, table = fit
    write_report(result, tmp_path, table=table)
    page = _page(tmp_path)
    assert page.sections == ["Summary", "Fit", "Data used", "Plots", "Backtest", "Extrapolation",
                             "Warnings", "Reproducibility checklist", "What to train next"]
    headers = [t[:6] for t in page.tables]
    assert ["parameter", "value", "approx. std.err", "interval", "bounds", "at bound"] in headers
    assert ["item", "value"] in headers  # the data and checklist tables
    assert page.pre == 0  # no pasted terminal text
    md = (tmp_path / "report.md").read_text()
    assert "| points | 240 points from 240 runs |" in md
    assert "| dropped runs | 5 (5 highest-loss points)" in md
    assert "```" not in md


def test_backtest_section_is_a_table_with_coverage(tmp_path):
    table = load_chinchilla_epoch()
    estimator = fits.ScalingLawFit(law="power-law", x="C", starts=8)
    result = estimator.fit(table).result_
    result = result.with_data(backtest=fits.backtest(estimator, table, result))
    write_report(result, tmp_path, table=table)
    page = _page(tmp_path)
    bt = next(t for t in page.tables if t and t[0] == "backtest")
    assert bt == ["backtest", "held out", "mean abs. rel. error", "max", "coverage", "verdict"]
    md = (tmp_path / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| leave-largest-out"))
    assert "PI" in row.split("|")[5]  # e.g. "9/12 in the 90% PI"


def test_left_out_runs_are_the_dropped_ones(fit):
    result, table = fit
    out = left_out_points(result, table, ["C"])
    assert out["loss"].size == 5
    dropped = table.points[table.points["run_id"].isin(result.data["dropped_run_ids"])]
    assert np.allclose(np.sort(out["loss"]), np.sort(dropped["loss"].to_numpy()))
    # and the fit plot draws them: one more (hollow) scatter collection
    fig = fits.plots.plot_point_fit(result, table=table)
    hollow = [c for c in fig.axes[0].collections if c.get_label() == "left out of the fit"]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 5
    assert np.all(hollow[0].get_facecolors()[:, 3] == 0)  # no fill


def test_report_cli_format_pdf(tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["report", "bundled:chinchilla_epoch", "--law",
                                       "power-law", "--bootstrap", "0", "--format", "pdf",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "fit.pdf").read_bytes().startswith(b"%PDF-")
    assert not list(out.glob("*.png"))
    bad = CliRunner().invoke(main, ["report", "bundled:chinchilla_epoch", "--format", "jpg",
                                    "--out", str(out)])
    assert bad.exit_code == 2 and "'jpg' is not one of" in bad.output
