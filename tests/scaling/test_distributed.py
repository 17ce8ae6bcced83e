"""DDP under torchrun (gloo on CPU) and the CUDA path (skipped without a GPU)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from scaling.trainer import TrainConfig, train

CONFIG = dict(run_id="ddp", n_layer=1, n_head=2, d_model=32, seq_len=32, batch_size=8,
              total_steps=12, eval_every=6, ckpt_every=6, eval_tokens=1024, threads=1,
              device="cpu", schedule={"kind": "cosine", "peak_lr": 3e-3, "warmup_steps": 2})


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path):
    """Two gloo ranks, each half of the batch: the same losses as one process (DDP averages
    the gradients of the halves, which is the gradient of the whole batch)."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    script = tmp_path / "launch.py"
    script.write_text("from scaling.commands import main\nmain()\n")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), "train", "--config", str(config), "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    info = json.loads((tmp_path / "ddp" / "runs" / "ddp" / "run.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "done"
    torch.set_num_threads(1)
    single = train(TrainConfig(**CONFIG), tmp_path / "one")["runs"][0]
    assert single["world_size"] == 1
    ddp = pd.read_csv(tmp_path / "ddp" / "points.csv")
    one = pd.read_csv(tmp_path / "one" / "points.csv")
    assert ddp["step"].tolist() == one["step"].tolist()
    np.testing.assert_allclose(ddp["loss"], one["loss"], rtol=1e-5)
    np.testing.assert_allclose(ddp["train_loss"], one["train_loss"], rtol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_run_reports_mfu(tmp_path):
    config = TrainConfig(**{**CONFIG, "device": "cuda", "d_model": 256, "n_head": 4,
                            "seq_len": 256, "batch_size": 16, "total_steps": 30,
                            "eval_every": 30, "ckpt_every": 30})
    info = train(config, tmp_path)["runs"][0]
    assert info["dtype"] == "bfloat16" and info["status"] == "done"
    assert info["mfu"] is not None and 0 < info["mfu"] < 1
