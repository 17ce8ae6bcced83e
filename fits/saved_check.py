"""Validation of saved fits (``scaling fit --save`` JSON): untrusted input, checked before use.

A saved fit is read back by ``scaling predict``, ``report`` and ``schedules compare``. A file
edited by hand, renamed between versions or simply damaged must stop with a message naming
the key at fault, never predict from parameters the law does not have, nor from values
outside the bounds the fit was made under (``L0 = -1e6`` would predict a loss of -1e6).

:func:`check_saved_fit` is called by :meth:`FitResult.from_dict`.
"""

from __future__ import annotations

import json
import math
import stat
from numbers import Real
from pathlib import Path

__all__ = ["check_saved_fit", "check_saved_l2l", "read_json_file", "MAX_JSON_BYTES",
           "MAX_JSON_DEPTH"]

MAX_JSON_BYTES = 1 << 30  # 1 GiB: a saved fit with 100,000 bootstrap draws is ~50 MB
MAX_JSON_DEPTH = 64       # a saved fit or a spec nests 5-6 levels

_TEXT_KEYS = ("law", "equation", "citation")
_DICT_KEYS = ("data", "choices", "convergence", "draws")
_REL_TOL = 1e-9  # bounds go through float formatting and back


def _number(value, where: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"saved fit: `{where}` must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"saved fit: `{where}` is NaN")
    return value


def _law_parameters(name: str):
    """(parameter names, default bounds) of a registered law; ValueError naming `law`."""
    from .laws import REGISTRY, get_any_law

    try:
        law = get_any_law(name)
    except ValueError:
        raise ValueError(f"saved fit: `law` {name!r} is not a known law (known: "
                         f"{', '.join(sorted(REGISTRY))})") from None
    return tuple(law.params), dict(getattr(law, "bounds", {}) or {})


def _inside(value: float, lower, upper) -> bool:
    tol = _REL_TOL * max(1.0, abs(value))
    return (lower is None or value >= lower - tol) and (upper is None or value <= upper + tol)


def check_saved_fit(payload) -> dict:
    """Check a saved fit's structure and values; return it unchanged.

    Parameters
    ----------
    payload : object
        The parsed JSON of a saved fit (``FitResult.to_dict()``).

    Returns
    -------
    dict
        ``payload``.

    Raises
    ------
    ValueError
        Naming the key at fault: not an object; a file of several fits (``groups``); a
        missing or mistyped field; an unknown ``law``; ``params`` missing one of the law's
        parameters or holding one it does not have; a value that is null, NaN, infinite or
        outside its bounds (the bounds saved with it and the law registry's bounds; the
        file's ``choices.bounds`` are never trusted); bootstrap ``draws`` that are not one
        finite list per parameter of a common length, or inconsistent with the values.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"saved fit: expected a JSON object, got {type(payload).__name__}")
    if "params" not in payload and isinstance(payload.get("groups"), dict):
        names = ", ".join(map(str, payload["groups"])) or "none"
        raise ValueError(f"saved fit: this file holds one fit per group (`groups`: {names}); "
                         "save a single fit (e.g. `scaling fit ... --fit-runs ID,... --save`)")
    missing = [k for k in (*_TEXT_KEYS, "params", "objective", "n_points", "n_runs")
               if k not in payload]
    if missing:
        raise ValueError(f"not a saved fit result: missing key(s) "
                         f"{', '.join(map(repr, missing))}")
    for key in _TEXT_KEYS:
        if not isinstance(payload[key], str):
            raise ValueError(f"saved fit: `{key}` must be a string, got {payload[key]!r}")
    for key in _DICT_KEYS:
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise ValueError(f"saved fit: `{key}` must be an object, got "
                             f"{type(payload[key]).__name__}")
    warnings = payload.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ValueError("saved fit: `warnings` must be a list of strings")
    _number(payload["objective"], "objective", allow_none=True)
    for key in ("n_points", "n_runs"):
        value = payload[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"saved fit: `{key}` must be a count (an integer >= 0), got "
                             f"{value!r}")

    points = (payload.get("data") or {}).get("points")
    if points is not None:
        _check_points(points)

    params = payload["params"]
    if not isinstance(params, dict) or not params:
        raise ValueError(f"saved fit: `params` must be an object of parameters, got "
                         f"{type(params).__name__ if params else 'nothing'}")
    names, defaults = _law_parameters(payload["law"])
    absent = [n for n in names if n not in params]
    extra = [n for n in params if n not in names]
    if absent or extra:
        parts = ([f"missing {', '.join(map(repr, absent))}"] if absent else []) + \
                ([f"unknown {', '.join(map(repr, extra))}"] if extra else [])
        raise ValueError(f"saved fit: `params` do not match law {payload['law']!r} "
                         f"({'; '.join(parts)}; the law's parameters are {', '.join(names)})")
    for name in names:
        spec = params[name]
        where = f"params.{name}"
        if not isinstance(spec, dict):
            raise ValueError(f"saved fit: `{where}` must be an object with value, stderr, "
                             f"lower, upper; got {spec!r}")
        if "value" not in spec:
            raise ValueError(f"saved fit: `{where}.value` is missing")
        if spec["value"] is None:
            raise ValueError(f"saved fit: `{where}.value` is null (a NaN or infinite value "
                             "was saved): this fit cannot predict")
        value = _number(spec["value"], f"{where}.value")
        if math.isinf(value):
            raise ValueError(f"saved fit: `{where}.value` is infinite")
        lower = _number(spec.get("lower"), f"{where}.lower", allow_none=True)
        upper = _number(spec.get("upper"), f"{where}.upper", allow_none=True)
        _number(spec.get("stderr"), f"{where}.stderr", allow_none=True)
        if not _inside(value, lower, upper):
            raise ValueError(f"saved fit: `{where}.value` = {value:g} is outside its bounds "
                             f"[{lower}, {upper}]")
        allowed = defaults.get(name)  # the registry's, never the file's `choices.bounds`
        if allowed is not None and not _inside(value, *(None if b is None else float(b)
                                                           for b in allowed)):
            raise ValueError(f"saved fit: `{where}.value` = {value:g} is outside law "
                             f"{payload['law']!r}'s bounds {list(allowed)} for {name} (bounds "
                             "come from the law, not from the file's `choices.bounds`); the "
                             "file was edited or damaged: refit and save again")
        interval = spec.get("interval")
        if interval is not None and not (isinstance(interval, list) and len(interval) == 2):
            raise ValueError(f"saved fit: `{where}.interval` must be [low, high] or null")
    if payload.get("draws"):
        _check_draws(payload["draws"], names, {n: float(params[n]["value"]) for n in names})
    return payload


def _check_draws(draws: dict, names, values: dict) -> None:
    """Bootstrap draws: one list per parameter of the law, equal lengths >= 2, finite
    numbers, each parameter's point estimate within (or at) the span of its draws."""
    if set(draws) != set(names):
        raise ValueError(f"saved fit: `draws` must hold one list per parameter of the law "
                         f"({', '.join(names)}), got {', '.join(map(str, draws)) or 'none'}")
    lengths = set()
    for name in names:
        column = draws[name]
        where = f"draws.{name}"
        if not isinstance(column, list) or not all(
                isinstance(v, Real) and not isinstance(v, bool) for v in column):
            raise ValueError(f"saved fit: `{where}` must be a list of numbers (a null is a "
                             "NaN draw)")
        if not all(math.isfinite(v) for v in column):
            raise ValueError(f"saved fit: `{where}` holds non-finite values")
        lengths.add(len(column))
        low, high = min(column, default=0.0), max(column, default=0.0)
        value = values[name]
        slack = max(high - low, 1e-6 * max(abs(value), abs(low), abs(high)), 1e-12)
        if not low - slack <= value <= high + slack:
            raise ValueError(f"saved fit: `{where}` spans [{low:.4g}, {high:.4g}], which is "
                             f"inconsistent with the point estimate {name} = {value:.4g}: the "
                             "draws belong to another fit; refit with --bootstrap and save")
    if len(lengths) != 1 or lengths.pop() < 2:
        raise ValueError("saved fit: the lists in `draws` must have one common length >= 2 "
                         "(one entry per bootstrap resample)")


def _check_points(points) -> None:
    """``data.points``: columns of numbers (or names), all the same length."""
    if not isinstance(points, dict):
        raise ValueError(f"saved fit: `data.points` must be an object of columns, got "
                         f"{type(points).__name__}")
    lengths = {}
    for name, column in points.items():
        if not isinstance(column, list):
            raise ValueError(f"saved fit: `data.points.{name}` must be a list, got "
                             f"{type(column).__name__}")
        lengths[name] = len(column)
        if name != "run_id" and not all(v is None or (isinstance(v, Real)
                                                      and not isinstance(v, bool))
                                        for v in column):
            raise ValueError(f"saved fit: `data.points.{name}` must hold numbers")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"saved fit: the columns of `data.points` differ in length "
                         f"({', '.join(f'{k}: {v}' for k, v in lengths.items())})")


def check_saved_l2l(payload) -> dict:
    """Check a saved loss-to-loss result (``scaling l2l --save``); return it unchanged.

    Raises
    ------
    ValueError
        Naming the key at fault: not an object, an unknown or non-l2l ``law``, ``groups``
        not an object of groups, a group whose ``params`` do not match the law's, or a
        parameter that is not a finite number inside the law's bounds.
    """
    from .laws import law_names

    if not isinstance(payload, dict):
        raise ValueError(f"saved l2l fit: expected a JSON object, got {type(payload).__name__}")
    law = payload.get("law")
    if law not in law_names("l2l"):
        raise ValueError(f"saved l2l fit: `law` must be one of {law_names('l2l')}, got {law!r}")
    names, bounds = _law_parameters(law)
    groups = payload.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise ValueError("saved l2l fit: `groups` must be an object of fitted groups, got "
                         f"{type(groups).__name__ if groups else 'nothing'}")
    for group, entry in groups.items():
        where = f"groups.{group}.params"
        params = entry.get("params") if isinstance(entry, dict) else None
        if not isinstance(params, dict):
            raise ValueError(f"saved l2l fit: `{where}` must be an object of parameters")
        absent = [n for n in names if n not in params]
        extra = [n for n in params if n not in names]
        if absent or extra:
            raise ValueError(f"saved l2l fit: `{where}` do not match law {law!r} (missing "
                             f"{absent}, unknown {extra}; the law's parameters are "
                             f"{', '.join(names)})")
        for name in names:
            value = params[name]
            if value is None:
                raise ValueError(f"saved l2l fit: `{where}.{name}` is null")
            value = _number(value, f"{where}.{name}")
            if math.isinf(value) or not _inside(value, *bounds.get(name, (None, None))):
                raise ValueError(f"saved l2l fit: `{where}.{name}` = {value:g} is outside law "
                                 f"{law!r}'s bounds {list(bounds.get(name, ()))}")
        _check_l2l_group_data(entry, f"groups.{group}", names)
    level = (payload.get("settings") or {}).get("level") \
        if isinstance(payload.get("settings"), dict) else None
    if payload.get("settings") is not None and not isinstance(payload["settings"], dict):
        raise ValueError("saved l2l fit: `settings` must be an object")
    if level is not None and not (isinstance(level, Real) and not isinstance(level, bool)
                                  and 0 < level < 1):
        raise ValueError(f"saved l2l fit: `settings.level` must be a number in (0, 1), got "
                         f"{level!r}")
    return payload


MAX_L2L_DRAWS = 100_000  # bootstrap refits or residuals kept per group


def _numbers(values, where: str, *, positive: bool = False) -> int:
    """``values`` must be a list of finite numbers (> 0 with ``positive``); its length."""
    if not isinstance(values, list):
        raise ValueError(f"saved l2l fit: `{where}` must be a list of numbers, got "
                         f"{type(values).__name__}")
    if len(values) > MAX_L2L_DRAWS:
        raise ValueError(f"saved l2l fit: `{where}` holds {len(values)} values; at most "
                         f"{MAX_L2L_DRAWS} are read")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) \
                or (positive and v <= 0):
            raise ValueError(f"saved l2l fit: `{where}[{i}]` must be a finite "
                             f"{'positive ' if positive else ''}number, got {v!r}")
    return len(values)


def _check_l2l_group_data(entry: dict, where: str, names) -> None:
    """A group's ``bootstrap`` (draws of each parameter, residuals, space), ``heldout`` and
    fitted x: the predictions and intervals are computed from them, so each is checked."""
    boot = entry.get("bootstrap")
    if boot not in (None, {}):
        if not isinstance(boot, dict):
            raise ValueError(f"saved l2l fit: `{where}.bootstrap` must be an object (or "
                             f"null), got {type(boot).__name__}")
        missing = [k for k in ("params", "residuals", "space") if k not in boot]
        if missing:
            raise ValueError(f"saved l2l fit: `{where}.bootstrap` lacks {missing} (a "
                             "truncated file? save the fit again)")
        if boot["space"] not in ("log", "linear"):
            raise ValueError(f"saved l2l fit: `{where}.bootstrap.space` must be 'log' or "
                             f"'linear', got {boot['space']!r}")
        draws = boot["params"]
        if not isinstance(draws, dict) or sorted(draws) != sorted(names):
            raise ValueError(f"saved l2l fit: `{where}.bootstrap.params` must hold draws of "
                             f"{', '.join(names)}")
        lengths = {n: _numbers(draws[n], f"{where}.bootstrap.params.{n}") for n in names}
        if len(set(lengths.values())) != 1 or not min(lengths.values()):
            raise ValueError(f"saved l2l fit: `{where}.bootstrap.params` must hold equally "
                             f"many draws of each parameter (at least one), got {lengths}")
        _numbers(boot["residuals"], f"{where}.bootstrap.residuals")
    points = entry.get("fit")
    for key in ("data", "points"):
        points = points.get(key) if isinstance(points, dict) else points
    if points is not None and not isinstance(points, dict):
        raise ValueError(f"saved l2l fit: `{where}.fit.data.points` must be an object")
    points = points or {}
    if points.get("x") is not None:
        _numbers(points["x"], f"{where}.fit.data.points.x", positive=True)
    held = entry.get("heldout")
    if held not in (None, {}):
        if not isinstance(held, dict):
            raise ValueError(f"saved l2l fit: `{where}.heldout` must be an object")
        sizes = {k: _numbers(held[k], f"{where}.heldout.{k}")
                 for k in ("x", "y", "predicted") if held.get(k) is not None}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"saved l2l fit: `{where}.heldout` columns differ in length "
                             f"{sizes}")


# --------------------------------------------------------------------------------------
# reading an untrusted JSON file with bounded work


def read_json_file(path, what: str = "file"):
    """The JSON value in ``path``, read with bounded work.

    Only a regular file (a link to one is followed) of at most :data:`MAX_JSON_BYTES` is
    read, so a link to ``/dev/zero`` or a FIFO is refused instead of read forever; objects
    and lists may nest at most :data:`MAX_JSON_DEPTH` levels (a 5,000-deep file is named,
    not a RecursionError). A syntax error raises :class:`json.JSONDecodeError` (a
    ValueError) for the caller to phrase; text that is not UTF-8 raises UnicodeDecodeError.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what} {path} is not a regular file (a folder, device or pipe); "
                         "give a JSON file")
    with open(path, "rb") as handle:  # read at most the limit, whatever st_size said
        data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"{what} {path} is larger than {MAX_JSON_BYTES >> 20} MiB; a saved "
                         "fit or a spec is far smaller")
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"{what} {path} nests objects or lists more than "
                         f"{MAX_JSON_DEPTH} levels deep") from None
    stack = [(value, 1)]
    while stack:  # iterative: the check itself cannot recurse too deeply
        item, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise ValueError(f"{what} {path} nests objects or lists more than "
                             f"{MAX_JSON_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, (dict, list)))
    return value
