"""`scaling laws`: every registered law, its equation, parameters and citation."""

from __future__ import annotations

import click

__all__ = ["laws", "format_laws"]


@click.command()
@click.argument("names", nargs=-1, metavar="[LAW]...")
@click.option("--kind", type=click.Choice(["point", "curve", "l2l"]), default=None,
              help="Only point laws (final losses vs N, D, x), curve laws (loss along a run) "
                   "or loss-to-loss links.")
@click.option("--json", "as_json", is_flag=True, help="Print the descriptions as JSON.")
def laws(names, kind, as_json):
    """List the scaling laws `fit` and `predict` know (or describe the LAWs named).

    Each law: its equation, its parameters with their default bounds (log-scale and
    linear ones marked), how its Jacobian is computed, and the paper it comes from.
    Add your own law in one file: see docs/laws.md.
    """
    import json

    from scaling.fits.laws import describe_law, law_names

    known = law_names(kind)
    unknown = [n for n in names if n not in law_names()]
    if unknown:
        raise click.BadParameter(f"unknown law(s) {unknown}; known laws are {law_names()}",
                                 param_hint="LAW")
    described = [describe_law(n) for n in (names or known)]
    if as_json:
        click.echo(json.dumps(described, indent=2))
    else:
        click.echo(format_laws(described))


def format_laws(described) -> str:
    """Terminal text for a list of :func:`~fits.laws.describe_law` dicts."""
    blocks = []
    for d in described:
        lines = [f"{d['name']}  ({d['kind']} law)", f"  {d['equation']}"]
        for name, p in d["params"].items():
            marks = [m for m, on in (("log scale", p["log_scale"]), ("linear", p["linear"]),
                                     ("shared across sizes", name in d.get("shared", ())))
                     if on]
            lines.append(f"    {name:<8} bounds [{p['lower']:.4g}, {p['upper']:.4g}]"
                         + (f"  ({', '.join(marks)})" if marks else ""))
        if "jacobian" in d:
            lines.append(f"  jacobian: {d['jacobian']}")
        lines.append(f"  {d['citation']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
