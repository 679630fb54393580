"""``tribute compose``."""

from __future__ import annotations

import argparse
import json

EXAMPLES = """examples:
  tribute compose runs/bach-style --style artist=Bach -n 4 --bars 16 --out songs/
  tribute compose models/queen --style Queen -n 4 --tempo 120 --key "E minor" --time 4/4 \\
      --instruments drums,bass,guitar,keys,lead \\
      --form "intro:4 verse:8 chorus:8 verse:8 chorus:8 bridge:8 chorus:8 outro:4" --out songs/
  tribute compose models/queen --primer my_riff.mid --bars 8 --seed 7 --out songs/
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compose",
        help="write new songs in a style",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compose new multi-track songs with a trained model; every song is checked "
        "against the model's training corpora (the originality guard).",
    )
    parser.add_argument("model", help="model folder (pretrained, fine-tuned, merged or LoRA)")
    parser.add_argument("--out", required=True, help="folder for NAME-NN.mid + NAME-NN.json")
    parser.add_argument(
        "--style",
        help="style token: key=value or a value (default: the model's fine-tuned style, else none)",
    )
    parser.add_argument("-n", type=int, help="number of songs (default 1)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--bars", type=int, help="song length in bars (default 16)")
    shape.add_argument(
        "--form",
        help='sections, e.g. "intro:4 verse:8 chorus:8 verse:8 chorus:8" (a section name '
        'that returns repeats), or "learned[:BARS]": the form of one of the artist\'s songs, '
        "the default for a fine-tuned model (see docs)",
    )
    parser.add_argument(
        "--vary-repeats",
        action="store_true",
        default=None,
        help="resample the last bar of each repeated section",
    )
    parser.add_argument("--tempo", type=float, help="tempo in bpm (quarter notes)")
    parser.add_argument("--key", help='scale for pitched tracks, e.g. "E minor", "Bb major"')
    parser.add_argument("--time", help="time signature, e.g. 4/4 or 6/8")
    parser.add_argument(
        "--instruments",
        help="the line-up, comma-separated parts: drums, bass, guitar, keys, piano, organ, "
        "strings, brass, winds, lead, vocals, voices, or a GM program; guitar=30 picks the "
        "program, guitar*2 two guitar parts (default: the artist's typical line-up)",
    )
    harmony = parser.add_mutually_exclusive_group()
    harmony.add_argument(
        "--chords",
        help='chords per section ("verse: Em C G D; chorus: C G Am F") or bar by bar '
        '("Em C G D", cycled); * leaves a bar to the model',
    )
    harmony.add_argument("--chords-from", metavar="SONG", help="take the chords of this song")
    parser.add_argument(
        "--density",
        help='how busy each part is: "bass=low,drums=high" or per section '
        '("verse: bass=low; chorus: drums=high"); levels low, medium, high',
    )
    parser.add_argument("--primer", help="a MIDI (or any readable) file whose bars open the song")
    parser.add_argument("--seed", type=int, help="seed of the first song (default 0)")
    parser.add_argument("--temperature", type=float, help="sampling temperature (default 1.0)")
    parser.add_argument("--top-p", type=float, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--batch-size", type=int, help="songs sampled together (default 4)")
    parser.add_argument(
        "--no-guard", action="store_true", help="do not check songs against the training corpora"
    )
    parser.add_argument(
        "--against",
        action="append",
        metavar="CORPUS",
        help="corpora for the guard (default: the model's training corpora)",
    )
    parser.add_argument(
        "--max-retries", type=int, help="resamples of a song judged a copy (default 3)"
    )
    parser.add_argument(
        "--candidates",
        type=int,
        metavar="K",
        help="sample K candidates per song and keep the most artist-like original "
        "(highest style score; default 1)",
    )
    parser.add_argument(
        "--base", help="the genre model for the style score (default: the one the model records)"
    )
    parser.add_argument("--name", help="file name stem (default song)")
    parser.add_argument(
        "--render",
        action="store_true",
        default=None,
        help="also write a WAV mix, a piano-roll PNG and the score per song",
    )
    parser.add_argument("--device", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--json", action="store_true", help="print the records as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.cli import given
    from tribute.composition import (
        ComposeConfig,
        Controls,
        compose,
        parse_instruments,
        parse_tempo,
        parse_time_signature,
    )
    from tribute.composition.controls import (
        chords_of_song,
        parse_chords,
        parse_density,
        parse_form_request,
        require_forms,
    )
    from tribute.modeldir import model_path

    form, learned = parse_form_request(args.form, args.bars)
    if learned and args.form is not None:
        require_forms(model_path(args.model), args.model)
    chords = (
        chords_of_song(args.chords_from, sum(s.bars for s in form))
        if args.chords_from
        else parse_chords(args.chords, form)
    )
    controls = Controls(
        form=form,
        tempo_qpm=parse_tempo(args.tempo),
        time_signature=parse_time_signature(args.time),
        instruments=parse_instruments(args.instruments),
        chords=chords,
        density=parse_density(args.density),
        learned_form=learned,
        **given(args, "key", "temperature", "top_p", "vary_repeats"),
    )
    config = ComposeConfig(
        guard=not args.no_guard,
        against=tuple(args.against) if args.against else None,
        **given(
            args,
            "n",
            "style",
            "seed",
            "batch_size",
            "primer",
            "max_retries",
            "name",
            "device",
            "render",
            "candidates",
            "base",
        ),
    )
    quiet = args.json
    records = compose(
        args.model, args.out, controls, config, log=(lambda *a, **k: None) if quiet else print
    )
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=1))
    return 0 if all(r.ok for r in records) else 1
