"""Study planning: within / between, orders, balance, attention checks, bad designs."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from pydantic import ValidationError

from judges.study import Study, StudyDesign, forced_gold_spread, plan_study
from transcripts import RunStore, Transcript
from transcripts.errors import ConfigError

from .helpers import CONDITIONS, run_transcripts


def test_between_gives_each_person_each_question_once_and_meets_targets() -> None:
    transcripts = run_transcripts()
    design = StudyDesign(
        annotators=["ann", "ben", "cat", "dev"], assignment="between", target=2, seed=3
    )
    study = plan_study(transcripts, design)
    by_id = {t.id: t for t in transcripts}
    for person, slots in study.assignments.items():
        questions = [s.question_id for s in slots]
        assert len(questions) == len(set(questions)) == 6, person
    # Each assigned transcript has exactly `target` judgments, from different people.
    holders: dict[str, list[str]] = {}
    for person, slots in study.assignments.items():
        for s in slots:
            holders.setdefault(s.transcript_id, []).append(person)
    assert all(len(p) == len(set(p)) == 2 for p in holders.values())
    assert study.targets() == {t: 2 for t in holders}
    # Four people, target two: two transcripts per question; the rest listed, not lost.
    assert len(holders) == 12
    assert sorted([*holders, *study.left_out]) == sorted(by_id)
    # Conditions balanced across people, and across what gets covered.
    for person, slots in study.assignments.items():
        counts = Counter(s.condition for s in slots)
        assert max(counts.values()) - min(counts.values()) <= 1, (person, counts)
    covered = Counter(by_id[t].condition for t in holders)
    assert max(covered.values()) - min(covered.values()) <= 1
    # The gold answer is shown first about as often as second, for each person.
    for person, slots in study.assignments.items():
        first = Counter(
            by_id[s.transcript_id].order.index(by_id[s.transcript_id].question.correct or 0) == 0
            for s in slots
        )
        assert abs(first[True] - first[False]) <= 2, (person, first)


def test_between_with_a_pool_large_enough_covers_everything() -> None:
    transcripts = run_transcripts(questions=2)
    study = plan_study(
        transcripts, StudyDesign(annotators=[f"p{i}" for i in range(6)], assignment="between")
    )
    assert not study.left_out and set(study.targets()) == {t.id for t in transcripts}


def test_the_plan_is_deterministic_from_the_seed() -> None:
    transcripts = run_transcripts()
    design = StudyDesign(
        annotators=["ann", "ben"], assignment="between", seed=11, attention_checks=2
    )
    one, two = plan_study(transcripts, design), plan_study(reversed(transcripts), design)
    assert one.assignments == two.assignments and one.left_out == two.left_out
    other = plan_study(transcripts, design.model_copy(update={"seed": 12}))
    assert other.assignments != one.assignments


def test_within_everyone_judges_everything_interleaved() -> None:
    transcripts = run_transcripts(questions=4)
    study = plan_study(transcripts, StudyDesign(annotators=["ann", "ben", "cat"]))
    firsts = []
    for slots in study.assignments.values():
        assert sorted(s.transcript_id for s in slots) == sorted(t.id for t in transcripts)
        # The same question never twice in a row; each pass shows every question once.
        assert all(a.question_id != b.question_id for a, b in pairwise(slots))
        assert len({s.question_id for s in slots[:4]}) == 4
        firsts.append(tuple(s.condition for s in slots[:4]))
    # People start the questions in different conditions (first exposures rotate).
    assert len(set(firsts)) == 3


def test_grouped_and_random_orders() -> None:
    transcripts = run_transcripts(questions=3)
    grouped = plan_study(transcripts, StudyDesign(annotators=["ann"], order="grouped"))
    questions = [s.question_id for s in grouped.assignments["ann"]]
    assert questions == sorted(questions, key=questions.index)  # one question at a time
    assert all(n == 6 for n in Counter(questions).values())
    shuffled = plan_study(transcripts, StudyDesign(annotators=["ann", "ben"], order="random"))
    ann, ben = shuffled.assignments["ann"], shuffled.assignments["ben"]
    assert sorted(s.transcript_id for s in ann) == sorted(s.transcript_id for s in ben)
    assert ann != ben and ann != grouped.assignments["ann"]


def test_between_interleaves_conditions() -> None:
    study = plan_study(
        run_transcripts(questions=6),
        StudyDesign(annotators=["ann", "ben", "cat"], assignment="between"),
    )
    for slots in study.assignments.values():
        assert all(a.condition != b.condition for a, b in pairwise(slots))


def test_attention_checks_are_spread_and_never_first() -> None:
    study = plan_study(
        run_transcripts(questions=6),
        StudyDesign(annotators=["ann", "ben"], assignment="between", attention_checks=2),
    )
    for slots in study.assignments.values():
        where = [i for i, s in enumerate(slots) if s.attention]
        assert len(where) == 2 and where[0] > 0 and where[1] - where[0] > 1
    assert len(study.attention_items) == 2
    assert all(t.question.correct is not None for t in study.attention_items)
    assert "attention-check" not in {t.condition for t in run_transcripts()}
    assert all(
        not s.attention for s in study.assignments["ann"] if s.condition != ("attention-check")
    )


def test_attention_questions_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "checks.jsonl"
    path.write_text(
        '{"id": "sky", "text": "What colour is a clear daytime sky?", '
        '"answers": ["Blue", "Plaid"], "correct": 0}\n'
    )
    study = plan_study(
        run_transcripts(questions=2),
        StudyDesign(annotators=["ann"], attention_checks=1, attention_file=path),
    )
    assert study.attention_items[0].question.text.startswith("What colour")
    path.write_text('{"id": "x", "text": "?", "answers": ["a", "b"]}\n')
    with pytest.raises(ConfigError, match="needs its correct answer"):
        plan_study(
            run_transcripts(questions=2),
            StudyDesign(annotators=["ann"], attention_checks=1, attention_file=path),
        )


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('["sky", "Blue"]', "checks.jsonl:1: not an attention-check question (a JSON object"),
        (
            '{"text": "?", "answers": ["a", "b"], "correct": 0}',
            "checks.jsonl:1: not an attention-check question (id: required key is missing)",
        ),
        (
            '{"id": "x", "text": "?", "answers": ["a", "b"], "correct": 5}',
            "correct=5 is not an index into its 2 answers",
        ),
    ],
)
def test_a_bad_attention_file_line_is_named_in_words(line: str, said: str, tmp_path: Path) -> None:
    path = tmp_path / "checks.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError) as caught:
        plan_study(
            run_transcripts(questions=2),
            StudyDesign(annotators=["ann"], attention_checks=1, attention_file=path),
        )
    assert said in str(caught.value)
    assert "pydantic.dev" not in str(caught.value) and "\n" not in str(caught.value)


def test_bad_designs_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="needs at least 3 annotators"):
        StudyDesign(annotators=["ann", "ben"], assignment="between", target=3)
    with pytest.raises(ValidationError, match="named twice: ann"):
        StudyDesign(annotators=["ann", "ann "])
    with pytest.raises(ConfigError, match="no complete transcripts of conditions"):
        plan_study(run_transcripts(), StudyDesign(annotators=["ann"], conditions=["rrm"]))
    study = plan_study(run_transcripts(questions=1), StudyDesign(annotators=["ann"]))
    with pytest.raises(ConfigError, match="'zed' is not in this run's study"):
        study.slots_of("zed")


def test_with_two_judgments_per_transcript_many_pairs_share_items() -> None:
    study = plan_study(
        run_transcripts(questions=6),
        StudyDesign(
            annotators=["ann", "ben", "cat", "dev"], assignment="between", target=2, seed=1
        ),
    )
    holders: dict[str, list[str]] = {}
    for person, slots in study.assignments.items():
        for s in slots:
            holders.setdefault(s.transcript_id, []).append(person)
    pairs = Counter(tuple(sorted(p)) for p in holders.values())
    assert len(pairs) >= 4  # of the 6 possible pairs; not the same two couples every time


def _spreads(study: Study, by_id: dict[str, Transcript]) -> tuple[int, int, int]:
    """The largest per-person spread (max - min) of condition counts and of gold-position
    counts, and the spread of the people's loads."""
    conditions = positions = 0
    for slots in study.assignments.values():
        counts = Counter(s.condition for s in slots)
        conditions = max(
            conditions, max(counts[c] for c in CONDITIONS) - min(counts[c] for c in CONDITIONS)
        )
        gold = Counter(
            by_id[s.transcript_id].order.index(by_id[s.transcript_id].question.correct or 0)
            for s in slots
        )
        positions = max(positions, abs(gold[0] - gold[1]))
    loads = [len(slots) for slots in study.assignments.values()]
    return conditions, positions, max(loads) - min(loads)


@pytest.mark.parametrize(
    ("questions", "people", "target", "seed"),
    [(18, 4, 2, 2), (12, 6, 3, 1), (15, 6, 3, 1), (18, 6, 3, 2), (15, 3, 2, 0), (15, 7, 3, 1)],
)
def test_between_balances_each_person_s_conditions_gold_positions_and_load(
    questions: int, people: int, target: int, seed: int
) -> None:
    # Planned question by question, a person could end with 7 debates and 5 consultancies
    # of 18 items where 6 of each fit, or with 11 items against another's 9; every design
    # here has a plan balanced within one.
    transcripts = run_transcripts(questions)
    by_id = {t.id: t for t in transcripts}
    design = StudyDesign(
        annotators=[f"p{i}" for i in range(people)], assignment="between", target=target, seed=seed
    )
    study = plan_study(transcripts, design)
    conditions, _, loads = _spreads(study, by_id)
    assert max(conditions, loads) <= 1, (conditions, loads)
    _still_between(study, transcripts, target)


def _still_between(study: Study, transcripts: list[Transcript], target: int) -> None:
    """Each person sees each question at most once, each chosen transcript has ``target``
    people, and every other transcript is listed as left out."""
    for slots in study.assignments.values():
        assert len({s.question_id for s in slots}) == len(slots)
    assert set(study.targets().values()) == {target}
    chosen = set(study.targets())
    assert chosen.isdisjoint(study.left_out)
    assert chosen | set(study.left_out) == {t.id for t in transcripts}


@pytest.mark.parametrize(
    ("questions", "people", "target", "seed"),
    [
        *[(6, 3, 1, seed) for seed in range(4)],
        (6, 5, 1, 1),
        (9, 4, 2, 1),
        (9, 6, 2, 0),
        (12, 4, 2, 1),
        (12, 6, 3, 1),
        (15, 6, 3, 1),
        (15, 7, 3, 1),
        (18, 4, 2, 2),
        (18, 6, 3, 2),
        # Left two apart by trades that would have spread the pairs (6 people, 3 on each
        # transcript), and with 3 people, 2 on each, where no two hold one question apart.
        (6, 6, 3, 0),
        (6, 6, 3, 1),
        (18, 3, 2, 0),
        (18, 3, 2, 2),
        # Left two apart where every single move and every trade above made something
        # worse: two or three moves in different questions at once even them.
        (6, 6, 2, 4),
        (10, 6, 3, 5),
        (5, 7, 2, 3),
        (11, 8, 3, 1),
        (11, 8, 3, 4),
        (7, 7, 1, 5),
    ],
)
def test_between_balances_each_person_s_gold_positions_within_one(
    questions: int, people: int, target: int, seed: int
) -> None:
    # A person could see the gold answer first 5 times of 6 (another 2 of 6) where 3 of
    # 6 fit: a trade within one question that evened positions unbalanced conditions,
    # so none was made. Now people trade several questions at once (a cycle of
    # conditions), through a third person, or move a transcript to its left-out twin
    # (the other answer order): within one, conditions and loads still within one.
    transcripts = run_transcripts(questions)
    by_id = {t.id: t for t in transcripts}
    design = StudyDesign(
        annotators=[f"p{i}" for i in range(people)], assignment="between", target=target, seed=seed
    )
    study = plan_study(transcripts, design)
    assert max(_spreads(study, by_id)) <= 1
    assert forced_gold_spread(study, transcripts) is None
    _still_between(study, transcripts, target)


def test_gold_positions_within_one_where_four_questions_cannot_even_the_conditions() -> None:
    # 4 questions, 7 people, 3 per transcript: someone saw the gold answer first three
    # times more than second; now within one (conditions stay as even as 4 items allow).
    transcripts = run_transcripts(4)
    annotators = [f"p{i}" for i in range(7)]
    design = StudyDesign(annotators=annotators, assignment="between", target=3, seed=1)
    study = plan_study(transcripts, design)
    conditions, positions, loads = _spreads(study, {t.id: t for t in transcripts})
    assert (conditions, positions, loads) == (2, 1, 1)
    _still_between(study, transcripts, 3)


@pytest.mark.parametrize("seed", range(3))
def test_gold_positions_two_apart_only_where_the_design_forces_it(seed: int) -> None:
    # 9 questions, 3 people, 2 per transcript: one transcript per question, nine in all,
    # each seen by two people. Everyone has 6 items, so each person's gold-first minus
    # gold-second is even; the three add up to twice an odd number (nine +-1s), so not
    # all can be 0: someone is 2 apart, and no one more.
    transcripts = run_transcripts(9)
    by_id = {t.id: t for t in transcripts}
    design = StudyDesign(annotators=["p0", "p1", "p2"], assignment="between", target=2, seed=seed)
    study = plan_study(transcripts, design)
    conditions, positions, loads = _spreads(study, by_id)
    assert (conditions, positions, loads) == (0, 2, 0)
    assert "9 transcripts (an odd number), each judged by 2 people" in str(
        forced_gold_spread(study, transcripts)
    )


def test_planning_a_study_that_forces_two_apart_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    for questions, forced in ((9, True), (10, False)):
        store = RunStore.create(tmp_path / f"run{questions}")
        store.transcripts.extend(run_transcripts(questions))
        store.close()
        plan = ["--annotators", "p0,p1,p2", "--assignment", "between", "--target", "2"]
        assert main(["judge", str(store.path), "--plan-study", *plan]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert ("Gold positions two apart: 9 transcripts (an odd number)" in out) is forced
        assert ("chooses an even number of transcripts" in out) is forced
