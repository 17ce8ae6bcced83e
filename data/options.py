"""What every options dataclass shares: built from an existing object and keyword
changes, with unknown names refused (so ``f(x, options=None, **kwargs)`` keeps a
function's old keyword API while its signature stays short)."""

from __future__ import annotations

from dataclasses import fields, replace

__all__ = ["Options"]


class Options:
    """Mixin for frozen dataclasses of options whose every field has a default."""

    @classmethod
    def build(cls, options=None, **changes):
        """``options`` (default: the defaults) with ``changes``; unknown names raise
        ``TypeError`` listing the fields."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unexpected argument(s) {unknown}; {cls.__name__} has {names}")
        return replace(options or cls(), **changes)
