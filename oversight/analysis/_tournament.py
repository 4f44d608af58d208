"""Tournaments (Khan et al. 2024): player ratings, each player's judge accuracy, and the
accuracy-versus-Elo line, per judge.

* **Ratings** come from debates between different players (cross-play): player ``i`` beats
  ``j`` when the judge puts more probability on ``i``'s answer (a draw counts half), rated
  by :func:`oversight.analysis.rate_players` (side-adjusted Bradley–Terry: arguing the gold
  is a shared advantage, so a player is not rated up for having argued it more often),
  and by side by :func:`oversight.analysis.rate_players_by_side` (a rating as the gold
  side and one as the distractor side, Khan et al.'s separate ratings), with the
  player's win rate on each side (draws half) and its interval by the report's rule for
  every mean (below), over the sources of those matches.
* **Accuracy** of a player: the judge's accuracy (ties count as a share) in the player's
  self-play debates, and in consultancies the player gave, balanced over right and wrong
  consultants (the mean of the two accuracies), with intervals over the sources of the
  player's own judgments by the report's rule for every mean: CR2 t below
  :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources (or without
  spread: Clopper-Pearson when all right or all wrong), else percentile intervals of a
  cluster bootstrap over question sources; none from one source. Judged by two or more
  people (annotators, as a human judge's judgments record them): clustered by source and
  annotator instead (:mod:`oversight.analysis._twoway`; not with ``two_way=False``, the
  report's ``cluster="sources"``).
* **Slope**: :func:`oversight.analysis.accuracy_vs_elo` on one point per player (its Elo
  and its accuracy, weighted by its judgments), per protocol, given three or more players.
  The table counts the questions the ratings rest on and how many of them the accuracies
  share: none when cross-play runs on its own ``[split]`` part, as in the paper; where
  they share questions, a player's Elo and accuracy are correlated through them, which
  the slope's interval does not allow for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from oversight.analysis._data import Data
from oversight.analysis._fields import field_codes
from oversight.analysis._player_accuracy import (
    Side,
    accuracies,
    mean_by,
    mean_ci,
    player_intervals,
    source_weights,
)
from oversight.analysis._players import accuracy_vs_elo, rate_players
from oversight.analysis._schema_extra import EloRelation
from oversight.analysis._seats import kind_of, seat_classes
from oversight.analysis._side_ratings import SideRating, rate_players_by_side
from oversight.analysis._twoway import annotator_codes
from oversight.analysis._types import Floats, Ints
from transcripts.scoring import TIE_TOLERANCE

__all__ = ["PlayerResult", "Slope", "TournamentTable", "crossplay_conditions", "tournaments"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class PlayerResult(_Model):
    """One player of a tournament, as one judge saw it."""

    player: str
    """The player's name (model x best-of-N x refine)."""
    elo: float | None
    """Side-adjusted Elo from cross-play (None: the player played no cross-play match)."""
    elo_ci95: tuple[float, float] | None
    """95% interval of ``elo`` (from :func:`oversight.analysis.rate_players`)."""
    matches: int
    """Cross-play judgments the rating rests on."""
    debate_accuracy: float | None
    """Judge accuracy in the player's self-play debates."""
    debate_accuracy_ci95: tuple[float, float] | None
    """Its 95% interval."""
    debate_n: int
    """Self-play judgments."""
    consultancy_accuracy: float | None
    """Judge accuracy when the player consulted, balanced over right and wrong consultants."""
    consultancy_accuracy_ci95: tuple[float, float] | None
    """Its 95% interval."""
    consultancy_n: int
    """Consultancy judgments."""
    elo_gold: float | None = None
    """Elo when arguing the gold answer, from cross-play
    (:func:`oversight.analysis.rate_players_by_side`; None: it never did)."""
    elo_gold_ci95: tuple[float, float] | None = None
    """95% interval of ``elo_gold``."""
    matches_gold: int = 0
    """Cross-play judgments in which it argued the gold answer."""
    elo_distractor: float | None = None
    """Elo when arguing a wrong answer, from cross-play (None: it never did)."""
    elo_distractor_ci95: tuple[float, float] | None = None
    """95% interval of ``elo_distractor``."""
    matches_distractor: int = 0
    """Cross-play judgments in which it argued a wrong answer."""
    win_rate_gold: float | None = None
    """Its wins in the cross-play judgments in which it argued the gold answer (draws
    half; None: it never did)."""
    win_rate_gold_ci95: tuple[float, float] | None = None
    """95% interval of ``win_rate_gold``, over the sources of those judgments (the rule of
    ``debate_accuracy_ci95``)."""
    win_rate_distractor: float | None = None
    """Its wins in the cross-play judgments in which it argued a wrong answer."""
    win_rate_distractor_ci95: tuple[float, float] | None = None
    """95% interval of ``win_rate_distractor``."""


class Slope(_Model):
    """The line of judge accuracy on Elo over a tournament's players, for one protocol."""

    protocol: str
    """``debate`` (self-play accuracy) or ``consultancy`` (balanced accuracy)."""
    relation: EloRelation
    """The weighted least-squares line (:func:`oversight.analysis.accuracy_vs_elo`)."""


class TournamentTable(_Model):
    """Players, ratings, accuracies and slopes for one judge."""

    judge: str
    """The judge whose judgments decided the matches and are scored."""
    side_advantage: float | None
    """Log-odds advantage of arguing the gold in cross-play (the ratings' side term)."""
    side_advantage_ci95: tuple[float, float] | None
    """Its 95% interval."""
    n_matches: int
    """Cross-play judgments between different players."""
    players: list[PlayerResult]
    """Every player seen, by Elo (unrated last)."""
    slopes: list[Slope]
    """Accuracy on Elo, per protocol with three or more rated players with accuracies."""
    rating_questions: int = 0
    """Questions of the cross-play judgments (those the ratings rest on)."""
    shared_questions: int = 0
    """Of those, the questions that also have self-play or consultancy judgments (those
    the accuracies rest on): 0 when the ratings and the accuracies share no question."""


@dataclass
class _Rows:
    """One judge's scored judgments of a tournament, split by kind."""

    m_i: list[int] = field(default_factory=list)
    m_j: list[int] = field(default_factory=list)
    m_out: list[float] = field(default_factory=list)
    m_side: list[float] = field(default_factory=list)
    m_cluster: list[int] = field(default_factory=list)
    m_who: list[int] = field(default_factory=list)
    s_player: list[int] = field(default_factory=list)
    s_score: list[float] = field(default_factory=list)
    s_cluster: list[int] = field(default_factory=list)
    s_who: list[int] = field(default_factory=list)
    c_player: list[int] = field(default_factory=list)
    c_score: list[float] = field(default_factory=list)
    c_right: list[bool] = field(default_factory=list)
    c_cluster: list[int] = field(default_factory=list)
    c_who: list[int] = field(default_factory=list)
    person: set[int] = field(default_factory=set)
    """The ``who`` codes (:func:`~oversight.analysis._twoway.annotator_codes`) that are people."""
    m_questions: set[int] = field(default_factory=set)
    a_questions: set[int] = field(default_factory=set)
    """The questions of the matches, and of the accuracies (self-play and consultancy)."""


def crossplay_conditions(data: Data, rows: Ints) -> set[str]:
    """The conditions whose transcripts among ``rows`` are all cross-play matches (debates
    between two different players, as the transcripts' ``players`` record them): they rate
    the players, so the default comparisons leave them out."""
    classes, seats = seat_classes(data)
    conditions, names = field_codes(data, "condition")
    kind = [kind_of(s.protocol, [s.players[x] for x in s.speakers]) for s in seats]
    kinds: dict[str, set[str | None]] = {}
    pairs = np.unique(np.stack([conditions[rows], classes[rows]]), axis=1)
    for condition, c in pairs.T.tolist():
        kinds.setdefault(names[condition], set()).add(kind[c])
    return {c for c, k in kinds.items() if k == {"match"}}


_KINDS = {"consultancy": 1, "selfplay": 2, "match": 3}


def _collect(
    data: Data, rows: Ints, scores: Floats, names: dict[str, int], *, two_way: bool = True
) -> _Rows:
    """The matches, self-play and consultancy judgments among ``rows``, with ``scores``
    (per row of ``data``: the score against gold) and who judged each
    (:func:`~oversight.analysis._twoway.annotator_codes`): each class of seats is read
    once, in the order of its first row (which numbers the players), its rows taken as
    arrays."""
    out = _Rows()
    t = data.t[rows]
    who, person = annotator_codes(data, rows, two_way=two_way)
    out.person = set(who[person].tolist())
    classes, seats = seat_classes(data)
    cls = classes[rows]
    # Per class: kind code, the first two speakers' player codes and assigned answers.
    info = np.zeros((len(seats), 5), dtype=np.int64)
    present, first = np.unique(cls, return_index=True)
    for c in present[np.argsort(first)].tolist():
        seat = seats[c]
        if seat.protocol not in ("debate", "consultancy"):
            continue
        codes = [names.setdefault(seat.players[s], len(names)) for s in seat.speakers]
        kind = kind_of(seat.protocol, codes)
        answers = [seat.assignment[s] for s in seat.speakers]
        if kind is not None:
            info[c] = (_KINDS[kind], codes[0], codes[-1], answers[0], answers[-1])
    kind_r, code_i, code_j, a1, a2 = info[cls].T
    gold, cluster = data.t_correct[t], data.t_cluster[t]
    question, score = data.t_question[t], scores[rows]
    for which, player, s_score, s_cluster, s_who in (
        (1, out.c_player, out.c_score, out.c_cluster, out.c_who),
        (2, out.s_player, out.s_score, out.s_cluster, out.s_who),
    ):
        m = kind_r == which
        player.extend(code_i[m].tolist())
        s_score.extend(score[m].tolist())
        s_cluster.extend(cluster[m].tolist())
        s_who.extend(who[m].tolist())
        out.a_questions.update(question[m].tolist())
        if which == 1:
            out.c_right.extend((a1[m] == gold[m]).tolist())
    m = kind_r == 3
    out.m_questions.update(question[m].tolist())
    r = rows[m]
    diff = data.probs[r, a1[m]] - data.probs[r, a2[m]]
    out.m_i.extend(code_i[m].tolist())
    out.m_j.extend(code_j[m].tolist())
    out.m_out.extend(
        np.where(diff > TIE_TOLERANCE, 1.0, np.where(diff < -TIE_TOLERANCE, 0.0, 0.5)).tolist()
    )
    out.m_side.extend(((a1[m] == gold[m]) * 1.0 - (a2[m] == gold[m]) * 1.0).tolist())
    out.m_cluster.extend(cluster[m].tolist())
    out.m_who.extend(who[m].tolist())
    return out


def _sides(rows: _Rows, n_clusters: int, k: int) -> tuple[Side, Side, Side]:
    """Self-play, right consultants, wrong consultants: made once for the whole bootstrap."""
    right = np.asarray(rows.c_right, dtype=bool)
    c = [np.asarray(x) for x in (rows.c_player, rows.c_score, rows.c_cluster, rows.c_who)]
    of = partial(Side.of, person_codes=rows.person, n_clusters=n_clusters, k=k)
    return (
        of(rows.s_player, rows.s_score, rows.s_cluster, rows.s_who),
        of(c[0][right], c[1][right], c[2][right], c[3][right]),
        of(c[0][~right], c[1][~right], c[2][~right], c[3][~right]),
    )


def _match_sides(rows: _Rows, n_clusters: int, k: int) -> tuple[Side, Side]:
    """Each player's wins (draws half) in the matches in which it argued the gold answer,
    and in those in which it argued a wrong one: two entries per match, one per player."""
    side = np.asarray(rows.m_side)
    out = np.asarray(rows.m_out)
    player = np.concatenate([rows.m_i, rows.m_j]).astype(np.int64)
    won = np.concatenate([out, 1.0 - out])
    gold = np.concatenate([side > 0, side < 0])
    cluster = np.tile(np.asarray(rows.m_cluster, dtype=np.int64), 2)
    who = np.tile(np.asarray(rows.m_who, dtype=np.int64), 2)
    of = partial(Side.of, person_codes=rows.person, n_clusters=n_clusters, k=k)
    return (
        of(player[gold], won[gold], cluster[gold], who[gold]),
        of(player[~gold], won[~gold], cluster[~gold], who[~gold]),
    )


def _sides_of(
    rating: SideRating | None, wins: tuple[Side, Side], p: int, draws: Floats
) -> dict[str, Any]:
    """A player's per-side fields of :class:`PlayerResult` (none without cross-play):
    ``wins`` from :func:`_match_sides`, ``draws`` their bootstrap (gold, distractor)."""
    if rating is None:
        return {}
    return {
        "win_rate_gold": rating.win_rate_gold,
        "win_rate_gold_ci95": mean_ci(wins[0], p, draws[0, :, p]),
        "win_rate_distractor": rating.win_rate_distractor,
        "win_rate_distractor_ci95": mean_ci(wins[1], p, draws[1, :, p]),
        "elo_gold": rating.elo_gold,
        "elo_gold_ci95": rating.elo_gold_ci95,
        "matches_gold": rating.matches_gold,
        "elo_distractor": rating.elo_distractor,
        "elo_distractor_ci95": rating.elo_distractor_ci95,
        "matches_distractor": rating.matches_distractor,
    }


def _opt(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def tournaments(
    data: Data,
    rows: Ints,
    judges: list[str],
    scores: Floats,
    *,
    n_bootstrap: int,
    seed: int,
    two_way: bool = True,
) -> list[TournamentTable]:
    """Per judge, the tournament table of the scored judgments ``rows`` (empty when no
    transcript records players); ``scores``: per row of ``data``, the judgment's score
    against gold (:func:`oversight.analysis._stats.row_metrics`); ``two_way=False``:
    accuracies over sources alone, even judged by people."""
    if not any(t.players for t in data.transcripts):  # no tournament: nothing to rate
        return []
    rows = rows[data.scored[rows]]
    judge_codes, judge_names = field_codes(data, "judge")
    out = []
    for judge in judges:
        names: dict[str, int] = {}
        judge_code = judge_names.index(judge) if judge in judge_names else -1
        mine = rows[judge_codes[rows] == judge_code]
        got = _collect(data, mine, scores, names, two_way=two_way)
        k = len(names)
        if k == 0:
            continue
        code = list(names)
        fit = (
            rate_players(
                [code[i] for i in got.m_i],
                [code[j] for j in got.m_j],
                got.m_out,
                first_correct=[s > 0 for s in got.m_side],
                second_correct=[s < 0 for s in got.m_side],
            )
            if got.m_i
            else None
        )
        rated = {p.debater: p for p in fit.players} if fit else {}
        by_side = (
            {
                p.debater: p
                for p in rate_players_by_side(
                    [code[i] for i in got.m_i],
                    [code[j] for j in got.m_j],
                    got.m_out,
                    first_correct=[s > 0 for s in got.m_side],
                    second_correct=[s < 0 for s in got.m_side],
                ).players
            }
            if got.m_i
            else {}
        )
        n_clusters = data.n_clusters
        sides = _sides(got, n_clusters, k)
        debate, consult = accuracies(sides, k, np.ones(n_clusters))
        w = source_weights(n_clusters, n_bootstrap, seed)
        boot = np.stack(accuracies(sides, k, w))
        wins = _match_sides(got, n_clusters, k)
        win_boot = np.stack([mean_by(x, w, k) for x in wins])
        counts = [
            np.bincount(np.asarray(x, dtype=np.int64), minlength=k)
            for x in (got.m_i + got.m_j, got.s_player, got.c_player)
        ]
        players = [
            PlayerResult(
                player=name,
                elo=rated[name].elo if name in rated else None,
                elo_ci95=rated[name].ci95 if name in rated else None,
                matches=int(counts[0][p]),
                debate_accuracy=_opt(debate[p]),
                debate_accuracy_ci95=intervals[0],
                debate_n=int(counts[1][p]),
                consultancy_accuracy=_opt(consult[p]),
                consultancy_accuracy_ci95=intervals[1],
                consultancy_n=int(counts[2][p]),
                **_sides_of(by_side.get(name), wins, p, win_boot),
            )
            for name, p in names.items()
            for intervals in [player_intervals(sides, p, boot)]
        ]
        players.sort(key=lambda x: (x.elo is None, -(x.elo or 0.0), x.player))
        out.append(
            TournamentTable(
                judge=judge,
                side_advantage=fit.side_advantage if fit else None,
                side_advantage_ci95=fit.side_advantage_ci95 if fit else None,
                n_matches=fit.n_matches if fit else 0,
                players=players,
                slopes=_slopes(players),
                rating_questions=len(got.m_questions),
                shared_questions=len(got.m_questions & got.a_questions),
            )
        )
    return out


def _slopes(players: list[PlayerResult]) -> list[Slope]:
    """The accuracy-on-Elo line per protocol with three or more rated players."""
    slopes = []
    for protocol in ("debate", "consultancy"):
        points = [
            (p.elo, acc, n)
            for p in players
            for acc, n in [
                (p.debate_accuracy, p.debate_n)
                if protocol == "debate"
                else (p.consultancy_accuracy, p.consultancy_n)
            ]
            if p.elo is not None and acc is not None
        ]
        if len(points) >= 3 and len({e for e, _, _ in points}) > 1:
            line = accuracy_vs_elo(
                [e for e, _, _ in points],
                [a for _, a, _ in points],
                [float(n) for _, _, n in points],
            )
            slopes.append(Slope(protocol=protocol, relation=line))
    return slopes
