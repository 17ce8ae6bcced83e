"""Throughput of scaling.trainer vs a plain reference loop (same model, data and optimizer).

    python bench/trainer.py [--steps 150] [--d-model 64] [--n-layer 2] [--repeats 3]
    python bench/trainer.py --device cuda [--compile] [--n-layer 12 --d-model 768 ...]

On CUDA (bf16 autocast, fused AdamW, SDPA, optional torch.compile) it trains once and prints
tokens/s and MFU: exact training FLOPs per token (``scaling.flops.flops_per_token_exact``)
times the steady-state tokens/s (median over the second half of the steps, so compilation
and warm-up are left out) over the device's dense bf16 peak (``scaling.flops.PEAK_FLOPS``).

Prints tokens/s of both and their ratio (target >= 1.0: logging, divergence checks, LR
schedule and checkpoint bookkeeping must cost nothing noticeable). Both loops train the same
steps; ours excludes its evaluation and checkpoint time, as its ``tokens_per_s`` does. Runs
alternate and the best of ``--repeats`` counts, which damps noise from other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from scaling.corpus import get_batch, load_corpus
from scaling.model import GPT
from scaling.trainer import TrainConfig, train


def reference(config: TrainConfig, corpus) -> float:
    """nanoGPT-style loop: batch, forward, backward, clip, step. Returns tokens/s."""
    torch.manual_seed(config.seed)
    model = GPT(config.model_config(corpus.vocab_size))
    opt = model.configure_optimizer(config.schedule["peak_lr"], weight_decay=config.weight_decay)
    start = time.perf_counter()
    for step in range(config.total_steps):
        x, y = get_batch(corpus.train, step, config.batch_size, config.seq_len, config.seed)
        _, loss = model(torch.from_numpy(x), torch.from_numpy(y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    loss.item()
    return config.total_steps * config.tokens_per_step / (time.perf_counter() - start)


def ours(config: TrainConfig, corpus) -> float:
    with tempfile.TemporaryDirectory() as out:
        return train(config, out, corpus=corpus)["runs"][0]["tokens_per_s"]


def cuda_run(config: TrainConfig, corpus) -> None:
    """One CUDA run: whole-run and steady-state tokens/s and MFU."""
    from scaling.flops import flops_per_token_6n, flops_per_token_exact

    with tempfile.TemporaryDirectory() as out:
        info = train(config, out, corpus=corpus)["runs"][0]
        if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 writes
            return
        steps = pd.read_csv(Path(out) / "steps.csv")
    rate = float(steps["tokens_per_s"].iloc[len(steps) // 2:].median())
    per_token = flops_per_token_exact(config.n_layer, config.d_model, config.seq_len,
                                      corpus.vocab_size)
    peak = info["mfu"] and info["tokens_per_s"] * info["flops_per_token_exact"] / info["mfu"]
    print(f"device {info['device']}, {info['dtype']}, compile={config.compile}, "
          f"model L{config.n_layer}-d{config.d_model}-h{config.n_head} "
          f"(N={info['N']:.3g} non-embedding, {info['N_total']:.3g} total), "
          f"{config.total_steps} steps of {config.tokens_per_step} tokens")
    print(f"FLOPs/token: exact {per_token:.4g}, 6N {flops_per_token_6n(info['N']):.4g}")
    print(f"tokens/s: whole run {info['tokens_per_s']:,.0f}, steady state {rate:,.0f}")
    if peak:
        print(f"MFU (exact FLOPs, peak {peak / 1e12:.0f} TFLOP/s): whole run "
              f"{100 * info['mfu']:.1f}%, steady state {100 * rate * per_token / peak:.1f}%")
    else:
        print("MFU: unknown device peak (pass --peak-flops)")
    print("json " + json.dumps({"tokens_per_s": rate, "mfu": rate * per_token / peak
                                if peak else None, "device": info["device"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-head", type=int, default=None, help="default: d_model / 64, >= 2")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--compile", action="store_true", help="torch.compile (CUDA)")
    parser.add_argument("--peak-flops", default=None, help="a PEAK_FLOPS key or FLOP/s")
    args = parser.parse_args()
    n_head = args.n_head or max(2, args.d_model // 64)
    peak = args.peak_flops
    if peak is not None and peak.replace(".", "").replace("e", "").isdigit():
        peak = float(peak)
    config = TrainConfig(n_layer=args.n_layer, d_model=args.d_model, n_head=n_head,
                         seq_len=args.seq_len, batch_size=args.batch_size,
                         total_steps=args.steps, eval_every=args.steps, eval_tokens=1024,
                         ckpt_every=args.steps, threads=args.threads, device=args.device,
                         compile=args.compile, peak_flops=peak,
                         schedule={"kind": "constant", "peak_lr": 1e-3})
    corpus = load_corpus()
    if args.device == "cuda":
        cuda_run(config, corpus)
        return
    torch.set_num_threads(args.threads)
    ref, our = [], []
    for _ in range(args.repeats):
        ref.append(reference(config, corpus))
        our.append(ours(config, corpus))
    print(f"model L{args.n_layer}-d{args.d_model}, {args.steps} steps of "
          f"{config.tokens_per_step} tokens, {args.threads} thread(s), best of {args.repeats}")
    print(f"reference loop : {max(ref):12,.0f} tokens/s")
    print(f"scaling.trainer: {max(our):12,.0f} tokens/s")
    print(f"ratio (ours / reference): {max(our) / max(ref):.3f}")


if __name__ == "__main__":
    main()
