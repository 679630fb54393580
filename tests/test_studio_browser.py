"""The studio in a real browser: Debian's headless Chromium, driven by Playwright (never a
browser Playwright downloads), opens a `tribute studio` served by the CLI with the tiny band
model, fills the compose form, composes a short song, and finds on its page an audio element
with a playable source (whose bytes are a WAV file), the piano roll and the score's SVG pages,
and a MIDI download. It takes the screenshot the README shows; ``TRIBUTE_SCREENSHOT=1`` saves it
as docs/studio.png (a test run leaves the source tree alone otherwise).

scripts/setup.sh installs Chromium (scripts/system-packages.txt) and Playwright (the dev extra);
where either is missing this test fails and says so — it is not skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mido
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = ROOT / "docs" / "studio.png"
VIEWPORT = {"width": 1360, "height": 1000}
MS = 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll ``expression`` in the page (Playwright's wait_for_function evaluates strings with
    eval(), which the studio's Content-Security-Policy forbids, as it should)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(band_model, tmp_path_factory):
    """`tribute studio MODEL --work DIR --port PORT`, as a user starts it."""
    root = tmp_path_factory.mktemp("studio-browser")
    port = _free_port()
    env = {**os.environ, "TRIBUTE_CACHE_DIR": str(root / "cache")}
    argv = [sys.executable, "-m", "tribute", "studio", str(band_model), "--work", str(root)]
    log = open(root / "server.log", "w+b")  # noqa: SIM115 - closed below, read on failure
    process = subprocess.Popen([*argv, "--port", str(port)], stdout=log, stderr=log, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}api/info", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                pytest.fail(f"the studio did not start:\n{log.read().decode(errors='replace')}")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.seek(0)
    printed = log.read().decode(errors="replace")
    log.close()
    assert f"tribute studio: {url}" in printed  # the CLI said where it is


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[dev]' (scripts/setup.sh)")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_compose_listen_look_and_download_in_a_real_browser(server, browser, tmp_path):
    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]", timeout=30 * MS)

    page.fill("#f-tempo", "400")  # the CLI's message, under the form
    page.click("#compose-button")
    page.wait_for_selector("#form-error:has-text('--tempo must be between 20 and 320 bpm')")

    page.fill("#f-tempo", "118")
    page.fill("#f-form", "intro:1 verse:2 chorus:2")
    page.fill("#f-seed", "7")
    page.click("#compose-button")
    page.wait_for_selector("#job", timeout=10 * MS)
    page.wait_for_url("**/#/song/*", timeout=180 * MS)  # the page opens the song at first audio

    audio = page.wait_for_selector("audio#mix[src]", timeout=30 * MS)
    assert page.evaluate("document.querySelector('#mix').canPlayType('audio/wav')") != ""
    _until(page, "document.querySelector('#mix').readyState >= 1")
    assert page.evaluate("document.querySelector('#mix').duration") > 1.0
    head = page.evaluate(
        "async () => { const r = await fetch(document.querySelector('#mix').src);"
        " const b = new Uint8Array(await r.arrayBuffer()); return [r.headers.get('content-type'),"
        " String.fromCharCode(...b.slice(0, 4)), String.fromCharCode(...b.slice(8, 12))]; }"
    )
    assert head == ["audio/wav", "RIFF", "WAVE"], head
    assert audio.is_visible()

    assert page.wait_for_selector("#roll svg rect.note", state="visible", timeout=30 * MS)
    assert page.locator("#roll text.section-name").all_text_contents() == [
        "intro",
        "verse",
        "chorus",
    ]

    score = page.wait_for_selector("img.score-page", state="visible", timeout=120 * MS)
    _until(page, "[...document.querySelectorAll('img.score-page')].every(i => i.naturalWidth)")
    assert score.get_attribute("src").split("/")[-2] in ("svg", "lead-svg")
    page.click(".png-roll summary")  # the rendered PNG comes with the score
    _until(page, "document.querySelector('#pianoroll').naturalWidth > 0")
    assert page.locator("#pianoroll").is_visible()

    with page.expect_download() as download_info:
        page.click("a.download:text-is('MIDI')")
    midi = Path(download_info.value.path())
    assert midi.read_bytes()[:4] == b"MThd"
    assert sum(1 for t in mido.MidiFile(midi).tracks for m in t if m.type == "note_on") > 0

    page.click(".png-roll summary")  # closed again: the screenshot shows the score below
    page.evaluate("window.scrollTo(0, 0)")
    shot = SCREENSHOT if os.environ.get("TRIBUTE_SCREENSHOT") == "1" else tmp_path / "studio.png"
    page.screenshot(
        path=str(shot), clip={"x": 0, "y": 0, **VIEWPORT, "height": 1300}, full_page=True
    )
    assert shot.read_bytes()[:4] == b"\x89PNG"
    assert not errors, errors
