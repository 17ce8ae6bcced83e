"""Lazy exports (PEP 562) for a package: public names imported from their submodules the
first time they are asked for, so importing the package costs almost nothing."""

from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(namespace: dict, table: dict[str, tuple[str, ...]]):
    """``(where, __getattr__, __dir__)`` for the package whose globals are ``namespace``;
    ``table`` maps a relative submodule (``".fit"``) to the names it exports."""
    package = namespace["__name__"]
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name):
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(where))

    return where, __getattr__, __dir__
