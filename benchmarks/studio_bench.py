"""The studio's speed as a user meets it: Compose → first audio, page load, idle memory.

    python benchmarks/studio_bench.py [MODEL_DIR ...] [--bars 16] [--repeats 3]
        [--work /tmp/tribute-studio-bench] [--out benchmarks/studio_bench.json]

Each model is served by the real CLI (``tribute studio MODEL --work W --port P``, a process of
its own) and measured from outside, as the page sees it:

- **Compose → first audio**: ``POST /api/compose`` of a ``--bars`` song (4/4, 120 bpm, one
  song, the guard on where the model's corpora are indexed) until the job's event stream says
  ``audio`` and the WAV's first bytes have arrived; also until the score is engraved (``score``)
  and the job is done. The first request of a fresh studio pays torch's import and the model's
  load (``cold``); the next ones find the model loaded (``warm``, the median of ``--repeats``).
- **Page load**: Debian's headless Chromium (Playwright, as the browser test drives it) from
  navigation to the compose form drawn (``body[data-ready]``: the page fetched ``/api/info``
  and built the form), median of ``--repeats`` fresh pages; plus the browser's own
  DOMContentLoaded and load times.
- **Memory**: the server's resident set (RSS, psutil) idle after start, and after composing.

The baseline in the same run is the library without the studio: ``Composer.open`` +
``compose`` + the studio's first ``render`` pass (WAV mix and stems) in one process, the model
loaded once, the same seeds: the warm path's floor (the studio's queue, worker thread, HTTP
and events cost the difference).

The tiny model is tests/conftest.py's fixture recipe (six synthetic four-part band songs, the
``tiny`` preset, 30 steps), built once under ``--work``. A real model folder given as an
argument is composed with the guard off unless its corpora already have an originality index
(building one for a 14,000-song corpus takes minutes and writes beside the corpus).

Writes JSON (``--out``) and prints the Markdown table for benchmarks/studio_bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine as common_machine  # noqa: E402
from machine import versions as common_versions  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TEMPO_QPM = 120.0  # 4/4 at 120 bpm: 2 s of music per bar


def tiny_model(work: Path) -> Path:
    """tests/conftest.py's band_model, built once under ``work``."""
    from conftest import _train
    from songs import write_song
    from tribute.corpus import BuildConfig, build
    from tribute.corpus.labels import LabelRules

    model = work / "tiny-model"
    if (model / "model.safetensors").is_file():
        return model
    for seed in range(6):
        write_song(work / "src" / f"Band_Song{seed}.mid", seed, bars=8, key=seed % 3)
    rules = LabelRules(fixed={"genre": "rock"})
    build([str(work / "src")], work / "corpus", BuildConfig(labels=rules), progress=False)
    return _train(work / "corpus", model, steps=30)


def guard_ready(model: Path) -> bool:
    """Whether every training corpus of ``model`` has its originality index already."""
    from tribute.modeldir import training_corpora

    corpora = training_corpora(model)
    return bool(corpora) and all((Path(c) / "originality").is_dir() for c in corpora)


class Studio:
    """``tribute studio MODEL`` in a child process, on a free port."""

    def __init__(self, model: Path, work: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TRIBUTE_CACHE_DIR": str(work / "cache")}
        argv = [sys.executable, "-m", "tribute", "studio", str(model), "--work", str(work)]
        self.log = open(work / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [*argv, "--port", str(self.port)], stdout=self.log, stderr=self.log, env=env
        )
        started = time.perf_counter()
        while True:
            try:
                self.info = self.get_json("/api/info")
                break
            except OSError:
                if self.process.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError(
                        f"the studio did not start; see {work / 'server.log'}"
                    ) from None
                time.sleep(0.1)
        self.start_s = time.perf_counter() - started

    def get_json(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def rss_mb(self) -> float:
        import psutil

        process = psutil.Process(self.process.pid)
        return round(process.memory_info().rss / 2**20, 1)

    def compose(self, body: dict) -> dict:
        """Seconds from the request to each milestone of the job."""
        started = time.perf_counter()
        request = urllib.request.Request(
            self.url + "/api/compose",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            job = json.loads(response.read())
        times: dict = {}
        with urllib.request.urlopen(f"{self.url}/api/jobs/{job['id']}/events", timeout=600) as s:
            for raw in s:
                line = raw.decode()
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event["event"] == "audio" and "audio_s" not in times:
                    times["audio_s"] = time.perf_counter() - started
                    song = event["songs"][0]
                    with urllib.request.urlopen(f"{self.url}/api/songs/{song}/files/wav") as wav:
                        assert wav.read(4) == b"RIFF"
                    times["first_audio_s"] = time.perf_counter() - started
                elif event["event"] == "score":
                    times["score_s"] = time.perf_counter() - started
                elif event["event"] == "done":
                    times["done_s"] = time.perf_counter() - started
                    times["status"] = event["job"]["status"]
                    times["error"] = event["job"]["error"]
                    break
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in times.items()}

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def page_load(url: str, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    ready, dom, load = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats + 1):  # the first warms the browser's own start-up
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready=true]")
            ready.append(time.perf_counter() - started)
            timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
            entry = json.loads(timing)
            dom.append(entry["domContentLoadedEventEnd"] / 1000)
            load.append(entry["loadEventEnd"] / 1000)
            page.close()
        browser.close()
    return {
        "form_ready_s": round(statistics.median(ready[1:]), 3),
        "dom_content_loaded_s": round(statistics.median(dom[1:]), 3),
        "load_event_s": round(statistics.median(load[1:]), 3),
    }


def library_baseline(model: Path, bars: int, guard: bool, seeds: list[int], work: Path) -> float:
    """Median seconds to the first WAV without the studio (compose + audio render, the model
    loaded once), over the same seeds as the studio's warm runs."""
    from tribute.composition import ComposeConfig, Composer, Controls, parse_form
    from tribute.modeldir import load_style_model
    from tribute.rendering import RenderConfig, render

    os.environ["TRIBUTE_CACHE_DIR"] = str(work / "cache")
    style_model = load_style_model(model)
    controls = Controls(form=parse_form(None, bars), tempo_qpm=TEMPO_QPM)
    times = []
    for seed in seeds:
        started = time.perf_counter()
        config = ComposeConfig(seed=seed, guard=guard)
        records = Composer.open(style_model, controls, config, log=lambda *a: None).compose(
            work / "baseline", log=lambda *a: None
        )
        render(
            [work / "baseline" / records[0].midi],
            work / "baseline" / "audio",
            RenderConfig(wav=True, stems=True),  # the studio's first pass
        )
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def latency_ms(url: str, repeats: int = 20) -> float:
    """Median milliseconds of a GET, body read."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 1)


def bench_model(model: Path, name: str, args, work: Path) -> dict:
    guard = name == "tiny" or guard_ready(model)
    folder = work / f"studio-{name}"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh studio: no earlier jobs or songs
    folder.mkdir(parents=True)
    studio = Studio(model, folder)
    try:
        time.sleep(2.0)  # let start-up settle before reading the idle RSS
        idle = studio.rss_mb()
        model_id = studio.info["models"][0]["id"]
        body = {"model": model_id, "bars": args.bars, "tempo": TEMPO_QPM, "guard": guard}
        seeds = list(range(1, args.repeats + 1))
        # The first request pays loading the weights; then the same seed again, warm, and the
        # other seeds: cold and warm compare on the same song.
        runs = [studio.compose({**body, "seed": seed}) for seed in [seeds[0], *seeds]]
        busy = studio.rss_mb()
        pages = page_load(studio.url, args.repeats)
        pages["get_page_ms"] = latency_ms(studio.url + "/")
        pages["get_info_ms"] = latency_ms(studio.url + "/api/info")
    finally:
        studio.close()
    warm = runs[1:]
    return {
        "model": str(model),
        "guard": guard,
        "studio_start_s": round(studio.start_s, 2),
        "cold": runs[0],
        "warm_median": {
            k: round(statistics.median(r[k] for r in warm), 3)
            for k in ("audio_s", "first_audio_s", "score_s", "done_s")
        },
        "warm_runs": warm,
        "seeds": seeds,
        "library_first_wav_s": library_baseline(model, args.bars, guard, seeds, folder),
        "page": pages,
        "rss_idle_mb": idle,
        "rss_after_compose_mb": busy,
    }


def table(results: dict) -> str:
    rows = [
        "| model | guard | cold: Compose → first audio | warm: Compose → first audio | "
        "library floor (compose + audio) | → score engraved (warm) | page ready | idle RSS | "
        "RSS after composing |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        rows.append(
            f"| {name} | {'on' if r['guard'] else 'off'} | {r['cold']['first_audio_s']:.2f} s | "
            f"**{r['warm_median']['first_audio_s']:.2f} s** | {r['library_first_wav_s']:.2f} s | "
            f"{r['warm_median']['score_s']:.2f} s | {1000 * r['page']['form_ready_s']:.0f} ms | "
            f"{r['rss_idle_mb']:.0f} MB | {r['rss_after_compose_mb']:.0f} MB |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="real model folders to measure too")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", default="/tmp/tribute-studio-bench")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "studio_bench.json"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRIBUTE_CACHE_DIR", str(work / "cache"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = [round(x, 2) for x in os.getloadavg()]
    models = {"tiny": tiny_model(work)} | {Path(m).name: Path(m) for m in args.models}
    results = {
        "command": " ".join(["python", "benchmarks/studio_bench.py", *sys.argv[1:]]),
        "started": started,
        "bars": args.bars,
        "repeats": args.repeats,
        "models": {name: bench_model(path, name, args, work) for name, path in models.items()},
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": common_machine(chromium=_chromium()),
        "versions": common_versions(
            "tribute", "fastapi", "starlette", "uvicorn", "torch", "playwright", "verovio"
        ),
    }
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


def _chromium() -> str:
    try:
        return subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "missing"


if __name__ == "__main__":
    main()
