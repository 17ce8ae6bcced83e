"""`scaling loop`: design a ladder, train it, refine, validate the next rung, grade it."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import QUANTITY


class _Pair(click.ParamType):
    """``N,D`` with size suffixes allowed (``124M,2.5B``)."""

    name = "N,D"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        if len(parts) != 2:
            self.fail(f"expected N,D (parameters and tokens, e.g. 124M,2.5B); got {value!r}",
                      param, ctx)
        pair = tuple(QUANTITY.convert(p, param, ctx) for p in parts)
        if min(pair) <= 0:
            self.fail(f"N and D must be > 0, got {value!r}", param, ctx)
        return pair


class _Share(click.ParamType):
    """A fraction (``1%``, ``0.01``) or, for budgets, FLOPs (``1e19``)."""

    name = "fraction"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        number = QUANTITY.convert(text[:-1] if text.endswith("%") else text, param, ctx)
        number = number / 100 if text.endswith("%") else number
        if not number > 0:
            self.fail(f"must be > 0, got {value!r}", param, ctx)
        return number


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (runs/, loop.json, report.html); rerun to resume.")
@click.option("--preset", type=click.Choice(["cpu-demo", "gpu", "synthetic"]), default=None,
              help="cpu-demo: GPT proxies on CPU (minutes); gpu: a ladder up to ~1e18 FLOPs; "
                   "synthetic: an oracle law with noise (seconds, no torch).")
@click.option("--target-compute", type=QUANTITY, default=None,
              help="Target training compute C in FLOPs (N, D compute-optimal at 20 tokens "
                   "per parameter).")
@click.option("--target", type=_Pair(), default=None, help="Target N,D instead.")
@click.option("--budget", type=_Share(), default=None,
              help="Ladder budget: a share of the target's compute (1%) or FLOPs (1e19) "
                   "[default: 1%].")
@click.option("--goal-width", type=_Share(), default=None,
              help="Stop refining when the target's pi is this narrow, (hi - lo) / value "
                   "[default: 10%].")
@click.option("--max-steps", type=click.IntRange(0), default=None,
              help="Most refinement runs [default: 6].")
@click.option("--validate", type=_Pair(), default=None,
              help="Validation rung N,D [default: 4x the largest trained compute].")
@click.option("--validate-factor", type=click.FloatRange(1, min_open=True), default=None,
              help="Validation rung compute over the largest trained run's [default: 4].")
@click.option("--trainer", type=click.Choice(["proxy", "synthetic"]), default=None,
              help="proxy: GPT proxy models (torch); synthetic: the oracle law.")
@click.option("--seed", type=int, default=None, help="Seed of every run and fit [default: 0].")
@click.option("--backend", type=click.Choice(["local", "ray", "slurm"]), default="local",
              show_default=True, help="Where runs execute (as `scaling ladder`).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Local worker processes.")
@click.option("--address", default=None, help="Ray cluster address [default: start one].")
@click.option("--slurm-partition", default=None, help="SLURM partition.")
@click.option("--slurm-local", is_flag=True,
              help="Run the submitit jobs as local processes (no SLURM; for testing).")
@click.pass_context
def loop(ctx, out, preset, target_compute, target, budget, goal_width, max_steps, validate,
         validate_factor, trainer, seed, backend, workers, address, slurm_partition,
         slurm_local):
    """Design a ladder for a target, train it, refine, and grade a validation rung.

    Predicts the validation rung's loss (written to loop.json before it is trained), trains
    it and says whether it landed inside the prediction interval. Resumable.
    """
    from scaling.loop import run_loop
    from scaling.loop_design import options_from

    if target is not None and target_compute is not None:
        raise click.UsageError("give --target-compute or --target, not both")
    if preset is None and target is None and target_compute is None:
        raise click.UsageError("give --target-compute C or --target N,D (or a --preset)")
    try:
        options = options_from(preset, target_compute=target_compute, target=target,
                               budget=budget, goal_width=goal_width, max_steps=max_steps,
                               validate=validate, validate_factor=validate_factor,
                               trainer=trainer, seed=seed)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    slurm = {"partition": slurm_partition, "cluster": "local" if slurm_local else None}
    try:
        record = run_loop(options, out, backend=backend, workers=workers, address=address,
                          slurm=slurm, echo=click.echo)
    except RuntimeError as err:  # a run failed: no verdict without its observation
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {out / 'loop.json'} and {out / 'report.html'}")
    ctx.exit(0 if record["status"] == "done" else 1)
