"""Input checks the fitters share (before any work, naming what is wrong and where)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["positive_arrays"]


def positive_arrays(arrays: Mapping[str, object], *, like: str,
                    where: str = "position") -> dict[str, np.ndarray]:
    """Every array as flat float64, each as long as ``arrays[like]`` and finite and > 0.

    Raises ``ValueError`` naming the array, and for a bad value its first ``where``
    (``"position 3"``, ``"row 3"``).
    """
    out = {name: np.asarray(values, dtype=float).ravel() for name, values in arrays.items()}
    size = out[like].size
    for name, arr in out.items():
        if arr.size != size:
            raise ValueError(f"{name} has {arr.size} values but {like} has {size}")
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; bad value {arr[bad][0]!r} at "
                             f"{where} {np.flatnonzero(bad)[0]}")
    return out
