"""The ladder's progress bar: FLOP-weighted, with the counts of runs done, running, failed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .config import TrainConfig
from .flops import flops_per_token_exact

__all__ = ["_Progress"]

logger = logging.getLogger("scaling.ladder")


def _job_flops(config: TrainConfig) -> float:
    """Training FLOPs of a job and its branches (after their fork), for the ETA."""
    per_token = flops_per_token_exact(config.n_layer, config.d_model, config.seq_len, 256)
    from .config import branch_fork_step

    steps = config.total_steps + sum(b - branch_fork_step(config, b) for b in config.branches)
    return per_token * steps * config.tokens_per_step


class _Progress:
    """A FLOP-weighted bar with the counts of runs done, running (holding a lock), failed."""

    def __init__(self, jobs, out_dir: Path, name: str, disabled: bool) -> None:
        from tqdm.auto import tqdm

        self.costs = {job.run_id: _job_flops(job) for job in jobs}
        self.locks = out_dir / "locks"
        self.counts = {"done": 0, "failed": 0}
        self.bar = tqdm(total=sum(self.costs.values()) / 1e12, unit="TFLOP", disable=disabled,
                        desc=name, bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} TFLOP "
                                              "[{elapsed}<{remaining}] {postfix}")
        self.credited: dict[str, float] = {}

    def step(self, job: TrainConfig):
        """A per-step callback for a job trained in this process."""
        seen: dict[str, int] = {}
        per_step = self.costs[job.run_id] / max(1, job.total_steps + sum(job.branches)) / 1e12

        def progress(run_id, done, total):
            delta = (done - seen.get(run_id, _start_of(run_id, job))) * per_step
            seen[run_id] = done
            self.credited[job.run_id] = self.credited.get(job.run_id, 0.0) + delta
            self.bar.update(delta)
            self._postfix(run_id)

        return progress

    def _postfix(self, current: str | None = None, running: int | None = None) -> None:
        text = f"{self.counts['done']} done, {running if running is not None else 1} " \
               f"running, {self.counts['failed']} failed"
        self.bar.set_postfix_str(f"{text} | {current}" if current else text)

    def watch(self, pairs, outcomes: dict) -> None:
        """Wait for every handle, recording each job's outcome as it finishes."""
        left = list(pairs)
        while left:
            still = []
            for job, handle in left:
                if not handle.done():
                    still.append((job, handle))
                    continue
                try:
                    outcome = handle.result()
                except Exception as err:  # a worker died or the run raised: report, go on
                    logger.error("run %s failed: %s", job.run_id, err)
                    # our refusals (ValueError) name their own remedy; a crash resumes
                    known = isinstance(err, ValueError)
                    outcome = {"status": "failed", "runs": [],
                               "error": str(err) if known else f"{type(err).__name__}: {err}",
                               "remedy": None if known else "rerun the same command to "
                                                            "resume it"}
                outcomes[job.run_id] = outcome
                if outcome["status"] in ("done", "failed"):
                    self.counts[outcome["status"]] += 1
                    if outcome["status"] == "done":
                        self.bar.update(self.costs[job.run_id] / 1e12
                                        - self.credited.get(job.run_id, 0.0))
                        self.credited[job.run_id] = self.costs[job.run_id] / 1e12
            left = still
            running = sum((self.locks / f"{job.run_id}.lock").exists() for job, _ in left)
            self._postfix(running=running)
            if left:
                time.sleep(0.5)

    def close(self) -> None:
        self.bar.close()


def _start_of(run_id: str, job: TrainConfig) -> int:
    """Step a run's progress starts from: 0, or its fork step for a cooldown branch."""
    from .config import branch_fork_step

    for b in job.branches:
        if run_id == f"{job.run_id}-cd{b}":
            return branch_fork_step(job, b)
    return 0
