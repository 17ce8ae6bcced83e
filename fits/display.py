"""Short reprs for results in a terminal or a notebook.

A result's ``report()`` can run to hundreds of lines (every point of the data is
kept in ``data``); its ``repr`` is a few lines (the head of the report) and its
``_repr_html_`` the whole report as escaped, preformatted text.
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
        return (f"<details open><summary><code>{type(self).__name__}</code></summary>"
                f"<pre>{html.escape(self.report())}</pre></details>")
