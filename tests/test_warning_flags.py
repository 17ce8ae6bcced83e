"""Every CLI flag that a library message names (a warning's remedy, an error's hint, a
docstring) exists in the CLI, and remedies that name a Python keyword also name its flag
(issue 18: warnings named `bounds`, `E_x=`, `group_col` the CLI lacked)."""

import ast
import re
from pathlib import Path

import click
import pytest

from scaling.commands import main

ROOT = Path(__file__).resolve().parents[1]
# library modules (scripts with their own argparse flags, and the CLI itself, excluded)
LIBRARY = [p for folder in ("fits", "data", "scaling") for p in (ROOT / folder).rglob("*.py")
           if "commands" not in p.parts and "import argparse" not in p.read_text()]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def _cli_flags() -> set:
    flags, todo = set(), [main]
    while todo:
        cmd = todo.pop()
        for param in cmd.params:
            flags.update(o for o in param.opts + param.secondary_opts if o.startswith("--"))
        if isinstance(cmd, click.Group):
            todo.extend(cmd.commands.values())
    return flags


def _strings(path: Path):
    """(line, text) of every string literal of a module; an f-string is one text with
    ``{}`` for each replacement field."""
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
              for v in ast.walk(node) if v is not node}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) not in inside:
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}"
                                       for v in node.values)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in inside):
            yield node.lineno, node.value


def test_every_flag_named_by_the_library_exists():
    flags = _cli_flags() | {"--help"}
    missing = [f"{path.relative_to(ROOT)}:{line}: {flag}"
               for path in LIBRARY for line, text in _strings(path)
               for flag in FLAG.findall(text) if flag not in flags]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("keyword,flag", [("bounds", "--bounds"), ("fixed", "--fix"),
                                          ("group_col", "--group"), ("width", "--width"),
                                          ("starts", "--starts")])
def test_remedies_naming_a_keyword_name_its_flag(keyword, flag):
    """A message telling the user to change `keyword` also says which flag does it."""
    remedy = re.compile(rf"(widen|give|pass|use|raise|add|try|other)[^.;]*(?<!`)`{keyword}=?`(?!`)")
    bad = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
           for path in LIBRARY for line, text in _strings(path)
           if remedy.search(text) and flag not in text and "Python API" not in text]
    assert flag in _cli_flags()
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("verb", [["fit"], ["report", "--out", "unused-report"],
                                  ["predict", "--run", "25M/cosine_24000", "--upto-step", "5000"]])
def test_drop_highest_is_refused_for_curve_laws(verb, tmp_path, monkeypatch):
    """--drop-highest used to be silently ignored for curve laws."""
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [verb[0], "bundled:multipower", "--law", "tissue",
                                       "--drop-highest", "2", *verb[1:]])
    assert result.exit_code == 2, result.output
    assert "--drop-highest applies to the point laws" in result.output
    assert "Traceback" not in result.output
