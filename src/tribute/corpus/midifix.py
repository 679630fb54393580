"""Tolerant MIDI repair: what a lenient reader recovers from a file the strict parser refuses.

symusic's parser (C++ MiniMidi) is fast and strict: one data byte ≥ 0x80 ("Get
velocity=200") or a last track cut short ("Invalid chunk length 410 (remaining bytes after
header: 310)") loses the whole file. :func:`repair_midi` rebuilds such a file event by event
so that symusic can read it:

- a data byte ≥ 0x80 inside a channel message is clipped to 0x7F (writers that forget to mask
  a velocity or pitch);
- a track whose declared length runs past the end of the file is read up to the cut: its last,
  incomplete event is dropped, notes still sounding there are ended there;
- a data byte where a status byte must be (no running status yet) and system-common bytes,
  which a file may not hold, are dropped with their delta time carried to the next event;
- junk between chunks is skipped to the next ``MTrk``; the header's track count is corrected.

Every repair kind gives one warning line starting ``repaired:`` ("repaired: 12 data bytes out
of range clipped to 127"). Pure Python (~5-10 ms for a 1,600-note band song), so it only runs
after the fast path failed. :func:`gunzip` unpacks gzip-compressed files (a scrape held five).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from tribute.corpus.readers import MAX_FILE_BYTES, SkipFile

GZIP_MAGIC = b"\x1f\x8b"
_END_OF_TRACK = b"\xff\x2f\x00"
# Data bytes per channel-message kind (status high nibble).
_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_MAX_TRACKS = 65_535  # the header's 16-bit track count


@dataclass
class _Fixes:
    """What the repair changed, over the whole file."""

    clipped: int = 0  # data bytes ≥ 0x80 clipped to 0x7F
    dropped: int = 0  # stray bytes without a status, system-common bytes, a partial event
    lengths: int = 0  # track lengths running past the end of the file, yet the track ended
    junk: int = 0  # bytes skipped between chunks
    cut_track: int | None = None  # 1-based index of the track the end of file cut
    closed: int = 0  # notes still sounding at the cut, ended there
    tracks: int = 0
    declared_tracks: int = 0

    def warnings(self) -> list[str]:
        lines = []
        if self.clipped:
            lines.append(
                f"repaired: {_count(self.clipped, 'data byte')} out of range clipped to 127"
            )
        if self.cut_track is not None:
            closed = f", {_count(self.closed, 'sounding note')} ended there" if self.closed else ""
            lines.append(
                f"repaired: file cut short in track {self.cut_track} (header declares "
                f"{self.declared_tracks}): read up to the cut{closed}"
            )
        if self.lengths:
            lines.append(
                f"repaired: {_count(self.lengths, 'track length')} past the end of the file fixed"
            )
        if self.dropped:
            lines.append(
                f"repaired: {_count(self.dropped, 'stray or incomplete event byte')} dropped"
            )
        if self.junk:
            lines.append(f"repaired: {_count(self.junk, 'byte')} of junk between chunks skipped")
        return lines


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


@dataclass
class _Track:
    """One track being rebuilt: events written with explicit status bytes."""

    out: bytearray = field(default_factory=bytearray)
    pending: int = 0  # delta ticks of dropped bytes, carried to the next event
    sounding: dict[tuple[int, int], int] = field(default_factory=dict)

    def emit(self, delta: int, event: bytes) -> None:
        self.out += _vlq_bytes(delta + self.pending) + event
        self.pending = 0

    def note(self, status: int, data: bytes) -> None:
        kind, key = status & 0xF0, (status & 0x0F, data[0])
        if kind == 0x90 and data[1] > 0:
            self.sounding[key] = self.sounding.get(key, 0) + 1
        elif kind in (0x80, 0x90) and self.sounding.get(key):
            self.sounding[key] -= 1

    def close(self) -> int:
        """End every sounding note now; the number ended."""
        ended = 0
        for (channel, pitch), count in sorted(self.sounding.items()):
            for _ in range(count):
                self.emit(0, bytes((0x80 | channel, pitch, 0)))
                ended += 1
        self.sounding.clear()
        return ended


def gunzip(data: bytes) -> tuple[bytes, list[str]]:
    """The bytes inside a gzip file and the warnings; a cut stream gives what precedes the cut
    (the MIDI repair then reads up to it). Refuses to unpack past ``MAX_FILE_BYTES``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container only
    try:
        inner = inflater.decompress(data, MAX_FILE_BYTES + 1)
    except zlib.error as exc:
        raise SkipFile(f"corrupt gzip-compressed file: {exc}") from None
    if len(inner) > MAX_FILE_BYTES or inflater.unconsumed_tail:
        raise SkipFile(
            f"gzip-compressed file unpacks to more than {MAX_FILE_BYTES / 1e6:.0f} MB: refused"
        )
    warnings = ["repaired: gzip-compressed file decompressed"]
    if not inflater.eof:
        warnings.append("repaired: gzip stream cut short: decompressed up to the cut")
    return inner, warnings


def repair_midi(data: bytes) -> tuple[bytes, list[str]]:
    """Standard MIDI bytes rebuilt from ``data`` (which starts with ``MThd``) and one warning
    per kind of repair; :class:`SkipFile` when no track can be read at all."""
    if len(data) < 14:
        raise SkipFile(f"file ends inside the MIDI header ({len(data)} bytes)")
    header_length = struct.unpack(">I", data[4:8])[0]
    fmt, declared, division = struct.unpack(">HHH", data[8:14])
    fixes = _Fixes(declared_tracks=declared)
    tracks: list[bytes] = []
    pos = 8 + max(6, header_length)
    while pos + 8 <= len(data) and len(tracks) < _MAX_TRACKS:
        if data[pos : pos + 4] != b"MTrk":
            pos = _next_chunk(data, pos, fixes)
            continue
        declared_end = pos + 8 + struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        truncated = declared_end > len(data)
        end = min(declared_end, len(data))
        body, stop, cut = _repair_track(data, pos + 8, end, truncated, fixes)
        tracks.append(body)
        if cut:
            fixes.cut_track = len(tracks)
            break
        fixes.lengths += truncated  # the track ended before the file did: a wrong length
        pos = stop if truncated else declared_end
    if not tracks:
        raise SkipFile("no MIDI track could be read")
    fixes.tracks = len(tracks)
    fmt = 1 if fmt == 0 and len(tracks) > 1 else fmt
    out = bytearray(b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division))
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return bytes(out), fixes.warnings()


def _next_chunk(data: bytes, pos: int, fixes: _Fixes) -> int:
    """Position of the next chunk after a non-track one: an alien chunk with a printable
    four-letter id is skipped whole (the standard allows them), junk up to the next MTrk."""
    kind = data[pos : pos + 4]
    length = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
    if all(0x20 <= b < 0x7F for b in kind) and pos + 8 + length <= len(data):
        return pos + 8 + length
    found = data.find(b"MTrk", pos + 1)
    found = len(data) if found < 0 else found
    fixes.junk += found - pos
    return found


def _repair_track(
    data: bytes, start: int, end: int, truncated: bool, fixes: _Fixes
) -> tuple[bytes, int, bool]:
    """(rebuilt body ending in end-of-track, position after the last event read, whether the
    end of the file cut the track short). ``truncated``: the declared length runs past the
    end of the file, which ``end`` already is."""
    track = _Track()
    i, status = start, 0
    while i < end:
        parsed = _vlq(data, i, end)
        if parsed is None or parsed[1] >= end:
            break
        delta, j = parsed
        first = data[j]
        if first == 0xFF or first in (0xF0, 0xF7):  # meta event or sysex: length-prefixed
            skip = j + 2 if first == 0xFF else j + 1
            length = _vlq(data, skip, end)
            if length is None or length[1] + length[0] > end:
                break
            stop = length[1] + length[0]
            if data[j : j + 2] == b"\xff\x2f":  # end of track
                track.emit(delta, _END_OF_TRACK)
                return bytes(track.out), stop, False
            track.emit(delta, data[j:stop])
            i = stop
            continue
        if first >= 0xF0 or (first < 0x80 and not status):  # not allowed here: drop the byte
            fixes.dropped += 1
            track.pending += delta
            i = j + 1
            continue
        if first >= 0x80:
            status, j = first, j + 1
        need = _DATA_BYTES[status & 0xF0]
        if j + need > end:
            break
        values = bytes(min(b, 0x7F) for b in data[j : j + need])
        fixes.clipped += sum(b >= 0x80 for b in data[j : j + need])
        track.note(status, values)
        track.emit(delta, bytes((status,)) + values)
        i = j + need
    if truncated:
        fixes.closed += track.close()
    else:  # an incomplete event at the end of a complete chunk
        fixes.dropped += end - i
    track.emit(0, _END_OF_TRACK)
    return bytes(track.out), end, truncated


def _vlq(data: bytes, i: int, end: int) -> tuple[int, int] | None:
    """(value, position after it) of a variable-length quantity; None at the end of data.
    An over-long quantity (a fifth continuation byte) stops after four bytes."""
    value = 0
    for _ in range(4):
        if i >= end:
            return None
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return value, i


def _vlq_bytes(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))
