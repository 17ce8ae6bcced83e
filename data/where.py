"""A safe row filter in pandas query syntax: ``"N < 1e9 and dataset == 'c4'"``.

The expression is parsed with :mod:`ast` and evaluated by a small interpreter over the
table's columns: comparisons (chained too), ``and``/``or``/``not`` (and ``&``/``|``/``~``),
``in``/``not in`` lists, arithmetic, numbers, strings, ``True``/``False`` and column names
(backticks for names that are not identifiers: ``` `val/loss` < 3 ```). Nothing else is
accepted: no ``@`` variables, attribute access, calls, subscripts or dunder names, so a
filter read from a command line or a config file cannot run code.

The work is bounded before and while it runs: at most ``MAX_LENGTH`` characters and
``MAX_DEPTH`` levels of nesting, constant numbers within the float range (``10**10**10`` is
refused before it is computed), repeated strings and lists at most ``MAX_ITEMS`` long, and
a division by zero between constants is named instead of raised.
"""

from __future__ import annotations

import ast
import math
import operator
import re

import numpy as np
import pandas as pd

__all__ = ["where_mask", "parse_where", "MAX_LENGTH", "MAX_DEPTH", "MAX_ITEMS"]

MAX_LENGTH = 4000   # characters of the expression
MAX_DEPTH = 100     # nested operations (the parser's own stack is far deeper)
MAX_ITEMS = 10_000  # elements of a list or characters of a string built by arithmetic
_MAX_BITS = 1024    # integers beyond the float range (about 1.8e308) are refused

_BACKTICK = re.compile(r"`([^`]*)`")
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
          ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_}


def _fail(expression: str, why: str) -> ValueError:
    if len(expression) > 200:
        expression = expression[:100] + " ... " + expression[-40:]
    return ValueError(f"row filter (where) {expression!r}: {why}; write a pandas-query-style filter such "
                      "as \"N < 1e9 and dataset == 'c4'\" (column names, numbers, strings, "
                      "comparisons, and/or/not, in [...])")


def parse_where(expression: str, columns) -> tuple[ast.Expression, dict[str, str]]:
    """Parse and check ``expression``; return its tree and the placeholder -> column map.

    Raises
    ------
    ValueError
        If the expression is not valid syntax, uses anything beyond the allowed subset
        (``@``, attributes, calls, subscripts, dunders, lambdas, ...) or names a column
        that the table does not have.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise _fail(str(expression), "the filter is empty")
    if len(expression) > MAX_LENGTH:
        raise _fail(expression, f"it is {len(expression)} characters long; at most "
                                             f"{MAX_LENGTH} are accepted")
    if "@" in _BACKTICK.sub("", expression):
        raise _fail(expression, "'@' (local variables) is not allowed")
    names: dict[str, str] = {}

    def quote(match):
        key = f"_col{len(names)}_"
        names[key] = match.group(1)
        return key

    source = _BACKTICK.sub(quote, expression.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise _fail(expression, f"not a valid expression ({err.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise _fail(expression, f"it is nested too deeply or holds a number too long "
                                f"to read (at most {MAX_DEPTH} levels)") from None
    if _depth(tree) > MAX_DEPTH:
        raise _fail(expression, f"it is nested more than {MAX_DEPTH} levels deep")
    columns = set(map(str, columns))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            column = names.get(node.id, node.id)
            if "__" in column and node.id not in names:
                raise _fail(expression, f"name {column!r} is not allowed")
            if column not in columns and node.id not in ("True", "False"):
                raise _fail(expression, f"no column {column!r}; the table has "
                                        f"{sorted(columns)}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)):
                raise _fail(expression, f"constant {node.value!r} is not allowed")
        elif not isinstance(node, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
                                   ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.Compare,
                                   ast.In, ast.NotIn, ast.BinOp, ast.List, ast.Tuple,
                                   ast.Load, *_COMPARE, *_ARITH)):
            raise _fail(expression, f"{type(node).__name__} is not allowed (only columns, "
                                    "constants, comparisons, arithmetic and and/or/not)")
    return tree, names


def _depth(tree) -> int:
    """Nesting depth of ``tree``, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


class _TooBig(ValueError):
    """A constant computation that would exceed the bounds (raised before computing)."""


def _check_size(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise _TooBig("a constant beyond the float range (about 1.8e308)")
    if isinstance(value, (str, list)) and len(value) > MAX_ITEMS:
        raise _TooBig(f"a string or list longer than {MAX_ITEMS}")
    return value


def _arith(op, left, right):
    """``left op right`` with sizes checked before anything large is built."""
    if isinstance(op, ast.Pow) and isinstance(left, int) and isinstance(right, int) \
            and abs(left) > 1 and right > 0 and right * math.log2(abs(left)) > _MAX_BITS:
        raise _TooBig("a constant beyond the float range (about 1.8e308)")
    if isinstance(op, ast.Mult):
        if any(isinstance(v, pd.Series) and (v.dtype == object or pd.api.types.is_string_dtype(v))
               for v in (left, right)):  # `tag * 10**9` would repeat every cell's text
            raise _TooBig("repeated text from a column (multiply numbers only)")
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, list)) and isinstance(count, int) \
                    and len(seq) * max(count, 0) > MAX_ITEMS:
                raise _TooBig(f"a string or list longer than {MAX_ITEMS}")
    if isinstance(op, (ast.Add,)) and isinstance(left, (str, list)) \
            and isinstance(right, (str, list)) and len(left) + len(right) > MAX_ITEMS:
        raise _TooBig(f"a string or list longer than {MAX_ITEMS}")
    return _check_size(_ARITH[type(op)](left, right))


def _evaluate(node, frame: pd.DataFrame, names: dict[str, str]):
    ev = lambda n: _evaluate(n, frame, names)  # noqa: E731
    if isinstance(node, ast.Expression):
        return ev(node.body)
    if isinstance(node, ast.Name):
        if node.id in ("True", "False") and node.id not in frame.columns:
            return node.id == "True"
        return frame[names.get(node.id, node.id)]
    if isinstance(node, ast.Constant):
        return _check_size(node.value)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [ev(e) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        values = [np.asarray(ev(v), dtype=bool) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for value in values[1:]:
            out = combine(out, value)
        return out
    if isinstance(node, ast.UnaryOp):
        value = ev(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return ~np.asarray(value, dtype=bool)
        return _check_size(-value) if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            left, right = np.asarray(left, dtype=bool), np.asarray(right, dtype=bool)
        return _arith(node.op, left, right)
    if isinstance(node, ast.Compare):
        out, left = True, ev(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = ev(right_node)
            if isinstance(op, (ast.In, ast.NotIn)):
                members = right if isinstance(right, list) else [right]
                hit = pd.Series(left, index=frame.index).isin(members).to_numpy()
                part = hit if isinstance(op, ast.In) else ~hit
            else:
                part = np.asarray(_COMPARE[type(op)](left, right), dtype=bool)
            out = np.logical_and(out, part)
            left = right
        return out
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse_where refused it


def where_mask(frame: pd.DataFrame, expression: str) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` that satisfy ``expression``.

    Parameters
    ----------
    frame : DataFrame
        The rows to filter (e.g. every point joined with its run's columns).
    expression : str
        pandas query syntax restricted to a safe subset (see the module docstring).

    Returns
    -------
    ndarray of bool, one per row.

    Raises
    ------
    ValueError
        For disallowed syntax, unknown columns, or an expression that does not give
        one true/false value per row (e.g. comparing text with a number).

    Examples
    --------
    >>> frame = pd.DataFrame({"N": [1e8, 2e9], "dataset": ["c4", "c4"]})
    >>> where_mask(frame, "N < 1e9 and dataset == 'c4'").tolist()
    [True, False]
    """
    tree, names = parse_where(expression, frame.columns)
    try:
        with np.errstate(all="ignore"):
            mask = _evaluate(tree, frame, names)
    except _TooBig as err:
        raise _fail(expression, f"it builds {err}") from None
    except ZeroDivisionError:
        raise _fail(expression, "it divides by zero (`/`, `//` or `%` by a constant 0)") from None
    except OverflowError:
        raise _fail(expression, "a number overflows the float range (about 1.8e308)") from None
    except (TypeError, ValueError) as err:
        raise _fail(expression, f"cannot evaluate it on this table ({err})") from None
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (len(frame),):
        if mask.ndim == 0 and mask.dtype == bool:
            return np.full(len(frame), bool(mask))
        raise _fail(expression, "it does not give one true/false value per row")
    return mask
