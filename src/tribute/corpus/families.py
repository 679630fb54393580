"""Near-duplicate families and family-aware splits (docs/evaluation.md §1).

A family is a set of pieces that are "the same song": every two of its members are close,
either by melody or by a shared specific title. Closeness by melody is a Jaccard similarity of
the pieces' melody interval 6-gram sets in which each n-gram counts by its rarity, and needs a
minimum of shared informative n-grams:

- an n-gram in at most ``rare_df`` pieces counts 1, one in more counts ``rare_df / df`` (a
  stock riff in 400 pieces counts 0.04), one in more than ``max_df`` pieces counts 0;
- an n-gram of at most two distinct intervals (a repeated note, a repeated note with one step,
  a trill, a chromatic run) counts 0 wherever it occurs: :func:`melody_grams` leaves it out;
- two pieces must share at least ``min_shared`` n-grams that count.

Candidate pairs come from a vectorized inverted n-gram index, not from all pairs. Families are
then built by complete linkage: pairs are merged from the closest down, and two families join
only when every member of one is close to every member of the other, so A~B and B~C never put
A and C together unless A~C. (The previous union-find over unweighted Jaccard ≥ 0.2 chained 647
pieces of 221 artists of one scrape into one family through repeated notes and stock riffs; on
music21's Bach chorales its largest family, 26 pieces, mixed several hymn tunes where complete
linkage keeps the 9 settings of the Passion chorale; on 400 folk files, 44 children's songs
built on the same few notes became one family, now at most 6 pieces share one.)

Splits then assign whole families, so a song and its re-encodings never sit on both sides of a
train/test line — on the music21 Bach chorales the standard split leaks 13 of 77 test pieces
this way. :func:`cross_matches` finds the pieces of one corpus that are exact copies of, close
to, or titled like a piece of another (one hop, never through a chain).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from symusic import Score

from tribute.music import melody_tokens, ngram_hashes

NGRAM = 6
JACCARD = 0.2  # weighted Jaccard of two members of one family, at least
# An n-gram in more pieces than this counts less, as rare_df / df: a tune genuinely repeated
# in a collection (a hymn tune harmonized 10+ times in the Bach chorales) still counts fully.
RARE_DF = 16
# An n-gram in more pieces than this is a formula (a scale run, a cadence), not evidence of a
# shared tune: it counts 0 and proposes no candidate pairs.
MAX_POSTING = 200
MIN_SHARED = 3  # informative n-grams two close pieces share, at least (≈ 8 common notes)
# A title shared by more pieces than this is generic ("Reel", "Untitled"), not an identity.
MAX_TITLE_GROUP = 6
_GENERIC_TITLES = {
    "",
    "untitled",
    "unknown",
    "song",
    "tune",
    "track",
    "sequence",
    "melody",
    "new",
    "no title",
    "title",
}


@dataclass(frozen=True)
class FamilyConfig:
    ngram: int = NGRAM  # melody interval n-grams
    jaccard: float = JACCARD  # weighted Jaccard two close pieces reach, at least
    use_titles: bool = True  # a shared specific title makes two pieces close too
    rare_df: int = RARE_DF  # document frequency up to which an n-gram counts fully
    max_df: int = MAX_POSTING  # document frequency beyond which it counts nothing
    min_shared: int = MIN_SHARED  # n-grams that count, shared by two close pieces


def melody_grams(score: Score, lead_track: int | None, n: int = NGRAM) -> np.ndarray:
    """Sorted unique hashes of a piece's informative melody interval n-grams: those of at most
    two distinct intervals (a repeated note, a repeated note with one step, a trill, a
    chromatic run — formulas any song may hold) are left out."""
    tokens = melody_tokens(score, lead_track, rhythm=False)
    hashes = ngram_hashes(tokens, n)
    if not len(hashes):
        return hashes
    hashes = np.sort(hashes[informative_windows(tokens, n)])
    return hashes[np.r_[True, hashes[1:] != hashes[:-1]]] if len(hashes) else hashes


def informative_windows(tokens: np.ndarray, n: int) -> np.ndarray:
    """Mask of the length-``n`` windows of ``tokens`` holding at least three distinct values:
    some value lies strictly between the window's minimum and maximum. (``n`` shifted slices:
    ~4x faster than reducing a sliding-window view at band-song lengths.)"""
    count = len(tokens) - n + 1
    shifted = [tokens[k : k + count] for k in range(n)]
    low, high = np.minimum.reduce(shifted), np.maximum.reduce(shifted)
    between = np.zeros(count, dtype=bool)
    for column in shifted:
        between |= (column > low) & (column < high)
    return between


def normalize_title(title: str) -> str:
    """'Yesterday (Remastered).1' → 'yesterday': lower case, no brackets, digits or punctuation
    at the ends (Lakh-style duplicates carry ``.1``, ``.2`` suffixes)."""
    text = title.lower()
    text = re.sub(r"[\(\[].*?[\)\]]", " ", text)
    text = re.sub(r"\.\d+$", "", text.strip())
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def similar_pairs(
    grams: Sequence[np.ndarray], config: FamilyConfig = FamilyConfig()
) -> list[tuple[int, int, float]]:
    """(i, j, similarity), i < j, for the pairs of pieces that are close by melody: weighted
    Jaccard ≥ ``config.jaccard`` over at least ``config.min_shared`` shared n-grams that count.

    Vectorized inverted index: all (n-gram, piece) entries sorted by n-gram; a run of equal
    n-grams is one n-gram's posting list, its length the document frequency that sets the
    weight. Pairs of pieces that share an n-gram are entries ``d`` apart within one run, found
    for d = 1, 2, … while any run is still that long; their weights add up per pair.
    """
    n = len(grams)
    sizes = np.array([len(g) for g in grams], dtype=np.int64)
    if n < 2 or not sizes.sum():
        return []
    values = np.concatenate([np.asarray(g, dtype=np.uint64) for g in grams])
    owners = np.repeat(np.arange(n, dtype=np.int64), sizes)
    order = np.lexsort((owners, values))
    values, owners = values[order], owners[order]
    weight, shared_by = _entry_weights(values, config)
    totals = np.bincount(owners, weights=weight, minlength=n)
    # Only n-grams that count and that more than one piece holds can propose a pair.
    pairing = (weight > 0) & (shared_by > 1)
    values, owners, weight = values[pairing], owners[pairing], weight[pairing]

    codes, shares = [], []
    position = np.arange(len(values) - 1)
    for distance in range(1, config.max_df):
        position = position[position + distance < len(values)]
        position = position[values[position] == values[position + distance]]
        if not len(position):
            break
        codes.append(owners[position] * n + owners[position + distance])
        shares.append(weight[position])
    if not codes:
        return []
    pair_codes, inverse, shared = np.unique(
        np.concatenate(codes), return_inverse=True, return_counts=True
    )
    common = np.bincount(inverse, weights=np.concatenate(shares))
    first, second = pair_codes // n, pair_codes % n
    similarity = common / np.maximum(totals[first] + totals[second] - common, 1e-12)
    close = (shared >= config.min_shared) & (similarity >= config.jaccard)
    return list(
        zip(first[close].tolist(), second[close].tolist(), similarity[close].tolist(), strict=True)
    )


def _entry_weights(values: np.ndarray, config: FamilyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Weight and document frequency of every entry of the sorted n-gram column: weight 1 up
    to ``rare_df`` pieces, then rare_df / df, 0 beyond ``max_df`` pieces."""
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    df = np.diff(np.r_[starts, len(values)])
    weight = np.minimum(1.0, config.rare_df / df)
    weight[df > config.max_df] = 0.0
    return np.repeat(weight, df), np.repeat(df, df)


def title_pairs(titles: Sequence[str]) -> list[tuple[int, int]]:
    """(i, j), i < j, of pieces that share a specific normalized title."""
    return [
        (a, b)
        for members in title_groups(titles)
        for k, a in enumerate(members)
        for b in members[k + 1 :]
    ]


def complete_linkage(n: int, edges: Sequence[tuple[int, int, float]]) -> list[int]:
    """Cluster label (its smallest member) of each of ``n`` items: ``edges`` (i, j, strength)
    are taken strongest first, and two clusters merge only when every cross pair is an edge."""
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b, _ in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    label = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for a, b, _ in sorted(edges, key=lambda e: (-e[2], e[0], e[1])):
        keep, gone = sorted((label[a], label[b]))
        if keep == gone:
            continue
        if all(neighbours[x].issuperset(members[gone]) for x in members[keep]):
            for x in members[gone]:
                label[x] = keep
            members[keep] += members.pop(gone)
    return label


def assign_families(
    ids: Sequence[str],
    titles: Sequence[str],
    grams: Sequence[np.ndarray],
    config: FamilyConfig = FamilyConfig(),
) -> list[str]:
    """Family name of each piece: the smallest id among its members."""
    edges = similar_pairs(grams, config)
    if config.use_titles:  # weakest edges: a close melody binds first
        close = {(a, b) for a, b, _ in edges}
        edges += [(a, b, 0.0) for a, b in title_pairs(titles) if (a, b) not in close]
    label = complete_linkage(len(ids), edges)
    roots: dict[int, list[int]] = defaultdict(list)
    for index, root in enumerate(label):
        roots[root].append(index)
    family = [""] * len(ids)
    for members in roots.values():
        name = min(ids[i] for i in members)
        for i in members:
            family[i] = name
    return family


@dataclass(frozen=True)
class Match:
    """Why a piece matches a piece of another corpus."""

    other: int  # index into the other corpus's pieces
    kind: str  # "copy", "melody" or "title"
    similarity: float = 1.0


def cross_matches(
    hashes: Sequence[str],
    titles: Sequence[str],
    grams: Sequence[np.ndarray],
    other_hashes: Sequence[str],
    other_titles: Sequence[str],
    other_grams: Sequence[np.ndarray],
    config: FamilyConfig = FamilyConfig(),
) -> dict[int, Match]:
    """For each piece (by index) that another corpus also holds, its strongest match there: an
    exact copy (same content hash, whatever its melody), else a close melody (n-gram weights
    over both corpora), else a shared specific title. Direct matches only: no chains."""
    found: dict[int, Match] = {}
    by_hash = {h: j for j, h in reversed(list(enumerate(other_hashes)))}
    for i, digest in enumerate(hashes):
        if digest in by_hash:
            found[i] = Match(by_hash[digest], "copy")
    mine = len(grams)
    for a, b, similarity in similar_pairs(list(grams) + list(other_grams), config):
        if not a < mine <= b:  # a pair inside one corpus
            continue
        held = found.get(a)
        if held is None or (held.kind == "melody" and similarity > held.similarity):
            found[a] = Match(b - mine, "melody", similarity)
    if config.use_titles:
        for a, b in title_pairs(list(titles) + list(other_titles)):
            if a < mine <= b and a not in found:
                found[a] = Match(b - mine, "title")
    return found


def title_groups(titles: Sequence[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, title in enumerate(titles):
        key = normalize_title(title)
        if len(key) >= 3 and key not in _GENERIC_TITLES:
            groups[key].append(index)
    return [m for m in groups.values() if 1 < len(m) <= MAX_TITLE_GROUP]


def split_families(
    families: Sequence[str], fractions: tuple[float, float, float], seed: int
) -> list[str]:
    """Assign whole families to train/validation/test, seeded; piece counts follow
    ``fractions``. With three or more families, validation and test each get at least one."""
    sizes = Counter(families)
    order = sorted(sizes, key=lambda f: hashlib.sha256(f"{seed}:{f}".encode()).hexdigest())
    names = ("train", "validation", "test")
    total = sum(sizes.values())
    filled = dict.fromkeys(names, 0)
    assignment: dict[str, str] = {}
    if len(order) >= 3:  # guarantee one family for each held-out split first
        for name in ("validation", "test"):
            if fractions[names.index(name)] > 0:
                smallest = min((f for f in order if f not in assignment), key=lambda f: sizes[f])
                assignment[smallest] = name
                filled[name] += sizes[smallest]
    for fam in order:
        if fam in assignment:
            continue
        # The split furthest below its target share takes the family.
        deficits = [fractions[i] * total - filled[n] for i, n in enumerate(names)]
        name = names[int(np.argmax(deficits))]
        assignment[fam] = name
        filled[name] += sizes[fam]
    return [assignment[f] for f in families]
