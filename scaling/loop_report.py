"""``report.md`` / ``report.html`` of a loop: design, fan of predictions, refinement, verdict.

Rendered from the loop's record only (``loop.json``), with two plots: the fan of the
reported fit's prediction interval over compute (the ladder, the refinement runs, the
validation rung's interval and observation, the target's interval) and the width of the
target's interval after each refinement step.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_report", "plot_fan", "plot_widths"]


def plot_fan(record: dict, path: Path) -> None:
    """Loss vs compute: runs, the ``pi`` fan of the reported fit, validation and target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fan, val = record["fan"], record["validation"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(fan["C"], fan["lo"], fan["hi"], alpha=0.25, color="C0",
                    label=f"{fan['level']:.0%} pi (reported fit)")
    ax.plot(fan["C"], fan["value"], color="C0", lw=1)
    ladder = record["ladder"]
    ax.scatter([o["C"] for o in ladder], [o["loss"] for o in ladder], s=14, color="k",
               label="ladder")
    refined = [s["observed"] for s in record.get("steps", []) if "observed" in s]
    if refined:
        ax.scatter([o["C"] for o in refined], [o["loss"] for o in refined], s=30,
                   marker="s", color="C2", label="refinement")
    p, C = val["prediction"], val["run"]["C"]
    ax.errorbar([C], [p["value"]], yerr=[[p["value"] - p["pi"][0]], [p["pi"][1] - p["value"]]],
                fmt="o", color="C1", capsize=4, label="validation: predicted")
    if "observed" in val:
        ax.scatter([val["observed"]["C"]], [val["observed"]["loss"]], marker="*", s=160,
                   color="C3", zorder=5, label="validation: observed")
    target = None
    if "stop" in record:  # the reported interval: the narrowest refit's
        last = record["steps"][record["stop"]["step"]]
        target = record["steps"][last["reported_step"]]["target"]
    if target:
        tc = record["design"]["target_compute"]
        ax.errorbar([tc], [target["value"]], yerr=[[target["value"] - target["pi"][0]],
                                                   [target["pi"][1] - target["value"]]],
                    fmt="D", color="C4", capsize=4, label="target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C = 6ND (FLOPs)")
    ax.set_ylabel("final loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_widths(record: dict, path: Path) -> None:
    """Width of the target's ``pi`` after each refinement step (fit and reported)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s for s in record["steps"] if "width" in s]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s["step"] for s in steps], [100 * s["width_fit"] for s in steps], "o:",
            color="C7", label="refit")
    ax.plot([s["step"] for s in steps], [100 * s["width"] for s in steps], "o-", color="C0",
            label="reported (narrowest so far)")
    ax.axhline(100 * record["options"]["goal_width"], color="C3", ls="--", label="goal")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("refinement step")
    ax.set_ylabel("target pi width (% of value)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lines(record: dict, history: dict | None) -> list[str]:
    d, val, opts = record["design"], record["validation"], record["options"]
    exp = d["expected"]
    lines = ["# Closed loop", "", f"**{record['verdict']['text']}**", "", "## Design", "",
             f"- rule: {d['rule']}",
             f"- {len(d['runs'])} ladder runs, {d['cost_flops']:.3g} FLOPs of a "
             f"{d['budget_flops']:.3g} FLOP budget ({opts['budget']:g} of the target's)",
             f"- target: N={d['target']['N']:.3g}, D={d['target']['D']:.3g}, "
             f"C={d['target_compute']:.3g} FLOPs, {exp['decades']:.2f} decades past the ladder",
             f"- expected {opts['level']:.0%} pi width before training: {exp['width']:.1%} "
             f"({exp['rule']})", "", "## Predictions over compute", "",
             "![fan of predictions](loop_fan.png)", "", "## Refinement", "",
             "| step | runs | run added (N, D) | predicted before training | observed | "
             "refit width | reported width |", "|---|---|---|---|---|---|---|"]
    for s in record["steps"]:
        run = s.get("run")
        added = f"{run['N']:.3g}, {run['D']:.3g}" if run else "-"
        pred = (f"{run['predicted']['value']:.4f} [{run['predicted']['pi'][0]:.4f}, "
                f"{run['predicted']['pi'][1]:.4f}]") if run else "-"
        obs = f"{s['observed']['loss']:.4f}" if "observed" in s else "-"
        lines.append(f"| {s['step']} | {s.get('n_runs', '-')} | {added} | {pred} | {obs} | "
                     f"{100 * s.get('width_fit', float('nan')):.1f}% | "
                     f"{100 * s.get('width', float('nan')):.1f}% |")
    last = record["steps"][record["stop"]["step"]]
    target = record["steps"][last["reported_step"]]["target"]
    lines += ["", f"Stopped: {record['stop']['text']}.", "",
              f"Reported target prediction (step {last['reported_step']}): "
              f"{target['value']:.4f}, {opts['level']:.0%} pi [{target['pi'][0]:.4f}, "
              f"{target['pi'][1]:.4f}], width {last['width']:.1%}.", "",
              "![width of the target's interval](loop_widths.png)", "", "## Validation", ""]
    p, early = val["prediction"], val.get("early", {})
    lines += [f"- rung: N={val['run']['N']:.3g}, D={val['run']['D']:.3g}, "
              f"C={val['run']['C']:.3g} FLOPs",
              f"- predicted before training: {p['value']:.4f}, {opts['level']:.0%} pi "
              f"[{p['pi'][0]:.4f}, {p['pi'][1]:.4f}]",
              f"- observed: {val['observed']['loss']:.4f}; error "
              f"{record['verdict']['error_half_widths']:+.2f} half-widths"]
    if early.get("available"):
        lines.append(f"- early-curve prediction from the first {early['fraction']:.0%}: "
                     f"{early['value']:.4f} [{early['pi'][0]:.4f}, {early['pi'][1]:.4f}] "
                     f"({'inside' if early['inside'] else 'outside'}; {early['method']})")
    else:
        lines.append(f"- early-curve prediction: not available ({early.get('reason')})")
    if history and history.get("loops"):
        lines += ["", "## History", "", f"The interval held in {history['held']} of "
                  f"{history['loops']} finished loop(s) of this folder (loop.json)."]
    return lines


def write_report(record: dict, path, history: dict | None = None) -> Path:
    """Write ``report.md``, the two PNG plots and ``report.html`` next to ``path``
    (``history``: how often the interval held over the folder's loops)."""
    from scaling.data.io import atomic_write_text
    from scaling.fits.report_html import markdown_to_html

    path = Path(path)
    folder = path.parent
    plot_fan(record, folder / "loop_fan.png")
    plot_widths(record, folder / "loop_widths.png")
    text = "\n".join(_lines(record, history)) + "\n"
    atomic_write_text(folder / "report.md", text)
    images = ("loop_fan.png", "loop_widths.png")
    atomic_write_text(path, markdown_to_html(text, folder, images))
    return path
