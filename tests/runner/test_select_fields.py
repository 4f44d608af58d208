"""One list of built-in transcript fields (:data:`transcripts.filters.TRANSCRIPT_FIELDS`):
``show`` / ``rejudge`` (``oversight.runner._select``) and the report (``oversight.analysis``)
select the same transcripts for the same ``--where`` clause."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from oversight.analysis import analyze
from oversight.runner._select import BUILTIN, select_transcripts
from transcripts import RunStore
from transcripts.filters import TRANSCRIPT_FIELDS, canonical, transcript_field

V1_RUN = Path(__file__).parents[1] / "data" / "runs" / "v1-quickstart"
"""A finished quickstart run: one ok judgment by one judge per transcript."""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of :data:`V1_RUN` (reading a run writes its index sidecars)."""
    copy = tmp_path_factory.mktemp("v1") / "run"
    shutil.copytree(V1_RUN, copy)
    return copy


def test_show_and_the_report_select_the_same_transcripts_for_every_field(run: Path) -> None:
    store = RunStore.open(run)
    transcripts = list(store.transcripts.latest())
    assert set(TRANSCRIPT_FIELDS) <= set(BUILTIN)
    clauses = 0
    for name in TRANSCRIPT_FIELDS:
        counts = Counter(transcript_field(t, name) for t in transcripts)
        for value in counts:
            text = value if isinstance(value, str) else canonical(value)
            shown = {t.id for t in select_transcripts(store, where=[f"{name}={text}"])}
            assert shown == {t.id for t in transcripts if transcript_field(t, name) == value}
            clauses += 1
        # The report groups by the field into the same parts (one judgment a transcript).
        groups = analyze(run, by=[name], n_bootstrap=1).groups
        assert sorted(g.n_transcripts for g in groups) == sorted(counts.values()), name
    store.close()
    assert clauses > len(TRANSCRIPT_FIELDS)  # some fields hold several values


def test_the_field_values_of_a_consultancy(run: Path) -> None:
    store = RunStore.open(run)
    consultancy = next(t for t in store.transcripts.latest() if t.protocol == "consultancy")
    store.close()
    gold = consultancy.question.correct
    assert gold is not None
    argued = next(iter(consultancy.assignment.values()))
    assert transcript_field(consultancy, "side") == ("correct" if argued == gold else "incorrect")
    assert transcript_field(consultancy, "gold_position") == consultancy.order.index(gold)
    assert transcript_field(consultancy, "persona") is None  # nothing planted
    assert transcript_field(consultancy, "question") == consultancy.question.id


def test_filter_names_are_read_alike_from_the_blocks_and_through_the_store(
    tmp_path: Path, run: Path
) -> None:
    """The metadata keys a ``--where`` may name are read from a few fields of each line (no
    transcript kept); where that read gives up (a torn tail here, an older schema in the v1
    run) the store's reader gives the same names. The conditions come from the index."""
    import warnings

    from oversight.runner._select import _names
    from transcripts import TornRecordWarning
    from transcripts.errors import ConfigError
    from transcripts.filters import check_conditions

    from ..transcripts.factories import debate, question

    store = RunStore.create(tmp_path / "new")
    for i in range(6):  # questions stored once, by reference, with their metadata
        q = question(id=f"q{i % 2}", metadata={"difficulty": "hard" if i % 2 else "easy"})
        meta = {"setup": f"s{i}"} | ({"note": "x"} if i == 4 else {})
        store.transcripts.append(
            debate(id=f"t{i}", question=q, condition="debate" if i < 4 else "other", metadata=meta)
        )
    fast = _names(store.transcripts)
    assert (fast.metadata, fast.question) == ({"setup", "note"}, {"difficulty"})
    with pytest.raises(ConfigError, match=r"'debat': no such condition.*: debate, other \("):
        check_conditions(store, ["debate", "debat"])
    hard = select_transcripts(store, where=["difficulty=hard"], conditions=["debate"])
    assert [t.id for t in hard] == ["t1", "t3"]
    with pytest.raises(ConfigError, match=r"unknown field 'dificulty'.*difficulty, note, setup"):
        list(select_transcripts(store, where=["dificulty=hard"]))
    store.close()
    with open(tmp_path / "new" / "transcripts.jsonl", "ab") as f:
        f.write(b'{"id": "torn", "condi')  # a crash mid-line
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TornRecordWarning)
        careful = _names(RunStore.open(tmp_path / "new").transcripts)
    assert careful == fast

    old = RunStore.open(run)  # schema 1: read through the store's reader
    transcripts = list(old.transcripts.latest())
    names = _names(old.transcripts)
    conditions = ", ".join(sorted({t.condition for t in transcripts}))
    with pytest.raises(ConfigError, match=f"conditions: {re.escape(conditions)} \\("):
        check_conditions(old, ["nothing"])
    assert names.metadata == {k for t in transcripts for k in t.metadata}
    assert names.question == {k for t in transcripts for k in t.question.metadata}
    old.close()


def test_a_line_written_without_a_status_is_selected_by_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A transcript line written by hand or another tool without ``status`` reads as
    ``complete`` (the model's default): ``--where status=complete`` (answered by the index)
    selects it, as matching each transcript and the report do."""
    import json

    from oversight.cli import main
    from oversight.runner._select import field_value, parse_filters

    from ..transcripts.factories import debate

    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="t0"))
    store.transcripts.append(debate(id="t1", status="error"))
    store.close()
    line = json.loads(debate(id="t2").model_dump_json())
    del line["status"]
    with open(tmp_path / "transcripts.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    store = RunStore.open(tmp_path)
    everything = list(store.transcripts.latest())
    for clause in ("status=complete", "transcript_status=complete", "status!=error"):
        (where,) = parse_filters([clause])
        wanted = [t.id for t in everything if where.accepts(field_value(t, where.field))]
        assert wanted == ["t0", "t2"]
        assert [t.id for t in select_transcripts(store, where=[clause])] == wanted, clause
    store.close()
    assert main(["show", str(tmp_path), "--where", "status=complete"]) == 0
    assert "2 transcript(s)" in capsys.readouterr().out
