"""A human study over a run: who judges which transcript, in which order — seeded and saved.

Example::

    design = StudyDesign(annotators=["alice", "bob"], assignment="between", target=1, seed=7)
    study = open_study(store, design)        # creates RUN/study.json once, under a file lock
    study.assignments["alice"]               # alice's items, in the order she will see them

Designs (Michael et al. 2023 ran the second: each judge met a story at most once, with the
settings balanced across judges):

* ``within`` — every annotator judges every chosen transcript (``target`` is the pool size).
* ``between`` — each annotator sees each *question* at most once, across conditions, so no
  one learns a question in one condition and then judges it in another; each chosen
  transcript gets ``target`` judgments from different people. Per question, transcripts are
  picked greedily (the one whose condition, then gold position, then setup, was chosen
  least so far) and, copy by copy, given to distinct people by an optimal assignment
  (``scipy.optimize.linear_sum_assignment``) that prefers people who have judged that
  condition least, then who have seen the gold answer at that position least (position
  bias balances per person too), then who were paired least with the people already on
  that transcript (agreement then covers many pairs), then who have the fewest items. A
  question with more transcripts than the pool can cover (``transcripts x target >
  annotators``) has the rest *left out* and listed as such, never silently dropped.
  What planning one question at a time leaves uneven is then evened out by swaps within a
  question (two people trade their transcripts of it, or one hands theirs to someone
  without one), trades of several questions at once, and moves of a transcript's people
  to its left-out twin (the same question and condition, the gold answer in the other
  place), kept while they lower the spread of each person's conditions, then loads, then
  gold positions, then pairings (:func:`judges._balance.rebalance`). Conditions
  therefore balance across annotators and across the run's coverage: where the numbers
  allow, each person's count of each condition, their number of items, and how often
  they see the gold answer in each place differ by at most one (a design can force two:
  nine transcripts each judged by two of three people, say; :func:`forced_gold_spread`).
  A question a person already judged or skipped in the run before the study was
  planned (under any judge name) counts as met: under ``between`` they are not given it
  again (planning a larger pool in a copy of the run keeps its promise).

Orders of one annotator's list:

* ``grouped`` — question by question (questions in a seeded order), conditions together;
* ``random`` — a seeded shuffle per annotator;
* ``interleaved`` (default) — round-robin: for ``within``, one transcript of each question per
  pass, so the same question comes back as late as possible, each annotator starting each
  question at a different condition (rotated, so first exposures balance across people); for
  ``between``, one item of each condition in turn.

``attention_checks`` adds that many items per annotator with an obvious answer (built in, or
``attention_file``: JSON Lines of questions with ``correct``), spread evenly through the list
and never first; they are judged like any item, saved to ``attention.jsonl`` (never mixed
with the run's judgments) and their failures are reported per annotator.

Everything follows from the design, the seed and the run's transcripts, so the same inputs
give the same ``study.json``; the file also holds the design, so a study can be audited.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import NamedTuple

from filelock import FileLock

from judges._balance import pair as _pair
from judges._balance import rebalance as _rebalance
from judges.attention import attention_transcripts
from judges.queue import PEOPLE, human_judgments
from transcripts import RunStore, Transcript
from transcripts.errors import ConfigError
from transcripts.study import STUDY_FILE, Slot, Study, StudyDesign, read_study

__all__ = [
    "STUDY_FILE",
    "Slot",
    "Study",
    "StudyDesign",
    "forced_gold_spread",
    "load_study",
    "open_study",
    "plan_study",
]


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


class _Planned(NamedTuple):
    """What planning reads of a transcript: a study over 100,000 transcripts holds these,
    not the transcripts."""

    id: str
    condition: str
    question_id: str
    gold_position: int
    """Where the gold answer is shown (-1 when unknown)."""
    variant: str
    """The counterbalancing setup: answer order, sides and repeat."""


def _planned(t: Transcript) -> _Planned:
    correct = t.question.correct
    return _Planned(
        id=t.id,
        condition=t.condition,
        question_id=t.question.id,
        gold_position=-1 if correct is None else t.order.index(correct),
        variant=f"{t.order}|{sorted(t.assignment.items())}|{t.repeat}",
    )


def plan_study(
    transcripts: Iterable[Transcript],
    design: StudyDesign,
    *,
    judged: Mapping[str, Collection[str]] | None = None,
) -> Study:
    """The study ``design`` gives for ``transcripts`` (complete ones of the chosen conditions).

    ``judged``: annotator -> ids of transcripts they judged (or skipped) before the study;
    under ``between`` no one is given a question they met there (:func:`open_study` reads
    them from the run)."""
    before = {t for ids in (judged or {}).values() for t in ids}
    question_of: dict[str, str] = {}  # of the transcripts someone judged before
    chosen: list[_Planned] = []
    for one in transcripts:  # one transcript in memory at a time, however many are planned
        if one.id in before:
            question_of[one.id] = one.question.id
        if one.status == "complete" and (
            not design.conditions or one.condition in design.conditions
        ):
            chosen.append(_planned(one))
    chosen.sort(key=lambda t: t.id)
    seen = {
        a: {question_of[t] for t in ids if t in question_of} for a, ids in (judged or {}).items()
    }
    if not chosen:
        wanted = f" of conditions {design.conditions}" if design.conditions else ""
        raise ConfigError(f"the run has no complete transcripts{wanted} to plan a study over")
    by_question: dict[str, list[_Planned]] = defaultdict(list)
    for t in chosen:
        by_question[t.question_id].append(t)
    questions = sorted(by_question, key=lambda q: _key(design.seed, "question", q))
    for q in questions:
        by_question[q].sort(key=lambda t: (t.condition, t.variant, t.id))
    if design.assignment == "within":
        picks = {a: [t for q in questions for t in by_question[q]] for a in design.annotators}
        left: list[str] = []
    else:
        picks, left = _between(by_question, questions, design, seen)
    assignments = {
        a: _ordered(picks[a], questions, design, i) for i, a in enumerate(design.annotators)
    }
    attention = attention_transcripts(
        design.attention_checks, file=design.attention_file, seed=design.seed
    )
    for a in design.annotators:
        assignments[a] = _with_attention(assignments[a], attention, design, a)
    return Study(
        design=design,
        assignments=assignments,
        left_out=sorted(left),
        attention_items=attention,
        transcripts_hash=_key(*(t.id for t in chosen)),
    )


def _between(
    by_question: dict[str, list[_Planned]],
    questions: list[str],
    design: StudyDesign,
    seen: Mapping[str, Collection[str]],
) -> tuple[dict[str, list[_Planned]], list[str]]:
    """Each person at most once per question, counting the questions they met before the
    study (``seen``); conditions balanced (module docstring)."""
    people = design.annotators
    picks: dict[str, list[_Planned]] = {a: [] for a in people}
    per_condition: dict[tuple[str, str], int] = defaultdict(int)  # (annotator, condition)
    per_position: dict[tuple[str, int], int] = defaultdict(int)  # (annotator, gold position)
    chosen_condition: dict[str, int] = defaultdict(int)
    chosen_position: dict[int, int] = defaultdict(int)
    chosen_variant: dict[tuple[str, str], int] = defaultdict(int)
    left: list[str] = []
    paired: dict[tuple[str, str], int] = defaultdict(int)  # people judged together
    for q in questions:
        pool = [a for a in people if q not in seen.get(a, ())]
        candidates = list(by_question[q])
        chosen: list[_Planned] = []
        while candidates and (len(chosen) + 1) * design.target <= len(pool):
            t = min(
                candidates,
                key=lambda t: (
                    chosen_condition[t.condition],
                    chosen_position[t.gold_position],
                    chosen_variant[(t.condition, t.variant)],
                    _key(design.seed, "pick", t.id),
                ),
            )
            candidates.remove(t)
            chosen.append(t)
            chosen_condition[t.condition] += 1
            chosen_position[t.gold_position] += 1
            chosen_variant[(t.condition, t.variant)] += 1
        left += [t.id for t in candidates]
        # Copy by copy, the question's transcripts go to distinct people by an optimal
        # assignment: fewest items of the transcript's condition first, then of its gold
        # position (position bias per person), then the people already on this transcript
        # they were paired with least (so agreement covers many pairs), then the lightest
        # load, then a seeded tie-break.
        tie = {a: r for r, a in enumerate(sorted(people, key=lambda a: _key(design.seed, q, a)))}
        holders: dict[str, list[str]] = {t.id: [] for t in chosen}
        free = list(pool)
        import numpy as np  # here: only planning needs it (every run imports this module)

        for _ in range(design.target if chosen else 0):
            cost = np.array(
                [
                    [
                        per_condition[(a, t.condition)] * 1e9
                        + per_position[(a, t.gold_position)] * 1e6
                        + sum(paired[_pair(a, b)] for b in holders[t.id]) * 1e4
                        + len(picks[a]) * 1e2
                        + tie[a]
                        for a in free
                    ]
                    for t in chosen
                ]
            )
            from scipy.optimize import linear_sum_assignment  # here: only planning needs it

            rows, cols = linear_sum_assignment(cost)
            taken = []
            for i, j in zip(rows, cols, strict=True):
                t, a = chosen[i], free[j]
                for b in holders[t.id]:
                    paired[_pair(a, b)] += 1
                holders[t.id].append(a)
                picks[a].append(t)
                per_condition[(a, t.condition)] += 1
                per_position[(a, t.gold_position)] += 1
                taken.append(a)
            free = [a for a in free if a not in taken]
    _rebalance(picks, questions, people, seen, by_question, left)
    return picks, left


def forced_gold_spread(study: Study, transcripts: Iterable[Transcript]) -> str | None:
    """Why no plan of this ``between`` study's size can keep every person's counts of the
    gold answer first and second within one of each other, or None where this argument
    does not prove it (an even number of transcripts; questions of more than two answers,
    or without gold). None does not promise a plan can: transcripts whose gold positions
    lean one way, with no twins to trade, can force it too.

    Each transcript judged by ``target`` people adds ``target`` (gold first) or ``-target``
    (second) to the sum over people of (gold first - gold second), a sum of ``target`` times
    an odd number when the study chose an odd number of transcripts. A person's difference
    has the parity of their number of items, so with every difference within one the sum
    lies within the count of people with an odd number of items: with fewer than ``target``
    of them, someone's difference is two or more whatever the plan (items per person as they
    are, within one of each other). ``transcripts``: the study's chosen ones, read for their
    gold.
    """
    if study.design.assignment != "between":
        return None
    targets = study.targets()
    loads = [sum(not s.attention for s in slots) for slots in study.assignments.values()]
    odd = sum(n % 2 for n in loads)
    target = study.design.target
    if len(targets) % 2 == 0 or target <= odd:
        return None
    chosen = [t for t in transcripts if t.id in targets]
    if len(chosen) != len(targets) or any(
        len(t.question.answers) != 2 or t.question.correct is None for t in chosen
    ):
        return None
    return (
        f"{len(targets)} transcripts (an odd number), each judged by {target} people, and "
        f"{odd} of the {len(loads)} people with an odd number of items (fewer than "
        f"{target}): someone sees the gold answer in one place two more times than in the "
        f"other, whatever the plan"
    )


def _slot(t: _Planned, *, attention: bool = False) -> Slot:
    return Slot(
        transcript_id=t.id, question_id=t.question_id, condition=t.condition, attention=attention
    )


def _round_robin(groups: list[list[_Planned]]) -> list[_Planned]:
    out: list[_Planned] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out


def _ordered(
    items: list[_Planned], questions: list[str], design: StudyDesign, index: int
) -> list[Slot]:
    """One person's items in the design's order."""
    rank = {q: i for i, q in enumerate(questions)}
    grouped = sorted(items, key=lambda t: (rank[t.question_id], t.condition, t.variant, t.id))
    if design.order == "grouped":
        out = grouped
    elif design.order == "random":
        out = list(grouped)
        random.Random(_key(design.seed, "order", design.annotators[index])).shuffle(out)
    elif design.assignment == "within":
        by_q: dict[str, list[_Planned]] = defaultdict(list)
        for t in grouped:
            by_q[t.question_id].append(t)
        groups = []
        for q, ts in sorted(by_q.items(), key=lambda kv: rank[kv[0]]):
            shift = (index + rank[q]) % len(ts)
            groups.append(ts[shift:] + ts[:shift])  # rotated: first exposures balance
        out = _round_robin(groups)
    else:
        by_c: dict[str, list[_Planned]] = defaultdict(list)
        for t in grouped:
            by_c[t.condition].append(t)
        conditions = sorted(by_c)
        shift = index % len(conditions) if conditions else 0
        out = _round_robin([by_c[c] for c in conditions[shift:] + conditions[:shift]])
    return [_slot(t) for t in out]


def _with_attention(
    slots: list[Slot], attention: list[Transcript], design: StudyDesign, annotator: str
) -> list[Slot]:
    """Attention checks spread evenly through ``slots``, never first."""
    if not attention:
        return slots
    items = list(attention)
    random.Random(_key(design.seed, "attention", annotator)).shuffle(items)
    out = list(slots)
    total = len(slots) + len(items)
    at = 0
    for j, t in enumerate(items):
        at = max(at + 1, (j + 1) * total // (len(items) + 1), 1)
        out.insert(min(at, len(out)), _slot(_planned(t), attention=True))
    return out


def _judged(store: RunStore, design: StudyDesign) -> dict[str, set[str]]:
    """Annotator (of the pool) -> transcripts of the run they judged or skipped, under any
    judge name (also inside a fallback judge's final judgment)."""
    pool = set(design.annotators)
    judged: dict[str, set[str]] = defaultdict(set)
    for judgment in store.judgments.latest(
        where=PEOPLE if "h" in store.judgments.lookups else None
    ):
        for human in human_judgments(judgment):
            if human.judge.annotator in pool:
                judged[human.judge.annotator].add(human.transcript_id)
    return dict(judged)


def load_study(store: RunStore) -> Study | None:
    """The run's saved study, or None."""
    return read_study(store)


def open_study(store: RunStore, design: StudyDesign | None) -> Study | None:
    """The run's study: the saved one, or (with ``design``) a new one, planned and saved once.

    Planning happens under a lock on the run folder, so two people starting at once get one
    study. A ``design`` that differs from the saved study's is refused: a study cannot
    change once people may have judged under it.
    """
    with FileLock(store.path / f".{STUDY_FILE}.lock"):
        saved = load_study(store)
        if saved is not None:
            if design is not None and design != saved.design:
                raise ConfigError(
                    f"{store.path / STUDY_FILE} holds a study planned with a different design "
                    f"({saved.design.model_dump_json(exclude_defaults=True)}); a study cannot "
                    f"change once judging began: drop the design options, or plan the new "
                    f"study in a copy of the run without its {STUDY_FILE} (the judgments "
                    f"made there are kept, and under 'between' no one is given a question "
                    f"they judged)"
                )
            return saved
        if design is None:
            return None
        study = plan_study(store.transcripts.latest(), design, judged=_judged(store, design))
        store.write_json(STUDY_FILE, study.model_dump(mode="json"))
        return study
