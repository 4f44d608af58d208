"""Study assignment: within / between, orders, targets, attention checks, saved once."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from pydantic import ValidationError

from judges.study import STUDY_FILE, Study, StudyDesign, load_study, open_study, plan_study
from transcripts import Question, RunStore, Transcript, Turn
from transcripts.errors import ConfigError

CONDITIONS = ("consultancy", "debate", "unassisted")


def run_transcripts(
    questions: int = 6, conditions: tuple[str, ...] = CONDITIONS
) -> list[Transcript]:
    """Each question under each condition in both answer orders."""
    out = []
    for q in range(questions):
        question = Question(
            id=f"q{q}",
            text=f"Question {q}?",
            answers=["Yes", "No"],
            correct=q % 2,
            source=f"story-{q // 2}",
        )
        for condition in conditions:
            for order in ([0, 1], [1, 0]):
                out.append(
                    Transcript(
                        id=f"{condition}-q{q}-o{order[0]}{order[1]}",
                        protocol=condition,
                        condition=condition,
                        question=question,
                        answer_order=order,
                        turns=[
                            Turn(
                                role="debater", speaker="Debater A", round=0, content="hi", answer=0
                            )
                        ],
                    )
                )
    return out


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


def test_the_study_is_saved_once_and_cannot_change(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run")
    for t in run_transcripts(questions=2):
        store.transcripts.append(t)
    assert open_study(store, None) is None
    design = StudyDesign(annotators=["ann", "ben"], assignment="between", seed=5)
    study = open_study(store, design)
    assert study is not None and (store.path / STUDY_FILE).is_file()
    assert load_study(store) == study
    assert open_study(store, None) == study == open_study(store, design)
    with pytest.raises(ConfigError, match="a study cannot change once judging began"):
        open_study(store, design.model_copy(update={"seed": 6}))


def test_a_human_table_in_the_experiment_plans_the_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import oversight
    from oversight.cli import main

    root = Path(__file__).parents[2]
    path = tmp_path / "exp.toml"
    path.write_text(
        f'extends = "{root / "examples/quickstart.toml"}"\n'
        'name = "study"\n[dataset]\nloader = "sample"\nlimit = 2\n'
        '[human]\nannotators = ["ann", "ben"]\nassignment = "between"\n'
        'order = "random"\nseed = 9\ntime_limit_s = 120\n'
        'conditions = ["debate", "consultancy"]\n'
    )
    experiment = oversight.load_experiment(path)
    assert experiment.human is not None and experiment.human.assignment == "between"
    run = tmp_path / "run"
    oversight.run_experiment(experiment, out=run, progress=False, summary=False)
    assert not (run / STUDY_FILE).exists()
    assert main(["judge", str(run), "--plan-study"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # wrapped where a long tmp path ends
    assert "between, order random, seed 9, target 1 per transcript, time limit 120 s" in out
    study = load_study(RunStore.open(run))
    assert study is not None and study.design == experiment.human
    assert {s.condition for s in study.assignments["ann"]} == {"debate", "consultancy"}
    # The study stays as planned; options that differ from it are refused with the reason.
    assert main(["judge", str(run), "--plan-study", "--annotators", "ann,cat"]) == 1
    assert "a study cannot change once judging began" in " ".join(capsys.readouterr().err.split())
    # A [human] table with a mistake says where.
    path.write_text(path.read_text().replace('order = "random"', 'order = "shuffled"'))
    with pytest.raises(Exception, match=r"human\.order"):
        oversight.load_experiment(path)


def _study_run(tmp_path: Path, *plan: str) -> str:
    """A run of two questions' transcripts with a study planned for annotator ``ann``."""
    from oversight.cli import main

    store = RunStore.create(tmp_path / "run")
    for t in run_transcripts(questions=2):
        store.transcripts.append(t)
    store.close()
    run = str(tmp_path / "run")
    assert main(["judge", run, "--plan-study", "--annotators", "ann", *plan]) == 0
    return run


def test_session_options_a_study_fixes_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    run = _study_run(tmp_path, "--time-limit", "60")
    capsys.readouterr()
    assert main(["judge", run, "--annotator", "ann", "--time-limit", "30"]) == 1
    assert "--time-limit: this run's study" in " ".join(capsys.readouterr().err.split())
    assert main(["judge", run, "--annotator", "ann", "--all"]) == 1
    assert "your items come from it" in " ".join(capsys.readouterr().err.split())
    assert main(["judge", run, "--annotator", "zed"]) == 1
    assert "'zed' is not in this run's study (annotators: ann)" in " ".join(
        capsys.readouterr().err.split()
    )


def test_an_empty_queue_of_a_study_run_points_at_the_study_not_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    run = _study_run(tmp_path)
    capsys.readouterr()
    assert main(["judge", run, "--annotator", "ann", "--queue"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "the queue is empty" in said
    assert "--all" not in said  # refused on a run with a study
    assert "without --queue" in said


def test_a_design_option_without_a_pool_says_it_plans_a_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    store = RunStore.create(tmp_path / "run")
    for t in run_transcripts(questions=2):
        store.transcripts.append(t)
    store.close()
    # Read as "judge only the debates": --condition is an option of a study's design.
    assert main(["judge", str(tmp_path / "run"), "--annotator", "ann", "--all", "--condition",
                 "debate"]) == 1  # fmt: skip
    said = " ".join(capsys.readouterr().err.split())
    assert "--condition is an option of a study's design" in said
    assert "--annotators" in said and "drop --condition" in said
    assert not (tmp_path / "run" / STUDY_FILE).exists()


def test_transcripts_added_after_planning_are_pointed_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    store = RunStore.create(tmp_path / "run")
    transcripts = run_transcripts(questions=2)
    for t in transcripts[:-2]:
        store.transcripts.append(t)
    run = str(tmp_path / "run")
    assert main(["judge", run, "--plan-study", "--annotators", "ann"]) == 0
    assert "came after the study" not in capsys.readouterr().out
    for t in transcripts[-2:]:
        store.transcripts.append(t)
    store.close()
    assert main(["judge", run, "--plan-study"]) == 0
    assert "2 transcript(s) of the run came after the study" in " ".join(
        capsys.readouterr().out.split()
    )
    # A study of some conditions counts only theirs, and only complete transcripts.
    store = RunStore.create(tmp_path / "some")
    for t in transcripts[:-2]:
        store.transcripts.append(t)
    some = str(tmp_path / "some")
    chosen = transcripts[-1].condition
    plan = ["judge", some, "--plan-study", "--annotators", "ann", "--condition", chosen]
    assert main(plan) == 0
    capsys.readouterr()
    assert {t.condition for t in transcripts[-2:]} == {chosen}
    for t in transcripts[-2:]:
        store.transcripts.append(t)
    last = transcripts[-1]
    store.transcripts.append(last.model_copy(update={"id": "failed", "status": "error"}))
    store.transcripts.append(last.model_copy(update={"id": "other", "condition": "debate"}))
    store.close()
    assert main(["judge", some, "--plan-study"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "2 transcript(s) of the run came after the study" in said


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
    conditions, positions, loads = _spreads(study, by_id)
    assert max(conditions, loads) <= 1, (conditions, loads)
    assert positions <= 2  # the gold answer first at most one item off half the time
    # Still: each person sees each question at most once, each transcript `target` people.
    for slots in study.assignments.values():
        assert len({s.question_id for s in slots}) == len(slots)
    assert set(study.targets().values()) == {target}


def test_a_between_study_planned_after_judging_gives_no_one_a_question_they_judged(
    tmp_path: Path,
) -> None:
    # Adding people later means planning a new study in a copy of the run that keeps the
    # earlier judgments: the planner gave ann, who had judged q0-q2 already, a transcript
    # of each of them again (in another condition), breaking "each question once".
    from transcripts import JudgeIdentity, Judgment

    store = RunStore.create(tmp_path / "run")
    transcripts = run_transcripts()
    for t in transcripts:
        store.transcripts.append(t)
    ann = JudgeIdentity(kind="human", name="pilot", annotator="ann")
    for q in ("q0", "q1", "q2"):
        store.judgments.append(
            Judgment(transcript_id=f"debate-{q}-o01", judge=ann, probabilities=[0.6, 0.4])
        )
    store.judgments.append(Judgment(transcript_id="debate-q3-o01", judge=ann, status="skipped"))
    design = StudyDesign(annotators=["ann", "ben", "cat"], assignment="between", seed=2)
    study = open_study(store, design)
    assert study is not None
    seen = {"q0", "q1", "q2", "q3"}  # a skipped item was shown too
    assert not {s.question_id for s in study.assignments["ann"]} & seen
    assert {s.question_id for s in study.assignments["ann"]} == {"q4", "q5"}
    for person in ("ben", "cat"):  # the others still get every question once
        questions = [s.question_id for s in study.assignments[person]]
        assert sorted(questions) == [f"q{i}" for i in range(6)]
    # The same run without those judgments plans as before: ann gets every question.
    fresh = plan_study(transcripts, design)
    assert len(fresh.assignments["ann"]) == 6


def _copied_without(tmp_path: Path, gone: set[str]) -> tuple[str, Study]:
    """A run with a study for ``ann`` (everything, grouped), copied without the
    transcripts ``gone`` (its study.json kept): the study's list names transcripts the
    copy lacks."""
    from oversight.cli import main

    run = _study_run(tmp_path, "--order", "grouped")
    store = RunStore.open(run)
    study = load_study(store)
    assert study is not None
    copy = RunStore.create(tmp_path / "copy")
    for t in store.transcripts.latest():
        if t.id not in gone:
            copy.transcripts.append(t)
    copy.write_json(STUDY_FILE, study.model_dump(mode="json"))
    store.close()
    copy.close()
    assert main(["judge", str(copy.path), "--plan-study"]) == 0
    return str(copy.path), study


def test_study_items_whose_transcripts_left_the_run_are_named_not_counted_as_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A run copied without some transcripts: those items of the person's list were passed
    # over in silence, and once the rest was judged the session said the list was done.
    from oversight.cli import main
    from transcripts import JudgeIdentity, Judgment

    design = StudyDesign(annotators=["ann"], order="grouped")
    slots = plan_study(run_transcripts(questions=2), design).assignments["ann"]
    gone = {slots[2].transcript_id, slots[7].transcript_id}
    capsys.readouterr()
    run, study = _copied_without(tmp_path, gone)
    assert study.assignments["ann"] == slots
    status = " ".join(capsys.readouterr().out.split())
    # The status table counts them apart: 12 items, 0 done, 2 missing.
    assert re.search(r"│ ann\s+│ 12 │.*│ 0\s+│ 2\s+│", status), status
    assert "2 item(s) of the study lists are missing from the run" in status
    assert "ann: items 3, 8" in status
    store = RunStore.open(run)
    person = JudgeIdentity(kind="human", name="human", annotator="ann")
    for slot in slots:
        if slot.transcript_id not in gone:
            store.judgments.append(
                Judgment(transcript_id=slot.transcript_id, judge=person, probabilities=[0.6, 0.4])
            )
    store.close()
    capsys.readouterr()
    assert main(["judge", run, "--annotator", "ann"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "your study list is done" not in said
    assert "2 item(s) of your study list cannot be shown" in said
    for n in (3, 8):
        tid = slots[n - 1].transcript_id
        assert f"item {n} ({tid})" in said
    assert "transcript is not in the run" in said
    assert "restore" in said and "plan a new study in a copy" in said
    assert main(["judge", run, "--plan-study"]) == 0
    status = " ".join(capsys.readouterr().out.split())
    assert re.search(r"│ ann\s+│ 12 │.*│ 10\s+│ 2\s+│", status), status


def test_a_study_plan_names_the_items_it_cannot_serve(tmp_path: Path) -> None:
    # plan(study=...) returned only the items to serve: a caller planning a study session
    # through it lost the items whose transcripts left the run (the terminal had to go
    # around it to name them).
    from judges.session import Missing, plan

    design = StudyDesign(annotators=["ann"], order="grouped")
    slots = plan_study(run_transcripts(questions=2), design).assignments["ann"]
    gone = {slots[2].transcript_id, slots[7].transcript_id}
    run, study = _copied_without(tmp_path, gone)
    store = RunStore.open(run)
    items = plan(store, annotator="ann", study=study)
    assert [i.number for i in items] == [n for n in range(1, 13) if n not in (3, 8)]
    assert items.missing == [Missing(3, slots[2].transcript_id), Missing(8, slots[7].transcript_id)]
    store.close()
