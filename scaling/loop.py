"""``scaling loop``: design a ladder, train it, predict the next rung, train it, grade it.

:func:`run_loop` does, into one output folder (resumable at any point):

1. **design** (:mod:`scaling.loop_design`): the ladder's runs within the budget, and the
   expected width of the target's prediction interval before anything is trained;
2. **train** the ladder through the executors (:mod:`scaling.loop_train`);
3. **fit** the point law, calibrate its interval by backtests, predict the target
   (:mod:`scaling.loop_fit`);
4. **refine**: while the reported width is above ``goal_width`` and budget remains, train
   the run that shrinks it most (its predicted loss recorded first) and refit. The
   reported interval is the narrowest so far: a refit whose interval is wider is shown
   (``width_fit``) but does not replace it (refinement never widens what is reported);
5. **validate**: a rung ``validate_factor`` x past the largest trained compute, its
   prediction written to ``loop.json`` *before* it is trained, and an early-curve
   prediction from the first 30% of its curve; the verdict says whether it landed inside;
6. **report**: ``report.html`` and ``loop.json`` (every loop of the folder, and the
   history of how often the interval held).

A rerun with the same options resumes (finished runs are read back, fits are seeded and
recomputed identically) and ends with the same record. ``SCALING_LOOP_KILL_AT=<stage>``
SIGKILLs the process once at a stage (tests use it instead of sleeps).
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
from pathlib import Path

from .loop_design import (LoopOptions, design_ladder, expected_width, validation_point,
                          width_of)
from .loop_train import realize

__all__ = ["KILL_ENV", "STAGES", "run_loop", "read_loops"]

logger = logging.getLogger(__name__)

KILL_ENV = "SCALING_LOOP_KILL_AT"
STAGES = ("design", "ladder", "refine1", "refine2", "validate-predicted", "validated",
          "report")


def _kill_point(out: Path, stage: str) -> None:
    if os.environ.get(KILL_ENV) != stage:
        return
    marker = out / f".loop-killed-{stage}"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def read_loops(out) -> dict:
    """``loop.json`` of ``out`` (``{"loops": [], "history": {}}`` when absent)."""
    path = Path(out) / "loop.json"
    if not path.is_file():
        return {"loops": [], "history": {}}
    return json.loads(path.read_text(encoding="utf-8"))


class _Store:
    """The loop's record inside ``loop.json``, saved atomically after every stage."""

    def __init__(self, out: Path, options: LoopOptions) -> None:
        self.out, self.path = out, out / "loop.json"
        self.data = read_loops(out)
        key = options.key()
        found = [r for r in self.data["loops"] if r["id"] == key]
        if found:
            self.record = found[0]
        else:
            self.record = {"id": key, "options": options.to_dict(), "status": "started"}
            self.data["loops"].append(self.record)

    def history(self, finishing: dict | None = None) -> dict:
        """How often the interval held over the finished loops (and ``finishing``)."""
        done = [r for r in self.data["loops"] if r.get("status") == "done" or r is finishing]
        held = sum(bool(r["verdict"]["inside"]) for r in done)
        return {"loops": len(done), "held": held, "rate": held / len(done) if done else None}

    def save(self) -> None:
        from scaling.data.io import atomic_write_text

        self.data["history"] = self.history()
        atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")


def run_loop(options: LoopOptions, out, *, backend: str = "local", workers: int = 1,
             address: str | None = None, slurm: dict | None = None, echo=None,
             report: bool = True) -> dict:
    """Run (or resume) the closed loop into ``out``; return its record.

    Parameters
    ----------
    options : LoopOptions
        What to do (:func:`scaling.loop_design.options_from` builds it from a preset).
    out : path-like
        Output folder: ``runs/``, ``loop.json``, ``report.html``.
    backend, workers, address, slurm
        Where runs train (:func:`scaling.executors.make_executor`); not part of the record.
    echo : callable, optional
        Receives one progress line at a time (the CLI passes ``click.echo``).
    report : bool, default True
        Write ``report.html`` (False: only ``loop.json``; the record is the same).

    Returns
    -------
    dict
        The loop's record (also in ``out/loop.json``).

    Raises
    ------
    RuntimeError
        When a run fails: no verdict is given without its observation.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = echo or (lambda line: logger.info("%s", line))
    run_opts = {"backend": backend, "workers": workers, "address": address, "slurm": slurm}
    store = _Store(out, options)
    rec = store.record
    if rec.get("status") == "done":  # finished before: the record stands as written
        if report and not (out / "report.html").is_file():
            from .loop_report import write_report

            write_report(rec, out / "report.html", store.history())
        say(rec["verdict"]["text"])
        return rec
    if "design" not in rec:
        design = design_ladder(options)
        design["runs"] = [realize(r, options) for r in design["runs"]]
        design["cost_flops"] = sum(r["C"] for r in design["runs"])
        design["c_max"] = max(r["C"] for r in design["runs"])
        design["refine_budget_flops"] = max(0.0, design["budget_flops"] - design["cost_flops"])
        design["expected"] = expected_width(design, options.level)
        rec["design"] = design
        store.save()
    _say_design(rec["design"], options, say)
    _kill_point(out, "design")
    from .loop_train import train_runs

    say(f"training the ladder: {len(rec['design']['runs'])} runs")
    rec["ladder"] = train_runs(rec["design"]["runs"], options, out, **run_opts, echo=say)
    rec["status"] = "trained"
    store.save()
    _kill_point(out, "ladder")
    observations = _refine(store, options, list(rec["ladder"]), run_opts, say)
    _validate(store, options, observations, run_opts, say)
    if report:
        from .loop_report import write_report

        write_report(rec, out / "report.html", store.history(finishing=rec))
    _kill_point(out, "report")
    rec["status"] = "done"
    store.save()
    say(rec["verdict"]["text"])
    return rec


def _say_design(design: dict, options: LoopOptions, say) -> None:
    exp = design["expected"]
    say(f"design: {design['rule']}")
    say(f"  {len(design['runs'])} runs, {design['cost_flops']:.3g} FLOPs of a "
        f"{design['budget_flops']:.3g} FLOP budget; target C={design['target_compute']:.3g} "
        f"is {exp['decades']:.2f} decades past the ladder")
    say(f"  expected width of the target's {options.level:.0%} pi before training: "
        f"{exp['width']:.1%} ({exp['rule']})")


def _refine(store: _Store, options: LoopOptions, obs: list, run_opts: dict, say) -> list:
    """Fit, then train the most useful run while the goal and the budget allow; returns
    the observations the reported fit uses."""
    from .loop_fit import fit_state
    from .loop_train import train_runs

    rec, target = store.record, options.target_point
    steps = rec.setdefault("steps", [])
    left = rec["design"]["budget_flops"] - sum(o["C"] for o in obs)
    best, shown = None, set()
    for k in range(options.max_steps + 1):
        state = fit_state(obs, {"N": [target["N"]], "D": [target["D"]]}, level=options.level,
                          seed=options.seed, n_boot=options.n_boot)
        pred = state["summary"]["predictions"][0]
        width = width_of(pred["value"], pred["pi"])
        if best is None or width <= best["width"]:
            best = {"step": k, "width": width, "n_runs": len(obs)}
        entry = {"step": k, "n_runs": len(obs), "fit": state["summary"], "target": pred,
                 "width_fit": width, "width": best["width"], "reported_step": best["step"],
                 "left_flops": left}
        steps[k:k + 1] = [{**(steps[k] if k < len(steps) else {}), **entry}]
        say(f"step {k}: {len(obs)} runs, target pi {_fmt_pi(pred)}, width {width:.1%}"
            + ("" if best["step"] == k else f" (reported {best['width']:.1%}, step "
                                            f"{best['step']})"))
        for note in state["summary"]["warnings"]:  # fits never fail silently
            if note not in shown:
                shown.add(note)
                say(f"  warning: {note}")
        stop = _stop_reason(best["width"], options, k, left)
        run = None
        if stop is None:
            run = steps[k + 1]["run"] if k + 1 < len(steps) else _suggest(state, options, k,
                                                                          left)
            if run is None:
                stop = (f"budget: no run within the remaining {left:.3g} FLOPs shrinks the "
                        "interval")
        if stop is not None:
            rec["stop"] = {"reason": stop.split(":")[0], "text": stop, "step": k,
                           "width": best["width"], "goal_width": options.goal_width}
            store.save()
            say(f"refinement stops: {stop}")
            return obs[:best["n_runs"]]
        if k + 1 >= len(steps):
            steps.append({"step": k + 1, "run": run})
            store.save()
        _kill_point(store.out, f"refine{k + 1}")
        say(f"  training refine run {k + 1}: N={run['N']:.3g} D={run['D']:.3g} "
            f"(predicted {_fmt_pi(run['predicted'])})")
        ob = train_runs([run], options, store.out, **run_opts, echo=say)[0]
        steps[k + 1]["observed"] = ob
        obs.append(ob)
        left -= ob["C"]
    raise AssertionError("unreachable: max_steps bounds the loop")


def _suggest(state: dict, options: LoopOptions, k: int, left: float) -> dict | None:
    from .loop_fit import next_run, predict_at

    run = next_run(state, options.target_point, left)
    if run is None:
        return None
    run.update({"role": "refine", "run_id": f"refine{k + 1}-s{options.seed}"})
    run = realize(run, options)
    run["predicted"] = predict_at(state, run, options.level)  # written before training
    return run


def _stop_reason(width: float, options: LoopOptions, k: int, left: float) -> str | None:
    if width <= options.goal_width:
        return f"goal: width {width:.1%} <= goal {options.goal_width:.1%}"
    if left <= 0:
        return f"budget: the ladder budget is spent ({left:.3g} FLOPs left)"
    if k >= options.max_steps:
        return f"max-steps: {options.max_steps} refinement steps done"
    return None


def _fmt_pi(pred: dict) -> str:
    return f"{pred['value']:.4f} [{pred['pi'][0]:.4f}, {pred['pi'][1]:.4f}]"


def _validate(store: _Store, options: LoopOptions, obs: list, run_opts: dict, say) -> None:
    """Predict the validation rung (saved before training), train it, grade the interval."""
    from .loop_fit import early_prediction, fit_state
    from .loop_train import curve_of, train_runs

    rec = store.record
    trained = list(rec["ladder"]) + [s["observed"] for s in rec["steps"] if "observed" in s]
    if "validation" not in rec:
        run = realize(validation_point(options, max(o["C"] for o in trained)), options)
        fan = _fan_points(min(o["C"] for o in trained), rec["design"]["target_compute"])
        state = fit_state(obs, {"N": [run["N"]] + fan["N"], "D": [run["D"]] + fan["D"]},
                          level=options.level, seed=options.seed, n_boot=options.n_boot)
        preds = state["summary"]["predictions"]
        rec["validation"] = {"run": run, "prediction": preds[0], "fit_runs": len(obs),
                             "recorded": "before training"}
        rec["fan"] = {"C": fan["C"], "value": [p["value"] for p in preds[1:]],
                      "lo": [p["pi"][0] for p in preds[1:]],
                      "hi": [p["pi"][1] for p in preds[1:]], "level": options.level}
        rec["status"] = "validating"
        store.save()
    val = rec["validation"]
    say(f"validation rung N={val['run']['N']:.3g} D={val['run']['D']:.3g} "
        f"(C={val['run']['C']:.3g}, {val['run']['C'] / max(o['C'] for o in trained):.1f}x "
        f"the largest run): predicted {_fmt_pi(val['prediction'])} before training")
    _kill_point(store.out, "validate-predicted")
    ob = train_runs([val["run"]], options, store.out, **run_opts, echo=say)[0]
    val["observed"] = ob
    val["early"] = early_prediction(curve_of(store.out, val["run"]["run_id"]),
                                    options.early_fraction, options.level, options.seed)
    if val["early"]["available"]:  # graded too, but not the verdict (uncalibrated)
        lo, hi = val["early"]["pi"]
        val["early"]["inside"] = bool(lo <= ob["loss"] <= hi)
    rec["verdict"] = verdict(val["prediction"], ob["loss"], options.level)
    store.save()
    _kill_point(store.out, "validated")


def _fan_points(c_min: float, c_target: float, n: int = 25) -> dict:
    """Compute-optimal points (20 tokens per parameter) from the smallest run to the target."""
    import numpy as np

    C = np.geomspace(c_min, c_target, n)
    N = np.sqrt(C / 120.0)
    return {"C": C.tolist(), "N": N.tolist(), "D": (C / (6 * N)).tolist()}


def verdict(prediction: dict, observed: float, level: float) -> dict:
    """Inside or outside the ``pi``, and the error in units of the interval's half-width
    (log scale, on the side the observation fell)."""
    value, (lo, hi) = prediction["value"], prediction["pi"]
    inside = bool(lo <= observed <= hi)
    side = hi if observed >= value else lo
    error = math.log(observed / value) / abs(math.log(side / value))
    word = "HELD" if inside else "MISSED"
    text = (f"verdict: {word}: observed {observed:.4f}, predicted {value:.4f}, {level:.0%} pi "
            f"[{lo:.4f}, {hi:.4f}] ({'inside' if inside else 'outside'}; error "
            f"{error:+.2f} half-widths)")
    return {"inside": inside, "observed": observed, "predicted": value, "pi": [lo, hi],
            "level": level, "error_half_widths": error, "text": text}
