"""The musical facts every stage of tribute shares, in one place.

- :mod:`.song` — the one music type: a ``symusic.Score`` plus a :class:`SongMeta` record;
- :mod:`.timeline` — the tick grid, time signatures and bar arithmetic;
- :mod:`.pitch` — pitch and key names, scales, key finding;
- :mod:`.roles` — band roles, General MIDI program families, instrument ranges;
- :mod:`.drums` — General MIDI drum keys grouped into kit classes;
- :mod:`.harmony` — chord symbols per bar and the key of a song, from the notes;
- :mod:`.melody` — the lead line and its transposition-invariant tokens.

No torch here: corpus, originality and rendering import this package on machines without it.
"""

from tribute.music.drums import DRUM_CLASS, DRUM_CLASSES, drum_classes
from tribute.music.melody import (
    intervals,
    line_tokens,
    line_tokens_flat,
    melody_notes,
    melody_tokens,
    ngram_hashes,
    pick_lead_track,
    skyline,
)
from tribute.music.pitch import (
    PITCH_NAMES,
    Key,
    estimate_key,
    key_name,
    key_sharps,
    pitch_class_profile,
    pitch_name,
    scale_pitch_classes,
)
from tribute.music.roles import (
    ENSEMBLE_PROGRAMS,
    INSTRUMENT_PROGRAMS,
    ROLE_RANGES,
    ROLES,
    band_role,
    distinct_program,
    role_from_program,
)
from tribute.music.song import Song, SongMeta, TrackInfo
from tribute.music.timeline import (
    TICKS_PER_QUARTER,
    Meter,
    bar_start_ticks,
    bar_starts,
    end_tick,
    first_bar_ticks,
    first_meter,
    meters,
)

__all__ = [
    "DRUM_CLASS",
    "DRUM_CLASSES",
    "ENSEMBLE_PROGRAMS",
    "INSTRUMENT_PROGRAMS",
    "PITCH_NAMES",
    "ROLES",
    "ROLE_RANGES",
    "TICKS_PER_QUARTER",
    "Key",
    "Meter",
    "Song",
    "SongMeta",
    "TrackInfo",
    "band_role",
    "bar_start_ticks",
    "bar_starts",
    "distinct_program",
    "drum_classes",
    "end_tick",
    "estimate_key",
    "first_bar_ticks",
    "first_meter",
    "intervals",
    "key_name",
    "key_sharps",
    "line_tokens",
    "line_tokens_flat",
    "melody_notes",
    "melody_tokens",
    "meters",
    "ngram_hashes",
    "pick_lead_track",
    "pitch_class_profile",
    "pitch_name",
    "role_from_program",
    "scale_pitch_classes",
    "skyline",
]
