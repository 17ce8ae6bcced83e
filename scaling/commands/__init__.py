"""The `scaling` command: a click group with one small module per verb.

Each verb module imports only click at import time; the library (numpy, scipy, pandas,
torch) is imported inside the command that needs it, so `scaling --help` stays fast.
"""

from __future__ import annotations

import click

from ._common import Group
from .compare import compare
from .datasets import datasets
from .fit import fit
from .hparams import hparams
from .isoflop import isoflop
from .l2l import l2l
from .laws import laws
from .loop import loop
from .plan import plan
from .predict import predict
from .proxies import ladder, train
from .reports import demo, report
from .schedules import schedules

__all__ = ["main"]


@click.group(cls=Group)
@click.option("--verbose", is_flag=True, help="Show full tracebacks on errors.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.version_option(package_name="scaling-planner")
@click.pass_context
def main(ctx, verbose, quiet):
    """Plan language-model training with scaling laws: fit, predict, plan, report."""
    ctx.ensure_object(dict)["verbose"] = verbose
    if quiet:
        import os

        os.environ["SCALING_QUIET"] = "1"


for _command in (demo, fit, predict, plan, report, l2l, schedules, datasets, train, ladder,
                 laws):
    main.add_command(_command)
main.add_command(isoflop)
main.add_command(compare)
main.add_command(hparams)
main.add_command(loop)
