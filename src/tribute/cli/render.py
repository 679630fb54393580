"""``tribute render``: audio, score, lead sheet and piano roll of MIDI songs."""

from __future__ import annotations

import argparse
import sys

EXAMPLES = """\
examples:
  tribute render song.mid --wav --pianoroll --out renders/
  tribute render songs/*.mid --wav --flac --stems --sample-rate 48000 --out renders/
  tribute render song.mid --score pdf --score musicxml --lead-sheet --out renders/
  tribute render song.mid --score svg --out renders/        # no MuseScore needed

Audio needs FluidSynth and a General MIDI SoundFont (`apt-get install fluidsynth
timgm6mb-soundfont`); PDF needs MuseScore 3 (`apt-get install musescore3`); SVG uses verovio
(pip install 'tribute[render]'). Without an output option, --wav and --pianoroll are rendered.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render songs to audio, score, lead sheet and piano roll",
        description="Render MIDI songs to WAV/FLAC (mix and per-instrument stems), MusicXML "
        "and PDF/SVG scores, a lead sheet and a piano-roll PNG.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("songs", nargs="+", metavar="SONG.mid", help="MIDI files to render")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--wav", action="store_true", help="the mix as 16-bit WAV")
    parser.add_argument("--flac", action="store_true", help="the mix as FLAC")
    parser.add_argument(
        "--stems",
        action="store_true",
        help="one file per instrument in SONG.stems/ (WAV unless --flac alone)",
    )
    parser.add_argument(
        "--score",
        action="append",
        choices=("pdf", "svg", "musicxml"),
        metavar="FORMAT",
        help="score as pdf, svg or musicxml (repeatable; pdf and svg also write the MusicXML)",
    )
    parser.add_argument(
        "--lead-sheet",
        action="store_true",
        help="melody with chord symbols (engraved like --score, else PDF)",
    )
    parser.add_argument("--pianoroll", action="store_true", help="piano-roll PNG")
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=44_100,
        metavar="HZ",
        help="audio sample rate (default 44100)",
    )
    parser.add_argument(
        "--soundfont",
        metavar="PATH",
        help="General MIDI SoundFont (default: $TRIBUTE_SOUNDFONT, then the "
        "system's, e.g. /usr/share/sounds/sf2/TimGM6mb.sf2)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.rendering import RenderConfig, render

    chosen = args.wav or args.flac or args.stems or args.score or args.lead_sheet or args.pianoroll
    config = RenderConfig(
        wav=args.wav or not chosen,
        flac=args.flac,
        stems=args.stems,
        score_formats=tuple(dict.fromkeys(args.score or ())),
        lead_sheet=args.lead_sheet,
        pianoroll=args.pianoroll or not chosen,
        sample_rate_hz=args.sample_rate,
        soundfont=args.soundfont,
    )
    results = render(args.songs, args.out, config)
    for result in results:
        if result.error:
            print(f"{result.source}: error: {result.error}", file=sys.stderr)
            continue
        print(f"{result.source}: {result.duration_s:.1f} s, {len(result.outputs)} files")
        for warning in result.warnings:
            print(f"  warning: {warning}", file=sys.stderr)
    return 2 if any(r.error for r in results) else 0
