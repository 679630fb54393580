"""Model presets, save/load identity and vocabulary growth (no training here)."""

from __future__ import annotations

import pytest
import torch

from tribute.errors import TributeError
from tribute.model import (
    PRESETS,
    build_model,
    count_parameters,
    flops_per_token,
    grow_vocab,
    load_model,
)

# Issue 3: tiny < 2 M, small ~5-10 M, base ~40-90 M, large ~300 M (with a 2,000-token vocab);
# mini ~2 M (the built-in base model).
SIZES_M = {
    "tiny": (0.1, 2),
    "mini": (1.5, 4),
    "small": (5, 10),
    "base": (40, 90),
    "large": (250, 350),
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_sizes(name):
    with torch.device("meta"):  # no memory, no init time: the large preset is 310 M
        model = build_model(name, vocab_size=2_000)
    low, high = SIZES_M[name]
    assert low <= count_parameters(model) / 1e6 <= high
    assert model.config.tie_word_embeddings and model.config._attn_implementation == "sdpa"


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(TributeError, match="unknown model preset"):
        build_model("huge", vocab_size=100)


def test_save_and_load_give_the_same_logits(tmp_path):
    model = build_model("tiny", vocab_size=300, seed=3).eval()
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    again = load_model(tmp_path / "m")
    ids = torch.randint(0, 300, (2, 17))
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, again(ids).logits)
    assert again.config.tribute_preset == "tiny"


def test_build_is_seeded():
    a, b = build_model("tiny", 100, seed=1), build_model("tiny", 100, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_grow_vocab_starts_new_rows_at_the_mean_of_given_rows():
    model = build_model("tiny", vocab_size=100)
    old = model.get_input_embeddings().weight.detach().clone()
    grow_vocab(model, 102, init_from=[98, 99])
    weight = model.get_input_embeddings().weight
    assert weight.shape == (102, old.shape[1]) and model.config.vocab_size == 102
    torch.testing.assert_close(weight[100], old[98:100].mean(0))
    torch.testing.assert_close(weight[:100], old)
    assert model.lm_head.weight.data_ptr() == weight.data_ptr()  # still tied
    assert model(torch.tensor([[101, 100]])).logits.shape[-1] == 102


def test_flops_per_token_is_about_six_n():
    model = build_model("small", vocab_size=2_000)
    n = count_parameters(model)
    assert 6 * n <= flops_per_token(model, 512) <= 8 * n


def test_load_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(TributeError, match="no saved model"):
        load_model(tmp_path)
