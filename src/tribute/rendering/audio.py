"""Audio: a General MIDI SoundFont played through FluidSynth, mixed, stems, loudness-normalized.

FluidSynth (https://www.fluidsynth.org, LGPL-2.1) is driven through its C API with ctypes: the
score's notes and controllers are scheduled in seconds (``symusic``'s tempo map does the tick →
second conversion) and the synth writes 32-bit float blocks between events, so no MIDI file,
audio driver or real-time clock is involved. One :class:`Synth` loads the SoundFont once and
renders a whole batch — loading dominates per-file time (TimGM6mb 6 MB: ~0.05 s; FluidR3_GM
148 MB: ~1 s).

Loudness follows ITU-R BS.1770-4 (integrated LUFS, via ``pyloudnorm``); the gain is then capped
so that no sample of the mix or of any stem exceeds the ceiling, so the files never clip.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

import numpy as np
from symusic import Score

from tribute.errors import TributeError

SAMPLE_RATE_HZ = 44_100
RELEASE_TAIL_S = 0.75  # rendered after the last note-off: release and reverb, under the 1 s budget
TARGET_LUFS = -16.0  # a common loudness target for music on the web (AES streaming guideline)
CEILING_DBFS = -1.0  # sample peak ceiling: 1 dB of headroom for lossy encoders downstream
MAX_SONG_S = 30 * 60  # a longer "song" is almost certainly a broken tempo map
DRUM_BANK = 128  # SoundFont bank of GM drum kits
# Voices sounding at once; beyond it FluidSynth steals the quietest (mostly releasing) voices.
# Fast five-part strings on TimGM6mb reach ~480 voices of long releases: 512 renders them at
# 7× real time on one core, 256 at 11×, 128 at 18×, with no audible loss in a band mix.
POLYPHONY = 128
MIDI_CHANNELS = 256  # FluidSynth's maximum: one channel per track, beyond the 16 of a MIDI file
_BLOCK = 64  # FluidSynth's internal block (samples): events take effect at block boundaries

INSTALL_HINT = (
    "install FluidSynth and a General MIDI SoundFont: `apt-get install fluidsynth "
    "timgm6mb-soundfont` (or run scripts/setup.sh), or pass --soundfont PATH / set "
    "$TRIBUTE_SOUNDFONT"
)

# Checked in order after --soundfont and $TRIBUTE_SOUNDFONT. TimGM6mb (Debian timgm6mb-soundfont,
# 6 MB, GPL-2) first: it loads in milliseconds and renders fastest; default-GM.sf2 is Debian's
# alternatives link to whichever GM SoundFont is installed.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf2/MuseScore_General.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The SoundFont to use: ``explicit``, else ``$TRIBUTE_SOUNDFONT``, else a standard path."""
    for candidate, origin in (
        (explicit, "--soundfont"),
        (os.environ.get("TRIBUTE_SOUNDFONT"), "$TRIBUTE_SOUNDFONT"),
    ):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise TributeError(f"SoundFont {path} (from {origin}) does not exist")
            return path
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate).resolve()
    raise TributeError(f"no General MIDI SoundFont found; {INSTALL_HINT}")


def _load_library() -> ctypes.CDLL:
    name = ctypes.util.find_library("fluidsynth")
    candidates = [name] if name else []
    candidates += ["libfluidsynth.so.3", "libfluidsynth.so.2", "libfluidsynth.dylib"]
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        _declare(lib)
        return lib
    raise TributeError(f"the FluidSynth library (libfluidsynth) is not installed; {INSTALL_HINT}")


def _declare(lib: ctypes.CDLL) -> None:
    """Argument types of the few C functions used (the ABI is stable across FluidSynth 2.x)."""
    p, i, d, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_char_p
    signatures = {
        "new_fluid_settings": (p, []),
        "delete_fluid_settings": (None, [p]),
        "fluid_settings_setnum": (i, [p, s, d]),
        "fluid_settings_setint": (i, [p, s, i]),
        "new_fluid_synth": (p, [p]),
        "delete_fluid_synth": (None, [p]),
        "fluid_synth_sfload": (i, [p, s, i]),
        "fluid_synth_system_reset": (i, [p]),
        "fluid_synth_set_channel_type": (i, [p, i, i]),
        "fluid_synth_bank_select": (i, [p, i, i]),
        "fluid_synth_program_change": (i, [p, i, i]),
        "fluid_synth_noteon": (i, [p, i, i, i]),
        "fluid_synth_noteoff": (i, [p, i, i]),
        "fluid_synth_cc": (i, [p, i, i, i]),
        "fluid_synth_pitch_bend": (i, [p, i, i]),
        "fluid_synth_all_sounds_off": (i, [p, i]),
        "fluid_synth_write_float": (i, [p, i, p, i, i, p, i, i]),
        "fluid_set_log_function": (p, [i, p, p]),
    }
    for name, (restype, argtypes) in signatures.items():
        func = getattr(lib, name)
        func.restype, func.argtypes = restype, argtypes


# Event kinds, in the order they are applied when they share a sample: controllers before notes,
# note-offs before note-ons (a repeated pitch must stop before it restarts).
_CC, _BEND, _OFF, _ON = 0, 1, 2, 3


class Synth:
    """One FluidSynth instance with one SoundFont, reused for every song of a batch."""

    def __init__(
        self, soundfont: str | os.PathLike | None = None, sample_rate_hz: int = SAMPLE_RATE_HZ
    ):
        if not 8_000 <= sample_rate_hz <= 192_000:
            raise TributeError(f"sample rate {sample_rate_hz} Hz is outside 8000-192000")
        self.soundfont = find_soundfont(soundfont)
        self.sample_rate_hz = sample_rate_hz
        self._lib = lib = _load_library()
        for level in range(5):  # FluidSynth logs to stderr by default; errors surface as returns
            lib.fluid_set_log_function(level, None, None)
        self._settings = lib.new_fluid_settings()
        lib.fluid_settings_setnum(self._settings, b"synth.sample-rate", float(sample_rate_hz))
        lib.fluid_settings_setnum(self._settings, b"synth.gain", 0.5)
        lib.fluid_settings_setint(self._settings, b"synth.midi-channels", MIDI_CHANNELS)
        lib.fluid_settings_setint(self._settings, b"synth.polyphony", POLYPHONY)
        self._synth = lib.new_fluid_synth(self._settings)
        if not self._synth:
            raise TributeError("FluidSynth could not start a synthesizer")
        if lib.fluid_synth_sfload(self._synth, str(self.soundfont).encode(), 1) < 0:
            self.close()
            raise TributeError(f"FluidSynth could not load the SoundFont {self.soundfont}")

    def close(self) -> None:
        if getattr(self, "_synth", None):
            self._lib.delete_fluid_synth(self._synth)
            self._synth = None
        if getattr(self, "_settings", None):
            self._lib.delete_fluid_settings(self._settings)
            self._settings = None

    def __enter__(self) -> Synth:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def render(
        self, score: Score, tracks: list[int] | None = None, release_tail_s: float = RELEASE_TAIL_S
    ) -> np.ndarray:
        """Stereo float32 audio, shape (samples, 2), of the chosen tracks (default: all).

        Its length is the song's end (last note-off, in seconds) plus ``release_tail_s``, so that
        stems of one song all have the same length and sum to the mix.
        """
        seconds = score if score.ttype == "Second" else score.to("second")
        end_s = song_seconds(seconds)
        if end_s > MAX_SONG_S:
            raise TributeError(
                f"the song lasts {end_s / 60:.0f} min, over the "
                f"{MAX_SONG_S // 60} min audio limit (a broken tempo map?)"
            )
        sr = self.sample_rate_hz
        # Whole synth blocks: every render then starts on a block boundary, where FluidSynth
        # applies events, so the same song renders to the same samples every time.
        n_samples = -(-int(np.ceil((end_s + release_tail_s) * sr)) // _BLOCK) * _BLOCK
        left = np.zeros(n_samples, dtype=np.float32)
        right = np.zeros(n_samples, dtype=np.float32)
        lib, synth = self._lib, self._synth
        lib.fluid_synth_system_reset(synth)
        events = self._events(seconds, tracks if tracks is not None else range(len(seconds.tracks)))
        lp, rp = left.ctypes.data, right.ctypes.data
        position = 0
        for sample, kind, channel, a, b in events:
            sample = min(int(sample), n_samples)
            if sample > position:
                lib.fluid_synth_write_float(
                    synth, sample - position, lp, position, 1, rp, position, 1
                )
                position = sample
            if kind == _ON:
                lib.fluid_synth_noteon(synth, channel, a, b)
            elif kind == _OFF:
                lib.fluid_synth_noteoff(synth, channel, a)
            elif kind == _CC:
                lib.fluid_synth_cc(synth, channel, a, b)
            else:
                lib.fluid_synth_pitch_bend(synth, channel, a)
        if n_samples > position:
            lib.fluid_synth_write_float(
                synth, n_samples - position, lp, position, 1, rp, position, 1
            )
        self._flush()
        return np.stack([left, right], axis=1)

    def _events(self, score: Score, tracks) -> np.ndarray:
        """All events of the chosen tracks as rows (sample, kind, channel, a, b), time-sorted.

        Each track gets its own channel (MIDI_CHANNELS are configured), so two tracks with the
        same program or two drum kits never steal each other's controllers.
        """
        lib, synth, sr = self._lib, self._synth, self.sample_rate_hz
        rows = []
        for number, index in enumerate(tracks):
            channel = number % MIDI_CHANNELS
            track = score.tracks[index]
            lib.fluid_synth_set_channel_type(synth, channel, 1 if track.is_drum else 0)
            lib.fluid_synth_bank_select(synth, channel, DRUM_BANK if track.is_drum else 0)
            lib.fluid_synth_program_change(synth, channel, track.program)
            notes = track.notes.numpy()
            if len(notes["time"]):
                start = np.round(notes["time"] * sr).astype(np.int64)
                # Drum hits are often written with zero length: keep them audible for one beat.
                length = np.maximum(notes["duration"], 0.05 if not track.is_drum else 0.2)
                stop = np.round((notes["time"] + length) * sr).astype(np.int64)
                pitch = notes["pitch"].astype(np.int64)
                velocity = np.clip(notes["velocity"].astype(np.int64), 1, 127)
                ch = np.full(len(start), channel, dtype=np.int64)
                rows.append(np.stack([start, np.full_like(start, _ON), ch, pitch, velocity], 1))
                rows.append(
                    np.stack([stop, np.full_like(stop, _OFF), ch, pitch, np.zeros_like(stop)], 1)
                )
            controls = track.controls.numpy()
            if len(controls["time"]):
                when = np.round(controls["time"] * sr).astype(np.int64)
                ch = np.full(len(when), channel, dtype=np.int64)
                rows.append(
                    np.stack(
                        [
                            when,
                            np.full_like(when, _CC),
                            ch,
                            controls["number"].astype(np.int64),
                            controls["value"].astype(np.int64),
                        ],
                        1,
                    )
                )
            bends = track.pitch_bends.numpy()
            if len(bends["time"]):
                when = np.round(bends["time"] * sr).astype(np.int64)
                ch = np.full(len(when), channel, dtype=np.int64)
                value = np.clip(bends["value"].astype(np.int64) + 8192, 0, 16383)
                rows.append(
                    np.stack([when, np.full_like(when, _BEND), ch, value, np.zeros_like(when)], 1)
                )
        if not rows:
            return np.zeros((0, 5), dtype=np.int64)
        table = np.concatenate(rows)
        return table[np.lexsort((table[:, 1], table[:, 0]))]

    def _flush(self) -> None:
        """Silence every voice and drain the reverb so the next song starts from silence."""
        lib = self._lib
        lib.fluid_synth_all_sounds_off(self._synth, -1)
        lib.fluid_synth_system_reset(self._synth)
        # 0.5 s of reverb decay, in whole blocks.
        scratch = np.zeros(self.sample_rate_hz // 2 // _BLOCK * _BLOCK, dtype=np.float32)
        lib.fluid_synth_write_float(
            self._synth, len(scratch), scratch.ctypes.data, 0, 1, scratch.ctypes.data, 0, 1
        )


def song_seconds(score: Score) -> float:
    """Last note-off in seconds (0.0 for a score without notes)."""
    seconds = score if score.ttype == "Second" else score.to("second")
    ends = [
        float(np.max(t.notes.numpy()["time"] + t.notes.numpy()["duration"]))
        for t in seconds.tracks
        if t.note_num() > 0
    ]
    return max(ends, default=0.0)


def loudness_gain(
    mix: np.ndarray,
    stems: list[np.ndarray],
    sample_rate_hz: int,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbfs: float = CEILING_DBFS,
) -> float:
    """Linear gain that brings ``mix`` to ``target_lufs`` without any sample over the ceiling.

    The same gain applies to the stems, so that they still sum to the mix; it is lowered further
    if a stem alone would clip (two stems can cancel in the mix).
    """
    import pyloudnorm

    peak = max([float(np.max(np.abs(a))) if a.size else 0.0 for a in [mix, *stems]])
    if peak <= 0.0:
        return 1.0  # silence stays silence
    ceiling = 10 ** (ceiling_dbfs / 20)
    gain = ceiling / peak
    if len(mix) >= int(0.4 * sample_rate_hz):  # BS.1770 gating needs one 400 ms block
        loudness = pyloudnorm.Meter(sample_rate_hz).integrated_loudness(mix.astype(np.float64))
        if np.isfinite(loudness):
            gain = min(gain, 10 ** ((target_lufs - loudness) / 20))
    return gain


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int) -> Path:
    """WAV (16-bit PCM) or FLAC (16-bit) by the file's suffix, written atomically."""
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    soundfile.write(str(tmp), audio, sample_rate_hz, subtype="PCM_16", format=fmt)
    os.replace(tmp, path)
    return path
