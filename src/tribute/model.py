"""The model: a Hugging Face Llama-style decoder-only transformer, built from named presets.

Every saved model is a plain ``transformers`` folder (``config.json`` + ``model.safetensors``),
so ``LlamaForCausalLM.from_pretrained`` opens it without tribute. This module knows nothing of
training, tokenizers or corpora: it turns a preset and a vocabulary size into a model and back.

FLOPs per token follow Kaplan et al. (2020) / PaLM appendix B: ``6 N + 12 L d T`` for a
training step (forward + backward), with N the non-embedding parameters.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tribute.errors import TributeError

__all__ = [
    "PRESETS",
    "ModelPreset",
    "build_model",
    "count_parameters",
    "flops_per_token",
    "grow_vocab",
    "inference_threads",
    "load_model",
    "preset",
]


@dataclass(frozen=True)
class ModelPreset:
    """Size of a model; the vocabulary comes from the tokenizer."""

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int  # SwiGLU width, ≈ 2.7 × hidden (Llama's 8/3 rounded)
    context_tokens: int  # RoPE context; ~130 BPE tokens per bar of dense band music
    learning_rate: float  # a peak AdamW learning rate that trains this size stably

    def to_json(self) -> dict:
        return asdict(self)


# Parameter counts with a 2,000-token vocabulary (tied embeddings):
PRESETS: dict[str, ModelPreset] = {
    # 2 × (4·128² + 3·128·352) = 0.40 M + 0.26 M embedding ≈ 0.66 M: CPU tests.
    "tiny": ModelPreset("tiny", 128, 2, 4, 352, 256, 2e-3),
    # 4 × (4·192² + 3·192·512) = 1.8 M + 0.4 M ≈ 2.2 M: between the two, for CPU hours.
    "mini": ModelPreset("mini", 192, 4, 6, 512, 512, 1.5e-3),
    # 6 × (4·256² + 3·256·704) = 4.8 M + 0.5 M ≈ 5.4 M: the 2-core CPU demo, ~8 bars of context.
    "small": ModelPreset("small", 256, 6, 8, 704, 1024, 1e-3),
    # 12 × (4·640² + 3·640·1728) = 59 M + 1.3 M ≈ 61 M: one GPU.
    "base": ModelPreset("base", 640, 12, 10, 1728, 2048, 6e-4),
    # 24 × (4·1024² + 3·1024·2816) = 308 M + 2 M ≈ 310 M: several GPUs, FSDP.
    "large": ModelPreset("large", 1024, 24, 16, 2816, 2048, 3e-4),
}


def preset(name: str) -> ModelPreset:
    if name not in PRESETS:
        raise TributeError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def build_model(
    size: str | ModelPreset,
    vocab_size: int,
    *,
    pad_id: int = 0,
    bos_id: int = 1,
    eos_id: int = 2,
    context_tokens: int | None = None,
    seed: int = 0,
) -> LlamaForCausalLM:
    """A freshly initialized Llama of the given preset (SDPA attention, tied embeddings)."""
    size = preset(size) if isinstance(size, str) else size
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        num_key_value_heads=size.num_heads,
        max_position_embeddings=context_tokens or size.context_tokens,
        rope_theta=10_000.0,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        attn_implementation="sdpa",
    )
    config.tribute_preset = size.name  # recorded in config.json: which preset built it
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def load_model(
    path: str | Path, *, dtype: torch.dtype | None = None, device: str | torch.device | None = None
) -> LlamaForCausalLM:
    """Load a saved model folder (safetensors only: no pickle is ever read), in float32 unless
    ``dtype`` says otherwise: weights shipped in half precision (a built-in model) are cast up,
    since training keeps fp32 master weights and CPU kernels are fastest in fp32."""
    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise TributeError(f"{path} holds no saved model (config.json + model.safetensors)")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise in a CLI
    model = LlamaForCausalLM.from_pretrained(
        path, use_safetensors=True, dtype=dtype or torch.float32, attn_implementation="sdpa"
    )
    if device is not None:
        model.to(device)
    return model.eval()


def count_parameters(model: LlamaForCausalLM, non_embedding: bool = False) -> int:
    """Parameters (tied weights once); ``non_embedding`` leaves out the token embedding."""
    total = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    if non_embedding:
        total -= model.get_input_embeddings().weight.numel()
    return total


def flops_per_token(model: LlamaForCausalLM, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6 N + 12 L d T."""
    config = model.config
    n = count_parameters(model, non_embedding=True)
    # Tied output projection still costs its matmul (2·V·d forward, ×3 with backward).
    n_head = config.vocab_size * config.hidden_size if config.tie_word_embeddings else 0
    return 6.0 * (n + n_head) + 12.0 * config.num_hidden_layers * config.hidden_size * seq_len


def grow_vocab(
    model: LlamaForCausalLM, new_vocab_size: int, init_from: list[int] | None = None
) -> None:
    """Add embedding rows; new rows start at the mean of rows ``init_from`` (e.g. the style
    tokens, so a new artist token begins as "an average style") or of all rows."""
    old = model.get_input_embeddings().weight.shape[0]
    if new_vocab_size <= old:
        return
    model.resize_token_embeddings(new_vocab_size, mean_resizing=False)
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        rows = weight[init_from] if init_from else weight[:old]
        weight[old:] = rows.mean(dim=0, keepdim=True)
    model.config.vocab_size = new_vocab_size


# Below ~20 M parameters a decoding step is a few small matrix products: one thread does a
# tiny-preset step at batch 8 in ~2 ms, while two threads that meet at every operation took
# 62 ms when another process shared the 2 cores (measured on this project's machine). Larger
# models keep every thread.
SINGLE_THREAD_BELOW = 20_000_000


@contextlib.contextmanager
def inference_threads(model: torch.nn.Module):
    """Sample a small CPU model on one thread (restored afterwards)."""
    on_cpu = next(model.parameters()).device.type == "cpu"
    small = count_parameters(model) < SINGLE_THREAD_BELOW
    previous = torch.get_num_threads()
    if on_cpu and small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
