#!/usr/bin/env bash
# The GPU path, end to end, in under 8 minutes on one GPU (H100/H200 sized):
#   1. a ~GPT-2-small proxy (L12 d768, 85M non-embedding params on the byte corpus) for 300
#      steps in bf16 with torch.compile: tokens/s and MFU (target >= 40% on H100/H200);
#      with >= 2 GPUs the same under torchrun (DDP), whose tokens/s should be ~2x;
#   2. a mini ladder (3 sizes x 2 token budgets from WSD cooldowns) on --backend local,
#      one worker per GPU;
#   3. the fit of its points;
#   4. the closed loop (`scaling loop --preset gpu`) on a shrunk target (1e16 FLOPs: a ladder
#      of 12 small runs, refinement, a validation rung 4x past it); with GPU_CHECK_LOOP=1
#      the full preset instead (ladder up to ~1e18 FLOPs, validation rung 4x: hours).
# Without a CUDA device it says so and exits 0. Results go to $GPU_CHECK_OUT (default: a
# temporary folder), the console log included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then
  echo "gpu_check: torch sees no CUDA device here; nothing to check (exit 0)"
  exit 0
fi
out="${GPU_CHECK_OUT:-$(mktemp -d)}"
mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
start=$(date +%s)
ngpu=$(python -c "import torch; print(torch.cuda.device_count())")
python -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '|', torch.cuda.device_count(), 'GPU(s)')"

echo "== 1. proxy throughput and MFU (bf16, fused AdamW, SDPA, torch.compile)"
proxy=(--device cuda --compile --n-layer 12 --d-model 768 --n-head 12 --seq-len 1024
       --batch-size 32 --steps 300)
timeout 240 python bench/trainer.py "${proxy[@]}"
if [ "$ngpu" -ge 2 ]; then
  echo "== 1b. the same on 2 GPUs with DDP (torchrun; global batch 64 = 32 per GPU)"
  timeout 180 python -m torch.distributed.run --standalone --nproc_per_node=2 \
    bench/trainer.py --device cuda --compile --n-layer 12 --d-model 768 --n-head 12 \
    --seq-len 1024 --batch-size 64 --steps 200 | grep -v "^json" || true
fi

echo "== 2. mini ladder: 3 sizes x 2 budgets, --backend local, $ngpu worker(s)"
cat > "$out/mini-ladder.json" <<'EOF'
{"name": "gpu-mini",
 "sizes": [{"n_layer": 4, "d_model": 256, "n_head": 4},
           {"n_layer": 6, "d_model": 384, "n_head": 6},
           {"n_layer": 8, "d_model": 512, "n_head": 8}],
 "tokens": [16000000, 32000000],
 "schedules": [{"kind": "wsd", "peak_lr": 2e-3, "end_lr": 2e-4, "warmup_steps": 100,
                "cooldown_frac": 0.2}],
 "seeds": [0],
 "base": {"seq_len": 512, "batch_size": 32, "eval_every": 250, "eval_tokens": 131072,
          "ckpt_every": 1000, "device": "cuda", "dtype": "bfloat16"}}
EOF
timeout 300 scaling ladder --preset "$out/mini-ladder.json" --out "$out/ladder" \
  --backend local --workers "$ngpu" --quiet

echo "== 3. fit of the ladder's points"
scaling fit "$out/ladder" --law chinchilla || scaling fit "$out/ladder" --law power-law --x N
echo "== 4. closed loop: design, train, refine, validate (scaling loop --preset gpu)"
if [ "${GPU_CHECK_LOOP:-0}" = 1 ]; then
  scaling loop --preset gpu --out "$out/loop" --workers "$ngpu"
else
  timeout 420 scaling loop --preset gpu --target-compute 1e16 --max-steps 2 \
    --out "$out/loop" --workers "$ngpu"
fi
echo "gpu_check: done in $(( $(date +%s) - start )) s; files in $out"
