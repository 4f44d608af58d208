"""Evening out a ``between`` study after it was planned question by question
(:func:`rebalance`; the design is described in :mod:`judges.study`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from functools import partial
from itertools import combinations, permutations, product
from typing import Protocol, TypeVar

from judges._trades import Change
from judges._trades import trade_pairs as _trade_pairs

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

_TRIES = 5_000
"""How many combinations of moves one search for gold positions tries at most."""
_PRIORITY = (0, 3, 1, 4, 2)
"""The tallies in the order they decide: each person's conditions, then loads, then gold
positions, then the chosen transcripts' gold positions per condition, then pairs."""


def rebalance(
    picks: dict[str, list[P]],
    questions: list[str],
    people: list[str],
    seen: Mapping[str, Collection[str]],
    pool: Mapping[str, list[P]] | None = None,
    left: list[str] | None = None,
) -> None:
    """Even out what question-by-question planning left uneven, in place.

    Planned one question at a time, a person can end with 7 of one condition and 5 of
    another where 6 and 6 fit. Within a question, two people may swap their transcripts,
    or one may hand theirs to someone without one of that question (and who did not meet
    it before the study: ``seen``, person -> questions): neither changes who
    sees a question twice (no one does), which transcripts are covered, or how often. Two
    people may also trade their transcripts of several questions at once (a cycle of
    conditions: :func:`_trade_pairs`). And where a question's transcript of the same
    condition with the gold answer in the other place was left out (``pool``, question ->
    its transcripts; ``left``, the ids left out, updated), everyone on a chosen transcript
    may move to it together: each still covered as often, only which order is shown
    changes. A change is kept when it lowers, in this order of priority, the sums of
    squares of each person's count per condition, of each person's load, of each
    person's count per gold position, of the chosen transcripts per condition and gold
    position, and of each pair's shared transcripts (so each person's counts even out),
    until none does. The moves made for gold positions alone (the trades of several
    questions) first keep the pairs as even as they are; where someone's gold positions
    are still two apart, they may then spread the pairs (gold positions rank above
    pairs). With three people, two on each transcript, no two people hold different
    transcripts of one question, so ``a`` hands its transcript of one question to ``b``
    who holds none of it, and ``b`` one of another question to ``a`` (``cross``). Still two
    apart where parity does not force it (``forced``), two (then three) swaps, hand-offs or
    twin moves in different questions are made at once, the set that lowers the sums most
    of the first ``_TRIES`` sets tried (``several_moves``)."""
    held: dict[str, dict[str, P]] = defaultdict(dict)  # question -> person -> item
    on: dict[str, set[str]] = defaultdict(set)  # transcript -> its people
    for a in people:
        for t in picks[a]:
            held[t.question_id][a] = t
            on[t.id].add(a)
    tallies: tuple[dict[tuple[str, object], int], ...] = tuple(defaultdict(int) for _ in range(5))

    def role(a: str, t: P, sign: int, without: str) -> list[Change]:
        """``a`` takes (+1) or leaves (-1) ``t``, next to its people but ``without``."""
        out: list[Change] = [
            (0, (a, t.condition), sign),
            (1, (a, t.gold_position), sign),
            (3, (a, ""), sign),
        ]
        return out + [(2, pair(a, b), sign) for b in on[t.id] - {a, without}]

    def apply(changes: list[Change]) -> None:
        for which, key, d in changes:
            tallies[which][key] += d

    for a in people:  # the tallies as planned
        for t in picks[a]:
            apply(role(a, t, +1, without=a)[:3])
    for group in on.values():
        for a, b in combinations(sorted(group), 2):
            tallies[2][pair(a, b)] += 1
    for t in {t.id: t for a in people for t in picks[a]}.values():
        tallies[4][(t.condition, t.gold_position)] += 1
    out = set(left or ())

    def delta(changes: list[Change], which: int) -> int:
        """How much ``changes`` move tally ``which``'s sum of squares."""
        summed: dict[tuple[str, object], int] = defaultdict(int)
        for w, key, d in changes:
            if w == which:
                summed[key] += d
        tally = tallies[which]
        return sum((tally[k] + d) ** 2 - tally[k] ** 2 for k, d in summed.items())

    def better(changes: list[Change], *, pairs_kept: bool = False) -> bool:
        """Whether ``changes`` lower the sums, compared tally by tally in priority order;
        with ``pairs_kept`` never at the cost of the pairs' spread (for the moves that
        serve gold positions alone: a plan whose pairs stay few shares less agreement)."""
        if pairs_kept and delta(changes, 2) > 0:
            return False
        for which in _PRIORITY:
            moved = delta(changes, which)
            if moved:
                return moved < 0
        return False

    def swap(a: str, b: str, q: str) -> list[Change]:
        """The changes of ``a`` and ``b`` trading their transcripts of ``q``."""
        mine_a, mine_b = held[q][a], held[q][b]
        return (
            role(a, mine_a, -1, a)
            + role(b, mine_a, +1, a)
            + role(b, mine_b, -1, b)
            + role(a, mine_b, +1, b)
        )

    def trade(a: str, b: str, q: str) -> None:
        mine = held[q]
        mine_a, mine_b = mine[a], mine[b]
        _hand(picks, mine, on, a, b, mine_a)
        _hand(picks, mine, on, b, a, mine_b)

    def flipped(t: P, twin: P) -> list[Change]:
        """The changes of everyone on ``t`` moving to ``twin`` (left out)."""
        moves: list[Change] = [
            (4, (t.condition, t.gold_position), -1),
            (4, (twin.condition, twin.gold_position), +1),
        ]
        for a in on[t.id]:
            moves += [(1, (a, t.gold_position), -1), (1, (a, twin.gold_position), +1)]
        return moves

    def move_to_twin(t: P, twin: P) -> None:
        for a in on[t.id]:
            picks[a][picks[a].index(t)] = twin
            held[t.question_id][a] = twin
        on[twin.id], on[t.id] = on.pop(t.id), set()
        out.discard(twin.id)
        out.add(t.id)

    def flip(t: P, twin: P) -> bool:
        """Everyone on ``t`` moves to ``twin`` (left out) if that lowers the sums."""
        moves = flipped(t, twin)
        if not better(moves):
            return False
        apply(moves)
        move_to_twin(t, twin)
        return True

    def flip_twins() -> bool:
        """Flips of chosen transcripts to left-out twins that lower the sums."""
        made = False
        for q in questions:
            twins = [t for t in (pool or {}).get(q, []) if t.id in out]
            for t in {t.id: t for t in held.get(q, {}).values()}.values():
                for twin in twins:
                    if (
                        twin.id in out
                        and twin.condition == t.condition
                        and twin.gold_position != t.gold_position
                        and flip(t, twin)
                    ):
                        made = True
                        break
        return made

    def lean(a: str) -> int:
        return tallies[1][(a, 0)] - tallies[1][(a, 1)]

    def cross() -> bool:
        """``a`` hands its transcript of one question to ``b``, who holds none of it, and
        ``b`` hands one of another question to ``a``, who holds none of that: loads stay,
        and so may conditions, while gold positions move between them (three people, two
        on each transcript, leave no question that two people hold apart)."""
        for a, b in permutations(people, 2):
            if lean(a) - lean(b) < 3:
                continue
            give = [q for q in questions if a in held.get(q, {}) and b not in held[q]]
            back = [q for q in questions if b in held.get(q, {}) and a not in held[q]]
            for q1, q2 in product(give, back):
                if q1 in seen.get(b, ()) or q2 in seen.get(a, ()):
                    continue
                t1, t2 = held[q1][a], held[q2][b]
                moves = role(a, t1, -1, a) + role(b, t1, +1, a)
                moves += role(b, t2, -1, b) + role(a, t2, +1, b)
                if better(moves):
                    apply(moves)
                    _hand(picks, held[q1], on, a, b, t1)
                    _hand(picks, held[q2], on, b, a, t2)
                    return True
        return False

    def moves_in(q: str) -> list[tuple[list[Change], Callable[[], None]]]:
        """Every swap and hand-off within ``q`` (never to someone who met it before the
        study) and every move of its chosen transcripts to a left-out twin."""
        mine = held.get(q, {})
        found: list[tuple[list[Change], Callable[[], None]]] = []
        for a, b in permutations(people, 2):
            ta, tb = mine.get(a), mine.get(b)
            if ta is None or q in seen.get(b, ()) or (tb is not None and (a > b or ta.id == tb.id)):
                continue
            changes = role(a, ta, -1, a) + role(b, ta, +1, a)
            if tb is not None:
                changes += role(b, tb, -1, b) + role(a, tb, +1, b)
            make = (
                partial(_hand, picks, mine, on, a, b, ta) if tb is None else partial(trade, a, b, q)
            )
            found.append((changes, make))
        for t in {t.id: t for t in mine.values()}.values():
            for twin in (pool or {}).get(q, []):
                if (
                    twin.id in out
                    and twin.condition == t.condition
                    and twin.gold_position != t.gold_position
                ):
                    found.append((flipped(t, twin), partial(move_to_twin, t, twin)))
        return found

    def gain(changes: list[Change]) -> list[int] | None:
        """How ``changes`` move the sums, in priority order; None unless they lower them."""
        moved: list[int] = []
        for which in _PRIORITY:
            moved.append(delta(changes, which))
            if moved[-1] > 0 and not any(moved[:-1]):
                return None
        return moved if any(moved) else None

    def several_moves(most: int) -> bool:
        """Up to ``most`` of :func:`moves_in`'s moves in different questions at once, the
        first bringing someone's gold positions, two apart, closer and each next one
        involving someone the earlier ones did (each alone unbalanced conditions or moved
        someone else's positions apart, so none was made): the set that lowers the sums
        most."""
        moves = [
            (q, changes, make, {key[0] for w, key, _ in changes if w == 1})
            for q in questions
            for changes, make in moves_in(q)
        ]
        leaning = {a: lean(a) for a in people if abs(lean(a)) >= 2}
        best: list[tuple[list[int], list[Change], list[Callable[[], None]]]] = []
        tries = [_TRIES]

        def extend(
            changes: list[Change], makes: list[Callable[[], None]], qs: set[str], touched: set[str]
        ) -> None:
            moved = gain(changes) if len(makes) > 1 else None
            if moved is not None and (not best or moved < best[0][0]):
                best[:] = [(moved, changes, makes)]
            if len(makes) == most:
                return
            need: set[str] = set()  # who the last move must even out (conditions, loads)
            if len(makes) == most - 1 > 0:
                net: dict[tuple[int, tuple[str, object]], int] = defaultdict(int)
                for w, key, d in changes:
                    net[(w, key)] += d if w in (0, 3) else 0
                need = {key[0] for (w, key), d in net.items() if d}
                if len(need) > 2:
                    return
            for q, more, make, them in moves:
                if q in qs or (makes and not them & touched) or not need <= them:
                    continue  # (a move apart from the others would have been made alone)
                if not makes and not any(
                    w == 1
                    and key[0] in leaning
                    and d * (1 if key[1] == 0 else -1) * leaning[key[0]] < 0
                    for w, key, d in more
                ):
                    continue
                tries[0] -= 1
                if tries[0] < 0:
                    return
                extend(changes + more, [*makes, make], qs | {q}, touched | them)

        extend([], [], set(), set())
        if not best:
            return False
        apply(best[0][1])
        for make in best[0][2]:
            make()
        return True

    def forced() -> bool:
        """Whether parity alone keeps someone two apart (as
        :func:`judges.study.forced_gold_spread` proves): then no search is made."""
        chosen = [t for t in {t.id: t for a in people for t in picks[a]}.values()]
        odd = sum(len(picks[a]) % 2 for a in people)
        return (
            len(chosen) % 2 == 1
            and all(t.gold_position in (0, 1) for t in chosen)
            and min(len(on[t.id]) for t in chosen) > odd
        )

    changed = True
    pairs_kept = True
    while changed:  # each change lowers the sums (whole numbers): this ends
        kept = partial(better, pairs_kept=pairs_kept)
        changed = _trade_pairs(people, questions, held, tallies[1], swap, kept, apply, trade)
        if any(abs(lean(a)) >= 2 for a in people):
            changed = flip_twins() or changed  # (a pass over the pool: only when needed)
            changed = cross() or changed
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
        if not changed and pairs_kept and any(abs(lean(a)) >= 2 for a in people):
            # Gold positions rank above pairs: where no trade that keeps the pairs as even
            # evens the positions, trades that spread the pairs a little are tried too.
            pairs_kept, changed = False, True
        elif not changed and any(abs(lean(a)) >= 2 for a in people) and not forced():
            # Stuck: two or three moves at once, each of which alone made things worse.
            changed = several_moves(2) or several_moves(3)
    if left is not None:
        left[:] = sorted(out)


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
