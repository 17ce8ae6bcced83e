"""Parameter, FLOP and utilization accounting for the proxy models (no torch needed).

Symbols follow the project table: ``N`` parameters, ``D`` tokens, ``C`` FLOPs. Counts here
match :class:`scaling.model.GPT` exactly (pre-LayerNorm blocks, 4x MLP, learned positions,
tied output layer), so ladders can be planned before any model is built.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "PEAK_FLOPS",
    "ParamCount",
    "chinchilla_optimal_N",
    "flops_per_token_6n",
    "flops_per_token_exact",
    "mfu",
    "params_from_shape",
    "tokens_per_step",
]

# Dense (no 2:4 sparsity) peak BF16 tensor-core FLOP/s from the vendors' datasheets; MFU
# (Chowdhery et al. 2022, App. B) divides by these. Datasheet figures marked "with sparsity"
# are twice these.
PEAK_FLOPS: dict[str, float] = {
    "h100-sxm": 989e12,   # NVIDIA H100 datasheet: BF16 1,979 TFLOPS with sparsity (SXM)
    "h100-pcie": 756e12,  # NVIDIA H100 datasheet: BF16 1,513 TFLOPS with sparsity (PCIe)
    "h200": 989e12,       # NVIDIA H200 datasheet: BF16 1,979 TFLOPS with sparsity (SXM)
    "a100": 312e12,       # NVIDIA A100 datasheet: BF16 312 TFLOPS (624 with sparsity)
    "a10": 125e12,        # NVIDIA A10 datasheet: BF16 125 TFLOPS (250 with sparsity)
    # AWS's A10G variant has no NVIDIA datasheet; it trades tensor throughput for CUDA-core
    # throughput and is commonly quoted at ~70 TFLOPS dense BF16. Measure before relying on it.
    "a10g": 70e12,
    "l4": 121e12,         # NVIDIA L4 datasheet: BF16 242 TFLOPS with sparsity
    "v100": 125e12,       # NVIDIA V100 datasheet: 125 TFLOPS FP16 tensor (SXM2; no BF16)
    "mi300x": 1307.4e12,  # AMD Instinct MI300X datasheet: BF16 1,307.4 TFLOPS dense
    "tpu-v5e": 197e12,    # Google Cloud TPU v5e documentation: 197 TFLOPS BF16 per chip
}


class ParamCount(NamedTuple):
    """Parameter counts of a :class:`scaling.model.GPT` (tied output layer counted once)."""

    non_embedding: int
    total: int


def params_from_shape(n_layer: int, d_model: int, vocab_size: int, seq_len: int, *,
                      n_head: int | None = None, bias: bool = False,
                      qk_layernorm: bool = False) -> ParamCount:
    """Exact parameter counts of :class:`scaling.model.GPT` from its shape.

    Per block: attention ``4 d^2`` (QKV and output), MLP ``8 d^2``, two LayerNorms ``2 d``;
    with ``bias`` add ``4 d`` (attention) + ``5 d`` (MLP) + ``2 d`` (LayerNorm shifts); with
    ``qk_layernorm`` add ``2 d/n_head`` (twice that with ``bias``). Then a final LayerNorm
    (``d``, ``2 d`` with ``bias``). Embeddings are ``(vocab_size + seq_len) d``; the output
    layer is tied to the token embedding.

    Parameters
    ----------
    n_layer, d_model, vocab_size, seq_len : int
        Model shape (see :class:`scaling.model.GPTConfig`).
    n_head : int, optional
        Needed only with ``qk_layernorm`` (its gains have ``d_model / n_head`` entries).
    bias, qk_layernorm : bool
        As in :class:`scaling.model.GPTConfig`.

    Returns
    -------
    ParamCount
        ``non_embedding`` excludes token and position embeddings (Kaplan et al. 2020,
        Sec. 2.1, approximately ``12 n_layer d_model^2``); ``total`` includes them.

    Raises
    ------
    ValueError
        If a size is not a positive integer, or ``qk_layernorm`` lacks a valid ``n_head``.

    Examples
    --------
    >>> params_from_shape(2, 64, 256, 128)
    ParamCount(non_embedding=98624, total=123200)
    """
    for name, value in (("n_layer", n_layer), ("d_model", d_model),
                        ("vocab_size", vocab_size), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    d = d_model
    ln = 2 * d if bias else d
    block = 12 * d * d + 2 * ln + ((4 * d + 5 * d) if bias else 0)
    if qk_layernorm:
        if not isinstance(n_head, int) or n_head < 1 or d % n_head:
            raise ValueError("`qk_layernorm=True` needs `n_head`, a positive divisor of "
                             f"`d_model`={d}; got {n_head!r}")
        head_dim = d // n_head
        block += 2 * (2 * head_dim if bias else head_dim)
    non_embedding = n_layer * block + ln
    return ParamCount(non_embedding, non_embedding + (vocab_size + seq_len) * d)


def flops_per_token_6n(N: float) -> float:
    """Training FLOPs per token ``6 N`` (Kaplan et al. 2020, Sec. 2.1; ``C = 6 N D``)."""
    if not N > 0:
        raise ValueError(f"`N` must be > 0, got {N!r}")
    return 6.0 * float(N)


def chinchilla_optimal_N(C: float, tokens_per_param: float = 20.0) -> float:
    """Compute-optimal parameters for budget ``C`` under ``D = r N`` and ``C = 6 N D``.

    ``N* = sqrt(C / (6 r))`` with ``r`` tokens per parameter; ``r = 20`` is Hoffmann et al.
    2022's rule of thumb (their Table 3, Approach 1, pairs 1B parameters with 20.2B tokens).
    It is the centre an isoFLOP design spans, not a prediction for a particular setup.
    """
    if not C > 0 or not tokens_per_param > 0:
        raise ValueError(f"`C` and `tokens_per_param` must be > 0, got {C!r} and "
                         f"{tokens_per_param!r}")
    return float((C / (6.0 * tokens_per_param)) ** 0.5)


def flops_per_token_exact(n_layer: int, d_model: int, seq_len: int, vocab_size: int, *,
                          causal: bool = True) -> float:
    """Training (forward + backward) FLOPs per token counted layer by layer.

    Forward FLOPs per token, following Kaplan et al. 2020 Table 1 (a multiply-add is 2 FLOPs;
    LayerNorms, biases, nonlinearities and softmax are neglected)::

        embed            4 d_model
        QKV projections  n_layer * 2 * 3 d_model^2
        QK^T and AV      n_layer * 2 * seq_len * d_model     (x2 if causal=False)
        attn projection  n_layer * 2 * d_model^2
        MLP (4x)         n_layer * 2 * 8 d_model^2
        logits           2 * d_model * vocab_size

        C_forward = 4 d + n_layer (24 d^2 + 2 seq_len d) + 2 d vocab_size
        C_train   = 3 C_forward          (backward = 2 x forward, Kaplan et al. 2020 Sec. 2.1)

    The attention term is averaged over positions: with a causal mask a token attends to
    ``seq_len / 2`` keys on average, so QK^T and AV together cost ``2 seq_len d`` per token.
    ``causal=False`` counts the full square, ``4 seq_len d``, as Hoffmann et al. 2022
    (Appendix F) do. For ``seq_len << 12 d_model`` and a small vocabulary this tends to
    ``6 N`` with ``N`` the non-embedding parameters.

    Parameters
    ----------
    n_layer, d_model, seq_len, vocab_size : int
        Model shape.
    causal : bool, default True
        Count only the causal half of the attention matrices.

    Returns
    -------
    float
        FLOPs per training token.
    """
    for name, value in (("n_layer", n_layer), ("d_model", d_model),
                        ("seq_len", seq_len), ("vocab_size", vocab_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    d, L, T, V = float(d_model), float(n_layer), float(seq_len), float(vocab_size)
    attention = (2.0 if causal else 4.0) * T * d
    forward = 4.0 * d + L * (24.0 * d * d + attention) + 2.0 * d * V
    return 3.0 * forward


def tokens_per_step(batch_size: int, seq_len: int, grad_accum: int = 1) -> int:
    """Tokens per optimizer step, ``batch_size * seq_len * grad_accum`` (D grows by this)."""
    if min(batch_size, seq_len, grad_accum) < 1:
        raise ValueError("`batch_size`, `seq_len` and `grad_accum` must be >= 1, got "
                         f"{batch_size}, {seq_len}, {grad_accum}")
    return batch_size * seq_len * grad_accum


def mfu(tokens_per_s: float, flops_per_token: float, peak_flops: float | str) -> float:
    """Model FLOPs utilization: achieved model FLOP/s over peak (Chowdhery et al. 2022, App. B).

    Parameters
    ----------
    tokens_per_s : float
        Measured training throughput.
    flops_per_token : float
        From :func:`flops_per_token_6n` or :func:`flops_per_token_exact`.
    peak_flops : float or str
        Peak FLOP/s of the hardware used (all devices together), or a key of
        :data:`PEAK_FLOPS` for one device.

    Returns
    -------
    float
        A fraction (0.4 means 40 %).
    """
    if isinstance(peak_flops, str):
        if peak_flops not in PEAK_FLOPS:
            raise ValueError(f"`peak_flops` must be a number or one of {sorted(PEAK_FLOPS)}, "
                             f"got {peak_flops!r}")
        peak_flops = PEAK_FLOPS[peak_flops]
    if not peak_flops > 0:
        raise ValueError(f"`peak_flops` must be > 0, got {peak_flops!r}")
    if not tokens_per_s >= 0 or not flops_per_token > 0:
        raise ValueError(f"`tokens_per_s` must be >= 0 and `flops_per_token` > 0, got "
                         f"{tokens_per_s!r} and {flops_per_token!r}")
    return float(tokens_per_s) * float(flops_per_token) / float(peak_flops)
