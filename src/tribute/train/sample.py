"""A plain sampler for smoke checks: prompt → sampled ids → a decodable Score.

Composition (KV-cached, controlled sampling, song form) is ``tribute.composition``'s job; this is
the minimum a training run needs to prove its model writes music: HF ``generate`` with
temperature and top-k, never emitting PAD, BOS or style tokens, decoded by the tokenizer's
never-failing ``decode``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from symusic import Score

from tribute.model import inference_threads
from tribute.tokens import MusicTokenizer

__all__ = ["sample_batch", "sample_ids", "sample_song"]


@torch.no_grad()
def sample_ids(
    model,
    prompt: list[int],
    max_new_tokens: int,
    *,
    suppress: list[int],
    eos_id: int,
    temperature: float = 1.0,
    top_k: int = 50,
    seed: int = 0,
) -> list[int]:
    """Sampled continuation of ``prompt`` (without the prompt), stopping at EOS."""
    return sample_batch(
        model,
        [prompt],
        [max_new_tokens],
        suppress=suppress,
        eos_id=eos_id,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
    )[0]


@torch.no_grad()
def sample_batch(
    model,
    prompts: Sequence[list[int]],
    max_new_tokens: Sequence[int],
    *,
    suppress: list[int],
    eos_id: int,
    temperature: float = 1.0,
    top_k: int = 50,
    seed: int = 0,
) -> list[list[int]]:
    """A sampled continuation of each prompt, all in one ``generate`` (prompts left-padded),
    each cut to its own ``max_new_tokens`` and at its first EOS."""
    width = max(len(p) for p in prompts)
    room = model.config.max_position_embeddings - width
    device = next(model.parameters()).device
    ids = torch.tensor([[eos_id] * (width - len(p)) + list(p) for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    with torch.random.fork_rng(devices=[]), inference_threads(model):
        torch.manual_seed(seed)
        out = model.generate(
            ids,
            attention_mask=mask,
            max_new_tokens=max(1, min(max(max_new_tokens), room)),
            do_sample=True,
            temperature=temperature,
            top_k=top_k,
            suppress_tokens=suppress,
            eos_token_id=eos_id,
            pad_token_id=eos_id,
        )
    made = []
    for row, limit in zip(out[:, width:].tolist(), max_new_tokens, strict=True):
        row = row[: max(1, limit)]
        made.append(row[: row.index(eos_id)] if eos_id in row else row)
    return made


def sample_song(
    model,
    tokenizer: MusicTokenizer,
    styles: Sequence[int] = (),
    *,
    max_new_tokens: int = 256,
    temperature: float = 1.0,
    seed: int = 0,
) -> Score:
    """A short piece from the start-of-piece prompt (BOS + ``styles``)."""
    was_training = model.training
    model.eval()
    ids = sample_ids(
        model,
        tokenizer.prompt(styles),
        max_new_tokens,
        suppress=tokenizer.special_ids,
        eos_id=tokenizer.eos_id,
        temperature=temperature,
        seed=seed,
    )
    model.train(was_training)
    return tokenizer.decode(ids)
