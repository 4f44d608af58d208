"""Evening out a ``between`` study after it was planned question by question
(:func:`rebalance`; the design is described in :mod:`judges.study`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from itertools import combinations
from typing import Protocol, TypeVar

__all__ = ["pair", "rebalance"]


class _Item(Protocol):
    """What rebalancing reads of a planned transcript."""

    @property
    def id(self) -> str: ...
    @property
    def question_id(self) -> str: ...
    @property
    def condition(self) -> str: ...
    @property
    def gold_position(self) -> int: ...


P = TypeVar("P", bound=_Item)

_Change = tuple[int, tuple[str, object], int]
"""(which tally, its key, +1 or -1): cond, gold position, pair, load."""


def rebalance(
    picks: dict[str, list[P]],
    questions: list[str],
    people: list[str],
    seen: Mapping[str, Collection[str]],
) -> None:
    """Even out what question-by-question planning left uneven, in place.

    Planned one question at a time, a person can end with 7 of one condition and 5 of
    another where 6 and 6 fit. Within a question, two people may swap their transcripts,
    or one may hand theirs to someone without one of that question (and who did not meet
    it before the study: ``seen``, person -> questions): neither changes who
    sees a question twice (no one does), which transcripts are covered, or how often. A
    change is kept when it lowers, in this order of priority, the sums of squares of each
    person's count per condition, per gold position, of each pair's shared transcripts and
    of each person's load (so each person's counts even out), until none does.
    """
    held: dict[str, dict[str, P]] = defaultdict(dict)  # question -> person -> item
    on: dict[str, set[str]] = defaultdict(set)  # transcript -> its people
    for a in people:
        for t in picks[a]:
            held[t.question_id][a] = t
            on[t.id].add(a)
    tallies: tuple[dict[tuple[str, object], int], ...] = tuple(defaultdict(int) for _ in range(4))

    def role(a: str, t: P, sign: int, without: str) -> list[_Change]:
        """``a`` takes (+1) or leaves (-1) ``t``, next to its people but ``without``."""
        out: list[_Change] = [
            (0, (a, t.condition), sign),
            (1, (a, t.gold_position), sign),
            (3, (a, ""), sign),
        ]
        return out + [(2, pair(a, b), sign) for b in on[t.id] - {a, without}]

    def apply(changes: list[_Change]) -> None:
        for which, key, d in changes:
            tallies[which][key] += d

    for a in people:  # the tallies as planned
        for t in picks[a]:
            apply(role(a, t, +1, without=a)[:3])
    for group in on.values():
        for a, b in combinations(sorted(group), 2):
            tallies[2][pair(a, b)] += 1

    def better(changes: list[_Change]) -> bool:
        """Whether ``changes`` lower the sums, compared tally by tally in priority order."""
        for which in range(4):
            summed: dict[tuple[str, object], int] = defaultdict(int)
            for w, key, d in changes:
                if w == which:
                    summed[key] += d
            tally = tallies[which]
            delta = sum((tally[k] + d) ** 2 - tally[k] ** 2 for k, d in summed.items())
            if delta:
                return delta < 0
        return False

    changed = True
    while changed:  # each change lowers the sums (whole numbers): this ends
        changed = False
        for q in questions:
            mine = held.get(q, {})
            for a in people:
                for b in people:
                    mine_a, mine_b = mine.get(a), mine.get(b)
                    if (
                        mine_a is None
                        or a == b
                        or (mine_b is not None and (a > b or mine_b.id == mine_a.id))
                        or q in seen.get(b, ())  # b met q before the study
                    ):
                        continue
                    if _worse_spread(
                        tallies[0],
                        a,
                        b,
                        mine_a.condition,
                        None if mine_b is None else mine_b.condition,
                    ):
                        continue  # a quick look at the first priority rules most out
                    moves = role(a, mine_a, -1, a) + role(b, mine_a, +1, a)
                    if mine_b is not None:
                        moves += role(b, mine_b, -1, b) + role(a, mine_b, +1, b)
                    if not better(moves):
                        continue
                    apply(moves)
                    _hand(picks, mine, on, a, b, mine_a)
                    if mine_b is not None:
                        _hand(picks, mine, on, b, a, mine_b)
                    changed = True


def _worse_spread(
    tally: dict[tuple[str, object], int], a: str, b: str, given: str, back: str | None
) -> bool:
    """Whether ``a`` handing an item of condition ``given`` to ``b`` (and ``b`` handing one
    of ``back`` to ``a``) raises the sum of squares of the people's condition counts."""
    if back == given:
        return False
    delta = 2 * (tally[(b, given)] - tally[(a, given)]) + 2
    if back is not None:
        delta += 2 * (tally[(a, back)] - tally[(b, back)]) + 2
    return delta > 0


def _hand(
    picks: dict[str, list[P]],
    mine: dict[str, P],
    on: dict[str, set[str]],
    giver: str,
    taker: str,
    t: P,
) -> None:
    """``giver`` hands ``t`` to ``taker``."""
    picks[giver].remove(t)
    picks[taker].append(t)
    on[t.id] = (on[t.id] - {giver}) | {taker}
    if mine.get(giver) is t:
        del mine[giver]
    mine[taker] = t


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)
