"""Rendering speed: audio as a multiple of real time on one core, score engraving time per page.

    python benchmarks/render_bench.py [--bars 64] [--repeats 3] [--out benchmarks/render_bench.json]

Audio: tribute's renderer (:class:`tribute.rendering.audio.Synth`, the SoundFont loaded once)
against the baseline in the same run — the ``fluidsynth`` command line's fast file render of the
same MIDI file with the same SoundFont, which loads the SoundFont on every call. Both are pinned to
one CPU core. Score: the symusic → music21 → MusicXML conversion, MuseScore 3's PDF and verovio's
SVG of the same MusicXML, each per page. The song is tests/songs.py's four-piece band song
(drums, bass, guitar chords, lead), ``--bars`` bars at 120 qpm (64 bars = 128 s).

Writes the numbers, the machine and the versions as JSON (``--out``) and prints a Markdown table
to paste into benchmarks/render_bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import music21  # noqa: E402
from machine import machine as common_machine  # noqa: E402
from machine import versions as common_versions  # noqa: E402
from symusic import Score  # noqa: E402

from songs import band_song  # noqa: E402
from tribute.rendering import audio, score  # noqa: E402
from tribute.rendering.pianoroll import draw_pianoroll  # noqa: E402

CORE = 0  # every measurement runs pinned to this CPU


def best_of(repeats: int, work) -> float:
    """Fastest wall time of ``repeats`` runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def pdf_pages(path: Path) -> int:
    return max(1, len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes())))


def machine() -> dict:
    return common_machine(
        pinned_to_core=CORE, load_average_1min_at_start=round(os.getloadavg()[0], 2)
    )


def versions() -> dict:
    lib = audio._load_library()
    lib.fluid_version_str.restype = audio.ctypes.c_char_p
    found = {"libfluidsynth": lib.fluid_version_str().decode()}
    found.update(
        common_versions("symusic", "music21", "verovio", "matplotlib", "soundfile", "pyloudnorm")
    )
    mscore = score.find_mscore()
    if mscore:
        done = subprocess.run(
            [mscore, "--version"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        found["mscore"] = (done.stdout or done.stderr).strip().splitlines()[-1]
    return found


def cpu_seconds(work) -> tuple[float, float]:
    """(wall, CPU) seconds of ``work``: this process's CPU time plus its children's.

    CPU time is the headline on a shared machine: other jobs on the core stretch wall time but
    not the cycles the render itself needs ("× real time on one core").
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return time.perf_counter() - wall, time.process_time() - cpu + child_cpu


def bench_audio(midi: Path, song, soundfont: Path, repeats: int, work: Path) -> dict:
    """Ours and the baseline alternate, run by run, so that both meet the same machine load."""
    song_s = audio.song_seconds(song)
    started = time.process_time()
    synth = audio.Synth(soundfont)
    load_cpu = time.process_time() - started
    seconds = song.to("second")
    tracks = [i for i, t in enumerate(seconds.tracks) if t.note_num()]
    cli = shutil.which("fluidsynth")
    command = [cli or "fluidsynth", "-ni", "-q", "-F", str(work / "baseline.wav"), "-r", "44100"]
    command += ["-o", f"synth.polyphony={audio.POLYPHONY}", str(soundfont), str(midi)]
    pin = lambda: os.sched_setaffinity(0, {CORE})  # noqa: E731
    runs: dict[str, list[tuple[float, float]]] = {"mix": [], "stems": [], "baseline": []}
    for _ in range(repeats):
        runs["mix"].append(cpu_seconds(lambda: synth.render(seconds)))
        runs["stems"].append(cpu_seconds(lambda: [synth.render(seconds, [i]) for i in tracks]))
        if cli:  # the baseline: one process per file, the SoundFont loaded each time
            runs["baseline"].append(
                cpu_seconds(
                    lambda: subprocess.run(command, check=True, preexec_fn=pin, capture_output=True)
                )
            )
    synth.close()
    result = {
        "soundfont": soundfont.name,
        "song_s": round(song_s, 2),
        "load_cpu_s": round(load_cpu, 3),
    }
    for name, measured in runs.items():
        if not measured:
            continue
        wall, cpu = min(w for w, _ in measured), min(c for _, c in measured)
        result |= {
            f"{name}_cpu_s": round(cpu, 3),
            f"{name}_x_realtime": round(song_s / cpu, 1),
            f"{name}_wall_s": round(wall, 3),
        }
    if cli:
        result["baseline"] = f"fluidsynth -ni -F (load + render, polyphony {audio.POLYPHONY})"
    return result


def bench_score(song, repeats: int, work: Path) -> dict:
    xml = work / "bench.musicxml"
    convert_s = best_of(repeats, lambda: score.write_musicxml(score.to_music21(song, "bench"), xml))
    result = {"musicxml_s": round(convert_s, 3)}
    svg_pages: list[Path] = []

    def svg():
        svg_pages[:] = score.engrave_svg(xml, work / "bench")

    svg_s = best_of(repeats, svg)
    result |= {"svg_pages": len(svg_pages), "svg_s_per_page": round(svg_s / len(svg_pages), 3)}
    if score.find_mscore():
        pdf = work / "bench.pdf"
        pdf_s = best_of(repeats, lambda: score.engrave_pdf(xml, pdf))
        pages = pdf_pages(pdf)
        result |= {
            "pdf_pages": pages,
            "pdf_s_per_page": round(pdf_s / pages, 3),
            "pdf_s_total": round(pdf_s, 3),
        }
    roll = work / "bench.png"
    result["pianoroll_s"] = round(best_of(repeats, lambda: draw_pianoroll(song, roll, "b")), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "render_bench.json")
    args = parser.parse_args()
    os.sched_setaffinity(0, {CORE})
    songs = {"band": band_song(11, bars=args.bars)}
    # A hard case for any synth: five fast string parts with long releases (music21 ships this
    # MIDI file of Mozart's K. 525, first movement); its first 60 s.
    strings = Path(music21.__file__).parent / "omr" / "k525MIDIMvt1.mid"
    if strings.is_file():
        clipped = Score(str(strings)).to("second").clip(0, 60).to("tick")
        songs["strings"] = clipped
    song = songs["band"]
    soundfonts = [Path(p) for p in audio.SOUNDFONT_PATHS[:3] if Path(p).is_file()]
    unique = list(dict.fromkeys(p.resolve() for p in soundfonts))
    with tempfile.TemporaryDirectory(prefix="tribute-bench-") as tmp:
        work = Path(tmp)
        audio_rows = []
        for name, each in songs.items():
            midi = work / f"{name}.mid"
            each.dump_midi(str(midi))
            for soundfont in unique:
                row = bench_audio(midi, each, soundfont, args.repeats, work)
                audio_rows.append({"song": name, **row})
        report = {
            "command": f"python benchmarks/render_bench.py --bars {args.bars} "
            f"--repeats {args.repeats}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(),
            "versions": versions(),
            "songs": {
                name: {
                    "tracks": len(each.tracks),
                    "notes": sum(t.note_num() for t in each.tracks),
                    "seconds": round(audio.song_seconds(each), 1),
                }
                for name, each in songs.items()
            },
            "audio": audio_rows,
            "score": bench_score(song, args.repeats, work),
        }
        report["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print("\n| song | SoundFont | tribute mix | tribute stems | baseline fluidsynth CLI |")
    print("|---|---|---|---|---|")
    for row in report["audio"]:
        print(
            f"| {row['song']} | {row['soundfont']} | {row['mix_x_realtime']}× | "
            f"{row['stems_x_realtime']}× | {row.get('baseline_x_realtime', '-')}× |"
        )


if __name__ == "__main__":
    main()
