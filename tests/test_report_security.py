"""report.md / report.html treat every string from the data as text, embed only their own
plots, and never write outside --out (issue 13)."""

import base64
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.data import load_chinchilla_epoch, load_multipower

HOSTILE = "x\n![x]({secret})\n<script>alert(1)</script><img src=x onerror=alert(2)>"
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "pre",
        "table", "tr", "th", "td", "ul", "li", "code", "em", "strong", "figure", "img",
        "section", "figcaption"}


class _Page(HTMLParser):
    """Every tag and attribute of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]


def _check_page(folder, plots, secret):
    page = _Page()
    page.feed((folder / "report.html").read_text())
    assert set(page.tags) <= TAGS, set(page.tags) - TAGS
    assert "script" not in page.tags
    assert not [a for a in page.attrs if a[1].lower().startswith("on")]
    sources = [v for tag, k, v in page.attrs if k == "src"]
    assert len(sources) == len(plots)
    for src, name in zip(sources, plots):  # the inlined images are exactly our own plots
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == (folder / name).read_bytes()
    secret_b64 = base64.b64encode(secret.read_bytes()).decode()
    assert secret_b64 not in (folder / "report.html").read_text()
    rendered = _outside_code((folder / "report.md").read_text())
    assert "<script>" not in rendered and "<img" not in rendered
    assert "![x](" not in rendered  # the hostile image link is text, not an image


def _outside_code(md: str) -> str:
    """The lines a Markdown viewer renders as Markdown (fenced code is shown verbatim)."""
    lines, in_code = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code:
            lines.append(line)
    assert not in_code, "unclosed code fence"
    return "\n".join(lines)


@pytest.fixture(scope="module")
def curve_report(tmp_path_factory):
    """A curve-law report whose model labels are ../../escape and an absolute path, and
    whose dataset cells hold an image link to a local file and HTML."""
    root = tmp_path_factory.mktemp("curves")
    secret = root / "secret.txt"
    secret.write_text("TOP SECRET")
    table = load_multipower()
    keep = [r for r in table.runs["run_id"]
            if r.split("/")[1] in ("constant_24000", "cosine_24000", "wsdcon_9",
                                   "wsd_20000_24000")]
    runs = table.runs[table.runs["run_id"].isin(keep)].copy()
    runs["model"] = runs["model"].map({"100M": "../../escape", "25M": str(root / "abs")})
    runs["dataset"] = HOSTILE.format(secret=secret)
    points = table.points[table.points["run_id"].isin(keep)]
    points = points[points.groupby("run_id").cumcount() % 4 == 0]
    data = root / "data"
    data.mkdir()
    runs.to_csv(data / "runs.csv", index=False)
    points.to_csv(data / "points.csv", index=False)
    out = root / "deep" / "er" / "out"
    result = CliRunner().invoke(main, ["report", str(data), "--law", "tissue", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    return root, out, secret


def test_curve_report_subfolders_stay_inside_out(curve_report):
    root, out, _ = curve_report
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(
        ["escape", str(root / "abs").strip("/").replace("/", "_")])
    written = {p for p in root.rglob("*") if p.is_file()}
    outside = {p for p in written if out not in p.parents and p.parent != root / "data"
               and p.name != "secret.txt" and not p.name.endswith(".lock")}
    assert not outside, outside
    assert not (root / "abs").exists() and not (root / "deep" / "escape").exists()
    assert not list(out.parent.glob(".*.tmp"))  # no staging folder left behind


def test_curve_report_html_embeds_only_its_own_plots(curve_report):
    _, out, secret = curve_report
    for folder in (out / "escape", next(p for p in out.iterdir() if p.name != "escape"
                                        and p.is_dir())):
        _check_page(folder, ["curves.png"], secret)


def test_point_report_escapes_html_in_run_ids_and_columns(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    table = load_chinchilla_epoch()
    runs = table.runs.merge(table.points[["run_id", "D", "loss"]], on="run_id")
    runs["run_id"] = [f"<script>alert({i})</script>" if i % 2 else f'r{i}" onload="x'
                      for i in range(len(runs))]
    runs["dataset"] = HOSTILE.format(secret=secret)
    runs["tokenizer"] = "<svg onload=alert(3)>"
    runs["<b onmouseover=alert(4)>"] = 1.0
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", str(path), "--law", "power-law",
                                       "--bootstrap", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_page(out, [n for n in ("fit.png", "residuals.png", "calibration.png")
                      if (out / n).exists()], secret)
    assert "&lt;svg onload=alert(3)&gt;" in (out / "report.html").read_text()


def test_saved_fit_warnings_cannot_pull_in_a_file(tmp_path):
    import json

    from scaling import fits

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    result = fits.ScalingLawFit(law="power-law", x="C", starts=8).fit(
        load_chinchilla_epoch()).result_
    payload = result.to_dict()
    payload["warnings"] = [HOSTILE.format(secret=secret), f"\n![y](../{secret.name})"]
    (tmp_path / "fit.json").write_text(json.dumps(payload))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", str(tmp_path / "fit.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_page(out, ["fit.png", "residuals.png"], secret)


def test_report_out_refuses_a_folder_that_is_not_a_report(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["report", "bundled:chinchilla_epoch", "--bootstrap", "0",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "already holds files that are not part of a report (notes.txt)" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_rewriting_a_report_leaves_no_stale_plots(tmp_path):
    from scaling import fits

    result = fits.ScalingLawFit(law="power-law", x="C", starts=8).fit(
        load_chinchilla_epoch()).result_
    (tmp_path / "fit.json").write_text(result.to_json())
    out = tmp_path / "out"
    out.mkdir()
    (out / "isoflop.png").write_bytes(b"an old plot")  # from an earlier report with --compute
    (out / "report.md").write_text("old")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "fit.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "isoflop.png").exists()  # replaced whole, not merged
    assert (out / "report.md").read_text() != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "out"]  # no lock left
