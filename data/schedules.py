"""Learning-rate schedules: a spec (dataclass or dict) -> per-step LR array.

Step index ``t = 0 .. total_steps - 1``. Linear warmup follows the Multi-Power Law
convention (Luo et al. 2025, arXiv 2503.12811): ``lr[t] = peak * t / (w - 1)`` for
``t < w``; decays run from the first decay step ``k`` (``lr[k] = peak``) and reach
``end_lr`` at ``t = total_steps``. The same arrays feed the trainer and the curve laws,
which also use :func:`forward_area` (S1) and :func:`annealing_area` (S2).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, fields, replace

import numpy as np

__all__ = ["SCHEDULE_KINDS", "Schedule", "annealing_area", "as_schedule", "forward_area",
           "logged_warmup_steps",
           "lr_schedule"]

SCHEDULE_KINDS = ("constant", "cosine", "linear", "wsd", "wsd_exp", "wsd_linear",
                  "two_stage", "step", "rewarm", "from_log")
_DECAYING = ("cosine", "linear", "wsd", "wsd_exp", "wsd_linear", "two_stage")
_COOLDOWNS = ("1-sqrt", "cosine", "exp", "linear")
_WARMUPS = ("constant", "linear")
_REDECAYS = ("cosine", "linear")
# cooldown shape implied by the kind; None means "the `cooldown` field, default linear"
_IMPLIED = {"cosine": "cosine", "linear": "linear", "wsd_exp": "exp", "wsd_linear": "linear"}

_WARM = {"kind", "total_steps", "peak_lr", "warmup_steps", "warmup", "warmup_lr"}
_DECAY = _WARM | {"end_lr", "decay_start", "cooldown_frac"}
_USES = {
    "constant": _WARM | {"end_lr"},
    **{kind: _DECAY for kind in ("cosine", "linear", "two_stage")},
    **{kind: _DECAY | {"cooldown"} for kind in ("wsd", "wsd_exp", "wsd_linear")},
    "step": _WARM | {"milestones", "factor"},
    "rewarm": {"kind", "total_steps", "peak_lr", "end_lr", "base", "rewarm_start",
               "rewarm_steps", "redecay"},
    "from_log": {"kind", "total_steps", "log_steps", "log_lr"},
}


def _show(v):
    return repr(v.item() if isinstance(v, np.generic) else v)


def _real(v):
    return not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v)


def _as_int(name, v, lo=0):
    if v is None or _real(v) and float(v).is_integer() and v >= lo:
        return None if v is None else int(v)
    raise ValueError(f"`{name}` must be an integer >= {lo}, got {_show(v)}")


def _as_lr(name, v):
    if v is None or _real(v) and v >= 0:
        return None if v is None else float(v)
    raise ValueError(f"`{name}` must be a finite number >= 0, got {_show(v)}")


def _choice(name, v, valid):
    if v not in valid:
        raise ValueError(f"`{name}` must be one of {sorted(valid)}, got {_show(v)}")


def _fmt(x):
    """3e-4 rather than 0.0003: short, and reads like a config file."""
    if x == 0 or 1e-2 <= abs(x) < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule spec; every field is a plain JSON type (``base`` nests).

    Parameters
    ----------
    kind : str
        One of :data:`SCHEDULE_KINDS`; ``constant``, ``cosine``, ``wsd_exp``,
        ``wsd_linear`` and ``two_stage`` reproduce the Multi-Power Law dataset exactly.
    total_steps : int, optional
        Schedule length ``T``; may instead be given when evaluating.
    peak_lr, end_lr : float, optional
        Peak LR and final LR (reached at ``t = T``). ``end_lr`` defaults to 0 (decay to
        zero) for decaying kinds and must equal ``peak_lr`` if given for ``constant``.
    warmup_steps, warmup, warmup_lr
        Warmup length ``w``; ``'linear'``: ``lr[t] = peak * t / (w - 1)``
        (``numpy.linspace(0, peak, w)``), or ``'constant'``: ``lr[t] = warmup_lr``.
    decay_start, cooldown_frac
        First decay step ``k`` (``lr[k] = peak``, ``w <= k < T``; default ``w`` for
        ``cosine``/``linear``), or ``k = T - round(cooldown_frac * T)``.
    cooldown : {'linear', 'exp', '1-sqrt', 'cosine'}, optional
        WSD cooldown (default linear); ``exp``: ``peak**((T-t)/(T-k)) * end**((t-k)/(T-k))``,
        ``1-sqrt``: ``end + (peak - end) * (1 - sqrt((t-k)/(T-k)))``.
    milestones, factor
        ``step``: the LR is multiplied by ``factor`` (default 0.1) at each milestone.
    base, rewarm_start, rewarm_steps, redecay
        ``rewarm``: follow ``base`` (its ``total_steps`` defaults to ``rewarm_start``)
        for ``t < rewarm_start``, climb linearly from the base LR at ``rewarm_start - 1``
        to ``peak_lr`` over ``rewarm_steps`` steps, then decay (``'cosine'`` or
        ``'linear'``) to ``end_lr`` at ``T``.
    log_steps, log_lr
        ``from_log``: logged (step, LR) pairs, interpolated linearly and held constant
        outside the logged range; ``T`` defaults to the last logged step + 1.

    Examples
    --------
    >>> s = Schedule("wsd", total_steps=16000, peak_lr=3e-4, end_lr=3e-5,
    ...              warmup_steps=2160, decay_start=8000, cooldown="1-sqrt")
    >>> s.describe()
    'WSD, 1-sqrt cooldown from step 8000 to 16000, peak 3e-4 -> 3e-5, 2160 linear warmup steps'
    >>> s.lr().shape
    (16000,)
    """

    kind: str
    _: KW_ONLY
    total_steps: int | None = None
    peak_lr: float | None = None
    end_lr: float | None = None
    warmup_steps: int = 0
    warmup: str = "linear"
    warmup_lr: float | None = None
    decay_start: int | None = None
    cooldown_frac: float | None = None
    cooldown: str | None = None
    milestones: tuple = ()
    factor: float = 0.1
    base: Schedule | None = None
    rewarm_start: int | None = None
    rewarm_steps: int = 0
    redecay: str = "cosine"
    log_steps: tuple = ()
    log_lr: tuple = ()

    def __post_init__(self):
        _choice("kind", self.kind, SCHEDULE_KINDS)
        put = object.__setattr__.__get__(self)
        put("total_steps", _as_int("total_steps", self.total_steps, lo=1))
        for name in ("warmup_steps", "decay_start", "rewarm_steps"):
            put(name, _as_int(name, getattr(self, name)))
        put("rewarm_start", _as_int("rewarm_start", self.rewarm_start, lo=1))
        for name in ("peak_lr", "end_lr", "warmup_lr", "cooldown_frac", "factor"):
            put(name, _as_lr(name, getattr(self, name)))
        put("milestones", tuple(_as_int("milestones", m) for m in self.milestones))
        _choice("warmup", self.warmup, _WARMUPS)
        _choice("redecay", self.redecay, _REDECAYS)
        if self.cooldown is not None:
            _choice("cooldown", self.cooldown, _COOLDOWNS)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in _USES[self.kind] and value != f.default:
                raise ValueError(f"`{f.name}` is not used by kind {self.kind!r}")
        if self.kind == "rewarm":
            self._check_rewarm(put)
        elif self.kind == "from_log":
            self._check_log(put)
        else:
            self._check_warmup_kinds()

    def _check_warmup_kinds(self):
        kind, T, w, peak = self.kind, self.total_steps, self.warmup_steps, self.peak_lr
        if peak is None:
            raise ValueError(f"`peak_lr` is required for kind {kind!r}")
        if T is not None and w >= T:
            raise ValueError(f"`warmup_steps` must be < `total_steps` ({T}), got {w}")
        if self.warmup == "constant" and w > 0 and self.warmup_lr is None:
            raise ValueError("`warmup_lr` is required when warmup='constant'")
        if self.warmup == "linear" and self.warmup_lr is not None:
            raise ValueError("`warmup_lr` is only used with warmup='constant'")
        if kind == "constant" and self.end_lr not in (None, peak):
            raise ValueError(f"`end_lr` must equal `peak_lr` or be omitted for kind "
                             f"'constant', got {self.end_lr}")
        if kind == "step":
            if self.factor > 1:
                raise ValueError(f"`factor` must be in [0, 1], got {self.factor}")
            ms, lo, hi = self.milestones, w, T if T is not None else math.inf
            if any(b <= a for a, b in zip(ms, ms[1:])) or any(not lo <= m < hi for m in ms):
                raise ValueError(f"`milestones` must be strictly increasing steps in "
                                 f"[warmup_steps, total_steps) = [{lo}, {hi}), got {list(ms)}")
        if kind not in _DECAYING:
            return
        if self.end_lr is not None and self.end_lr > peak:
            raise ValueError(f"`end_lr` ({self.end_lr}) must be <= `peak_lr` ({peak}) "
                             f"for kind {kind!r}")
        implied = _IMPLIED.get(kind)
        if kind in ("wsd_exp", "wsd_linear") and self.cooldown not in (None, implied):
            raise ValueError(f"`cooldown` must be {implied!r} for kind {kind!r}, "
                             f"got {self.cooldown!r}")
        if self._cooldown() == "exp" and self._end() == 0:
            raise ValueError("`end_lr` must be > 0 for an 'exp' cooldown "
                             "(a geometric decay cannot reach 0)")
        given = (self.decay_start is not None) + (self.cooldown_frac is not None)
        if given == 2:
            raise ValueError("give only one of `decay_start` and `cooldown_frac`")
        if self.cooldown_frac is not None and not 0 < self.cooldown_frac <= 1:
            raise ValueError(f"`cooldown_frac` must be in (0, 1], got {self.cooldown_frac}")
        if not given and kind not in ("cosine", "linear"):
            raise ValueError(f"kind {kind!r} needs `decay_start` or `cooldown_frac`")
        if T is not None and not w <= self._decay_step() < T:
            name = "decay_start" if self.cooldown_frac is None else "cooldown_frac"
            raise ValueError(f"`{name}` must put the first decay step in [warmup_steps, "
                             f"total_steps) = [{w}, {T}), got step {self._decay_step()}")

    def _check_rewarm(self, put):
        if self.base is None or self.rewarm_start is None or self.peak_lr is None:
            raise ValueError("kind 'rewarm' needs `base` (a schedule spec), `rewarm_start` "
                             "and `peak_lr`")
        base = as_schedule(self.base)
        if base.total_steps is None:
            base = replace(base, total_steps=self.rewarm_start)
        put("base", base)
        if self._end() > self.peak_lr:
            raise ValueError(f"`end_lr` ({self.end_lr}) must be <= `peak_lr` "
                             f"({self.peak_lr}) for kind 'rewarm'")
        stop = self.rewarm_start + self.rewarm_steps
        if self.total_steps is not None and self.total_steps <= stop:
            raise ValueError(f"`total_steps` must be > rewarm_start + rewarm_steps "
                             f"({stop}), got {self.total_steps}")

    def _check_log(self, put):
        steps = np.asarray(self.log_steps, dtype=float)
        lr = np.asarray(self.log_lr, dtype=float)
        if steps.ndim != 1 or steps.size == 0 or steps.shape != lr.shape:
            raise ValueError(f"`log_steps` and `log_lr` must be non-empty 1-D and of equal "
                             f"length, got shapes {steps.shape} and {lr.shape}")
        for name, arr in (("log_steps", steps), ("log_lr", lr)):
            bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
            if bad.size:
                raise ValueError(f"`{name}` must be finite and >= 0 (NaN or negative at "
                                 f"indices {bad[:5].tolist()})")
        if np.any(steps != np.round(steps)):
            raise ValueError("`log_steps` must be integer steps")
        bad = np.flatnonzero(np.diff(steps) <= 0)
        if bad.size:
            i = bad[0] + 1
            raise ValueError(f"`log_steps` must be strictly increasing; step {steps[i]:g} "
                             f"at index {i} follows {steps[i - 1]:g}")
        put("log_steps", tuple(steps.astype(np.int64).tolist()))
        put("log_lr", tuple(lr.tolist()))

    def _length(self):
        if self.total_steps is None and self.kind == "from_log":
            return self.log_steps[-1] + 1
        return self.total_steps

    def _end(self):
        if self.kind == "constant":
            return self.peak_lr
        return 0.0 if self.end_lr is None else self.end_lr

    def _cooldown(self):
        return _IMPLIED.get(self.kind) or self.cooldown or "linear"

    def _decay_step(self):
        if self.cooldown_frac is not None:
            return self.total_steps - round(self.cooldown_frac * self.total_steps)
        return self.warmup_steps if self.decay_start is None else self.decay_start

    @classmethod
    def from_dict(cls, spec, *, strict=True):
        """Build a schedule from a dict or a runs-table row (``schedule`` means ``kind``).

        ``None`` and NaN count as missing; unknown keys raise ``ValueError`` unless
        ``strict=False``, which ignores them (e.g. ``run_id`` in a runs-table row).
        """
        spec = dict(spec)
        if "kind" not in spec and "schedule" in spec:
            spec["kind"] = spec.pop("schedule")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - names)
        if unknown and strict:
            raise ValueError(f"unknown schedule fields {unknown}; valid fields are "
                             f"{sorted(names)}")
        kw = {k: v for k, v in spec.items() if k in names and not
              (v is None or isinstance(v, float) and math.isnan(v))}
        if "kind" not in kw:
            raise ValueError(f"`kind` is required, one of {list(SCHEDULE_KINDS)}")
        return cls(**kw)

    @classmethod
    def from_log(cls, steps, lr, total_steps=None):
        """Schedule interpolating logged ``(steps, lr)`` pairs (kind ``from_log``)."""
        return cls("from_log", log_steps=tuple(np.asarray(steps).tolist()),
                   log_lr=tuple(np.asarray(lr).tolist()), total_steps=total_steps)

    def to_dict(self):
        """Return the non-default fields as plain JSON types (``from_dict`` inverts it)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "kind" or value != f.default:
                if isinstance(value, Schedule):
                    value = value.to_dict()
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def lr(self, total_steps=None):
        """Per-step LR array; see :func:`lr_schedule`."""
        return lr_schedule(self, total_steps)

    def lr_at(self, steps):
        """LR at arbitrary steps ``>= 0`` (same shape); past ``total_steps`` the final LR."""
        t = np.asarray(steps, dtype=np.float64)
        if not np.all(np.isfinite(t) & (t >= 0)):
            raise ValueError("`steps` must be finite and >= 0")
        return _values(_ready(self), t)

    def describe(self):
        """One human line, e.g. ``'cosine decay from step 2160 to 24000, peak ...'``."""
        T = "?" if self._length() is None else self._length()
        if self.kind == "from_log":
            return (f"from a log of {len(self.log_steps)} points, steps "
                    f"{self.log_steps[0]}..{self.log_steps[-1]}, {T} steps")
        peak, end = _fmt(self.peak_lr), _fmt(self._end())
        if self.kind == "rewarm":
            return (f"rewarm at step {self.rewarm_start} over {self.rewarm_steps} steps to "
                    f"{peak}, {self.redecay} re-decay to {end} at step {T}; before: "
                    f"{self.base.describe()}")
        if self.kind == "constant":
            head = f"constant {peak} for {T} steps"
        elif self.kind == "step":
            head = (f"step decay x{_fmt(self.factor)} at steps {list(self.milestones)}, "
                    f"peak {peak}, {T} steps")
        else:
            k = "?" if T == "?" and self.cooldown_frac else self._decay_step()
            if self.kind == "two_stage":
                head = f"two-stage, peak {peak} until step {k}, then {end} to step {T}"
            else:
                what = (f"WSD, {self._cooldown()} cooldown" if self.kind.startswith("wsd")
                        else f"{self.kind} decay")
                head = f"{what} from step {k} to {T}, peak {peak} -> {end}"
        w = self.warmup_steps
        if self.warmup == "constant" and w:
            return f"{head}, {w} constant warmup steps at {_fmt(self.warmup_lr)}"
        return f"{head}, {w} linear warmup steps" if w else f"{head}, no warmup"


def as_schedule(spec):
    """Return ``spec`` (a :class:`Schedule` or a dict of its fields) as a ``Schedule``."""
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, Mapping):
        return Schedule.from_dict(spec)
    raise TypeError(f"a schedule spec must be a Schedule or a dict, got {type(spec).__name__}")


def _ready(spec, total_steps=None):
    s = as_schedule(spec)
    if total_steps is not None:
        s = replace(s, total_steps=total_steps)  # re-validates against the new length
    if s.total_steps is None and s.kind != "from_log":
        raise ValueError(f"`total_steps` is required for kind {s.kind!r}: set it in the "
                         f"spec or pass total_steps=")
    return s


def lr_schedule(spec, total_steps=None):
    """Per-step learning rates ``lr[t]`` for ``t = 0 .. total_steps - 1``.

    Parameters
    ----------
    spec : Schedule or dict
        The schedule.
    total_steps : int, optional
        Overrides (or supplies) ``spec.total_steps``; the schedule is re-planned for it.

    Returns
    -------
    numpy.ndarray
        float64 array of length ``total_steps``.

    Raises
    ------
    ValueError
        If the spec is invalid or no length is known.

    Examples
    --------
    >>> lr_schedule({"kind": "linear", "peak_lr": 1.0, "total_steps": 4})
    array([1.  , 0.75, 0.5 , 0.25])
    """
    s = _ready(spec, total_steps)
    return _values(s, np.arange(s._length(), dtype=np.float64))


def _decay(shape, t, k, T, peak, end):
    """LR on the decay segment ``k <= t <= T`` (formulas as in the Multi-Power dataset)."""
    if shape == "linear":
        return peak + (end - peak) * (t - k) / (T - k)
    if shape == "cosine":
        return end + (peak - end) * (1 + np.cos(np.pi * (t - k) / (T - k))) / 2
    if shape == "exp":
        return peak ** ((T - t) / (T - k)) * end ** ((t - k) / (T - k))
    return end + (peak - end) * (1 - np.sqrt((t - k) / (T - k)))


def _from_log(s, t):
    """Logged LRs, reconstructed the same way for every logging interval: linear
    between logged steps; before the first logged step, the line through the first two
    when the LR rises there (a warmup logged from step > 0, clipped at 0), else the
    first value; after the last, the last value."""
    xs = np.asarray(s.log_steps, dtype=np.float64)
    ys = np.asarray(s.log_lr, dtype=np.float64)
    out = np.interp(t, xs, ys)
    if xs.size >= 2 and xs[0] > 0 and ys[1] > ys[0]:
        before = t < xs[0]
        slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
        out[before] = np.maximum(ys[0] + slope * (t[before] - xs[0]), 0.0)
    return out


def logged_warmup_steps(lr) -> int:
    """Warmup length of a per-step LR array whose form is unknown (a logged schedule):
    the first step at the maximum LR when the LR rises to it from below, else 0."""
    lr = np.asarray(lr, dtype=np.float64)
    if lr.size == 0 or lr[0] >= lr.max():
        return 0
    return int(np.argmax(lr >= lr.max() * (1 - 1e-9)))


def _values(s, t):
    if s.kind == "from_log":
        return _from_log(s, t)
    T, peak, end = s.total_steps, s.peak_lr, s._end()
    if s.kind == "rewarm":
        s0, r = s.rewarm_start, s.rewarm_steps
        lr = np.empty(t.shape)
        before, climb = t < s0, (t >= s0) & (t < s0 + r)
        lr[before] = _values(s.base, t[before])
        start = _values(s.base, np.array([s0 - 1.0]))[0]
        lr[climb] = start + (peak - start) * (t[climb] - s0 + 1) / r
        after = t >= s0 + r
        lr[after] = _decay(s.redecay, np.minimum(t[after], T), s0 + r, T, peak, end)
        lr[t >= T] = end
        return lr
    lr = np.full(t.shape, peak)
    if s.kind == "step":
        lr = peak * s.factor ** np.searchsorted(s.milestones, t, side="right")
    elif s.kind == "two_stage":
        lr[t >= s._decay_step()] = end
    elif s.kind != "constant":
        k = s._decay_step()
        decaying = t >= k
        lr[decaying] = _decay(s._cooldown(), np.minimum(t[decaying], T), k, T, peak, end)
        lr[t >= T] = end
    w, warm = s.warmup_steps, t < s.warmup_steps
    if s.warmup == "constant":
        lr[warm] = s.warmup_lr
    else:  # lr[t] = peak * t / (w - 1), i.e. numpy.linspace(0, peak, w)
        lr[warm] = peak * t[warm] / (w - 1) if w > 1 else 0.0
    return lr


def _check_lr_array(lr):
    lr = np.asarray(lr, dtype=np.float64)
    if lr.ndim == 0 or not np.all(np.isfinite(lr)):
        raise ValueError("`lr` must be a finite array with steps along the last axis")
    return lr


def forward_area(lr):
    """S1(t) = sum of ``lr[tau]`` for ``tau <= t``, the "forward area" of the schedule.

    Parameters
    ----------
    lr : array_like
        Per-step LR, steps along the last axis (several runs may be stacked).

    Returns
    -------
    numpy.ndarray
        Same shape as ``lr``.
    """
    return np.cumsum(_check_lr_array(lr), axis=-1)


def annealing_area(lr, decay):
    """S2(t) of the LR-annealing law (Tissue et al. 2024, arXiv 2408.11029).

    ``m_i = decay * m_(i-1) + (lr_(i-1) - lr_i)`` with ``m_0 = 0`` and
    ``S2(t) = sum_(i <= t) m_i``: a first-order linear filter, then a cumulative sum.

    Parameters
    ----------
    lr : array_like
        Per-step LR, steps along the last axis.
    decay : float
        The momentum factor lambda in [0, 1] (the paper uses values near 0.999).

    Returns
    -------
    numpy.ndarray
        Same shape as ``lr``.
    """
    from scipy.signal import lfilter  # scipy.signal takes ~1 s to import; only here

    lr = _check_lr_array(lr)
    if not 0 <= decay <= 1:
        raise ValueError(f"`decay` must be in [0, 1], got {decay}")
    drops = np.zeros_like(lr)
    drops[..., 1:] = -np.diff(lr, axis=-1)
    return np.cumsum(lfilter([1.0], [1.0, -decay], drops, axis=-1), axis=-1)
