"""Dataset loaders on small files the tests write themselves (nothing is downloaded)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from oversight.datasets import (
    GenericSpec,
    GPQASpec,
    MMLUSpec,
    NYUSpec,
    QualitySpec,
    SampleSpec,
    load_questions,
)
from transcripts import Question, RunStore, Transcript
from transcripts.errors import DatasetError


def test_sample_has_twelve_questions_over_four_stories() -> None:
    questions = load_questions(SampleSpec())
    assert len(questions) == 12
    assert len({q.source for q in questions}) == 4
    for q in questions:
        assert q.context and q.correct is not None and len(q.answers) == 2
    assert {q.correct for q in questions} == {0, 1}  # the gold is not always first


def test_common_filters_shuffle_cap_per_source_and_limit() -> None:
    picked = load_questions(SampleSpec(shuffle=True, seed=3, max_per_source=1, limit=3))
    assert len(picked) == 3
    assert len({q.source for q in picked}) == 3
    again = load_questions(SampleSpec(shuffle=True, seed=3, max_per_source=1, limit=3))
    assert [q.id for q in again] == [q.id for q in picked]
    only = load_questions(SampleSpec(ids=["saltroad-2", "seedvault-1"]))
    assert [q.id for q in only] == ["saltroad-2", "seedvault-1"]
    with pytest.raises(DatasetError, match="nope"):
        load_questions(SampleSpec(ids=["nope"]))


def _quality_article(article_id: str, questions: list[dict[str, object]]) -> dict[str, object]:
    return {
        "article_id": article_id,
        "set_unique_id": f"{article_id}_set",
        "title": "T",
        "article": "Once upon a time there was a lighthouse.",
        "questions": questions,
    }


def _quality_question(qid: str, gold: int, difficult: int, best: int) -> dict[str, object]:
    return {
        "question": f"Question {qid}?",
        "options": ["w", "x", "y", "z"],
        "gold_label": gold,
        "question_unique_id": qid,
        "difficult": difficult,
        "validation": [
            {"untimed_best_distractor": best},
            {"untimed_best_distractor": best},
            {"untimed_best_distractor": 1},
        ],
    }


def test_quality_hard_subset_best_distractor_and_cap_per_article(tmp_path: Path) -> None:
    path = tmp_path / "QuALITY.dev"
    articles = [
        _quality_article(
            "a1",
            [
                _quality_question("a1q1", 2, 1, 4),
                _quality_question("a1q2", 1, 0, 3),
                _quality_question("a1q3", 3, 1, 1),
            ],
        ),
        _quality_article("a2", [_quality_question("a2q1", 4, 1, 2)]),
    ]
    path.write_text("\n".join(json.dumps(a) for a in articles) + "\n")
    everything = load_questions(QualitySpec(path=path))
    assert [q.id for q in everything] == ["a1q1", "a1q2", "a1q3", "a2q1"]
    first = everything[0]
    assert first.correct == 1 and first.answers == ["w", "x", "y", "z"]
    assert first.source == "a1" and first.context and first.dataset == "quality"
    hard = load_questions(QualitySpec(path=path, hard=True, max_per_source=1, answers=2))
    assert [q.id for q in hard] == ["a1q1", "a2q1"]
    # gold (x) and the annotators' best distractor (z), in their original relative order
    assert hard[0].answers == ["x", "z"] and hard[0].correct == 0
    assert hard[1].answers == ["x", "z"] and hard[1].correct == 1


def test_quality_file_problems_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(_quality_article("a1", [])) + "\n{broken\n")
    with pytest.raises(DatasetError, match=r"q.jsonl:2: not a QuALITY article"):
        load_questions(QualitySpec(path=path))
    with pytest.raises(DatasetError, match="does not exist"):
        load_questions(QualitySpec(path=tmp_path / "absent.jsonl"))


def test_gpqa_shuffles_the_gold_out_of_first_place(tmp_path: Path) -> None:
    path = tmp_path / "gpqa_main.csv"
    columns = [
        "Record ID",
        "Question",
        "Correct Answer",
        "Incorrect Answer 1",
        "Incorrect Answer 2",
        "Incorrect Answer 3",
        "High-level domain",
        "Subdomain",
        "Explanation",
    ]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for i in range(12):
            domain = "Physics" if i % 2 else "Chemistry"
            writer.writerow(
                [
                    f"rec{i}",
                    f"Q{i}?",
                    "right",
                    "wrong1",
                    "wrong2",
                    "wrong3",
                    domain,
                    f"{domain} sub",
                    "because",
                ]
            )
    questions = load_questions(GPQASpec(path=path))
    assert len(questions) == 12
    for q in questions:
        assert q.answers[q.correct or 0] == "right"
    assert {q.correct for q in questions} != {0}
    physics = load_questions(GPQASpec(path=path, domains=["Physics"], answers=2))
    assert len(physics) == 6 and all(len(q.answers) == 2 for q in physics)
    assert all(q.source == "Physics sub" for q in physics)
    assert all("right" in q.answers for q in physics)


def test_mmlu_csv_folder_and_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "test"
    folder.mkdir()
    for subject in ("astronomy", "virology"):
        with open(folder / f"{subject}_test.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["What?", "a", "b", "c", "d", "C"])
            writer.writerow(["Why?", "a", "b", "c", "d", "A"])
    questions = load_questions(MMLUSpec(path=folder))
    assert [q.source for q in questions] == ["astronomy"] * 2 + ["virology"] * 2
    assert [q.correct for q in questions] == [2, 0, 2, 0]
    only = load_questions(MMLUSpec(path=folder, subjects=["virology"]))
    assert {q.source for q in only} == {"virology"}

    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pyarrow.table(
        {
            "question": ["Q?"],
            "subject": ["anatomy"],
            "choices": [["p", "q", "r", "s"]],
            "answer": [3],
        }
    )
    pq.write_table(table, tmp_path / "mmlu.parquet")
    parquet = load_questions(MMLUSpec(path=tmp_path / "mmlu.parquet"))
    assert parquet[0].answers == ["p", "q", "r", "s"] and parquet[0].correct == 3
    assert parquet[0].source == "anatomy"


def test_generic_jsonl_and_csv_with_a_field_mapping(tmp_path: Path) -> None:
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "qid": "1",
                    "prompt": "Which?",
                    "opts": ["red", "blue"],
                    "label": "blue",
                    "doc": {"id": "d1", "text": "The sky is blue."},
                },
                {
                    "qid": "2",
                    "prompt": "Other?",
                    "opts": ["up", "down"],
                    "label": "up",
                    "doc": {"id": "d1", "text": "Up it goes."},
                },
            ]
        )
        + "\n"
    )
    spec = GenericSpec(
        loader="jsonl",
        path=jsonl,
        fields={
            "id": "qid",
            "text": "prompt",
            "answers": "opts",
            "correct": "label",
            "context": "doc.text",
            "source": "doc.id",
        },
    )
    questions = load_questions(spec)
    assert [(q.id, q.correct, q.source) for q in questions] == [("1", 1, "d1"), ("2", 0, "d1")]
    assert questions[0].context == "The sky is blue." and questions[0].dataset == "mine"

    table = tmp_path / "mine.csv"
    table.write_text("question,a,b,gold\nWhich?,red,blue,B\n")
    spec = GenericSpec(
        loader="csv",
        path=table,
        fields={"answers": ["a", "b"], "correct": "gold", "id": None, "context": None},
    )
    [only] = load_questions(spec)
    assert only.answers == ["red", "blue"] and only.correct == 1 and only.id == "mine-2"

    table.write_text("question,answers,gold\nWhich?,red|blue,7\n")
    spec = GenericSpec(loader="csv", path=table, fields={"correct": "gold"})
    with pytest.raises(DatasetError, match=r"mine.csv:2: .*correct=7"):
        load_questions(spec)


def test_nyu_questions_from_an_imported_run(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "nyu")
    question = Question(
        id="story-1:q",
        text="Who?",
        answers=["A", "B"],
        correct=1,
        context="story",
        source="story-1",
    )
    for room in ("r1", "r2"):
        store.transcripts.append(Transcript(id=room, protocol="debate", question=question))
    store.close()
    questions = load_questions(NYUSpec(path=tmp_path / "nyu"))
    assert questions == [question]


def test_nyu_questions_from_the_real_dataset(nyu_data: Path) -> None:
    questions = load_questions(NYUSpec(path=nyu_data, max_per_source=1))
    assert len(questions) == len({q.source for q in questions}) > 50
    assert all(q.context and q.correct is not None and len(q.answers) == 2 for q in questions)


def test_files_saved_with_a_byte_order_mark_read_as_written(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" and Windows editors start a file with a BOM (U+FEFF)."""
    bom = "\ufeff"
    table = tmp_path / "excel.csv"
    table.write_text(bom + "id,question,answers,correct\nq1,Which?,red|blue,1\n", "utf-8")
    lines = tmp_path / "notepad.jsonl"
    row = {"id": "j1", "question": "Which?", "answers": ["red", "blue"], "correct": 0}
    lines.write_text(bom + json.dumps(row) + "\n", "utf-8")
    [from_csv] = load_questions(GenericSpec(loader="csv", path=table))
    assert (from_csv.id, from_csv.text, from_csv.correct) == ("q1", "Which?", 1)  # (was "excel-2")
    [from_jsonl] = load_questions(GenericSpec(loader="jsonl", path=lines))  # (was refused)
    assert from_jsonl.id == "j1"


def test_a_field_named_in_the_mapping_that_no_record_has_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "mine.csv"
    table.write_text("qid,question,answers,gold,story\n1,Which?,red|blue,1,s1\n2,Why?,a|b,0,s1\n")
    fields = {"id": "qid", "correct": "answer", "source": "stroy", "context": "text"}
    with pytest.raises(DatasetError) as caught:  # (was: loaded with no gold, no source)
        load_questions(GenericSpec(loader="csv", path=table, fields=fields))
    said = str(caught.value)
    for key, name in (("correct", "answer"), ("source", "stroy"), ("context", "text")):
        assert f"dataset.fields.{key} = {name!r}" in said
    assert "qid, question, answers, gold, story" in said and "dataset.fields.id" not in said
    fields = {"id": "qid", "correct": "gold", "source": "story"}
    loaded = load_questions(GenericSpec(loader="csv", path=table, fields=fields))
    assert [(q.correct, q.source) for q in loaded] == [(1, "s1"), (0, "s1")]


def test_a_digit_that_is_not_a_decimal_digit_is_named_not_a_traceback(tmp_path: Path) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: the loaders took such a gold for an
    index (the CSV loader said "invalid literal for int()", MMLU's crashed with a ValueError);
    it is now read as text and named in the error."""
    table = tmp_path / "mine.csv"
    table.write_text("question,answers,gold\nWhich?,red|blue,²\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: gold '²' is not one of the answers"):
        load_questions(GenericSpec(loader="csv", path=table, fields={"correct": "gold"}))
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "astronomy_test.csv").write_text("What?,a,b,c,d,³\n")
    with pytest.raises(DatasetError, match=r"answer '³' is not a letter A-D or an index 0-3"):
        load_questions(MMLUSpec(path=folder))


def test_an_empty_file_is_named_as_empty_not_as_over_filtered(tmp_path: Path) -> None:
    empty = tmp_path / "mine.jsonl"
    empty.write_text("")
    with pytest.raises(DatasetError) as raised:
        load_questions(GenericSpec(loader="jsonl", path=empty))
    said = str(raised.value)
    assert "mine.jsonl" in said and "no questions" in said and "filters" not in said


def test_a_csv_row_with_too_few_or_too_many_cells_is_refused_at_its_line(tmp_path: Path) -> None:
    """A short row read its missing cells as the answer "None"; a long one crashed with a
    TypeError or lost its extra cell. A row of empty cells (a spreadsheet's trailing rows)
    is skipped like a blank line; lines are the file's, multi-line cells counted."""
    table = tmp_path / "mine.csv"
    header = "id,question,a,b\n"
    table.write_text(header + 'q1,"two\nlines",x,y\n\n,,,\nq2,what,x\n')
    spec = GenericSpec(loader="csv", path=table, fields={"answers": ["a", "b"]})
    with pytest.raises(DatasetError, match=r"mine.csv:6: field 'b' has no value"):
        load_questions(spec)
    table.write_text(header + "q1,what,x,y,z\n")
    spec = GenericSpec(loader="csv", path=table, fields={"answers": ["a", "b"], "source": "s"})
    with pytest.raises(DatasetError, match=r"mine.csv:2: 5 cells where the header has 4"):
        load_questions(spec)
    table.write_text(header + 'q1,"two\nlines",x,y\n,,,\n')
    [only] = load_questions(GenericSpec(loader="csv", path=table, fields={"answers": ["a", "b"]}))
    assert (only.id, only.answers) == ("q1", ["x", "y"])
    # A row that leaves out only a trailing cell it does not need (no context) loads.
    table.write_text("id,question,answers,correct,context\nq1,What?,x|y,0\nq2,Why?,x|y,1,c\n")
    loaded = load_questions(GenericSpec(loader="csv", path=table))
    assert [(q.id, q.context) for q in loaded] == [("q1", None), ("q2", "c")]
    lines = tmp_path / "mine.jsonl"
    lines.write_text(json.dumps({"question": "Which?", "answers": ["x", None]}) + "\n")
    with pytest.raises(DatasetError, match=r"mine.jsonl:1: answer 1 is empty"):
        load_questions(GenericSpec(loader="jsonl", path=lines))
    lines.write_text(json.dumps({"question": None, "answers": ["x", "y"]}) + "\n")
    with pytest.raises(DatasetError, match=r"mine.jsonl:1: field 'question' has no value"):
        load_questions(GenericSpec(loader="jsonl", path=lines))


def test_a_question_id_given_twice_names_both_lines(tmp_path: Path) -> None:
    lines = tmp_path / "mine.jsonl"
    rows = [{"id": "q1", "question": q, "answers": ["x", "y"], "correct": 0} for q in "ab"]
    lines.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    with pytest.raises(DatasetError, match=r"mine.jsonl:3: question id 'q1' again \(first at"):
        load_questions(GenericSpec(loader="jsonl", path=lines))


def test_a_gold_that_reads_as_two_different_answers_is_refused(tmp_path: Path) -> None:
    """With ``correct_format = "auto"``, a gold "1" among the answers "1" and "2" was taken
    for index 1 (the answer "2"), and "A" among "B" and "A" for the letter A (the answer
    "B"): silently the wrong gold. Now the file is refused until the format is said."""
    table = tmp_path / "mine.csv"
    table.write_text("id,question,answers,correct\nq1,2-1?,1|2,1\nq2,Which?,B|A,A\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: gold '1' .*correct_format"):
        load_questions(GenericSpec(loader="csv", path=table))
    text = load_questions(GenericSpec(loader="csv", path=table, correct_format="text"))
    assert [q.correct for q in text] == [0, 1]
    table.write_text("id,question,answers,correct\nq1,Which?,B|A,A\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: gold 'A' .*correct_format"):
        load_questions(GenericSpec(loader="csv", path=table))
    # Read either way to the same answer, or an integer in JSON: as before.
    table.write_text("id,question,answers,correct\nq1,Which?,0|1,1\nq2,Which?,A|B,B\n")
    assert [q.correct for q in load_questions(GenericSpec(loader="csv", path=table))] == [1, 1]
    lines = tmp_path / "mine.jsonl"
    lines.write_text(json.dumps({"question": "2-1?", "answers": ["1", "2"], "correct": 1}) + "\n")
    [only] = load_questions(GenericSpec(loader="jsonl", path=lines))
    assert only.correct == 1


def test_a_gpqa_problem_names_the_line_it_is_on(tmp_path: Path) -> None:
    """GPQA's questions span lines; errors named the record's count plus one instead, and a
    short row crashed with an AttributeError."""
    table = tmp_path / "gpqa.csv"
    header = "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\n"
    table.write_text(header + '"one\ntwo\nthree",a,b,c,d\nq,a,b,,d\n')
    with pytest.raises(DatasetError, match=r"gpqa.csv:5: empty question or answer"):
        load_questions(GPQASpec(path=table))
    table.write_text(header + "q,a,b\n")
    with pytest.raises(DatasetError, match=r"gpqa.csv:2: empty question or answer"):
        load_questions(GPQASpec(path=table))


def test_mmlu_names_the_line_a_problem_is_on_and_skips_blank_lines(tmp_path: Path) -> None:
    """MMLU's own files have questions that span lines: errors named the row count, a
    blank line at the end was "got 0 columns", a short row under a header an IndexError,
    and an answer "CD" was read as C."""
    table = tmp_path / "astronomy_test.csv"
    table.write_text('"Which\nplanet\nis red?",a,b,c,d,A\n\nWhat?,a,b,c,d,B\n\n')
    loaded = load_questions(MMLUSpec(path=table))
    assert [(q.text, q.correct) for q in loaded] == [("Which\nplanet\nis red?", 0), ("What?", 1)]
    table.write_text('"Which\nplanet\nis red?",a,b,c,d,A\nWhat?,a,b,c,d,E\n')
    with pytest.raises(DatasetError, match=r"astronomy_test.csv:4: answer 'E' is not a letter"):
        load_questions(MMLUSpec(path=table))
    headed = tmp_path / "mine.csv"
    headed.write_text("question,A,B,C,D,answer\nWhat?,a,b,c\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: expected 6 columns .* got 4"):
        load_questions(MMLUSpec(path=headed))
    headed.write_text("question,A,B,C,D,answer\nWhat?,a,b,c,d,CD\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: answer 'CD' is not a letter A-D"):
        load_questions(MMLUSpec(path=headed))


def test_a_gold_that_is_not_the_format_named_says_so(tmp_path: Path) -> None:
    """``correct_format = "index"`` with a letter said "invalid literal for int() with base
    10"; a JSON ``true`` was read as index 1; pandas' ``1.0`` was not one of the answers."""
    table = tmp_path / "mine.csv"
    table.write_text("id,question,answers,correct\nq1,Which?,red|blue,B\n")
    with pytest.raises(DatasetError, match=r"mine.csv:2: gold 'B' is not a whole number"):
        load_questions(GenericSpec(loader="csv", path=table, correct_format="index"))
    lines = tmp_path / "mine.jsonl"
    row = {"id": "q1", "question": "Which?", "answers": ["red", "blue"], "correct": True}
    lines.write_text(json.dumps(row) + "\n")
    with pytest.raises(DatasetError, match=r"mine.jsonl:1: gold True is not one of the answers"):
        load_questions(GenericSpec(loader="jsonl", path=lines))
    lines.write_text(json.dumps({**row, "correct": 1.0}) + "\n")
    [only] = load_questions(GenericSpec(loader="jsonl", path=lines))
    assert only.correct == 1
    lines.write_text(json.dumps({**row, "correct": 2.0}) + "\n")
    [only] = load_questions(GenericSpec(loader="jsonl", path=lines, correct_format="index1"))
    assert only.correct == 1
