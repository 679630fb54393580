"""`tribute studio`'s API with the tiny band model: a compose job's whole life (queued → progress
→ audio → score → done), every download opened by a real reader, cancel, a restarted studio
that still has its jobs and songs, checking a song that copies a training song, and bad input —
non-music and oversize uploads, path-like ids, unknown models, invalid controls (the CLI's own
messages), a full queue, cross-site requests — each a 4xx with a one-line message."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import mido
import music21
import pytest
import soundfile
from fastapi.testclient import TestClient

from songs import write_song
from tribute.cli import main
from tribute.studio import StudioConfig, create_app
from tribute.studio.uploads import MAX_UPLOAD_BYTES

FINISHED = ("done", "failed", "cancelled", "interrupted")
LOCAL = "http://127.0.0.1"


def _client(model: Path, work: Path, **options) -> TestClient:
    config = StudioConfig(models=(str(model),), work=work, **options)
    return TestClient(create_app(config), base_url=LOCAL)


def _wait(client: TestClient, job: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").json()
        if state["status"] in FINISHED:
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job} still {state['status']} after {timeout_s} s")


def _events(client: TestClient, job: str) -> list[dict]:
    with client.stream("GET", f"/api/jobs/{job}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    return [json.loads(line[len("data: ") :]) for line in lines]


@pytest.fixture(scope="module")
def studio(band_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        with _client(band_model, root / "work") as client:
            yield {"client": client, "work": root / "work", "model": band_model, "root": root}


@pytest.fixture(scope="module")
def composed(studio):
    """One 4-bar song composed, rendered and followed from the first event to the last."""
    client = studio["client"]
    response = client.post(
        "/api/compose",
        json={"model": "model", "form": "verse:2 chorus:2", "tempo": 110, "seed": 5},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    events = _events(client, job["id"])
    return {**studio, "job": _wait(client, job["id"]), "events": events, "queued": job}


def test_a_compose_job_goes_from_queued_through_progress_to_done(composed):
    assert composed["queued"]["status"] in ("queued", "running")
    kinds = [e["event"] for e in composed["events"]]
    assert kinds[0] == "snapshot" and kinds[-1] == "done"
    assert "section" in kinds and "bar" in kinds and "song" in kinds
    assert (
        kinds.index("section") < kinds.index("song") < kinds.index("audio") < kinds.index("score")
    )
    last_bar = [e for e in composed["events"] if e["event"] == "bar"][-1]
    assert last_bar["progress"]["bars_done"] == 4 and last_bar["tokens_per_s"] > 0
    job = composed["job"]
    assert job["status"] == "done" and job["error"] is None and len(job["songs"]) == 1
    assert job["log"], "the composer's log lines are kept with the job"


def test_every_download_opens_with_a_real_reader(composed):
    client, (song,) = composed["client"], composed["job"]["songs"]
    view = client.get(f"/api/songs/{song}").json()
    assert view["record"]["seed"] == 5 and view["audio"] and view["rendered"]
    get = lambda url: client.get(url).content  # noqa: E731
    midi = mido.MidiFile(file=io.BytesIO(get(view["files"]["midi"])))
    assert sum(1 for t in midi.tracks for m in t if m.type == "note_on") > 0
    audio, rate = soundfile.read(io.BytesIO(get(view["files"]["wav"])))
    assert rate == 44_100 and len(audio) > rate  # 4 bars at 110 bpm ≈ 8.7 s
    assert len(view["stems"]) >= 2
    for stem in view["stems"]:
        stem_audio, _ = soundfile.read(io.BytesIO(get(stem["url"])))
        assert stem_audio.shape == audio.shape  # the stems sum to the mix: same length
    for kind in ("musicxml", "lead-musicxml"):
        parsed = music21.converter.parseData(get(view["files"][kind]).decode(), format="musicxml")
        assert len(parsed.parts) >= 1
    assert get(view["svg"][0]).lstrip().startswith((b"<?xml", b"<svg"))
    assert get(view["files"]["pianoroll"])[:4] == b"\x89PNG"
    if "pdf" in view["files"]:
        assert get(view["files"]["pdf"])[:4] == b"%PDF"
    names = zipfile.ZipFile(io.BytesIO(get(view["zip"]))).namelist()
    assert any(n.endswith(".mid") for n in names) and any("/stems/" in n for n in names)
    roll = client.get(f"/api/songs/{song}/roll").json()
    assert roll["bars"] == 4 and [s["name"] for s in roll["sections"]] == ["verse", "chorus"]
    download = client.get(f"{view['files']['midi']}?download=1")
    assert download.headers["content-disposition"].startswith("attachment")


def test_new_seed_composes_the_same_request_again(composed):
    client, (song,) = composed["client"], composed["job"]["songs"]
    response = client.post(f"/api/songs/{song}/again?new_seed=true")
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["request"]["form"] == "verse:2 chorus:2" and again["request"]["n"] == 1
    assert _wait(client, again["id"])["status"] == "done"


def test_cancel_stops_a_running_job_and_a_finished_one_is_a_conflict(studio):
    client = studio["client"]
    job = client.post("/api/compose", json={"model": "model", "bars": 400}).json()
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job['id']}").json()["progress"].get("bars_done", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    state = _wait(client, job["id"], timeout_s=30)
    assert state["status"] == "cancelled" and state["songs"] == []
    assert state["progress"]["bars_done"] < 400
    again = client.post(f"/api/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already finished" in again.json()["error"]


def test_a_restarted_studio_has_its_jobs_and_songs(composed):
    (song,) = composed["job"]["songs"]
    with _client(composed["model"], composed["work"], workers=0) as client:
        jobs = {j["id"]: j for j in client.get("/api/jobs").json()}
        assert jobs[composed["job"]["id"]]["status"] == "done"
        assert song in [s["id"] for s in client.get("/api/songs").json()]
        assert client.get(f"/api/songs/{song}/files/midi").content[:4] == b"MThd"
        queued = client.post("/api/compose", json={"model": "model", "bars": 2}).json()
    job_file = composed["work"] / "jobs" / f"{composed['job']['id']}.json"
    running = {**json.loads(job_file.read_text()), "status": "running"}
    stopped = composed["work"] / "jobs" / "0123456789ab.json"
    stopped.write_text(json.dumps({**running, "id": "0123456789ab"}))
    with _client(composed["model"], composed["work"], workers=0) as client:
        assert client.get(f"/api/jobs/{queued['id']}").json()["status"] == "queued"
        was_running = client.get("/api/jobs/0123456789ab").json()
        assert was_running["status"] == "interrupted" and "stopped" in was_running["error"]
        assert client.post(f"/api/jobs/{queued['id']}/cancel").json()["status"] == "cancelled"
    stopped.unlink()


def test_checking_a_training_song_names_it_and_shows_both_sides(studio, tmp_path):
    client = studio["client"]
    data = write_song(tmp_path / "Band_Song0.mid", 0, bars=8, key=0).read_bytes()  # as conftest
    upload = client.post("/api/uploads?name=Band_Song0.mid", content=data)
    assert upload.status_code == 201 and upload.json()["kind"] == "midi"
    job = client.post("/api/check", json={"upload": upload.json()["id"]}).json()
    state = _wait(client, job["id"])
    assert state["status"] == "done", state["error"]
    (piece,) = state["result"]["pieces"]
    assert piece["report"]["verdict"] == "copy"
    assert piece["report"]["nearest"][0]["title"] == "Band Song0"
    both = client.get(f"/api/jobs/{job['id']}/pieces/1/compare/0").json()
    assert (
        both["reference"] is not None and both["song"]["run"][0] == both["finding"]["query_bars"][0]
    )


def test_uploads_are_sniffed_by_content_and_bounded(studio, tmp_path):
    client = studio["client"]
    xml = music21.stream.Score([music21.stream.Part([music21.note.Note("C4")])])
    musicxml = Path(xml.write("musicxml", fp=tmp_path / "a.musicxml")).read_bytes()
    assert client.post("/api/uploads?name=x.png", content=musicxml).json()["kind"] == "musicxml"
    cases = [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), 415, "PNG"),
        (b"hello, this is text", 415, "not a MIDI or MusicXML"),
        (b"<html><body>hi</body></html>", 415, "not MusicXML"),
        (b"", 415, "empty"),
        (b"MThd" + bytes(MAX_UPLOAD_BYTES), 413, "limit"),
    ]
    for body, status, words in cases:
        response = client.post("/api/uploads?name=song.mid", content=body)
        assert response.status_code == status and words in response.json()["error"], response.text

    def chunks():  # no Content-Length: refused while streaming
        for _ in range(11):
            yield b"MThd" + bytes(1024 * 1024)

    assert client.post("/api/uploads", content=chunks()).status_code == 413


@pytest.mark.parametrize(
    "url",
    [
        "/api/songs/..%2F..%2Fjobs",
        "/api/songs/abc",
        "/api/songs/0123456789ab-01",
        "/api/jobs/%2E%2E",
        "/api/jobs/..%2Fuploads",
        "/api/jobs/..%2F..%2F..%2Fetc%2Fpasswd/events",
        "/api/songs/0123456789ab-01/files/..%2F..%2Fsecret",
        "/api/songs/0123456789ab-01/stems/..%2F1",
        "/static/..%2F..%2F__init__.py",
    ],
)
def test_path_like_ids_are_refused(studio, url):
    response = studio["client"].get(url)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] and "Traceback" not in response.text


def test_a_symlink_out_of_the_work_folder_is_not_served(composed, tmp_path):
    client, (song,) = composed["client"], composed["job"]["songs"]
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF secret")
    folder = composed["work"] / "songs" / song.split("-")[0]
    link = folder / f"{client.get(f'/api/songs/{song}').json()['record']['song']}.pdf"
    kept = link.with_suffix(".kept") if link.exists() else None
    if kept:
        link.rename(kept)
    link.symlink_to(secret)
    try:
        assert client.get(f"/api/songs/{song}/files/pdf").status_code == 404
    finally:
        link.unlink()
        if kept:
            kept.rename(link)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "nope"}, 404, "unknown model 'nope'; this studio has: model"),
        ({"model": "../model"}, 400, "is not a model id"),
        ({"model": "model", "primer": "../../etc/passwd"}, 400, "is not a upload id"),
        ({"model": "model", "primer": "0123456789ab"}, 404, "no upload"),
        ({"model": "model", "against": ["../corpus"]}, 400, "is not a corpus id"),
        ({"model": "model", "tempo": "fast"}, 422, "tempo: Input should be a valid number"),
        ({"model": "model", "colour": "red"}, 422, "colour: not a field of this form"),
        ({"model": "model", "name": "../x"}, 400, "--name"),
        ({"model": "model", "n": 99}, 400, "1 to 16 songs"),
    ],
)
def test_bad_compose_requests_are_4xx_with_a_clear_message(studio, body, status, words):
    response = studio["client"].post("/api/compose", json=body)
    assert response.status_code == status and words in response.json()["error"], response.text


@pytest.mark.parametrize(
    ("body", "argv"),
    [
        ({"tempo": 400}, ["--tempo", "400"]),
        ({"time": "5/5"}, ["--time", "5/5"]),
        ({"form": "verse"}, ["--form", "verse"]),
        ({"key": "H major"}, ["--key", "H major"]),
        ({"density": "bass=loud"}, ["--density", "bass=loud"]),
        ({"instruments": "kazoo"}, ["--instruments", "kazoo"]),
        ({"temperature": 0}, ["--temperature", "0"]),
        ({"style": "jazz"}, ["--style", "jazz"]),
    ],
)
def test_invalid_controls_get_the_cli_s_own_message(studio, tmp_path, capsys, body, argv):
    response = studio["client"].post("/api/compose", json={"model": "model", **body})
    assert response.status_code == 400, response.text
    code = main(["compose", str(studio["model"]), "--out", str(tmp_path), "--no-guard", *argv])
    assert code == 2
    said = capsys.readouterr().err.strip().removeprefix("tribute compose: error: ")
    assert response.json()["error"] == said


def test_a_full_queue_is_a_429(studio):
    with _client(studio["model"], studio["root"] / "queue", workers=0, max_queued=2) as client:
        for _ in range(2):
            assert client.post("/api/compose", json={"model": "model"}).status_code == 202
        full = client.post("/api/compose", json={"model": "model"})
        assert full.status_code == 429 and "queue is full" in full.json()["error"]


def test_other_sites_and_other_host_names_are_refused(studio):
    client = studio["client"]
    evil = client.post("/api/compose", json={"model": "model"}, headers={"Origin": "http://x.test"})
    assert evil.status_code == 403 and "another site" in evil.json()["error"]
    rebound = client.get("/api/info", headers={"Host": "attacker.test"})
    assert rebound.status_code == 400 and "127.0.0.1" in rebound.json()["error"]
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/static/studio.js">' in page.text


def test_a_song_s_bars_can_be_regenerated(composed):
    client, (song,) = composed["client"], composed["job"]["songs"]
    if not client.get("/api/info").json()["options"]["edit"]:
        pytest.fail("tribute.composition.edit is missing: the studio's edit buttons need it")
    bad = client.post(f"/api/songs/{song}/edit", json={"bars": "three"})
    assert bad.status_code == 400 and "--bars looks like 9-16" in bad.json()["error"]
    job = client.post(f"/api/songs/{song}/edit", json={"bars": "2-3", "parts": "bass"}).json()
    state = _wait(client, job["id"])
    assert state["status"] == "done", state["error"]
    view = client.get(f"/api/songs/{state['songs'][0]}").json()
    assert view["record"]["controls"]["edit"]["bars"] == [2, 3] and view["files"]["wav"]
