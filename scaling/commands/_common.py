"""What every verb shares: one-line errors, loading DATA, printing results, options."""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

import click

from scaling.reporting import curve_drop_highest_message

__all__ = ["InputError", "Finite", "strip_ansi", "check_save_path", "save_result", "Group", "load", "parse_starts", "colorize", "emit", "emit_groups",
           "fit_options", "make_estimator", "selection_options", "selection_kwargs", "where_option", "constraint_options", "constraints", "jsonable", "LAW_CHOICES", "LAW_HELP", "LawChoice", "LogFormatChoice", "CURVE_LAW_NAMES", "LOSS_CHOICES", "QUANTITY",
           "PER_RUN_QUANTITY"]

def _law_names(kind=None):
    # the registry's names (scaling.fits.laws.REGISTRY); importing it costs only numpy
    from scaling.fits.laws import law_names

    return law_names(kind)


LAW_CHOICES = _law_names(("point", "curve"))


class LawChoice(click.Choice):
    """``--law``: the registry's point and curve laws, read when the option is used, so a
    law added to the registry (one line) is a choice with no change to any command."""

    def __init__(self, kinds=("point", "curve")):
        self.kinds = tuple(kinds)
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        return tuple(_law_names(self.kinds))

    @choices.setter
    def choices(self, _value):  # click.Choice.__init__ assigns it; the registry decides
        pass
#: names of the curve laws (the laws themselves: scaling.fits.curve.CURVE_LAWS, a dict)
CURVE_LAW_NAMES = tuple(_law_names("curve"))


LOSS_CHOICES = ["huber", "log-mse", "mse", "asymmetric"]


class Quantity(click.ParamType):
    """A count with an optional size suffix: ``124M``, ``1.3B``, ``5.88e23``."""

    name = "number"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        from scaling.data.schema import parse_quantity

        try:
            number = parse_quantity(value)
        except ValueError:
            self.fail(f"{value!r} is not a number (a size suffix K, M, B, T is allowed, "
                      "e.g. 124M or 1.3B)", param, ctx)
        import math

        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class PositiveQuantity(Quantity):
    """A count > 0, with an optional size suffix (``70B``)."""

    name = "positive number"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number <= 0:
            self.fail(f"{value!r} is not > 0", param, ctx)
        return number


class PerRunQuantity(Quantity):
    """One count for every run (``124M``) or one per run (``run_a=124M,run_b=350M``)."""

    name = "number or RUN=NUMBER,..."

    def convert(self, value, param, ctx):
        if isinstance(value, (float, dict)) or "=" not in str(value):
            return super().convert(value, param, ctx)
        out = {}
        for item in str(value).split(","):
            run, sep, number = item.partition("=")
            if not sep or not run.strip():
                self.fail(f"expected RUN=NUMBER pairs separated by commas, got {item!r}",
                          param, ctx)
            out[run.strip()] = super().convert(number.strip(), param, ctx)
        return out


class Finite(click.FloatRange):
    """A float range that also refuses nan and inf (``click.FloatRange`` lets nan through:
    every comparison with nan is false)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


QUANTITY = Quantity()
POSITIVE_QUANTITY = PositiveQuantity()
PER_RUN_QUANTITY = PerRunQuantity()


class InputError(click.ClickException):
    """A user mistake: printed as one line, exit code 2 (no traceback)."""

    exit_code = 2


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings about the user's data print as one plain line on stderr."""
    click.echo(f"warning: {strip_ansi(str(message))}", err=True)


#: ctx.meta key: pandas' string storage before a command switched it (see _python_strings)
_STRINGS = "scaling.string_storage"


def _python_strings(ctx) -> None:
    """Keep the command's string columns (run ids, labels) in pandas' Python storage.

    pandas >= 3 stores them in Arrow when pyarrow is installed; a 100,000-run table then
    peaked 40-50 MB higher in the Arrow memory pool (223 MB against 180 MB for
    `scaling fit`, docs/performance.md), at no gain for our row counts. Set for the CLI's
    own command only and restored by :meth:`Group.invoke`: a library call never changes
    the user's pandas options."""
    import pandas as pd

    if ctx is not None and _STRINGS not in ctx.meta:
        ctx.meta[_STRINGS] = pd.get_option("mode.string_storage")
        pd.set_option("mode.string_storage", "python")


def _restore_strings(ctx) -> None:
    if _STRINGS in ctx.meta:
        sys.modules["pandas"].set_option("mode.string_storage", ctx.meta.pop(_STRINGS))


class Group(click.Group):
    """Turns library ``ValueError``s into one-line errors; ``--verbose`` shows tracebacks."""

    def invoke(self, ctx):
        try:
            return self._invoke(ctx)
        finally:
            _restore_strings(ctx)

    def _invoke(self, ctx):
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (ValueError, FileNotFoundError, TypeError) as err:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            raise InputError(strip_ansi(str(err).strip() or type(err).__name__)) from None
        except OSError as err:  # read-only folder, full disk, ...: name the path, exit 2
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            where = err.filename or "a file"
            raise InputError(strip_ansi(f"cannot write or read {where}: "
                                        f"{err.strerror or err}")) from None
        except Exception as err:  # noqa: BLE001 - last-resort message, traceback on request
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            raise click.ClickException(
                f"internal error: {type(err).__name__}: {err} (run `scaling --verbose ...` "
                "for the traceback and report it)") from None


def load(data: str, columns, runs=None, log_format=None, model_size=None,
          tokens_per_step=None, require_size=True):
    """Load DATA: a path, ``bundled:NAME``, or a training log (``log_format``); inside
    ``--group`` the group's rows, with ``--where`` the rows it keeps. Curve laws pass
    ``require_size=False`` (one model's curves need no N)."""
    table = _load(data, columns, runs, log_format, model_size, tokens_per_step,
                  require_size)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _GROUP_TABLE in ctx.meta:
        return table  # a group of a table already loaded, converted and checked
    from scaling.data.checks import apply_units, check_plausible

    table = apply_units(table, _units())
    where = selection_kwargs().get("where")
    if where:
        from scaling.data.select import filter_table

        table = filter_table(table, where)
    check_plausible(table, ratio=False)  # tokens per parameter: by point laws only
    return table


def units_as_is() -> bool:
    """``--units as-is`` was given: the values are meant as written."""
    return bool(_units().get("as_is"))


def _units() -> dict:
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(_UNITS, {})) if ctx is not None else {}


def _read_units(ctx, values) -> None:
    """--units into ctx.meta (one place: every verb that loads DATA applies it)."""
    if not values:  # a saved-fit prediction must not pay for scaling.data (pandas)
        ctx.meta[_UNITS] = {}
        return
    from scaling.data.checks import parse_units

    try:
        ctx.meta[_UNITS] = parse_units(values)
    except ValueError as err:
        raise click.BadParameter(str(err), ctx, param_hint="--units") from None


#: --units on every verb that reads a runs table (see scaling.data.checks)
_UNITS_HELP = ("Units of the table's numbers, repeatable: N=M or N=B (N in millions or "
               "billions; also D=, C= with K, M, B, T, P; C=PF-days), loss=percent, loss=ppl (perplexity: "
               "the log is taken), or as-is (accept values that look like a wrong unit).")


def _load(data: str, columns, runs=None, log_format=None, model_size=None,
          tokens_per_step=None, require_size=True):
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _GROUP_TABLE in ctx.meta:
        return ctx.meta[_GROUP_TABLE]
    _python_strings(ctx)
    from scaling.data import parse_column_map
    from scaling.data.source import load_source

    try:
        table, kinds = load_source(data, columns=parse_column_map(columns) or None, runs=runs,
                                   log_format=log_format or "auto", model_size=model_size,
                                   tokens_per_step=tokens_per_step, require_size=require_size)
    except ValueError as err:
        if "does not exist" in str(err) or "matches no file" in str(err) \
                or "needs the model size" in str(err):
            raise InputError(str(err)) from None
        raise
    if kinds != {"table"}:
        _say_format(kinds, data)
    return table


def _say_format(kinds: set, data: str) -> None:
    """One line on stderr: which log format DATA was read as (``--log-format`` to force)."""
    from scaling.data.logs import LOG_KINDS

    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("as_json"):
        return  # JSON on stdout stays one parsable document (the source is in its meta)
    what = "; ".join(f"{k} ({LOG_KINDS[k]})" for k in sorted(kinds))
    click.echo(f"detected log format: {what}; --log-format to choose another", err=True)


def parse_starts(value: str):
    if value in ("auto", "grid", "projected"):
        return value
    try:
        starts = int(value)
    except ValueError:
        raise click.BadParameter(f"expected 'auto', 'grid', 'projected' or a number of "
                                 f"random starts, got {value!r}") from None
    if not 1 <= starts <= MAX_STARTS:
        raise click.BadParameter(f"a number of random starts must be in 1..{MAX_STARTS}, "
                                 f"got {value!r}")
    return starts


MAX_STARTS = 100_000  # each start is one local optimisation


_ALARM = ("FRAGILE", "NOT converged", "NOT useful", "did not converge")


def colorize(text: str) -> str:
    """Warnings in yellow, alarms in red; click.echo drops the colors when not on a TTY."""
    out, in_warnings = [], False
    for line in text.splitlines():
        if line.strip() in ("warnings", "warning"):
            in_warnings = True
        elif not line.startswith(" "):
            in_warnings = False
        if any(word in line for word in _ALARM):
            line = click.style(line, fg="red", bold=True)
        elif in_warnings and line.strip():
            line = click.style(line, fg="yellow")
        out.append(line)
    return "\n".join(out)


_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (a run id or column name from a file must
    not recolour, retitle or clear the user's terminal)."""
    return _ANSI.sub("", text).replace("\x1b", "")


def check_save_path(ctx, param, value):
    """Click callback for ``--save FILE``: its folder must exist (checked before the fit)."""
    if value is not None:
        if value.is_dir():
            raise click.BadParameter(f"{value} is a folder; give a file name", ctx, param)
        if not value.parent.is_dir():
            raise click.BadParameter(f"the folder {value.parent} does not exist; create it "
                                     "first", ctx, param)
    return value


def save_result(save: Path, text: str) -> None:
    """Write ``text`` to ``save`` atomically; on an OS error the result (already printed)
    is not lost: say so and exit 2 naming the path."""
    from scaling.data import atomic_write_text

    try:
        atomic_write_text(save, text + "\n")
    except OSError as err:
        raise InputError(f"could not save to {save}: {err.strerror or err}; the result is "
                         "printed above (rerun with --save elsewhere)") from None


def emit(result, as_json: bool, save: Path | None) -> None:
    """Print the result (first, so a failing --save never loses a finished fit), then save."""
    # the JSON only where it is used: a million-point fit's JSON costs seconds and MBs
    text = result.to_json() if as_json or save is not None else None
    click.echo(strip_ansi(text) if as_json else colorize(strip_ansi(result.report())))
    if save is not None:
        save_result(save, text)

def _log_kinds() -> dict:
    # the one registry of log formats (scaling.data.logs.LOG_KINDS), read when the option
    # is used, so that defining the CLI imports no pandas
    from scaling.data.logs.formats import LOG_FORMATS, TABLE_FORMAT

    return {**{name: f.description for name, f in LOG_FORMATS.items()},
            TABLE_FORMAT.name: TABLE_FORMAT.description}


class LogFormatChoice(click.Choice):
    """``--log-format``: 'auto' and the registry's log kinds, read when used."""

    def __init__(self):
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        return ("auto", *_log_kinds())

    @choices.setter
    def choices(self, _value):
        pass

    def convert(self, value, param, ctx):
        if value == "auto":  # the default: no registry (pandas) for a saved-fit prediction
            return value
        return super().convert(value, param, ctx)


class _LogFormatOption(click.Option):
    """Its help lists the registry's kinds and what each reads."""

    def get_help_record(self, ctx):
        base = self.help.split(" Kinds: ")[0]
        self.help = base + " Kinds: " + "; ".join(f"{k}: {v}" for k, v in _log_kinds().items()) + "."
        return super().get_help_record(ctx)


def fit_options(function):
    """Options shared by `fit`, `plan` and `predict` for point laws."""
    for option in reversed([
        click.option("--loss", type=click.Choice(LOSS_CHOICES), default="huber", show_default=True,
                     help="Objective, summed over points."),
        click.option("--delta", type=Finite(min=0, min_open=True), default=1e-3,
                     show_default=True,
                     help="Huber threshold on log residuals."),
        click.option("--asymmetry", type=Finite(min=0, min_open=True), default=4.0,
                     show_default=True,
                     help="Over-prediction weight of the asymmetric loss."),
        click.option("--drop-highest", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Leave out the K runs with the highest final loss."),
        click.option("--col", "columns", multiple=True, metavar="NEW=OLD",
                     help="Column map, e.g. --col loss=train/loss (repeatable)."),
        click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Separate runs file (one row per run) to join with DATA."),
        click.option("--starts", default="auto", show_default=True,
                     help="'auto' ('projected' where the law declares linear parameters, "
                          "else 'grid'), 'grid' (the law's published grid, e.g. Epoch's 4,500 "
                          "starts), 'projected' (variable projection: a grid over the "
                          "exponents, the rest by least squares; fast) or a number of seeded "
                          "random starts."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed for random starts and the bootstrap."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        click.option("--log-format", type=LogFormatChoice(), cls=_LogFormatOption,
                     default="auto", show_default=True,
                     help="What DATA is: 'auto' tells it from the file (and prints what it "
                          "found)."),
        click.option("--model-size", type=PER_RUN_QUANTITY, default=None,
                     help="For a training log: the parameter count N (124M, 1.3B), or one "
                          "per run: run_a=124M,run_b=350M (HF output folders: read from "
                          "config.json)."),
        click.option("--tokens-per-step", type=PER_RUN_QUANTITY, default=None,
                     help="For a training log: tokens per optimizer step (gives D)."),
    ]):
        function = option(function)
    return selection_options(function)


def make_estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed, **constraints):
    from scaling.fits import ScalingLawFit

    return ScalingLawFit(law=law, x=x, loss=loss, delta=delta, k=asymmetry,
                         starts=parse_starts(starts), seed=seed, drop_highest=drop_highest,
                         **constraints, **selection_kwargs())


_SELECTION = "scaling.selection"  # ctx.meta keys of the row-selection options
_UNITS = "scaling.units"
_GROUP_TABLE = "scaling.group_table"


def selection_kwargs() -> dict:
    """The row-selection options of the running command (``where``, ``split``, ``points``,
    ``repeats``, ``n_convention``) as ScalingLawFit keywords; {} outside a command."""
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(_SELECTION, {})) if ctx is not None else {}


def points_for_few_runs(table, law: str, drop_highest: int = 0, *, n_fixed: int = 0) -> None:
    """Too few runs for a point law at one final point each, every run with a curve (three
    Trainer folders): fit every checkpoint and say so (:func:`fits.selection.points_for_few_runs`).
    The default of every verb that fits a point law (fit, plan, check, predict); not when
    --points or --x was given, and never for a curve law."""
    from scaling.fits.laws import get_any_law, law_kind
    from scaling.fits.selection import points_for_few_runs as needs_all

    ctx = click.get_current_context()
    if (law_kind(law) != "point" or ctx.params.get("x") is not None
            or ctx.get_parameter_source("points") != click.core.ParameterSource.DEFAULT):
        return
    spec = get_any_law(law)
    if needs_all(table, spec, n_fixed=n_fixed, drop_highest=drop_highest):
        ctx.meta[_SELECTION] = {**ctx.meta[_SELECTION], "points": "all"}
        if not ctx.params.get("as_json"):
            click.echo(f"note: {len(table.runs) - drop_highest} runs cannot fit "
                       f"{len(spec.params) - n_fixed} free parameters at one final point each; "
                       "fitting every checkpoint (--points all; --points final to refuse)",
                       err=True)


def selection_options(function):
    """--where, --split, --points, --repeats, --n-convention, --group for a verb.

    The options are read here, not by the command: the estimator gets them through
    :func:`make_estimator` (or :func:`selection_kwargs`), ``--where`` also filters what
    :func:`load` returns (so curve laws honour it), and ``--group COL`` runs the whole
    command once per value of COL (text: one section each; ``--json``: one object
    ``{"groups": {value: ...}}``; ``--save F`` writes ``F`` with ``.VALUE`` before the
    suffix per group).
    """
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        group = kwargs.pop("group")
        opts = {k: kwargs.pop(k) for k in ("where", "split", "points", "repeats",
                                            "n_convention")}
        best_of = kwargs.pop("best_of")
        _read_units(ctx, kwargs.pop("units"))
        if best_of:
            if opts["repeats"] != "keep":
                raise InputError(f"--best-of {best_of} keeps the seeds of the best setting; "
                                 f"it cannot be combined with --repeats {opts['repeats']}")
            opts["repeats"] = f"best:{best_of}"
        if opts["n_convention"] is not None:
            # imported here: scaling.data imports pandas, which a saved-fit prediction
            # (`scaling predict FIT.json --at ...`) must not pay for
            from scaling.data.nconvention import normalize_convention

            opts["n_convention"] = normalize_convention(opts["n_convention"])
        if kwargs.get("law") in CURVE_LAW_NAMES:
            point_only = [f"--{k.replace('_', '-')}" for k, default in (
                ("split", "fit"), ("points", "final"), ("repeats", "keep"),
                ("n_convention", None)) if opts[k] != default]
            if point_only:
                raise InputError(f"{', '.join(point_only)} apply to point laws; curve laws "
                                 "fit the runs labelled split=fit (or --fit-runs) on whole "
                                 "curves")
        ctx.meta[_SELECTION] = opts
        if group is None:
            return function(*args, **kwargs)
        return _for_each_group(function, args, kwargs, group, ctx)

    options = [
        click.option("--where", default=None, metavar="EXPR",
                     help="Row filter in pandas query syntax, e.g. \"N < 1e9 and dataset == "
                          "'c4'\" (columns, numbers, strings, comparisons, and/or/not, in)."),
        click.option("--split", default="fit", show_default=True, metavar="LABEL",
                     help="Fit rows whose split column is LABEL; other labelled rows are held "
                          "out and predicted ('all': ignore the column)."),
        click.option("--points", type=click.Choice(["final", "all"]), default="final",
                     show_default=True,
                     help="Point laws: the final point of each run, or every checkpoint "
                          "(bootstrap and backtests resample whole runs)."),
        click.option("--repeats", type=click.Choice(["keep", "mean", "all"]), default="keep",
                     show_default=True,
                     help="Point laws: runs that differ only in seed, fitted as separate runs "
                          "(keep) or averaged (mean); their spread is the seed scatter. Runs "
                          "at one (N, D) differing in another setting (lr, batch size, ...) "
                          "are a sweep: refused unless --best-of COL or 'all' (fit every run)."),
        click.option("--best-of", "best_of", default=None, metavar="COL[,COL]",
                     help="Point laws: in a sweep, keep per (N, D) the runs of the COL value "
                          "with the lowest loss (e.g. --best-of lr); never seed scatter."),
        click.option("--n-convention", type=click.Choice(["total", "non-embedding",
                                                          "non-embedding+head"]),
                     default=None,
                     help="Point laws: count N this way (converted from d_model, n_layer, "
                          "vocab_size when the table has them)."),
        click.option("--group", default=None, metavar="COL",
                     help="One fit per value of the run column COL (e.g. dataset)."),
        click.option("--units", "units", multiple=True, metavar="COL=UNIT", help=_UNITS_HELP),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def where_option(function):
    """Only --where (row filter applied by :func:`load`), for verbs that read a runs table
    but fit no point law of their own (isoflop, hparams, compare)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        ctx.meta[_SELECTION] = {"where": kwargs.pop("where")}
        _read_units(ctx, kwargs.pop("units"))
        return function(*args, **kwargs)

    wrapper = click.option("--units", "units", multiple=True, metavar="COL=UNIT",
                           help=_UNITS_HELP)(wrapper)
    return click.option(
        "--where", default=None, metavar="EXPR",
        help="Row filter in pandas query syntax, e.g. \"N < 1e9 and dataset == 'c4'\"."
    )(wrapper)


def _safe_name(value: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(value)).strip("._") or "group"


def group_file_names(values) -> dict:
    """A distinct, file-safe name per group value: values that sanitize to the same name
    (``a/b`` and ``a_b``, or differ only in case) get a short hash of the value appended, so
    no group's report or saved fit overwrites another's."""
    import hashlib

    bases = {v: _safe_name(v) for v in values}
    counts: dict = {}
    for base in bases.values():
        counts[base.lower()] = counts.get(base.lower(), 0) + 1
    return {v: (f"{b}-{hashlib.sha1(str(v).encode()).hexdigest()[:8]}"
                if counts[b.lower()] > 1 else b) for v, b in bases.items()}


def _for_each_group(function, args, kwargs, column, ctx):
    """Run a command once per value of ``column``; combine JSON output."""
    import contextlib
    import io
    import json as _json

    from scaling.data.select import group_tables

    path = kwargs.get("data_path", kwargs.get("input_path"))
    table = load(path, kwargs.get("columns"), kwargs.get("runs"), kwargs.get("log_format"),
                 kwargs.get("model_size"), kwargs.get("tokens_per_step"))
    as_json = kwargs.get("as_json", False)
    save = kwargs.get("save")
    combined = {}
    tables = group_tables(table, column)
    names = group_file_names(list(tables))
    for value, sub in tables.items():
        ctx.meta[_GROUP_TABLE] = sub
        call = dict(kwargs)
        if save is not None:
            call["save"] = save.with_name(f"{save.stem}.{names[value]}{save.suffix}")
        if kwargs.get("out") is not None:  # reports: one folder per group
            call["out"] = Path(kwargs["out"]) / names[value]
        if not as_json:
            click.echo(f"== {column} = {value} ==")
            function(*args, **call)
            click.echo("")
            continue
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            function(*args, **call)
        text = buffer.getvalue()
        try:
            combined[value] = _json.loads(text)
        except ValueError:
            combined[value] = text
    ctx.meta.pop(_GROUP_TABLE, None)
    if as_json:
        click.echo(_json.dumps({"group_by": column, "groups": combined}, indent=2))


def constraint_options(function, tie: bool = True, prior: bool = True):
    """--fix, --tie, --prior, --bounds (each repeatable); read them with :func:`constraints`."""
    options = [
        click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE",
                     help="Hold a parameter fixed, e.g. --fix E=1.69 (repeatable)."),
        click.option("--tie", "tie", multiple=True, metavar="NAME=SOURCE",
                     help="One value for two parameters, e.g. --tie alpha=beta (repeatable).")
        if tie else None,
        click.option("--prior", "prior", multiple=True, metavar="NAME=MEAN:SD",
                     help="Gaussian prior, SD on the fit scale (log scale for E, A, B), e.g. "
                          "--prior alpha=0.34:0.05 (repeatable).") if prior else None,
        click.option("--bounds", "bounds", multiple=True, metavar="NAME=LO:HI",
                     help="Override a parameter's bounds, e.g. --bounds alpha=0.1:0.6 "
                          "(repeatable)."),
    ]
    for option in reversed([o for o in options if o is not None]):
        function = option(function)
    return function


def constraints(fix=(), tie=(), prior=(), bounds=()) -> dict:
    """``fixed``, ``tied``, ``prior``, ``bounds`` keyword arguments from the options
    (None where not given)."""
    from scaling.fits.constraints import parse_constraints

    try:
        parsed = parse_constraints(fix=fix, tie=tie, prior=prior, bounds=bounds)
    except ValueError as err:
        raise InputError(str(err)) from None
    return {k: (v or None) for k, v in parsed.items()}


def emit_groups(results: dict, as_json: bool, save: Path | None) -> None:
    """Several fits (one per model size): JSON with every group and the merged held-out
    errors, or the reports one after another."""
    import json as _json


    payload = {"groups": {name: r.to_dict() for name, r in results.items()},
               "heldout": {rid: h for r in results.values()
                           for rid, h in r.data.get("heldout", {}).items()}}
    text = _json.dumps(payload, indent=2)
    click.echo(strip_ansi(text) if as_json else "\n\n".join(
        f"== {strip_ansi(name)} ==\n{strip_ansi(r.report())}" for name, r in results.items()))
    if save is not None:
        save_result(save, text)


def jsonable(payload):
    from scaling.fits.result import to_jsonable

    return to_jsonable(payload)


#: --format on every verb that writes plots (PNG at 200 dpi, SVG, PDF; fits.plots.PLOT_FORMATS)
format_option = click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]),
                             default="png", show_default=True,
                             help="Plot file format: PNG at 200 dpi, SVG or PDF (a report's "
                                  "HTML embeds PNG/SVG plots and links PDF ones).")

#: --drop-highest is a point-law option; curve laws refuse it rather than ignore it
CURVE_DROP_HIGHEST = curve_drop_highest_message()
#: help of --law, from the registry (a registered law shows up here with no edit)
LAW_HELP = (f"Scaling law: point laws ({', '.join(_law_names('point'))}) or LR-schedule "
            f"curve laws ({', '.join(_law_names('curve'))}); `scaling laws` describes each.")
