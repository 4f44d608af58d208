"""A tournament's per-player means (:mod:`oversight.analysis._tournament`): self-play
and balanced consultancy accuracy per player, and any other per-player mean of scored
judgments (its win rates by side), their cluster bootstrap over sources, and their
intervals by the report's one rule (:func:`~oversight.analysis._interval_rule.ruled`):
over the sources of the player's own judgments, or two-way over sources and annotators
when two or more people judged them (:mod:`oversight.analysis._twoway`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from oversight.analysis._interval_rule import ruled
from oversight.analysis._smallsample import balanced_interval, mean_interval, sides_vary
from oversight.analysis._twoway import people, two_way_balanced, two_way_mean_interval
from oversight.analysis._types import Bools, Floats, Ints

__all__ = [
    "Side",
    "accuracies",
    "mean_by",
    "mean_ci",
    "player_intervals",
    "resampled",
    "source_weights",
]


@dataclass
class Side:
    """One set of scored judgments (self-play, or consultancies of one side) as arrays, and,
    when every sum of their scores is exact in floating point, their per-source cells."""

    player: Ints
    score: Floats
    cluster: Ints
    who: Ints
    """Who judged each (:func:`~oversight.analysis._twoway.annotator_codes`)."""
    person: Bools
    """Whether that is a person (an annotator)."""
    cells: tuple[Floats, Floats] | None = None
    """Per (source, player): summed scores and judgments; set only when the scores are
    multiples of 1/2, whose weighted sums are exact in any order (see :func:`mean_by`)."""

    @classmethod
    def of(
        cls,
        player: list[int] | Ints,
        score: list[float] | Floats,
        cluster: list[int] | Ints,
        who: list[int] | Ints | None = None,
        *,
        person_codes: set[int] | None = None,
        n_clusters: int,
        k: int,
    ) -> Side:
        """``who`` judged each (none: one LLM judge); ``person_codes``: those that are people."""
        codes = np.zeros(len(player), dtype=np.int64) if who is None else np.asarray(who, np.int64)
        person_codes = person_codes or set()
        side = cls(
            np.asarray(player, dtype=np.int64),
            np.asarray(score, dtype=np.float64),
            np.asarray(cluster, dtype=np.int64),
            codes,
            np.isin(codes, np.array(sorted(person_codes), dtype=np.int64)),
        )
        twice = side.score * 2
        if side.score.size < 2**40 and np.array_equal(twice, np.round(twice)):
            total, count = np.zeros((n_clusters, k)), np.zeros((n_clusters, k))
            np.add.at(total, (side.cluster, side.player), side.score)
            np.add.at(count, (side.cluster, side.player), 1.0)
            side.cells = (total, count)
        return side


def accuracies(sides: tuple[Side, Side, Side], k: int, w: Floats) -> tuple[Floats, Floats]:
    """Self-play and balanced consultancy accuracy per player (NaN without judgments), for
    the source weights ``w``, or for each row of ``w`` (then one row of results each)."""
    debate, right, wrong = (mean_by(side, w, k) for side in sides)
    return debate, (right + wrong) / 2


def resampled(
    sides: tuple[Side, Side, Side], k: int, n_clusters: int, *, n_bootstrap: int, seed: int
) -> Floats:
    """Self-play and balanced consultancy accuracy per player in each resample of a
    cluster bootstrap over sources: shape ``(2, n_bootstrap, k)``. The resamples are drawn
    one at a time (the generator's stream is that of one draw per resample) and scored as
    one block of weights, one row a resample."""
    return np.stack(accuracies(sides, k, source_weights(n_clusters, n_bootstrap, seed)))


def source_weights(n_clusters: int, n_bootstrap: int, seed: int) -> Floats:
    """The cluster bootstrap's resamples of the sources as weights (how often each source
    was drawn), one row a resample: those of :func:`resampled` for the same ``seed``."""
    rng = np.random.default_rng([seed, 14])
    w = np.empty((n_bootstrap, n_clusters))
    for b in range(n_bootstrap):
        w[b] = np.bincount(rng.integers(0, n_clusters, n_clusters), minlength=n_clusters)
    return w


def mean_by(side: Side, w: Floats, k: int) -> Floats:
    """Mean score per player, each judgment weighted by its source's ``w`` (or by each
    row of ``w``: a row of means each). With cells, from the per-source sums, every row in
    one matrix product (exact in any order: half-integer scores times integer weights);
    else row by row, in row order. Both give the sums ``np.add.at`` gives, to the last bit."""
    if side.cells is not None:
        total, weight = w @ side.cells[0], w @ side.cells[1]
    elif w.ndim == 2:
        return np.stack([mean_by(side, row, k) for row in w]) if len(w) else np.empty((0, k))
    else:
        cw = w[side.cluster]
        # With weights, bincount sums floats (its stubs say ints): asarray is no copy.
        total = np.asarray(np.bincount(side.player, weights=side.score * cw, minlength=k), float)
        weight = np.asarray(np.bincount(side.player, weights=cw, minlength=k), float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1), np.nan)


def player_intervals(
    sides: tuple[Side, Side, Side], p: int, boot: Floats
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """Player ``p``'s self-play and balanced consultancy intervals, by the report's rule
    for every mean (:func:`~oversight.analysis._interval_rule.ruled`) over the sources of
    the player's own judgments (two-way over sources and annotators when two or more
    people judged them)."""
    debate, right, wrong = sides
    debate_ci = mean_ci(debate, p, boot[0, :, p])
    r, w = right.player == p, wrong.player == p
    if not (r.any() and w.any()):
        return debate_ci, None
    score = np.concatenate([right.score[r], wrong.score[w]])
    cluster = np.concatenate([right.cluster[r], wrong.cluster[w]])
    who = np.concatenate([right.who[r], wrong.who[w]])
    person = np.concatenate([right.person[r], wrong.person[w]])
    honest = np.arange(score.size) < int(r.sum())
    return debate_ci, ruled(
        int(np.unique(cluster).size),
        varies=sides_vary(score, honest),
        cr2=partial(balanced_interval, score, honest, cluster),
        bootstrap=boot[1, :, p],
        annotators=people(who, person),
        two_way=partial(two_way_balanced, score, honest, cluster, who),
    ).ci95


def mean_ci(side: Side, p: int, draws: Floats) -> tuple[float, float] | None:
    """The interval of player ``p``'s mean score in ``side`` by the report's rule for
    every mean, over the sources of its own judgments (two-way over sources and annotators
    when two or more people judged them); ``draws``: the mean in each bootstrap resample
    (:func:`mean_by` on :func:`source_weights`)."""
    mine = side.player == p
    score, cluster, who = side.score[mine], side.cluster[mine], side.who[mine]
    return ruled(
        int(np.unique(cluster).size),
        varies=bool(score.size and np.ptp(score) > 0),
        cr2=partial(mean_interval, score, cluster),
        bootstrap=draws,
        annotators=people(who, side.person[mine]),
        two_way=partial(two_way_mean_interval, score, cluster, who),
    ).ci95
