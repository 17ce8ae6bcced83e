"""report.md and report.html from the Markdown lines a report is built of: user strings
made inert (Markdown) or escaped (HTML), only the report's own plots embedded."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

__all__ = ["markdown_to_html", "neutralize_markdown"]


_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
           (re.compile(r"(?<!\w)_(.+?)_(?!\w)"), r"<em>\1</em>")]


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


_IMAGE_LINE = re.compile(r"!\[(.*)\]\((.+)\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def neutralize_markdown(text: str, images=()) -> str:
    """``text`` with user strings made inert for Markdown viewers: raw HTML outside code
    blocks is escaped (``<script>`` -> ``&lt;script>``) and image links other than the
    report's own ``images`` (plain file names it wrote) lose their ``!``, so a data cell
    holding ``![x](/etc/passwd)`` shows as text; links (``[a](javascript:...)``, ``[a]: url``)
    other than the report's own plots are broken into text, and control characters
    (terminal escapes) are removed."""
    own = set(images)
    out, in_code = [], False
    for line in text.splitlines():
        line = _CONTROL.sub("", line)  # terminal escapes from data never reach a viewer
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code:
            image = _IMAGE_LINE.match(line) or _LINK_LINE.match(line)
            if not (image and image.group(2) in own and "/" not in image.group(2)):
                # no raw HTML, no foreign image, and no live link (`[a](javascript:...)`,
                # `[a]: url`): the brackets stay, the link syntax is broken
                line = line.replace("<", "&lt;").replace("![", "!\\[") \
                    .replace("](", "]\\(").replace("]:", "]\\:")
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


_LINK_LINE = re.compile(r"\[(.*)\]\(([^()]+\.pdf)\)$")
_MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def markdown_to_html(text: str, image_dir: Path, images=()) -> str:
    """The small Markdown subset our reports use -> one HTML page: each ``##`` heading
    opens a ``<section>``, tables become ``<table>``, bullet lists ``<ul>``, and the
    report's own plots figures with captions (PNG and SVG inlined as base64 data, PDF
    linked).

    Only the file names in ``images`` (plots the report wrote into ``image_dir``) are
    inlined or linked; every other string, image links included, is escaped text, so
    nothing a data file or saved fit holds can pull a local file into the page or add
    markup to it.
    """
    own = {name for name in images if name == Path(name).name and not name.startswith(".")}
    text = _CONTROL.sub("", text)  # no terminal escapes in the page's text
    body, in_code, table, items = [], False, [], []
    state = {"section": False, "caption": None}

    def flush():
        if table:
            head, *rows = [[c.strip() for c in r.strip("|").split("|")] for r in table
                           if not set(r.replace("|", "").strip()) <= {"-"}]
            body.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                                  for r in rows) + "</table>")
            table.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    def figure(inner, caption):
        body.append(f"<figure>{inner}<figcaption>{_inline(caption)}</figcaption></figure>")
        state["caption"] = f"_{caption}_"

    for line in text.splitlines():
        if line.startswith("```"):
            flush()
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            body.append(html.escape(line))
            continue
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if state["caption"] is not None and line.strip() == state["caption"]:
            state["caption"] = None  # the caption below a figure is in its <figcaption>
            continue
        image = _IMAGE_LINE.match(line) or _LINK_LINE.match(line)
        path = Path(image_dir) / image.group(2) if image else None
        if image and image.group(2) in own and path.is_file() and path.suffix in _MIME:
            data = base64.b64encode(path.read_bytes()).decode()
            figure(f'<img alt="{html.escape(image.group(1))}" '
                   f'src="data:{_MIME[path.suffix]};base64,{data}">', image.group(1))
        elif image and image.group(2) in own and path.is_file() and path.suffix == ".pdf":
            figure(f'<a href="{html.escape(image.group(2))}">{_inline(image.group(1))}</a>',
                   image.group(1).removesuffix(" (PDF)"))
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if level == 2:
                body.append("</section><section>" if state["section"] else "<section>")
                state["section"] = True
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush()
    if state["section"]:
        body.append("</section>")
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
             "section{margin-bottom:1.5em}"
             "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;"
             "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
             "th{background:#f0f0f0}figcaption{font-size:90%;color:#444}"
             "pre{background:#f6f6f6;padding:8px;overflow-x:auto}img{max-width:100%}")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>scaling report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
