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

__all__ = ["sample_ids", "sample_song"]


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
    room = model.config.max_position_embeddings - len(prompt)
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[]), inference_threads(model):
        torch.manual_seed(seed)
        out = model.generate(
            torch.tensor([prompt], device=device),
            max_new_tokens=max(1, min(max_new_tokens, room)),
            do_sample=True,
            temperature=temperature,
            top_k=top_k,
            suppress_tokens=suppress,
            eos_token_id=eos_id,
            pad_token_id=eos_id,
        )
    ids = out[0, len(prompt) :].tolist()
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


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
