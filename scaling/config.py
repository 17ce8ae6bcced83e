"""Configuration of a proxy training run: the :class:`TrainConfig` dataclass (saved with
every run; CLI options map onto its fields), cooldown branches, and config files with
``--set key=value`` overrides."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from scaling.data.schedules import as_schedule, lr_schedule

from . import _runio
from .flops import PEAK_FLOPS

MAX_STEPS = 10_000_000  # per-step LR arrays of 80 MB; a proxy run is far shorter

__all__ = ["TrainConfig", "branch_config", "branch_fork_step", "load_config", "apply_overrides",
           "memory_estimate", "machine_memory", "check_memory"]


def _default_schedule() -> dict:
    return {"kind": "cosine", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 20}


@dataclass
class TrainConfig:
    """Everything that defines a proxy training run; saved as ``config.json`` with the run.

    Attributes
    ----------
    run_id : str
        Name of the run (its directory under ``out_dir/runs/`` and its runs-table id).
    n_layer, n_head, d_model, seq_len, dropout, bias, qk_layernorm, z_loss
        Model shape, as in :class:`scaling.model.GPTConfig`.
    corpus : str
        A bundled corpus name (``"default"``), a ``.npy``/``.bin`` token file (``.bin``: a raw
        memmap of ``token_dtype`` tokens, as nanoGPT's prepare scripts write), a text file,
        or a directory of text files.
    val_corpus : str, optional
        Validation tokens for a ``.bin`` corpus (default: ``val.bin`` next to ``train.bin``,
        else the last 1% of the file).
    token_dtype : {"uint8", "uint16", "uint32"}, optional
        Token type of ``.bin`` files (default ``uint16``).
    batch_size : int
        Sequences per optimizer step (split across ranks under ``torchrun``).
    total_steps : int
        Optimizer steps; ``D = total_steps * batch_size * seq_len`` tokens.
    schedule : dict
        A :mod:`data.schedules` spec (``total_steps`` is filled in from this config).
    branches : list of int
        Shorter schedules (their ``total_steps``) to branch off this run where their LR first
        departs from it, e.g. WSD cooldowns of a constant-LR phase (run ids
        ``<run_id>-cd<T>``).
    weight_decay, beta1, beta2, eps, grad_clip
        AdamW and gradient clipping (``grad_clip=0`` disables clipping; the norm is still
        logged).
    eval_every : int
        Steps between validation evaluations (and rows of ``points.csv``).
    eval_sets : list of str, optional
        Validation sets of the corpus to evaluate (default: all); the first is the primary
        one whose loss fills the ``loss`` column.
    eval_tokens : int
        Tokens scored per evaluation set (the same leading windows every time).
    spike_factor, spike_patience : float, int
        Stop as diverged when the training loss stays above ``spike_factor`` times the best
        smoothed loss for ``spike_patience`` consecutive steps (non-finite losses stop at
        once).
    seed : int
        Seeds initialization, dropout and the data order.
    device : {"auto", "cpu", "cuda"}
    dtype : {"auto", "float32", "bfloat16"}
        ``auto``: float32 on CPU, bf16 autocast on CUDA.
    compile : bool
        ``torch.compile`` the model (CUDA).
    threads : int, optional
        ``torch.set_num_threads`` on CPU. Default (``None``): chosen by
        :func:`scaling.trainer.auto_threads` (1 for small models, whose matmuls are too
        small to share; else the idle cores, at most 8).
    ckpt_every : int
        Steps between checkpoints (also at the end and at every branch point).
    peak_flops : float or str, optional
        Peak FLOP/s per device for MFU (a key of :data:`scaling.flops.PEAK_FLOPS`); guessed
        from the CUDA device name when omitted.
    group : str, optional
        The runs-table ``group`` column.
    """

    run_id: str = "run"
    n_layer: int = 2
    n_head: int = 2
    d_model: int = 64
    seq_len: int = 64
    dropout: float = 0.0
    bias: bool = False
    qk_layernorm: bool = False
    z_loss: float = 0.0
    corpus: str = "default"
    val_corpus: str | None = None
    token_dtype: str | None = None
    batch_size: int = 32
    total_steps: int = 200
    schedule: dict = field(default_factory=_default_schedule)
    branches: list = field(default_factory=list)
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    eval_every: int = 25
    eval_sets: list | None = None
    eval_tokens: int = 16384
    spike_factor: float = 2.0
    spike_patience: int = 20
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False
    threads: int | None = None
    ckpt_every: int = 100
    peak_flops: float | str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _check_types(self)
        for name, low, high in (("dropout", 0.0, 1.0), ("beta1", 0.0, 1.0), ("beta2", 0.0, 1.0)):
            if not low <= getattr(self, name) < high:
                raise ValueError(f"`{name}` must be in [{low:g}, {high:g}), got "
                                 f"{getattr(self, name)!r}")
        for name in ("weight_decay", "z_loss"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        if not self.eps > 0:
            raise ValueError(f"`eps` must be > 0, got {self.eps!r}")
        for name in ("total_steps", "batch_size", "eval_every", "eval_tokens", "ckpt_every",
                     "threads", "spike_patience", "n_layer", "n_head", "d_model", "seq_len"):
            value = getattr(self, name)
            if name == "threads" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        if self.total_steps > MAX_STEPS:  # the per-step LR array is built up front
            raise ValueError(f"`total_steps` must be at most {MAX_STEPS:,} (a proxy run), got "
                             f"{self.total_steps:,}; use a larger batch_size for more tokens")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0, got {self.seed!r}")
        if (not self.run_id or "/" in self.run_id or "\\" in self.run_id
                or self.run_id.startswith(".") or not self.run_id.isprintable()):
            raise ValueError(f"`run_id` must be a non-empty name without '/', got "
                             f"{self.run_id!r}")
        if self.token_dtype not in (None, "uint8", "uint16", "uint32"):
            raise ValueError(f"`token_dtype` must be 'uint8', 'uint16' or 'uint32', got "
                             f"{self.token_dtype!r}")
        for name, valid in (("device", ("auto", "cpu", "cuda")),
                            ("dtype", ("auto", "float32", "bfloat16"))):
            if getattr(self, name) not in valid:
                raise ValueError(f"`{name}` must be one of {list(valid)}, got "
                                 f"{getattr(self, name)!r}")
        if not self.grad_clip >= 0 or not self.spike_factor > 1:
            raise ValueError(f"`grad_clip` must be >= 0 and `spike_factor` > 1, got "
                             f"{self.grad_clip!r} and {self.spike_factor!r}")
        if isinstance(self.peak_flops, str) and self.peak_flops not in PEAK_FLOPS:
            raise ValueError(f"`peak_flops` must be a number or one of {sorted(PEAK_FLOPS)}, "
                             f"got {self.peak_flops!r}")
        for key, value in (self.schedule.items() if isinstance(self.schedule, dict) else ()):
            if isinstance(value, float) and value != value:  # NaN would read as "missing"
                raise ValueError(f"`schedule.{key}` is NaN; give a number (e.g. "
                                 f"schedule.peak_lr=3e-3)")
        self.schedule = as_schedule(self.schedule).to_dict()
        self.branches = sorted({int(b) for b in self.branches})
        bad = [b for b in self.branches if not 1 <= b < self.total_steps]
        if bad:
            raise ValueError(f"`branches` must be step counts in [1, total_steps) = "
                             f"[1, {self.total_steps}), got {bad}")
        self.lr()  # validates the schedule against total_steps
        same = [b for b in self.branches if branch_fork_step(self, b) >= b]
        if same:
            raise ValueError(f"branches {same} follow this run's LR to their end (nothing to "
                             "branch); use a schedule whose cooldown depends on total_steps, "
                             "e.g. WSD with `cooldown_frac`")
        if self.d_model % self.n_head:  # GPTConfig's shape rule, checked without torch
            raise ValueError(f"`d_model`={self.d_model} must be divisible by "
                             f"`n_head`={self.n_head}")

    def lr(self, total_steps: int | None = None) -> np.ndarray:
        """Per-step LR of this run (or of its branch of ``total_steps`` steps)."""
        return lr_schedule(self.schedule, total_steps or self.total_steps)

    def model_config(self, vocab_size: int = 256):
        from .model import GPTConfig

        return GPTConfig(vocab_size=vocab_size, seq_len=self.seq_len, n_layer=self.n_layer,
                         n_head=self.n_head, d_model=self.d_model, dropout=self.dropout,
                         bias=self.bias, qk_layernorm=self.qk_layernorm, z_loss=self.z_loss)

    @property
    def tokens_per_step(self) -> int:
        """``batch_size * seq_len`` (one sequence is ``seq_len`` predicted tokens)."""
        return self.batch_size * self.seq_len

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; valid fields are "
                             f"{sorted(names)}")
        return cls(**values)


# annotation -> (accepted Python types, description); bool is refused where a number is due
_TYPES = {"int": ((int,), "an integer"), "float": ((int, float), "a number"),
          "bool": ((bool,), "true or false"), "str": ((str,), "a string"),
          "dict": ((dict,), "an object"), "list": ((list,), "a list")}


def _check_types(config: TrainConfig) -> None:
    """Every field has its declared type (config files and --set values are JSON, so a
    quoted number or a list where a number is due is a mistake to name, not to crash on)."""
    import math

    for f in fields(config):
        value = getattr(config, f.name)
        options = [t.strip() for t in str(f.type).split("|")]
        if value is None and "None" in options:
            continue
        accepted = [_TYPES[t] for t in options if t in _TYPES]
        ok = any(isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
                 for types, _ in accepted)
        if not ok:
            wanted = " or ".join([d for _, d in accepted] + (["null"] if "None" in options
                                                              else []))
            raise ValueError(f"config field `{f.name}` must be {wanted}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"config field `{f.name}` must be finite, got {value!r}")


def branch_fork_step(config: TrainConfig, total_steps: int) -> int:
    """First step at which the schedule of ``total_steps`` departs from ``config``'s LR."""
    main, branch = config.lr(), config.lr(total_steps)
    differs = np.flatnonzero(~np.isclose(main[:total_steps], branch, rtol=1e-12, atol=0.0))
    return int(differs[0]) if differs.size else total_steps


def branch_config(config: TrainConfig, total_steps: int) -> TrainConfig:
    """The config of the cooldown branch of ``config`` that ends after ``total_steps``."""
    return replace(config, run_id=f"{config.run_id}-cd{total_steps}", total_steps=total_steps,
                   branches=[])


# --------------------------------------------------------------------------------------
# memory: refuse a model that cannot fit before anything is allocated


def memory_estimate(config: TrainConfig, vocab_size: int = 256) -> dict:
    """A lower estimate of a run's training memory in bytes (Python ints: never overflows).

    ``params`` 4 bytes per parameter (float32 weights, embeddings included), ``optimizer``
    12 more (gradients and AdamW's two moments), ``activations`` 8 float32 values per token
    per layer and width (what a block keeps for backward, at the least; fewer than a
    transformer really keeps, Korthikanti et al. 2022 count ~34 half-precision values, so
    only impossible runs are refused) plus the logits and their gradient.
    """
    d, layers, T, B = config.d_model, config.n_layer, config.seq_len, config.batch_size
    n = 12 * layers * d * d + (vocab_size + T) * d
    tokens = B * T
    return {"params": 4 * n, "optimizer": 12 * n,
            "activations": 4 * tokens * (8 * layers * d + 2 * vocab_size)}


def machine_memory() -> int | None:
    """This machine's memory in bytes (physical memory, or a smaller cgroup limit)."""
    import os

    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path, encoding="ascii").read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            sizes.append(int(text))
    return min(sizes) if sizes else None


def check_memory(config: TrainConfig, available: int | None = None, where: str = "this "
                 "machine") -> None:
    """Raise ValueError naming the numbers when ``config`` cannot fit in ``available`` bytes
    (default: :func:`machine_memory`)."""
    available = machine_memory() if available is None else available
    parts = memory_estimate(config)
    need = sum(parts.values())
    if available is None or need <= available:
        return
    gb = lambda b: f"{b / 1e9:.3g} GB"  # noqa: E731
    raise ValueError(
        f"run {config.run_id!r} (n_layer={config.n_layer}, d_model={config.d_model}, "
        f"seq_len={config.seq_len}, batch_size={config.batch_size}) needs at least "
        f"{gb(need)} to train (parameters {gb(parts['params'])}, gradients and optimizer "
        f"{gb(parts['optimizer'])}, activations {gb(parts['activations'])}) but {where} has "
        f"{gb(available)}; make the model smaller or lower batch_size/seq_len")


# --------------------------------------------------------------------------------------
# configuration files and --set overrides


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(values: dict, overrides) -> dict:
    """Apply ``["key=value", "schedule.peak_lr=1e-3"]`` to a config dict (values as JSON).

    Raises
    ------
    ValueError
        If an item is not ``key=value``.
    """
    values = json.loads(json.dumps(values))
    for item in overrides or ():
        key, sep, text = str(item).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r} must look like key=value, e.g. d_model=64 or "
                             "schedule.peak_lr=1e-3")
        *parents, leaf = key.strip().split(".")
        target = values
        for name in parents:
            target = target.setdefault(name, {})
            if not isinstance(target, dict):
                raise ValueError(f"--set {item!r}: {name!r} is not a mapping")
        target[leaf] = _parse_value(text.strip())
    return values


def load_config(path=None, overrides=()) -> TrainConfig:
    """A :class:`TrainConfig` from a JSON (or YAML, with PyYAML) file plus ``--set`` items.

    The file holds TrainConfig fields, or is a finished run's ``run.json`` (its
    ``config`` is used, so ``--config runs/one/runs/tiny/run.json --set ...`` trains a
    variant of that run)."""
    values: dict = {}
    if path is not None:
        values = _runio.read_mapping(path)
        if isinstance(values.get("config"), dict) and "status" in values:
            # a finished run's run.json: train another run with its config
            values = dict(values["config"])
    if "schedule" not in values:
        values["schedule"] = _default_schedule()
    return TrainConfig.from_dict(apply_overrides(values, overrides))
