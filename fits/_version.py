"""The installed package version, for provenance in every result."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata

__all__ = ["package_version"]


@lru_cache(maxsize=1)
def package_version() -> str:
    try:
        return metadata.version("scaling-planner")
    except metadata.PackageNotFoundError:
        return "0+unknown"
