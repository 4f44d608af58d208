"""Trades of several questions at once between two people (or through a third) that
leave each one's conditions as they were, for :func:`judges._balance.rebalance`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from itertools import pairwise, permutations, product
from typing import Protocol

__all__ = ["Change", "lean", "trade_pairs"]

Change = tuple[int, tuple[str, object], int]
"""(which tally, its key, +1 or -1): cond, gold position, pair, load, chosen position."""


class _Item(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def condition(self) -> str: ...
    @property
    def gold_position(self) -> int: ...


def trade_pairs(
    people: list[str],
    questions: list[str],
    held: Mapping[str, Mapping[str, _Item]],
    positions: Mapping[tuple[str, object], int],
    swap: Callable[[str, str, str], list[Change]],
    better: Callable[[list[Change]], bool],
    apply: Callable[[list[Change]], None],
    trade: Callable[[str, str, str], None],
) -> bool:
    """Two people trade their transcripts of several questions at once, where one trade
    alone would unbalance their conditions and the cycle does not (``a`` gives a debate
    of q1 for a consultancy, a consultancy of q2 for a control, a control of q3 for a
    debate), so their gold positions can even out: a person 1 to 5 and another 4 to 2,
    every condition 2, 2, 2, had no single trade that helped. Or through a third person:
    ``a`` passes one gold position to ``x`` and ``x`` one to ``b`` (a person 4 to 2 and
    another 2 to 4, with no cycle between them). Tried only for people whose gold
    positions lean apart by 3 or more (``n0 - n1``), where moving one lowers the sum of
    squares; whether it is kept is :func:`rebalance`'s rule (trades within a question
    never give anyone a question they met before). True when one was made."""

    def leans(a: str) -> int:
        return positions.get((a, 0), 0) - positions.get((a, 1), 0)

    cache: dict[tuple[str, str], dict[int, list[str]]] = {}

    def cycles(a: str, b: str) -> dict[int, list[str]]:
        if (a, b) not in cache:
            cache[(a, b)] = _cycles(a, b, questions, held)
        return cache[(a, b)]

    def done(*steps: tuple[str, str, list[str]]) -> bool:
        moves = [m for a, b, qs in steps for q in qs for m in swap(a, b, q)]
        if not better(moves):
            return False
        apply(moves)
        for a, b, qs in steps:
            for q in qs:
                trade(a, b, q)
        return True

    for a, b in permutations(people, 2):
        if leans(a) - leans(b) < 3:
            continue
        direct = cycles(a, b).get(-2)
        if direct is not None and done((a, b, direct)):
            return True
        for x in people:
            if x in (a, b):
                continue
            first, second = cycles(a, x).get(-2), cycles(x, b).get(-2)
            if (
                first
                and second
                and not set(first) & set(second)
                and done((a, x, first), (x, b, second))
            ):
                return True
    return False


def _cycles(
    a: str, b: str, questions: list[str], held: Mapping[str, Mapping[str, _Item]]
) -> dict[int, list[str]]:
    """Trades between ``a`` and ``b`` that leave each one's conditions as they were (a
    cycle of conditions, one question per step), one per change of ``a``'s lean."""
    edges: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)  # a gives, gets
    for q in questions:
        mine = held.get(q, {})
        ta, tb = mine.get(a), mine.get(b)
        if ta is None or tb is None or ta.id == tb.id or ta.condition == tb.condition:
            continue
        moved = lean(tb.gold_position) - lean(ta.gold_position)
        edges[(ta.condition, tb.condition)].setdefault(moved, q)
    conditions = sorted({c for edge in edges for c in edge})
    found: dict[int, list[str]] = {}
    for size in range(2, len(conditions) + 1):
        for cycle in permutations(conditions, size):
            steps = list(pairwise((*cycle, cycle[0])))
            if cycle[0] != min(cycle) or not all(e in edges for e in steps):
                continue  # each cycle once, from its smallest condition
            for choice in product(*(edges[e].items() for e in steps)):
                found.setdefault(sum(d for d, _ in choice), [q for _, q in choice])
    return found


def lean(position: int) -> int:
    """What holding a transcript adds to ``n0 - n1`` of gold positions."""
    return 1 if position == 0 else -1 if position == 1 else 0
