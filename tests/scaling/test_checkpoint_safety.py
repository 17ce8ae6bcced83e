"""Checkpoints are untrusted input: loading one never runs code (issue 13)."""

import os

import pytest
import torch

from scaling.trainer import train

from .test_trainer import tiny


class _Payload:
    """Unpickling this calls ``os.mkdir(marker)``: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_payload_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    run_dir = tmp_path / "out" / "runs" / "tiny"
    run_dir.mkdir(parents=True)
    torch.save({"step": 1, "model": _Payload(str(marker))}, run_dir / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"checkpoint\.pt: refusing to load this checkpoint"):
        train(tiny(total_steps=8, eval_every=4, ckpt_every=4), tmp_path / "out")
    assert not marker.exists()


def test_pickle_payload_checkpoint_exits_2_through_the_cli(tmp_path):
    from click.testing import CliRunner

    from scaling.commands import main

    marker = tmp_path / "code-ran"
    run_dir = tmp_path / "out" / "runs" / "tiny"
    run_dir.mkdir(parents=True)
    torch.save(_Payload(str(marker)), run_dir / "checkpoint.pt")
    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "out"),
                                       "--set", "run_id=tiny", "--set", "n_layer=1",
                                       "--set", "d_model=16", "--set", "n_head=1",
                                       "--set", "total_steps=40", "--set", "threads=1"])
    assert result.exit_code == 2, result.output
    assert "refusing to load this checkpoint" in result.output
    assert not marker.exists()


def test_a_checkpoint_missing_its_state_is_named(tmp_path):
    run_dir = tmp_path / "out" / "runs" / "tiny"
    run_dir.mkdir(parents=True)
    torch.save({"step": 1}, run_dir / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"not a checkpoint written by `scaling train` "
                                         r"\(missing clock, log, model"):
        train(tiny(total_steps=8, eval_every=4, ckpt_every=4), tmp_path / "out")


def test_a_second_process_on_the_same_run_is_refused(tmp_path):
    import fcntl

    run_dir = tmp_path / "out" / "runs" / "tiny"
    run_dir.mkdir(parents=True)
    with open(run_dir / ".lock", "a") as held:  # as a running `scaling train` holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match=r"another process is training run 'tiny'"):
            train(tiny(total_steps=8, eval_every=4, ckpt_every=4), tmp_path / "out")
    assert not (run_dir / "checkpoint.pt").exists()
