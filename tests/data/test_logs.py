"""Log loaders: each reads a file written by the real library (or in its documented
format) back into the runs table, and rejects a corrupted one naming file and fault."""

import csv
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import pandas as pd
import pytest

from scaling.data.logs import (LogError, MissingDependencyError, load_hf_trainer_state,
                       load_lightning_csv, load_log, load_tensorboard, load_wandb_csv,
                       sniff_log)
from scaling.data.logs._core import metric_name

STEPS = [10, 20, 30, 40]
LOSS = [4.0, 3.5, 3.25, 3.125]  # exact in float32, as TensorBoard stores scalars
LR = [1e-3, 8e-4, 5e-4, 2e-4]


def lr32(values):
    return list(np.float32(values).astype(float))


# ---------------------------------------------------------------- W&B

def wandb_history(path, step_key=None):
    """What ``pd.DataFrame(run.scan_history()).to_csv(path)`` writes: one row per
    ``wandb.log`` call; keys a call did not log are empty cells. Without ``step_key``
    the script logs once per step (evaluations in the same call), so ``_step`` is the
    step; with it, evaluations are logged in calls of their own."""
    rows, t0 = [], 1.7e9
    for i, (step, loss, lr) in enumerate(zip(STEPS, LOSS, LR)):
        row = {"train/loss": loss, "train/lr": lr, "_runtime": 1.5 * i, "_timestamp": t0 + i}
        evaluation = {"val/loss": loss + 0.5} if step in (20, 40) else {}
        if step_key is None:
            rows.append({"_step": step, **row, **evaluation})
            continue
        rows.append({step_key: step, **row})
        if evaluation:
            rows.append({step_key: step, **evaluation, "_runtime": 1.5 * i + 0.1,
                         "_timestamp": t0 + i + 0.1})
    frame = pd.DataFrame(rows)
    if step_key is not None:
        frame.insert(0, "_step", range(len(frame)))
    frame.to_csv(path, index=False)
    return path


def test_wandb_history_round_trip(tmp_path):
    path = wandb_history(tmp_path / "gpt-small.csv")
    table = load_wandb_csv(path, N="124M", tokens_per_step=1000)
    points = table.points
    assert list(points["run_id"].unique()) == ["gpt-small"]
    assert points["step"].tolist() == STEPS
    assert points["loss"].tolist() == LOSS
    assert points["lr"].tolist() == LR
    np.testing.assert_array_equal(points["D"], np.array(STEPS) * 1000.0)
    assert table.runs["N"].tolist() == [124e6]
    assert points["val/loss"].tolist()[1::2] == [4.0, 3.625]
    assert table.meta["columns"] == {"loss": "train/loss", "lr": "train/lr",
                                     "val/loss": "val/loss"}
    assert table.meta["step_column"] == "_step"
    assert table.meta["format"] == "W&B history CSV"


def test_wandb_history_merges_evaluations_at_the_training_step(tmp_path):
    path = wandb_history(tmp_path / "run.csv", step_key="trainer/global_step")
    table = load_wandb_csv(path, N=1e8, tokens_per_step=1000, run_id="lightning-run")
    points = table.points
    assert table.meta["step_column"] == "trainer/global_step"  # not W&B's own _step
    assert points["step"].tolist() == STEPS
    assert points["val/loss"].tolist()[1::2] == [4.0, 3.625]
    assert points["val/loss"].isna().tolist() == [True, False, True, False]
    assert table.runs["run_id"].tolist() == ["lightning-run"]


def wandb_panel(path, axis="Step"):
    """A line plot's "Export -> CSV": Step, then per run the metric and its
    __MIN/__MAX companions; a run not logged at a step has empty cells."""
    runs = {"small": (1.0, STEPS), "large": (0.5, STEPS[:3])}
    header = [axis] + [f"{run} - train/loss{end}" for run in runs for end in ("", "__MIN", "__MAX")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, step in enumerate(STEPS):
            row = [step]
            for shift, steps in runs.values():
                value = LOSS[i] - shift if step in steps else ""
                row += [value, value, value]
            writer.writerow(row)
    return path


def test_wandb_panel_reads_every_run(tmp_path):
    path = wandb_panel(tmp_path / "wandb_export_2024.csv")
    table = load_wandb_csv(path, N={"small": "10M", "large": "100M"}, tokens_per_step=10)
    assert table.meta["format"] == "W&B panel CSV"
    assert table.runs.set_index("run_id")["N"].to_dict() == {"large": 1e8, "small": 1e7}
    large = table.points[table.points["run_id"] == "large"]
    assert large["step"].tolist() == STEPS[:3]
    assert large["loss"].tolist() == [x - 0.5 for x in LOSS[:3]]
    assert len(table.points) == 7 and "lr" not in table.points.columns


def test_wandb_panel_errors(tmp_path):
    path = wandb_panel(tmp_path / "panel.csv")
    with pytest.raises(ValueError, match=r"`N` must give a value for every run in the log, "
                                         r"keyed by run_id; missing \['small'\]"):
        load_wandb_csv(path, N={"large": 1e8}, tokens_per_step=10)
    with pytest.raises(ValueError, match=r"`run_id` names a single run, but the log holds "
                                         r"2 runs \(large, small\)"):
        load_wandb_csv(path, N=1e8, tokens_per_step=10, run_id="x")
    timed = wandb_panel(tmp_path / "timed.csv", axis="Relative Time (Process)")
    with pytest.raises(ValueError, match=r"timed.csv' \(W&B panel CSV\): no step column: .*"
                                         r"its x axis is 'Relative Time \(Process\)': re-export "
                                         r"the panel with Step on the x axis"):
        load_wandb_csv(timed, N=1e8, tokens_per_step=10)


def test_wandb_rejects_a_corrupted_export(tmp_path):
    path = wandb_history(tmp_path / "run.csv")
    lines = path.read_text().splitlines()
    bad_cell = tmp_path / "bad_cell.csv"
    bad_cell.write_text("\n".join(lines[:3] + [lines[3].replace("3.25", "3.2x5")] + lines[4:]))
    with pytest.raises(ValueError, match=r"bad_cell.csv' \(W&B history CSV\): 'train/loss' is "
                                         r"not a number in line 4 \(e.g. '3.2x5'\)"):
        load_wandb_csv(bad_cell, N=1e8, tokens_per_step=10)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join(lines[:2] + [lines[2] + ",1,2"] + lines[3:]))
    with pytest.raises(ValueError, match=r"ragged.csv' \(W&B history CSV\): not a readable "
                                         r"CSV file: Error tokenizing data"):
        load_wandb_csv(ragged, N=1e8, tokens_per_step=10)
    with pytest.raises(ValueError, match=r"no training loss found: none of \['train/loss', "
                                         r".*\] is logged; pass loss=NAME, the metric to fit; it "
                                         r"logs \['train/lr', 'val/loss'\]"):
        load_wandb_csv(_drop_column(path, "train/loss", tmp_path / "noloss.csv"), N=1e8,
                       tokens_per_step=10)
    with pytest.raises(ValueError, match=r"training loss 'loss/total' is not logged"):
        load_wandb_csv(path, N=1e8, tokens_per_step=10, loss="loss/total")


def _drop_column(path, column, out):
    frame = pd.read_csv(path)
    frame.drop(columns=[column]).to_csv(out, index=False)
    return out


# ---------------------------------------------------------------- TensorBoard

def summary_writer():
    pytest.importorskip("tensorboard")
    return pytest.importorskip("torch.utils.tensorboard").SummaryWriter


def write_events(folder, loss_tag="train/loss", shift=0.0, new_style=False):
    SummaryWriter = summary_writer()
    writer = SummaryWriter(str(folder))
    writer.add_scalar(loss_tag, 9.0, 0)  # before the first update: no tokens seen yet
    for step, loss, lr in zip(STEPS, LOSS, LR):
        writer.add_scalar(loss_tag, loss + shift, step)
        writer.add_scalar("train/learning_rate", lr, step, new_style=new_style)
        if step % 20 == 0:
            writer.add_scalar("eval/loss", loss + 0.5 + shift, step)
    writer.add_text("notes", "not a scalar", 0)
    writer.add_histogram("weights", np.arange(5.0), 10)
    writer.close()
    return folder


@pytest.mark.parametrize("new_style", [False, True])
def test_tensorboard_round_trip(tmp_path, new_style):
    folder = write_events(tmp_path / "gpt-small", new_style=new_style)
    table = load_tensorboard(folder, N="124M", tokens_per_step=1000)
    points = table.points
    assert points["run_id"].unique().tolist() == ["gpt-small"]
    assert points["step"].tolist() == STEPS  # step 0 has D = 0: left out, and counted
    assert table.meta["left_out_zero_tokens"] == 1
    assert points["loss"].tolist() == LOSS
    assert points["lr"].tolist() == lr32(LR)
    assert points["val/loss"].tolist()[1::2] == [4.0, 3.625]
    assert table.meta["columns"] == {"loss": "train/loss", "lr": "train/learning_rate",
                                     "val/loss": "eval/loss"}
    assert table.meta["dropped_metrics"] == []  # text and histograms are not scalars
    # an event file on its own reads the same
    (file,) = folder.glob("events.out.tfevents.*")
    pd.testing.assert_frame_equal(load_log(file, N="124M", tokens_per_step=1000).points, points)


def test_tensorboard_folder_of_runs(tmp_path):
    write_events(tmp_path / "logs" / "small", loss_tag="Loss/train")
    write_events(tmp_path / "logs" / "large", loss_tag="Loss/train", shift=-0.5)
    SummaryWriter = summary_writer()
    writer = SummaryWriter(str(tmp_path / "logs" / "large"))  # a restart: re-logs step 40
    writer.add_scalar("Loss/train", 2.5, 40)
    writer.add_scalars("grads", {"norm": 1.0}, 40)  # makes a folder of its own
    writer.close()
    table = load_tensorboard(tmp_path / "logs", N={"small": 1e7, "large": 1e8},
                             tokens_per_step=1000)
    assert table.runs["run_id"].tolist() == ["large", "small"]
    large = table.points[table.points["run_id"] == "large"]
    assert large["loss"].tolist() == [3.5, 3.0, 2.75, 2.5]  # the later step 40 wins
    assert table.meta["replaced_duplicates"] == 1
    assert table.meta["skipped_runs"] == ["large/grads_norm"]


def test_tensorboard_rejects_corrupted_files(tmp_path):
    folder = write_events(tmp_path / "run")
    (file,) = folder.glob("events.out.tfevents.*")
    payload = file.read_bytes()
    cut = tmp_path / "cut" / file.name
    cut.parent.mkdir()
    cut.write_bytes(payload[:-7])
    with pytest.raises(ValueError, match=r"\(TensorBoard events\): the file is truncated: record "
                                         r"\d+ would end at byte \d+ but the file has \d+ bytes"):
        load_tensorboard(cut, N=1e8, tokens_per_step=10)
    flipped = tmp_path / "flipped" / file.name
    flipped.parent.mkdir()
    middle = len(payload) // 2
    flipped.write_bytes(payload[:middle] + bytes([payload[middle] ^ 0xFF]) + payload[middle + 1:])
    with pytest.raises(ValueError, match=r"flipped/events.out.tfevents.*' \(TensorBoard events\)"
                                         r": .*(fails its checksum|corrupted|truncated)"):
        load_tensorboard(flipped, N=1e8, tokens_per_step=10)
    text = tmp_path / "events.out.tfevents.123.host"
    text.write_text("step,loss\n1,2.0\n")
    with pytest.raises(ValueError, match=r"not a TensorBoard event file"):
        load_log(text, N=1e8, tokens_per_step=10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty' \(TensorBoard events\): the folder holds no "
                                         r"event files"):
        load_tensorboard(tmp_path / "empty", N=1e8, tokens_per_step=10)


def test_tensorboard_needs_its_extra(tmp_path, monkeypatch):
    for name in ("tensorboard", "tensorboard.backend.event_processing.event_file_loader",
                 "tensorboard.compat.proto.event_pb2", "tensorboard.util.tensor_util"):
        monkeypatch.setitem(sys.modules, name, None)
    file = tmp_path / "events.out.tfevents.1.host"
    file.write_bytes(b"\0" * 16)
    with pytest.raises(MissingDependencyError,
                       match=r"needs the `tensorboard` package .*install it with "
                             r"`pip install 'scaling\[tensorboard\]'`"):
        load_tensorboard(file, N=1e8, tokens_per_step=10)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(MissingDependencyError, ValueError)  # one-line error in the CLI


# ---------------------------------------------------------------- Hugging Face

@dataclasses.dataclass
class TrainerState:
    """transformers.TrainerState's fields, saved the way its save_to_json does."""

    epoch: Optional[float] = None
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: Optional[int] = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: List[Dict[str, float]] = None
    best_metric: Optional[float] = None
    best_model_checkpoint: Optional[str] = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: Optional[str] = None
    trial_params: Dict[str, Union[str, float, int, bool]] = None

    def save_to_json(self, json_path):
        json_string = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"
        with open(json_path, "w", encoding="utf-8") as f:
            f.write(json_string)


def trainer_state(upto=40, tokens=False):
    """The log_history Trainer.log builds: training logs every 10 steps, evaluations
    every 20 (eval_* keys), and the end-of-training summary."""
    history = []
    for step, loss, lr in zip(STEPS, LOSS, LR):
        if step > upto:
            break
        entry = {"epoch": round(step / 40, 2), "grad_norm": 0.9, "learning_rate": lr,
                 "loss": loss, "step": step}
        if tokens:
            entry["num_input_tokens_seen"] = step * 2048
        history.append(entry)
        if step % 20 == 0:
            history.append({"epoch": round(step / 40, 2), "eval_loss": loss + 0.5,
                            "eval_runtime": 1.2, "eval_samples_per_second": 100.0,
                            "eval_steps_per_second": 12.5, "step": step})
    history.append({"epoch": 1.0, "step": upto, "total_flos": 1.2e15, "train_loss": 3.5,
                    "train_runtime": 60.0, "train_samples_per_second": 50.0,
                    "train_steps_per_second": 0.7})
    return TrainerState(epoch=1.0, global_step=upto, max_steps=40, logging_steps=10,
                        eval_steps=20, save_steps=20, train_batch_size=8, num_train_epochs=1,
                        total_flos=1.2e15, log_history=history)


def test_hf_trainer_state_round_trip(tmp_path):
    path = tmp_path / "trainer_state.json"
    trainer_state().save_to_json(path)
    table = load_hf_trainer_state(path, N="124M", tokens_per_step=8 * 1024, run_id="gpt2")
    points = table.points
    assert points["step"].tolist() == STEPS
    assert points["loss"].tolist() == LOSS  # not the run's mean train_loss
    assert points["lr"].tolist() == LR
    assert points["val/loss"].tolist()[1::2] == [4.0, 3.625]
    assert set(points.columns) == {"run_id", "step", "D", "C", "loss", "lr", "val/loss"}
    assert table.meta["trainer_state"]["max_steps"] == 40
    assert "grad_norm" in table.meta["dropped_metrics"]


def test_hf_output_folder_uses_latest_checkpoint_and_token_counter(tmp_path):
    out = tmp_path / "gpt2-124M"
    for step in (20, 40):
        (out / f"checkpoint-{step}").mkdir(parents=True)
        trainer_state(upto=step, tokens=True).save_to_json(
            out / f"checkpoint-{step}" / "trainer_state.json")
    assert sniff_log(out) == "hf"
    table = load_log(out, N="124M")
    assert table.runs["run_id"].tolist() == ["gpt2-124M"]
    assert table.points["step"].tolist() == STEPS
    np.testing.assert_array_equal(table.points["D"], np.array(STEPS) * 2048.0)
    assert table.meta["columns"]["D"] == "num_input_tokens_seen"


def test_hf_rejects_a_corrupted_state(tmp_path):
    path = tmp_path / "trainer_state.json"
    trainer_state().save_to_json(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"trainer_state.json' \(Hugging Face trainer_state.json"
                                         r"\): not valid JSON: .* at line \d+ column \d+"):
        load_hf_trainer_state(path, N=1e8, tokens_per_step=10)
    path.write_text(json.dumps({"global_step": 3}))
    with pytest.raises(ValueError, match=r"no 'log_history' in it \(found \['global_step'\]\)"):
        load_hf_trainer_state(path, N=1e8, tokens_per_step=10)
    state = trainer_state()
    del state.log_history[3]["step"]
    state.save_to_json(path)
    with pytest.raises(ValueError, match=r"log_history\[3\] has no 'step' \(keys: \['epoch', "
                                         r"'grad_norm', 'learning_rate', 'loss'\]\)"):
        load_hf_trainer_state(path, N=1e8, tokens_per_step=10)
    state = trainer_state()
    state.log_history[3]["loss"] = "n/a"
    state.save_to_json(path)
    with pytest.raises(ValueError, match=r"'loss' is not a number in log_history\[3\] "
                                         r"\(e.g. 'n/a'\)"):
        load_hf_trainer_state(path, N=1e8, tokens_per_step=10)


def test_nonfinite_loss_is_named_or_dropped_on_request(tmp_path):
    path = tmp_path / "trainer_state.json"
    state = trainer_state()
    state.log_history[4]["loss"] = float("nan")  # step 40  # json writes NaN, as transformers does
    state.save_to_json(path)
    with pytest.raises(ValueError, match=r"'loss' is nan in log_history\[4\]; pass "
                                         r"drop_nonfinite=True"):
        load_hf_trainer_state(path, N=1e8, tokens_per_step=10)
    table = load_hf_trainer_state(path, N=1e8, tokens_per_step=10, drop_nonfinite=True)
    assert table.points["step"].tolist() == STEPS[:3]
    assert table.meta["dropped_nonfinite"] == 1


# ---------------------------------------------------------------- Lightning

def lightning_metrics(folder):
    """What CSVLogger's writer does: one row per log_metrics call (the Trainer adds
    epoch; the writer adds step), written by csv.DictWriter over the sorted keys."""
    rows = [{"train_loss": 9.0, "lr-AdamW": 1e-3, "epoch": 0, "step": 0}]
    for step, loss, lr in zip(STEPS, LOSS, LR):
        rows.append({"train_loss": loss, "lr-AdamW": lr, "epoch": 0, "step": step})
        if step % 20 == 0:
            rows.append({"val_loss": loss + 0.5, "val_acc": 0.5, "epoch": 0, "step": step})
    keys = sorted(set().union(*rows))
    folder.mkdir(parents=True)
    with open(folder / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return folder / "metrics.csv"


def test_lightning_round_trip(tmp_path):
    path = lightning_metrics(tmp_path / "lightning_logs" / "version_0")
    table = load_lightning_csv(path, N="124M", tokens_per_step=1000)
    points = table.points
    assert points["run_id"].unique().tolist() == ["lightning_logs/version_0"]
    assert points["step"].tolist() == STEPS
    assert points["loss"].tolist() == LOSS
    assert points["lr"].tolist() == LR
    assert points["val/loss"].tolist()[1::2] == [4.0, 3.625]
    assert points["val/acc"].tolist()[1::2] == [0.5, 0.5]
    assert table.meta["columns"]["lr"] == "lr-AdamW"
    # a folder of versions: one run each
    lightning_metrics(tmp_path / "lightning_logs" / "version_1")
    both = load_log(tmp_path / "lightning_logs", N=1e8, tokens_per_step=1000)
    assert both.runs["run_id"].tolist() == ["version_0", "version_1"]


def test_lightning_fabric_csv_logger(tmp_path):
    loggers = pytest.importorskip("lightning_fabric.loggers")
    logger = loggers.CSVLogger(str(tmp_path), name="gpt")
    for step, loss, lr in zip(STEPS, LOSS, LR):
        logger.log_metrics({"train_loss": loss, "lr-AdamW": lr, "epoch": 0}, step=step)
        if step % 20 == 0:
            logger.log_metrics({"val_loss": loss + 0.5, "epoch": 0}, step=step)
    logger.finalize("success")
    table = load_log(tmp_path, N=1e8, tokens_per_step=1000)
    assert table.runs["run_id"].tolist() == ["gpt/version_0"]
    assert table.points["loss"].tolist() == LOSS
    assert table.points["val/loss"].tolist()[1::2] == [4.0, 3.625]


def test_lightning_rejects_a_corrupted_file(tmp_path):
    path = lightning_metrics(tmp_path / "v")
    text = path.read_text().replace("3.25", "--")
    path.write_text(text)
    with pytest.raises(ValueError, match=r"metrics.csv' \(Lightning CSVLogger metrics\): "
                                         r"'train_loss' is not a number in line 6 "
                                         r"\(e.g. '--'\)"):
        load_lightning_csv(path, N=1e8, tokens_per_step=10)
    path.write_text(text.replace("step", "iteration"))
    with pytest.raises(ValueError, match=r"no 'step' column; its columns are \['epoch', "):
        load_lightning_csv(path, N=1e8, tokens_per_step=10)


# ---------------------------------------------------------------- shared behaviour

def test_load_log_sniffs_each_kind(tmp_path):
    wandb = wandb_history(tmp_path / "history.csv")
    panel = wandb_panel(tmp_path / "panel.csv")
    state = tmp_path / "state.json"
    trainer_state().save_to_json(state)
    lightning = lightning_metrics(tmp_path / "pl" / "version_0")
    plain = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e7], "D": [1e9], "loss": [3.0]}).to_csv(plain, index=False)
    kinds = {wandb: "wandb", panel: "wandb", state: "hf", lightning: "lightning",
             lightning.parent: "lightning", plain: "table"}
    assert {path: sniff_log(path) for path in kinds} == kinds
    assert load_log(plain).points["loss"].tolist() == [3.0]
    with pytest.raises(ValueError, match=r"`kind` must be one of \['hf', 'lightning', "
                                         r"'table', 'tensorboard', 'wandb', 'wandb-offline'\], got 'mlflow'"):
        load_log(plain, kind="mlflow")


def test_plain_log_of_one_run_with_a_column_map(tmp_path):
    path = tmp_path / "train_log.jsonl"
    pd.DataFrame({"iter": STEPS, "train/loss": LOSS}).to_json(path, orient="records", lines=True)
    table = load_log(path, N="50M", tokens_per_step=512, run_id="mine",
                     columns={"step": "iter", "loss": "train/loss"})
    assert table.runs[["run_id", "N"]].values.tolist() == [["mine", 5e7]]
    assert table.points["D"].tolist() == [512.0 * s for s in STEPS]


def test_token_counts_are_required_unless_waived(tmp_path):
    path = wandb_history(tmp_path / "run.csv")
    with pytest.raises(ValueError, match=r"no token counts: pass tokens_per_step= .* or "
                                         r"require_tokens=False"):
        load_wandb_csv(path, N=1e8)
    table = load_wandb_csv(path, N=1e8, require_tokens=False)
    assert table.meta["tokens_known"] is False and table.points["D"].isna().all()
    with pytest.raises(ValueError, match=r"give either `tokens` .* or `tokens_per_step`"):
        load_wandb_csv(path, N=1e8, tokens="_runtime", tokens_per_step=10)


def test_column_map_keeps_and_renames_metrics(tmp_path):
    path = wandb_history(tmp_path / "run.csv")
    table = load_wandb_csv(path, N=1e8, tokens_per_step=10, lr=None,
                           columns={"loss": "val/loss", "task/train": "train/loss"})
    assert table.points["loss"].tolist() == [4.0, 3.625]  # fit the validation loss
    assert table.points["task/train"].tolist() == [3.5, 3.125]
    assert "lr" not in table.points.columns
    with pytest.raises(ValueError, match=r"column map refers to metric\(s\) \['eval/ppl'\] "
                                         r"that are not logged"):
        load_wandb_csv(path, N=1e8, tokens_per_step=10, columns={"val/ppl": "eval/ppl"})


def test_loaders_leave_validation_to_the_schema(tmp_path):
    path = wandb_history(tmp_path / "run.csv")
    with pytest.raises(ValueError, match=r"run.csv' \(W&B history CSV\): invalid runs table: "
                                         r"column 'N' must be > 0"):
        load_wandb_csv(path, N=-1, tokens_per_step=10)


@pytest.mark.parametrize("raw, name", [
    ("val/loss", "val/loss"), ("eval_loss", "val/loss"), ("eval/loss", "val/loss"),
    ("val_acc", "val/acc"), ("validation_loss", "val/loss"), ("Loss/val", "val/Loss"),
    ("task/hellaswag", "task/hellaswag"), ("eval_runtime", None),
    ("eval_samples_per_second", None), ("grad_norm", None), ("train/loss", None)])
def test_metric_names(raw, name):
    assert metric_name(raw) == name


def test_errors_are_log_errors(tmp_path):
    with pytest.raises(LogError, match=r"'.*missing.json' \(Hugging Face trainer_state.json\): "
                                       r"no such file"):
        load_hf_trainer_state(tmp_path / "missing.json", N=1e8)


def test_docs_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    page = Path(__file__).resolve().parents[2] / "docs" / "logs.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


def test_a_loaded_log_saved_flat_reads_back_with_load_table(tmp_path):
    from scaling.data import load_table

    table = load_lightning_csv(lightning_metrics(tmp_path / "pl" / "version_0"), N="124M",
                               tokens_per_step=8192)
    table.merged().to_csv(tmp_path / "runs.csv", index=False)
    again = load_table(tmp_path / "runs.csv")
    pd.testing.assert_frame_equal(again.points, table.points)
    pd.testing.assert_frame_equal(again.runs, table.runs)
