"""A study in a run: saved once, planned from the experiment and the CLI, the options it
fixes, earlier judgments, and transcripts added to or gone from the run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from judges.study import STUDY_FILE, Study, StudyDesign, load_study, open_study, plan_study
from transcripts import RunStore
from transcripts.errors import ConfigError

from .helpers import run_transcripts


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
