"""A lean forward for sampling: the same Llama weights, fewer Python layers per step.

At tribute's CPU model sizes a decoding step is a few small matrix products; Hugging Face's
forward spends most of a step on generality (cache objects, masks, hooks: 5.95 ms for one step
of ``small`` at batch 1 in benchmarks/compose_bench.md). This decoder keeps, per layer, one
fused q|k|v matrix and one fused gate|up matrix, a preallocated key/value cache written in
place, precomputed rotary tables, and PyTorch's fused attention (SDPA). It computes what
``LlamaForCausalLM`` computes (RMSNorm in float32, rotary embeddings with rotate-half, SiLU
MLP, tied output head): ``tests/test_compose.py`` checks that its logits match the model's and
that a seed samples the same song either way.

Rows are left-padded: ``prefill`` takes each row's context with its mask, then every ``step``
appends one token per row in the same cache column; masked columns (padding) are never
attended to.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

__all__ = ["FastDecoder", "supports"]


def supports(model) -> bool:
    """Whether ``model`` is a plain Llama this decoder reproduces exactly."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", "") != "llama":
        return False
    # transformers 5 reads ``rope_scaling`` as an alias of ``rope_parameters`` (a dict even for
    # plain RoPE), so both are judged by their rope type, not by being set.
    ropes = [getattr(config, name, None) or {} for name in ("rope_parameters", "rope_scaling")]
    return (
        not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", "silu") == "silu"
        and all(r.get("rope_type", r.get("type", "default")) == "default" for r in ropes)
        and config.num_key_value_heads == config.num_attention_heads
    )


class _Layer:
    """One decoder layer's weights, fused and stored transposed (``x @ w`` on a contiguous
    [in, out] matrix is 1.5–2× faster on CPU than ``x @ w.T`` for a few rows)."""

    def __init__(self, layer) -> None:
        attn, mlp = layer.self_attn, layer.mlp
        fused = lambda *ws: torch.cat([w.detach() for w in ws]).T.contiguous()  # noqa: E731
        self.qkv = fused(attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight)
        self.o = fused(attn.o_proj.weight)
        self.gate_up = fused(mlp.gate_proj.weight, mlp.up_proj.weight)
        self.down = fused(mlp.down_proj.weight)
        self.norm_in = layer.input_layernorm.weight.detach()
        self.norm_post = layer.post_attention_layernorm.weight.detach()


class _Weights:
    """What a decoder reads from a model, prepared once per model (a song samples many
    sections, each a new decoder)."""

    def __init__(self, model) -> None:
        config = model.config
        inner = model.model
        self.embed = inner.embed_tokens.weight.detach()
        self.head = model.lm_head.weight.detach().T.contiguous()
        self.final_norm = inner.norm.weight.detach()
        self.layers = [_Layer(layer) for layer in inner.layers]
        heads = config.num_attention_heads
        dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        theta = (getattr(config, "rope_parameters", None) or {}).get(
            "rope_theta", getattr(config, "rope_theta", 10_000.0)
        )
        inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        positions = torch.arange(config.max_position_embeddings, dtype=torch.float32)
        freqs = torch.outer(positions, inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.key = _identity(model)


def _identity(model) -> tuple:
    """Which weights a prepared copy was made from: a moved or updated model differs."""
    weight = model.model.embed_tokens.weight
    return weight.data_ptr(), weight._version, weight.device, weight.dtype


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _weights_of(model) -> _Weights:
    prepared = _PREPARED.get(model)
    if prepared is None or prepared.key != _identity(model):
        prepared = _PREPARED[model] = _Weights(model)
    return prepared


class FastDecoder:
    """Prefill and single-token steps over a static cache of ``capacity`` columns."""

    def __init__(self, model, batch: int, capacity: int) -> None:
        config = model.config
        self.heads = config.num_attention_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.hidden = config.hidden_size
        self.eps = config.rms_norm_eps
        weights = _weights_of(model)
        self.embed, self.head, self.final_norm = weights.embed, weights.head, weights.final_norm
        self.layers, self.cos, self.sin = weights.layers, weights.cos, weights.sin
        device, dtype = self.embed.device, self.embed.dtype
        shape = (batch, self.heads, capacity, self.head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in self.layers]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in self.layers]
        self.mask = torch.zeros((batch, capacity), dtype=torch.bool, device=device)
        self.length = 0  # cache columns in use
        self.capacity = capacity

    # ---------------------------------------------------------------- public

    @torch.inference_mode()
    def prefill(
        self, ids: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        """Logits of the last column for left-padded contexts ``ids`` [B, T]."""
        width = ids.shape[1]
        if width > self.capacity:
            raise ValueError(f"a context of {width} tokens exceeds the cache ({self.capacity})")
        self.mask[:, :width] = attention.bool()
        self.mask[:, width:] = False
        self.length = 0
        return self._forward(ids, positions)[:, -1]

    @torch.inference_mode()
    def step(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Logits after one more token per row (``ids`` [B], ``positions`` [B])."""
        if self.length >= self.capacity:
            raise ValueError("the cache is full")
        self.mask[:, self.length] = True
        return self._forward(ids[:, None], positions[:, None])[:, -1]

    def select(self, rows: torch.Tensor) -> None:
        """Keep only ``rows`` (finished rows leave the batch)."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]
        self.mask = self.mask[rows]

    # ---------------------------------------------------------------- the model

    def _visible(self, batch: int, width: int, start: int, end: int, device) -> torch.Tensor:
        """[B, 1, width, end]: each new column sees every earlier column in use and, causally,
        the new ones."""
        if width == 1:  # a step: its own column is in the mask already
            return self.mask[:, None, None, :end]
        visible = self.mask[:, None, None, :end].expand(batch, 1, width, end).clone()
        causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
        visible[:, :, :, start:end] &= causal
        # A padding column sees itself: a query that sees nothing would make NaNs that its
        # key and value then carry into the cache (masked, but 0 · NaN is NaN).
        diagonal = torch.arange(width, device=device)
        visible[:, :, diagonal, start + diagonal] = True
        return visible

    def _norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:
            return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return weight * (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype)

    def _rotate(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def _forward(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        batch, width = ids.shape
        start, end = self.length, self.length + width
        x = F.embedding(ids, self.embed)
        cos = self.cos[positions][:, None]  # [B, 1, T, D]
        sin = self.sin[positions][:, None]
        visible = self._visible(batch, width, start, end, ids.device)
        for layer, keys, values in zip(self.layers, self.keys, self.values, strict=True):
            h = self._norm(x, layer.norm_in)
            q, k, v = (h @ layer.qkv).split(self.hidden, dim=-1)
            q, k, v = (
                t.view(batch, width, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v)
            )
            keys[:, :, start:end] = self._rotate(k, cos, sin)
            values[:, :, start:end] = v
            attended = F.scaled_dot_product_attention(
                self._rotate(q, cos, sin),
                keys[:, :, :end],
                values[:, :, :end],
                attn_mask=visible,
            )
            x = x + attended.transpose(1, 2).reshape(batch, width, self.hidden) @ layer.o
            gate, up = (self._norm(x, layer.norm_post) @ layer.gate_up).chunk(2, dim=-1)
            x = x + (F.silu(gate) * up) @ layer.down
        self.length = end
        return self._norm(x, self.final_norm) @ self.head
