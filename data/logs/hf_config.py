"""The parameter count of a Hugging Face model from its ``config.json``.

A Trainer output folder holds the model's ``config.json`` next to ``trainer_state.json``
(``save_model`` writes it, and so does every ``checkpoint-<step>/``), so the run's size
need not be typed in. The count is computed from the shape, by the convention of
:mod:`scaling.data.nconvention`:

- **non-embedding** (the runs-table default, Kaplan et al. 2020, Sec. 2.1): the weight
  matrices of attention and MLP in every layer; biases and norms left out.
  Attention is ``2 d^2 + 2 d d_kv`` (q and o full width, k and v at the key-value width
  ``d_kv = d * n_kv_heads / n_heads``: grouped-query attention); the MLP is ``2 d d_ff``,
  or ``3 d d_ff`` for gated (SwiGLU) MLPs. For GPT-2 this is ``12 n_layer d^2``.
- **total** adds the token embedding ``V d``, learned position embeddings (GPT-2, OPT),
  and the output head ``V d`` unless tied to the embedding.

Architectures (``model_type``): gpt2, gpt_neox, gptj, gpt_neo, opt, llama, mistral,
qwen2, qwen3, gemma, gemma2, olmo, olmo2, phi3, smollm3. Others are refused with a
message to give ``N`` (``--model-size``); mixture-of-experts models are not counted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["CONFIG_FILE", "HF_ARCHITECTURES", "params_from_config", "find_config"]

CONFIG_FILE = "config.json"
_GATED = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "olmo", "olmo2", "phi3",
          "smollm3"}
_PLAIN = {"gpt2", "gpt_neox", "gptj", "gpt_neo", "opt"}
#: model_type values whose config.json gives a parameter count.
HF_ARCHITECTURES = tuple(sorted(_GATED | _PLAIN))
# (layers, width, MLP width, vocabulary, positions) under each name a config may use
_KEYS = {"layers": ("num_hidden_layers", "n_layer", "num_layers"),
         "d": ("hidden_size", "n_embd", "d_model"),
         "d_ff": ("intermediate_size", "n_inner", "ffn_dim"),
         "vocab": ("vocab_size",),
         "heads": ("num_attention_heads", "n_head", "num_heads")}


def _get(config: dict, what: str, path: Path, default=None):
    for key in _KEYS[what]:
        if config.get(key) is not None:
            return float(config[key])
    if default is not None:
        return float(default)
    raise ValueError(f"{str(path)!r}: no {what} in the model config (looked for "
                     f"{', '.join(_KEYS[what])}); give the parameter count (--model-size)")


def params_from_config(path) -> dict:
    """``{"N": non-embedding, "N_total": total, "model_type": ...}`` from a config.json.

    Raises
    ------
    ValueError
        Naming the file: not JSON, an unknown ``model_type`` (listing those known), a
        mixture-of-experts model, or a missing shape key.
    """
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r}: cannot read the model config ({err})") from None
    kind = str(config.get("model_type", "")) if isinstance(config, dict) else ""
    if kind not in _GATED | _PLAIN:
        raise ValueError(f"{str(path)!r}: model_type {kind!r} is not one whose size is "
                         f"known from its config ({', '.join(HF_ARCHITECTURES)}); give the "
                         "parameter count with --model-size (N=)")
    if config.get("num_local_experts") or config.get("num_experts"):
        raise ValueError(f"{str(path)!r}: a mixture-of-experts config; give the parameter "
                         "count with --model-size (N=)")
    layers, d = _get(config, "layers", path), _get(config, "d", path)
    vocab = _get(config, "vocab", path)
    d_ff = _get(config, "d_ff", path, default=4 * d)  # GPT-2's n_inner=None means 4 d
    heads = _get(config, "heads", path, default=1)
    d_kv = d * float(config.get("num_key_value_heads") or heads) / heads
    if kind == "gpt_neo":
        d_kv = d
    mlp = (3.0 if kind in _GATED else 2.0) * d * d_ff
    non_embedding = layers * (2.0 * d * d + 2.0 * d * d_kv + mlp)
    positions = float(config.get("n_positions") or config.get("max_position_embeddings") or 0)
    learned_positions = kind in ("gpt2", "opt", "gpt_neo")
    tied = bool(config.get("tie_word_embeddings", True))
    total = (non_embedding + vocab * d * (1.0 if tied else 2.0)
             + (positions * d if learned_positions else 0.0))
    return {"N": non_embedding, "N_total": total, "model_type": kind}


def find_config(state_file: Path) -> Path | None:
    """The config.json of the model whose Trainer state is ``state_file``: next to it,
    else in the output folder above a ``checkpoint-<step>/`` (or a TensorBoard
    ``runs/<time>/`` folder)."""
    folder = Path(state_file).resolve().parent
    candidates = [folder]
    if re.fullmatch(r"checkpoint-\d+", folder.name):
        candidates.append(folder.parent)
    if folder.parent.name == "runs":
        candidates.append(folder.parent.parent)
    return next((c / CONFIG_FILE for c in candidates if (c / CONFIG_FILE).is_file()), None)
