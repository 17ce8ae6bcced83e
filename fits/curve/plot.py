"""Plot of the predicted loss curve of each candidate schedule (``scaling schedules
--plot``). Apart from :mod:`fits.curve.predict` so that the prediction code does not
import the plotting module, which itself plots curve fits (imports go one way:
plots -> curve.predict, curve.plot -> plots)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from scaling.data.schedules import as_schedule, lr_schedule

from ..figures import DPI as PLOT_DPI
from ..figures import PLOT_FORMATS, save_figure
from .predict import candidate_schedules, compare_schedules, predict_curve

__all__ = ["plot_schedules"]


def plot_schedules(fit, total_steps, peak_lr, path=None, *, warmup_steps=0, schedules=None,
                   law=None, N=None, n_points: int = 400, ax=None):
    """Plot of the predicted loss curve (and LR) of each candidate schedule (PNG at print
    resolution, or SVG/PDF by the suffix of ``path``).

    Parameters
    ----------
    fit : FitResult or dict
        A curve-law fit, or ``{symbol: value}`` with ``law=``.
    total_steps, peak_lr, warmup_steps : int, float, int
        The step budget and LR of the candidates (:func:`candidate_schedules`).
    path : str or Path, optional
        Where to write the plot (``.png``, ``.svg`` or ``.pdf``); the bytes are returned
        either way.
    schedules : mapping, optional
        ``{name: schedule spec}`` instead of the default candidates.
    law, N : optional
        Law name when ``fit`` is a dict; model size for the size-extended law.
    n_points : int
        Steps plotted per curve.
    ax : Axes or (Axes, Axes), optional
        Draw on the caller's axes (loss, and optionally LR) and return their figure;
        nothing is written unless ``path`` is given.

    Returns
    -------
    bytes or Figure
        The image (PNG without ``path``); the caller's figure with ``ax``.

    Examples
    --------
    >>> from scaling.fits.curve.mpl import MPL_PUBLISHED
    >>> png = plot_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, warmup_steps=2160,
    ...                      law="mpl")  # doctest: +SKIP
    """
    # the Agg canvas explicitly: no global backend switch, no display needed
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    schedules = schedules or candidate_schedules(total_steps, peak_lr, warmup_steps)
    ranked = compare_schedules(fit, total_steps, peak_lr, warmup_steps=warmup_steps,
                               schedules=schedules, law=law, N=N)
    if ax is not None:
        ax_loss, ax_lr = (ax, None) if not isinstance(ax, (tuple, list, np.ndarray)) else ax
        fig = ax_loss.figure
    else:
        fig = Figure(figsize=(9, 4))
        FigureCanvasAgg(fig)
        ax_loss, ax_lr = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    _draw(fit, ranked, schedules, (ax_loss, ax_lr), law=law, N=N, n_points=n_points)
    if ax is not None:
        return save_figure(fig, path)
    fig.tight_layout()
    return _image(fig, path)


def _draw(fit, ranked, schedules, axes, *, law, N, n_points):
    """Each ranked schedule's predicted loss (and its LR when there is an LR axis)."""
    ax_loss, ax_lr = axes
    for row in ranked:
        spec = schedules[row["name"]]
        lr = lr_schedule(spec)
        first = max(int(as_schedule(spec).warmup_steps), 1)
        steps = np.unique(np.linspace(first, lr.size - 1, n_points).astype(int))
        _, loss = predict_curve(fit, spec, steps, law=law, N=N)
        label = f"{row['name']} ({row['final_loss']:.4f})"
        ax_loss.plot(steps, loss, label=label, linewidth=1.2)
        if ax_lr is not None:
            ax_lr.plot(np.arange(lr.size), lr, linewidth=1.0)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("predicted loss")
    ax_loss.set_title("predicted loss per schedule (final loss, best first)")
    ax_loss.legend(fontsize=8)
    lo = min(r["final_loss"] for r in ranked)
    hi = max(r["final_loss"] for r in ranked)
    ax_loss.set_ylim(lo - 0.05 * (hi - lo + 0.1), hi + 0.6 * (hi - lo + 0.1))
    if ax_lr is not None:
        ax_lr.set_xlabel("step")
        ax_lr.set_ylabel("learning rate")


def _image(fig, path):
    """The figure's bytes in the format of ``path``'s suffix (PNG without a path),
    written to ``path`` when given."""
    fmt = Path(path).suffix.lstrip(".").lower() if path is not None else "png"
    if fmt not in PLOT_FORMATS:  # the format comes from the file's suffix
        raise ValueError(f"plot format must be one of {list(PLOT_FORMATS)} (the file's "
                         f"suffix), got {str(path)!r}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=PLOT_DPI)
    image = buffer.getvalue()
    if path is not None:
        with open(path, "wb") as handle:
            handle.write(image)
    return image
