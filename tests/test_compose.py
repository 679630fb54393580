"""`tribute compose` with tiny models: controls hold, form repeats, seeds reproduce, primers open
the song, and the guard catches a model that memorized its only training song."""

from __future__ import annotations

import copy
import json
import types
from pathlib import Path

import numpy as np
import pytest
from symusic import Score

from conftest import _train
from songs import band_song, write_song
from tribute.cli import main
from tribute.composition import ComposeConfig, Controls, compose, parse_form
from tribute.corpus import BuildConfig, build

TPQ_BAR = 24 * 4  # ticks per 4/4 bar in composed songs (24 ticks per quarter)


def _quiet(*args, **kwargs) -> None:
    pass


@pytest.fixture(scope="module")
def model(band_model) -> Path:
    return band_model


def _bars(score: Score) -> int:
    end = [m.time for m in score.markers if m.text == "end"]
    return end[0] // TPQ_BAR


def test_controls_hold_in_every_song(model, tmp_path):
    controls = Controls(
        form=parse_form(None, 4),
        tempo_qpm=97.0,
        time_signature=(4, 4),
        key="E minor",
        instruments="drums,bass",
    )
    records = compose(
        model, tmp_path, controls, ComposeConfig(n=2, seed=1, guard=False), log=_quiet
    )
    for record in records:
        score = Score(str(tmp_path / record.midi))
        assert _bars(score) == 4
        assert all(n.time < 4 * TPQ_BAR for t in score.tracks for n in t.notes)
        assert [(ts.numerator, ts.denominator) for ts in score.time_signatures] == [(4, 4)]
        assert [round(t.qpm) for t in score.tempos] == [97]
        for track in score.tracks:
            assert track.is_drum or 32 <= track.program <= 39
            if not track.is_drum:
                assert {n.pitch % 12 for n in track.notes} <= {4, 6, 7, 9, 11, 0, 2, 3}
        assert record.guard.startswith("off") and record.dropped_notes == 0
        assert json.loads((tmp_path / f"{record.song}.json").read_text())[
            "seed"
        ] == 1 + records.index(record)


def test_form_repeats_the_chorus_and_marks_sections(model, tmp_path):
    controls = Controls(form=parse_form("verse:2 chorus:2 verse:2 chorus:2", None))
    (record,) = compose(model, tmp_path, controls, ComposeConfig(seed=3, guard=False), log=_quiet)
    score = Score(str(tmp_path / record.midi))
    assert [m.text for m in score.markers] == ["verse", "chorus", "verse", "chorus", "end"]
    assert [m.time // TPQ_BAR for m in score.markers] == [0, 2, 4, 6, 8]

    def notes(first_bar: int) -> list[tuple]:
        lo, hi = first_bar * TPQ_BAR, (first_bar + 2) * TPQ_BAR
        return sorted(
            (t.program, t.is_drum, n.time - lo, n.pitch)
            for t in score.tracks
            for n in t.notes
            if lo <= n.time < hi
        )

    assert notes(2) and notes(2) == notes(6)  # the chorus comes back
    assert record.form[3]["repeat_of_bar"] == 2


def test_a_fine_tuned_model_composes_in_a_form_of_its_training_songs(model, tmp_path, capsys):
    import shutil

    learned = tmp_path / "model"
    shutil.copytree(model, learned)
    forms = {"forms": [{"song": "s1", "form": [["a", 2], ["a", 2], ["b", 2]]}]}
    (learned / "forms.json").write_text(json.dumps(forms))
    code = main(
        ["compose", str(learned), "--bars", "8", "--out", str(tmp_path / "o"), "--no-guard"]
    )
    assert code == 0
    record = json.loads((tmp_path / "o" / "song-01.json").read_text())
    assert record["controls"]["form"] == ["a:2", "a:2", "b:4"]  # fitted to the 8 bars
    assert record["controls"]["form_song"] == "s1"
    score = Score(str(tmp_path / "o" / "song-01.mid"))
    assert [m.time // TPQ_BAR for m in score.markers] == [0, 2, 4, 8]
    # An explicit form wins; a model without forms cannot be asked for one.
    code = main(
        ["compose", str(learned), "--form", "x:3", "--out", str(tmp_path / "p"), "--no-guard"]
    )
    assert code == 0
    assert json.loads((tmp_path / "p" / "song-01.json").read_text())["controls"]["form"] == ["x:3"]
    capsys.readouterr()
    code = main(["compose", str(model), "--form", "learned:8", "--out", str(tmp_path / "q")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "has no forms.json" in err and "\n" not in err


def test_the_same_seed_gives_the_same_song(model, tmp_path):
    controls = Controls(form=parse_form(None, 3))
    for folder in ("a", "b"):
        compose(
            model,
            tmp_path / folder,
            controls,
            ComposeConfig(n=2, seed=11, guard=False),
            log=_quiet,
        )
    for song in ("song-01.mid", "song-02.mid"):
        assert (tmp_path / "a" / song).read_bytes() == (tmp_path / "b" / song).read_bytes()
    assert (tmp_path / "a" / "song-01.mid").read_bytes() != (
        tmp_path / "a" / "song-02.mid"
    ).read_bytes()


def test_a_primer_opens_the_song(model, tmp_path):
    primer = band_song(99, bars=2).resample(24)
    primer.dump_midi(str(tmp_path / "riff.mid"))
    (record,) = compose(
        model,
        tmp_path / "out",
        Controls(form=parse_form(None, 2)),
        ComposeConfig(primer=str(tmp_path / "riff.mid"), guard=False),
        log=_quiet,
    )
    assert record.primer_bars == 2 and record.bars == 4
    score = Score(str(tmp_path / "out" / record.midi))

    def opening(s: Score) -> list[tuple]:
        return sorted(
            (t.is_drum, n.time, n.pitch) for t in s.tracks for n in t.notes if n.time < 2 * TPQ_BAR
        )

    assert opening(score) == opening(primer)
    programs = {(t.program, t.is_drum) for t in score.tracks}
    assert programs <= {(t.program, t.is_drum) for t in primer.tracks} | {(0, True)}


def test_guard_rejects_a_memorized_song_and_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))
    write_song(tmp_path / "src" / "Memorized_Hit.mid", 42, bars=4)
    build([str(tmp_path / "src")], tmp_path / "corpus", BuildConfig(), progress=False)
    model = _train(tmp_path / "corpus", tmp_path / "model", steps=120, lr=3e-3)
    controls = Controls(form=parse_form(None, 4), temperature=0.2)
    (record,) = compose(
        model, tmp_path / "songs", controls, ComposeConfig(max_retries=1), log=_quiet
    )
    assert record.rejected, record
    assert all(r["verdict"] == "copy" for r in record.rejected)
    assert record.rejected[0]["nearest"][0]["title"] == "Memorized Hit"
    saved = json.loads((tmp_path / "songs" / "song-01.json").read_text())
    assert saved["rejected"] == record.rejected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--style", "jazz"], "unknown style 'jazz'; this model knows: genre=rock"),
        (["--instruments", "kazoo"], "unknown instrument 'kazoo'"),
        (["--form", "verse:4 verse:8"], "cannot be longer than the original"),
        (["--key", "H minor"], "--key looks like"),
        (["--time", "7/8"], "not in this model's vocabulary"),
        (["--time", "4/5"], "is not a time signature"),
        (["--tempo", "900"], "--tempo must be between"),
        (["--primer", "missing.mid"], "does not exist"),
        (["--bars", "0"], "--bars must be between"),
    ],
)
def test_bad_requests_are_one_line_errors(model, tmp_path, capsys, argv, message):
    code = main(["compose", str(model), "--out", str(tmp_path), "--no-guard", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err, err


def test_primer_that_does_not_parse(model, tmp_path, capsys):
    (tmp_path / "bad.mid").write_bytes(b"not midi at all, just text" * 3)
    code = main(
        [
            "compose",
            str(model),
            "--out",
            str(tmp_path / "o"),
            "--no-guard",
            "--primer",
            str(tmp_path / "bad.mid"),
        ]
    )
    assert code == 2 and "primer" in capsys.readouterr().err


def test_sampler_cached_logits_equal_a_full_forward(model):
    import torch

    from tribute.composition.sampler import _CACHE_ARGUMENT, _cache_of
    from tribute.modeldir import load_style_model

    loaded = load_style_model(model)
    ids = torch.tensor(np.random.default_rng(0).integers(3, 200, size=(2, 24)))
    errors = []
    with torch.no_grad():  # local: a global switch would leak into later tests' training
        full = loaded.model(input_ids=ids).logits
        out = loaded.model(input_ids=ids[:, :16], use_cache=True)
        cache = _cache_of(out)
        for step in range(16, 24):
            out = loaded.model(
                input_ids=ids[:, step : step + 1], use_cache=True, **{_CACHE_ARGUMENT: cache}
            )
            cache = _cache_of(out)
            errors.append(float((out.logits[:, -1] - full[:, step]).abs().max()))
    assert max(errors) < 1e-4


def test_the_lean_decoder_matches_the_model_and_samples_the_same_song(model, monkeypatch):
    """FastDecoder reproduces the model's logits (left padding included), and a seed gives
    the same tokens on the lean path and on the Hugging Face path."""
    import torch

    from tribute.composition import Composer
    from tribute.composition.sampler import BarSampler
    from tribute.decoder import FastDecoder, supports
    from tribute.modeldir import load_style_model

    loaded = load_style_model(model)
    # The lean path is the one sampling takes for a model tribute trained, and a RoPE variant
    # it does not reproduce is refused.
    assert supports(loaded.model)
    scaled = copy.deepcopy(loaded.model.config)
    scaled.rope_parameters = {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}
    assert not supports(types.SimpleNamespace(config=scaled))
    ids = torch.tensor(np.random.default_rng(1).integers(3, 200, size=(3, 30)))
    mask = torch.ones_like(ids)
    mask[1, :9] = 0
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    with torch.no_grad():
        full = loaded.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
        decoder = FastDecoder(loaded.model, 3, 64)
        assert torch.allclose(decoder.prefill(ids, mask, positions), full[:, -1], atol=1e-4)
    composer = Composer.open(
        loaded, Controls(form=parse_form(None, 3)), ComposeConfig(guard=False), log=_quiet
    )
    init = BarSampler.__init__
    songs = {}
    for fast in (True, False):

        def patched(self, *args, fast=fast, **kwargs):
            init(self, *args, **kwargs)
            self.fast = fast

        monkeypatch.setattr(BarSampler, "__init__", patched)
        songs[fast] = [c.tokens for c in composer.generate([5, 6])[0]]
    assert songs[True] == songs[False] and all(songs[True])


def test_a_short_row_beside_a_long_one_slides_with_the_batch(model):
    """The lean decoder's cache fills by columns, left padding included: a batch whose long
    row nearly fills the context slides before the cache is full, short rows with it."""
    import torch

    from tribute.composition import Composer
    from tribute.composition.sampler import BarSampler
    from tribute.modeldir import load_style_model

    loaded = load_style_model(model)
    composer = Composer.open(
        loaded, Controls(form=parse_form(None, 6)), ComposeConfig(guard=False), log=_quiet
    )
    tokenizer = loaded.tokenizer
    prefix = tokenizer.prompt(tokenizer.styles_named(composer.styles))
    history = [int(t) for t in tokenizer.encode(band_song(8))][:50]
    sampler = BarSampler(loaded.model, composer.table, tokenizer.pad_id, tokenizer.bos_id, 64)
    assert sampler.fast
    plan = composer._plan(None)[0].plan
    lengths = (0, 10, 20, 30, 40, 50)
    for seed in range(4):
        generators = [torch.Generator().manual_seed(seed * 10 + k) for k in range(len(lengths))]
        contexts = [prefix + history[:k] for k in lengths]
        new = sampler.bars(contexts, [len(prefix)] * len(lengths), 8, generators, plan)
        assert all(new)


def test_positions_may_go_back_inside_a_bar_but_never_past_its_end(model):
    """The in-bar mask: an earlier onset in the same bar is allowed (a voice catching up; the
    strict order thinned songs, benchmarks/density_diagnosis.md), a position past the bar's end
    never is, and ``ordered_positions`` restores the strict rule."""
    import dataclasses

    from tribute.composition.sampler import BarSampler, SamplerConfig, _Row
    from tribute.composition.vocab import TokenTable
    from tribute.modeldir import load_style_model

    loaded = load_style_model(model)
    table = TokenTable.of(loaded.tokenizer)
    per_beat = table.positions_per_beat
    single = {
        int(table.first_position[i]): i
        for i in range(len(table.first_position))
        if loaded.tokenizer.base_tokens(i) == [f"Position_{table.first_position[i]}"]
    }
    earlier, later = single[per_beat], single[3 * per_beat]
    row = _Row(tokens=[], prefix_len=0, new=[], position=2 * per_beat, beats=4)
    short = dataclasses.replace(row, beats=3)  # a 3/4 bar: beat 4's position is past its end
    sampler = BarSampler(loaded.model, table, 0, 1, 64)
    default = sampler._in_bar([row, short])
    assert default[0, earlier] and default[0, later] and not default[1, later]
    sampler.settings = SamplerConfig(ordered_positions=True)
    ordered = sampler._in_bar([row])
    assert not ordered[0, earlier] and ordered[0, later]


def test_a_candidate_without_notes_gets_no_style_score_and_ranks_last():
    """Best of K must not stop at an empty sample: it is left unscored and chosen last."""
    from tribute.composition.candidate import Candidate
    from tribute.composition.song import Composer, _style_rank
    from tribute.stylescore import StyleScore

    class Scorer:
        def score(self, scores):
            assert all(s.note_num() for s in scores), "an empty song reached the scorer"
            return [StyleScore(-1.0, 5.0, 6.0, s.note_num()) for s in scores]

    full, empty = band_song(4), Score(24)
    made = [Candidate(1, [1], empty, []), Candidate(2, [1], full, [])]
    composer = object.__new__(Composer)
    composer.scorer = Scorer()
    composer._score_styles(made)
    assert made[0].style is None and made[1].style.style_bits == -1.0
    assert min(made, key=_style_rank) is made[1]


def test_pretraining_records_each_style_s_line_up(model):
    programs = json.loads((model / "programs.json").read_text())
    assert programs["by_style"] == {"genre=rock": programs["typical"]}
