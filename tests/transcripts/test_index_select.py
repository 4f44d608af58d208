"""Choosing transcripts through the run store's index: ``show``, ``--where`` and ``--condition``
read only what they show, and select what matching each transcript selects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import Planted, RunStore
from transcripts.errors import CorruptRecordError

from .factories import debate, judgment, question, records_read
from .index_helpers import _write


def test_show_lists_and_shows_from_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 30)
    store.judgments.append(judgment(id="j1", transcript_id="t001"))
    store.close()
    # A record that is valid JSON but not a valid transcript, far from the rows shown:
    # listing the first rows and showing one transcript never read it.
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[25])
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[25] = json.dumps(bad, separators=(",", ":")) + "\n"
    assert len(lines[25]) == len(log.read_text().splitlines(keepends=True)[25])
    log.write_text("".join(lines))
    assert main(["show", str(tmp_path), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "30 transcript(s) (first 3 shown" in out
    assert main(["show", str(tmp_path), "t001"]) == 0
    assert "judgments" in capsys.readouterr().out
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(RunStore.open(tmp_path).transcripts.latest())


def test_a_where_on_the_question_reads_only_that_questions_transcripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--where`` on the question's own fields (id, source, dataset, ``question.KEY``) is
    matched once per stored question by the fast read: a spoilt transcript of another
    question is never read in full; one of the chosen question still is, and is an error.
    Nor is one left out by the ids asked for."""
    from oversight.runner._select import select_transcripts

    store = RunStore.create(tmp_path)
    _write(store, 30)  # t000, t002, ... on q0; t001, t003, ... on q1
    store.close()
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[25])  # t025, on q1
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[25] = json.dumps(bad, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))
    assert main(["show", str(tmp_path), "--where", "question=q0", "--limit", "3"]) == 0
    assert "15 transcript(s) (first 3 shown" in capsys.readouterr().out
    chosen = select_transcripts(RunStore.open(tmp_path), where=["question!=q1", "source=story-7"])
    assert [t.id for t in chosen] == [f"t{i:03d}" for i in range(0, 30, 2)]
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(select_transcripts(RunStore.open(tmp_path), where=["question=q1"]))
    # Transcripts asked for by id: no other is read either.
    asked = select_transcripts(RunStore.open(tmp_path), ids=["t001", "t021", "t020"])
    assert [t.id for t in asked] == ["t001", "t020", "t021"]


def test_a_condition_is_chosen_and_counted_in_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``show --condition C --limit N`` counts C's transcripts in the index and reads only
    the N shown; choosing a condition reads none of another's. A record of the other
    condition that is not a valid transcript shows both: it is never read."""
    from oversight.runner import select_transcripts

    store = RunStore.create(tmp_path)
    q = question(id="q0")
    for i in range(30):
        condition = "debate" if i % 3 else "consultancy"  # 20 and 10
        store.transcripts.append(debate(id=f"t{i:03d}", question=q, condition=condition))
    store.transcripts.append(debate(id="t003", question=q, condition="consultancy"))  # again
    store.close()
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[27])  # t027, a consultancy transcript, the 10th of its condition
    assert bad["condition"] == "consultancy"
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[27] = json.dumps(bad, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))

    assert main(["show", str(tmp_path), "--condition", "debate", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 transcript(s) (first 3 shown" in out
    assert [i for i in ("t001", "t002", "t004", "t005") if f" {i} " in out] == [
        "t001",
        "t002",
        "t004",
    ]
    assert main(["show", str(tmp_path), "--condition", "consultancy", "--limit", "2"]) == 0
    assert "10 transcript(s) (first 2 shown" in capsys.readouterr().out
    both = ["show", str(tmp_path), "--condition", "debate", "--condition", "consultancy"]
    assert main([*both, "--limit", "5"]) == 0
    assert "30 transcript(s) (first 5 shown" in capsys.readouterr().out
    chosen = list(select_transcripts(RunStore.open(tmp_path), conditions=["debate"]))
    assert [t.id for t in chosen] == [f"t{i:03d}" for i in range(30) if i % 3]
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(select_transcripts(RunStore.open(tmp_path), conditions=["consultancy"]))
    assert main(["show", str(tmp_path), "--condition", "debat", "--limit", "3"]) != 0
    err = capsys.readouterr().err
    assert "'debat': no such condition in this run; its conditions: consultancy, debate" in err


@pytest.mark.parametrize(
    "clauses",
    [
        ["status=error"],
        ["transcript_status=complete"],
        ["condition=debate", "status=complete"],
        ["condition=debate", "condition=consultancy"],
        ["condition!=debate"],
        ["status!=error", "condition=consultancy"],
        ["status=true"],
        ["status=null"],
        ["condition="],
        ["status=Error"],
        ["condition=debate", "question=q1"],
        # The question's own fields, found by the fast read of each stored question:
        ["question=q1"],
        ["question=q0"],
        ["question!=q1"],
        ["question=q1", "question=q2"],
        ["question=nope"],
        ["source=s0", "condition=debate"],
        ["dataset=null"],
        ["dataset=sample"],
        ["question.level=2"],
        ["question.level=null", "status=complete"],
        ["question.level=2.0", "source!=s1"],
        # The transcript's own fields and metadata, decided by the same fast read:
        ["setup=o0"],
        ["metadata.flag=true", "condition!=debate"],
        ["flag=false", "question=q1"],
        ["level=1"],
        ["repeat=0", "protocol=debate"],
        ["id=t004"],
        ["run_id=null"],
        ["gold_position=0", "setup=o1"],
        # Fields computed from the answer order, the assignment, the first choice or the
        # planted adversary, by the model's own rules:
        ["gold_position=1"],
        ["side=correct"],
        ["side!=incorrect", "condition=consultancy"],
        ["chooser=right"],
        ["chooser=null"],
        ["persona=liar"],
        ["persona=null", "gold_position=0"],
        # A question's clause decided once per stored question, beside a record's clause:
        ["question.level=2", "side=correct"],
        ["question!=q0", "flag=true", "gold_position=1"],
    ],
)
def test_clauses_the_index_answers_select_what_matching_each_transcript_selects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clauses: list[str]
) -> None:
    """A condition or status chosen in the index, or transcripts chosen by the fast read of
    their fields and stored question, are the same selection as the clause matched on each
    transcript (the rule of ``transcripts.filters``), also where a later record of an id
    changed its status, question and metadata; ``show`` counts the same number."""
    from oversight.runner._select import (
        candidates,
        field_value,
        select_transcripts,
    )
    from transcripts.filters import parse_where

    store = RunStore.create(tmp_path)
    liar = Planted(persona="liar", role="debater", speakers=["Debater B"])
    for i in range(24):
        store.transcripts.append(
            debate(
                [1, 0] if i % 4 == 1 else None,
                id=f"t{i:03d}",
                assignment={"Consultant": i % 2}
                if i % 6 == 2
                else {"Debater A": 0, "Debater B": 1},
                planted=liar if i % 7 == 3 else None,
                question=question(
                    id=f"q{i % 3}",
                    source=f"s{i % 2}",
                    dataset=None if i % 5 == 0 else "sample",
                    metadata={} if i % 7 == 0 else {"level": i % 3},
                ),
                condition=["debate", "consultancy", ""][i % 3],
                status="error" if i % 4 == 0 else "complete",
                metadata={"setup": f"o{i % 2}", "flag": i % 3 == 0}
                | ({"first_choice": i % 2} if i % 5 < 2 else {}),
            )
        )
    again = debate(
        id="t004", question=question(id="q0"), condition="consultancy", metadata={"setup": "o1"}
    )
    store.transcripts.append(again)  # t004 failed on q1, then completed on q0: it wins
    store.close()
    every = list(RunStore.open(tmp_path).transcripts.latest())
    filters = parse_where(clauses)
    by_hand = [t.id for t in every if all(f.accepts(field_value(t, f.field)) for f in filters)]
    chosen = select_transcripts(RunStore.open(tmp_path), where=clauses)
    assert [t.id for t in chosen] == by_hand
    # What is known before any read: every entry the fast read is sure of passes.
    found = candidates(RunStore.open(tmp_path), where=clauses)
    sure = {e.id for e in found.entries} - (found.unsure or set())
    assert found.unsure is not None and sure <= set(by_hand)
    where = [a for clause in clauses for a in ("--where", clause)]
    with pytest.MonkeyPatch.context() as patch:
        read = records_read(patch, "transcripts.jsonl")
        assert main(["show", str(tmp_path), *where, "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(by_hand)} transcript(s)" in out
    # show reads the rows it shows and, beyond them, only what the fast read was unsure of.
    assert len(read) <= 2 + len(found.unsure or ())


def test_show_counts_judgments_alike_with_and_without_a_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 6)
    for n, t in enumerate(["t001", "t001", "t002"]):
        store.judgments.append(judgment(id=f"j{n}", transcript_id=t))
    store.judgments.append(judgment(id="j0", transcript_id="t001"))  # j0 again: counted once
    store.close()

    def rows(*args: str) -> dict[str, str]:
        assert main(["show", str(tmp_path), *args]) == 0
        lines = capsys.readouterr().out.splitlines()
        return {i: line for line in lines for i in ("t001", "t002", "t003") if f" {i} " in line}

    plain = rows("--limit", "4")
    filtered = rows("--where", "status=complete", "--limit", "0")
    assert plain == filtered and len(plain) == 3
    cells = [c.strip() for c in plain["t001"].split("│")]
    # j1 and j0 are one judge's of t001: the later (j0) replaced j1, which the report leaves out.
    assert cells[7] == "2 (1 not counted)"
    assert [c.strip() for c in plain["t003"].split("│")][7] == "0"
