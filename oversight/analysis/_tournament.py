"""Tournaments (Khan et al. 2024): player ratings, each player's judge accuracy, and the
accuracy-versus-Elo line, per judge.

* **Ratings** come from debates between different players (cross-play): player ``i`` beats
  ``j`` when the judge puts more probability on ``i``'s answer (a draw counts half), rated
  by :func:`oversight.analysis.rate_players` (side-adjusted Bradley–Terry: arguing the gold
  is a shared advantage, so a player is not rated up for having argued it more often).
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

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from oversight.analysis._data import Data
from oversight.analysis._player_accuracy import Side, accuracies, player_intervals, resampled
from oversight.analysis._players import accuracy_vs_elo, rate_players
from oversight.analysis._schema_extra import EloRelation
from oversight.analysis._twoway import annotator_codes
from transcripts.scoring import TIE_TOLERANCE

__all__ = ["PlayerResult", "Slope", "TournamentTable", "crossplay_conditions", "tournaments"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


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


def _kind(protocol: str, players: list[str] | list[int]) -> str | None:
    """What a judgment of a transcript is to a tournament, from its protocol and the players
    of its speakers (names or codes): ``consultancy``, ``selfplay`` (one player on every
    seat), ``match`` (two different players: cross-play, what the ratings rest on), or None
    (no player, another protocol: no part of a tournament)."""
    if protocol not in ("debate", "consultancy") or not players:
        return None
    if protocol == "consultancy":
        return "consultancy"
    if len(set(players)) == 1:
        return "selfplay"
    return "match" if len(players) == 2 else None


def crossplay_conditions(data: Data, rows: Ints) -> set[str]:
    """The conditions whose transcripts among ``rows`` are all cross-play matches (debates
    between two different players, as the transcripts' ``players`` record them): they rate
    the players, so the default comparisons leave them out."""
    kinds: dict[str, set[str | None]] = {}
    for t in np.unique(data.t[rows]).tolist():
        tr = data.transcripts[t]
        seats = [tr.players[s] for s in sorted(tr.assignment) if s in tr.players]
        kinds.setdefault(tr.condition, set()).add(_kind(tr.protocol, seats))
    return {c for c, k in kinds.items() if k == {"match"}}


def _collect(
    data: Data, rows: Ints, scores: Floats, names: dict[str, int], *, two_way: bool = True
) -> _Rows:
    """The matches, self-play and consultancy judgments among ``rows``, with ``scores``
    (per row of ``data``: the scoring rule's score of the judgment against gold) and who
    judged each (:func:`~oversight.analysis._twoway.annotator_codes`)."""
    out = _Rows()
    t = data.t[rows]
    who, person = annotator_codes(data, rows, two_way=two_way)
    out.person = set(who[person].tolist())
    # Python lists, not numpy scalars: the loop reads every row.
    per_row = zip(
        rows.tolist(),
        t.tolist(),
        data.t_correct[t].tolist(),
        data.t_cluster[t].tolist(),
        scores[rows].tolist(),
        data.t_question[t].tolist(),
        who.tolist(),
        strict=True,
    )
    # Speakers with a player, and their codes, per assignment and players: transcripts
    # that store the same maps share one object of each (see _rows.Shared).
    seats: dict[tuple[int, int], tuple[list[str], list[int]]] = {}
    for r, ti, gold, cluster, row_score, question, judged_by in per_row:
        tr = data.transcripts[ti]
        if tr.protocol not in ("debate", "consultancy"):
            continue
        seat = seats.get((id(tr.assignment), id(tr.players)))
        if seat is None:
            speakers = [s for s in sorted(tr.assignment) if s in tr.players]
            codes = [names.setdefault(tr.players[s], len(names)) for s in speakers]
            seat = seats[id(tr.assignment), id(tr.players)] = (speakers, codes)
        speakers, codes = seat
        kind = _kind(tr.protocol, codes)
        if kind == "consultancy":
            out.c_player.append(codes[0])
            out.c_score.append(row_score)
            out.c_right.append(tr.assignment[speakers[0]] == gold)
            out.c_cluster.append(cluster)
            out.c_who.append(judged_by)
            out.a_questions.add(question)
        elif kind == "selfplay":
            out.s_player.append(codes[0])
            out.s_score.append(row_score)
            out.s_cluster.append(cluster)
            out.s_who.append(judged_by)
            out.a_questions.add(question)
        elif kind == "match":
            out.m_questions.add(question)
            a1, a2 = (tr.assignment[s] for s in speakers)
            diff = float(data.probs[r, a1] - data.probs[r, a2])
            out.m_i.append(codes[0])
            out.m_j.append(codes[1])
            out.m_out.append(1.0 if diff > TIE_TOLERANCE else 0.0 if diff < -TIE_TOLERANCE else 0.5)
            out.m_side.append(float(a1 == gold) - float(a2 == gold))
            out.m_cluster.append(cluster)
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
    out = []
    for judge in judges:
        names: dict[str, int] = {}
        mine = np.asarray([r for r in rows.tolist() if data.judge[r].name == judge], dtype=np.int64)
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
        n_clusters = data.n_clusters
        sides = _sides(got, n_clusters, k)
        debate, consult = accuracies(sides, k, np.ones(n_clusters))
        boot = resampled(sides, k, n_clusters, n_bootstrap=n_bootstrap, seed=seed)
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
