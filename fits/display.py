"""Short reprs for results in a terminal or a notebook.

A result's ``report()`` can run to hundreds of lines (every point of the data is
kept in ``data``); its ``repr`` is a few lines (the head of the report). Its
``_repr_html_`` is HTML tables where the object gives them (``html_tables()``: a
heading, ``(caption, DataFrame)`` pairs and warnings), else the report as escaped,
preformatted text.
"""

from __future__ import annotations

import html

__all__ = ["ReportDisplay"]

_REPR_LINES = 12
_REPR_CHARS = 1500


class ReportDisplay:
    """Mixin for objects with ``report() -> str`` (use ``@dataclass(repr=False)``)."""

    def __repr__(self) -> str:
        try:
            lines = self.report().splitlines()
        except Exception as err:  # noqa: BLE001 - a repr must never raise
            return f"<{type(self).__name__} (report unavailable: {type(err).__name__})>"
        head = "\n".join(lines[:_REPR_LINES])[:_REPR_CHARS]
        more = len(lines) > _REPR_LINES or len(head) == _REPR_CHARS
        return (f"<{type(self).__name__}\n{head}\n"
                + ("... (print(obj) or obj.report() for the rest)>" if more else ">"))

    def _repr_html_(self) -> str:
        tables = getattr(self, "html_tables", None)
        if tables is not None:
            try:
                return _html_tables(type(self).__name__, *tables())
            except Exception:  # noqa: BLE001 - a repr must never raise; fall back to text
                pass
        return (f"<details open><summary><code>{type(self).__name__}</code></summary>"
                f"<pre>{html.escape(self.report())}</pre></details>")


def _html_tables(name: str, heading: str, tables, warnings=()) -> str:
    """``heading``, then each ``(caption, DataFrame)`` as an HTML table, then warnings."""
    parts = [f"<div><b><code>{html.escape(name)}</code></b> {html.escape(heading)}"]
    for caption, frame in tables:
        parts.append(f"<p><i>{html.escape(caption)}</i></p>"
                     + frame.to_html(float_format=lambda v: f"{v:.6g}", na_rep=""))
    if warnings:
        parts.append("<ul>" + "".join(f"<li>warning: {html.escape(str(w))}</li>"
                                      for w in warnings) + "</ul>")
    return "".join(parts) + "</div>"
