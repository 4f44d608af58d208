"""Reading the store, the final-judgment rule, escalations, agreement and debater ratings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from judges import pending_escalations
from oversight.analysis import analyze, cohens_kappa, krippendorff_alpha
from oversight.analysis._data import JudgmentRow, _judgments, _latest, load
from oversight.analysis._fields import field_codes
from transcripts import Escalation, JudgeIdentity, Judgment, TornRecordWarning
from transcripts.errors import CorruptRecordError

from .helpers import RunBuilder


def test_one_pass_dedup_agrees_with_the_store(run: RunBuilder) -> None:
    t = run.item("q", 0.8)
    base = Judgment(
        transcript_id=t.id, judge=JudgeIdentity(kind="llm", name="x"), probabilities=[0.6, 0.4]
    )
    failed = base.model_copy(update={"status": "failed", "probabilities": None})
    later = base.model_copy(update={"probabilities": [0.1, 0.9]})
    other = Judgment(transcript_id=t.id, judge=JudgeIdentity(kind="llm", name="y"), status="failed")
    for record in (base, other, failed, later, other):
        run.store.judgments.append(record)
    rows = _judgments(run.store.judgments.path, JudgmentRow, Judgment)
    ours = [(j.id, j.status, j.probabilities) for j in _latest(rows)]
    theirs = [(j.id, j.status, j.probabilities) for j in run.store.judgments.latest()]
    assert sorted(ours, key=str) == sorted(theirs, key=str)
    assert (base.id, "ok", [0.1, 0.9]) in ours  # ok beats failed; last of equals wins


def test_a_torn_tail_is_skipped_and_a_corrupt_line_refused(run: RunBuilder) -> None:
    run.item("q", 0.8)
    with open(run.store.judgments.path, "ab") as f:
        f.write(b'{"id": "half a rec')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze(run.path, n_bootstrap=20)
    assert result.totals.scored == 1
    assert any(issubclass(w.category, TornRecordWarning) for w in caught)

    with open(run.store.judgments.path, "ab") as f:
        f.write(b"\nnot json\n")
    run.item("r", 0.8)
    with pytest.raises(CorruptRecordError):
        analyze(run.path, n_bootstrap=20)


def _fallback(
    run: RunBuilder, qid: str, llm: list[float], human: list[float] | None, **fields: object
) -> Judgment:
    t = run.transcript(run.question(qid), condition="unassisted")
    first = Judgment(
        transcript_id=t.id, judge=JudgeIdentity(kind="llm", name="weak"), probabilities=llm
    )
    components = [first]
    decided = llm
    if human is not None:
        components.append(
            Judgment(
                transcript_id=t.id,
                judge=JudgeIdentity(kind="human", name="person", annotator="ann"),
                probabilities=human,
            )
        )
        decided = human
    judgment = Judgment(
        transcript_id=t.id,
        judge=JudgeIdentity(kind="fallback", name="weak+human"),
        probabilities=decided,
        components=components,
        decided_by="human" if human is not None else "llm",
        **fields,  # type: ignore[arg-type,unused-ignore]
    )
    run.store.judgments.append(judgment)
    return judgment


def test_escalation_agreement_leaves_ties_out_as_the_agreement_table_does(
    run: RunBuilder,
) -> None:
    # Both 50/50: no verdict either side. It counted as an agreement (1.0 here), while the
    # judges' agreement table leaves ties out.
    for qid, llm, human in (("a", [0.5, 0.5], [0.5, 0.5]), ("b", [0.6, 0.4], [0.2, 0.8])):
        _fallback(run, qid, llm, human, escalated=True, escalation_reason="low confidence")
    (e,) = analyze(run.path, n_bootstrap=20).escalations
    assert e.n_pairs == 2 and e.agreement == 0.0
    assert (e.llm_accuracy, e.human_accuracy) == (pytest.approx(0.75), pytest.approx(0.25))


def test_escalations_and_human_llm_agreement(run: RunBuilder) -> None:
    _fallback(run, "sure", [0.9, 0.1], None)
    # Reasons as the fallback judge words them: counted by kind, not by full text.
    _fallback(
        run,
        "asked",
        [0.4, 0.6],
        [0.8, 0.2],
        escalated=True,
        escalation_reason="low confidence: 0.60 < threshold 0.70",
    )
    _fallback(
        run,
        "agreed",
        [0.55, 0.45],
        [0.9, 0.1],
        escalated=True,
        escalation_reason="low confidence: 0.55 < threshold 0.70",
    )
    provisional = _fallback(
        run,
        "queued",
        [0.45, 0.55],
        None,
        escalated=True,
        escalation_reason="failure: no parseable verdict",
        escalation_id="e1",  # queued: it waits for a person
    )
    result = analyze(run.path, n_bootstrap=20)
    (e,) = result.escalations
    assert (e.judge, e.n, e.escalated, e.pending, e.n_pairs) == ("weak+human", 4, 3, 1, 2)
    assert e.reasons == {"failure": 1, "low confidence": 2}
    assert e.agreement == pytest.approx(0.5)
    assert (e.llm_accuracy, e.human_accuracy) == (pytest.approx(0.5), pytest.approx(1.0))

    # A person decides the queued item: the final judgment supersedes the provisional one.
    first = provisional.components[0]
    person = Judgment(
        transcript_id=provisional.transcript_id,
        judge=JudgeIdentity(kind="human", name="person", annotator="ann"),
        probabilities=[0.7, 0.3],
    )
    final = provisional.model_copy(
        update={
            "id": "final",
            "probabilities": [0.7, 0.3],
            "components": [first, person],
            "decided_by": "human",
            "escalated_from": first.id,
            "supersedes": provisional.id,
            "escalation_id": "e1",
        }
    )
    run.store.judgments.append(final)
    after = analyze(run.path, n_bootstrap=20)
    (e,) = after.escalations
    assert (e.n, e.escalated, e.pending, e.n_pairs) == (4, 3, 0, 3)
    assert after.totals.replaced == 1
    fallback_group = next(g for g in after.groups if g.by["judge"] == "weak+human")
    assert fallback_group.n == 4  # the superseded provisional judgment is not double-counted
    assert fallback_group.accuracy == pytest.approx(1.0)


def test_only_queued_items_no_person_resolved_are_pending(run: RunBuilder) -> None:
    """``pending`` is what ``oversight judge`` would serve: an item escalated in interactive
    mode that no person answered (they quit, and the judge had no queue) is in no queue, so
    it waits for nobody; a queued one waits until a person's ok final judgment names it."""
    _fallback(
        run,
        "unanswered",
        [0.55, 0.45],
        None,
        escalated=True,
        escalation_reason="low confidence",
        metadata={"human": "unavailable: ann stopped (quit)"},
    )
    queued = _fallback(
        run,
        "queued",
        [0.45, 0.55],
        None,
        escalated=True,
        escalation_reason="low confidence",
        escalation_id="e1",
    )
    (e,) = analyze(run.path, n_bootstrap=20).escalations
    assert (e.escalated, e.pending, e.n_pairs) == (2, 1, 0)  # was pending 2

    # A person's own verdict naming the item, without the final judgment a session writes
    # (what `oversight judge` writes when someone else resolved it first): the automatic
    # verdict still counts, and `oversight judge` offers the item again, so it waits.
    run.store.escalations.append(
        Escalation(
            id="e1",
            transcript_id=queued.transcript_id,
            judge_name="weak+human",
            reason="low confidence",
            first=queued,
        )
    )
    run.store.judgments.append(
        Judgment(
            transcript_id=queued.transcript_id,
            judge=JudgeIdentity(kind="human", name="person", annotator="ann"),
            probabilities=[0.8, 0.2],
            escalated_from="e1",
            escalation_id="e1",
        )
    )
    (e,) = analyze(run.path, n_bootstrap=20).escalations
    assert (e.pending, e.n_pairs) == (1, 0)  # it counted as decided: a pair, not pending
    assert [x.id for x in pending_escalations(run.store)] == ["e1"]


def test_agreement_between_judges_on_the_same_transcripts(run: RunBuilder) -> None:
    a_verdicts = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0]
    b_verdicts = [0, 1, 1, 1, 0, 0, 0, 0, 1, 1]
    for i, (va, vb) in enumerate(zip(a_verdicts, b_verdicts, strict=True)):
        t = run.transcript(run.question(f"q{i}"))
        run.judge(t, [0.8, 0.2] if va == 0 else [0.2, 0.8], judge="a")
        run.judge(t, [0.7, 0.3] if vb == 0 else [0.3, 0.7], judge="b")
        run.judge(t, [0.5, 0.5], judge="tie")  # ties are not verdicts: left out
    agreement = analyze(run.path, n_bootstrap=20).agreement
    assert agreement is not None
    assert agreement.judges == ["a", "b"]  # "tie" gave no verdict at all
    (pair,) = agreement.pairs
    expected = cohens_kappa(np.array(a_verdicts), np.array(b_verdicts))
    assert (pair.judge_a, pair.judge_b, pair.n) == ("a", "b", 10)
    assert pair.observed == pytest.approx(0.7)
    assert pair.kappa == pytest.approx(expected)
    alpha = krippendorff_alpha(np.array([a_verdicts, b_verdicts]).T)
    assert agreement.alpha == pytest.approx(alpha)


def test_agreement_is_also_reported_within_each_condition(run: RunBuilder) -> None:
    # Under debate the two judges always agree; unassisted, they agree on 1 of 4.
    verdicts = {"debate": ([0, 1, 0, 1], [0, 1, 0, 1]), "unassisted": ([0, 1, 0, 1], [1, 0, 0, 0])}
    for condition, (a_verdicts, b_verdicts) in verdicts.items():
        for i, (va, vb) in enumerate(zip(a_verdicts, b_verdicts, strict=True)):
            t = run.transcript(
                run.question(f"{condition}-{i}"), condition=condition, protocol=condition
            )
            run.judge(t, [0.8, 0.2] if va == 0 else [0.2, 0.8], judge="a")
            run.judge(t, [0.7, 0.3] if vb == 0 else [0.3, 0.7], judge="b")
    result = analyze(run.path, n_bootstrap=20)
    assert result.agreement is not None and result.agreement.condition is None
    assert result.agreement.n_transcripts == 8
    by = {a.condition: a for a in result.agreement_by_condition}
    assert set(by) == {"debate", "unassisted"}
    assert by["debate"].pairs[0].observed == 1.0 and by["debate"].pairs[0].n == 4
    assert by["unassisted"].pairs[0].observed == pytest.approx(0.25)
    assert result.agreement.pairs[0].observed == pytest.approx(5 / 8)


def test_debater_ratings_when_debaters_differ(run: RunBuilder) -> None:
    rng = np.random.default_rng(0)
    for i in range(60):
        pair = ("mock/strong", "mock/weak") if i % 2 else ("mock/weak", "mock/strong")
        t = run.transcript(
            run.question(f"q{i}", source=f"s{i // 3}"),
            condition="debate",
            assignment={"Debater A": 0, "Debater B": 1},
            roles={"Debater A": pair[0], "Debater B": pair[1]},
        )
        strong_answer = 0 if pair[0] == "mock/strong" else 1
        wins = rng.random() < 0.8
        verdict = strong_answer if wins else 1 - strong_answer
        run.judge(t, [0.9, 0.1] if verdict == 0 else [0.1, 0.9])
    # Self-play counts in win rates by side but not in the ratings.
    run.transcript(
        run.question("self"),
        condition="debate",
        assignment={"Debater A": 0, "Debater B": 1},
        roles={"Debater A": "mock/weak", "Debater B": "mock/weak"},
    )
    (table,) = analyze(run.path, n_bootstrap=300).ratings
    assert table.n_matches == 60
    best, worst = table.players
    assert best.debater == "mock/strong" and best.elo > 1500 > worst.elo
    assert best.ci95 is not None and best.ci95[0] < best.elo < best.ci95[1]
    assert best.win_rate == pytest.approx(1 - worst.win_rate)
    assert best.matches == worst.matches == 60
    # The prior shrinks the gap below the unpenalised 400 * log10(w / (1 - w)).
    w = best.win_rate
    assert 0 < best.elo - worst.elo < 400 * np.log10(w / (1 - w))
    assert table.group == {"condition": "debate"} and table.side_advantage is not None


def test_load_exposes_arrays_for_custom_analyses(run: RunBuilder) -> None:
    run.item("q", 0.8)
    data = load(run.path)
    assert data.t.size == 1 and bool(data.scored[0])
    assert data.probs[0].tolist() == [0.8, pytest.approx(0.2)]


def test_the_report_counts_the_judgment_export_and_the_store_count_when_a_line_is_repeated(
    run: RunBuilder,
) -> None:
    """A judgment written again after another of its key (a line appended by hand, a log
    put together from two copies) is the last written: the report scores it, as the
    store's order and ``export --counted-only`` do (it scored the other one)."""
    from transcripts.export import judgment_rows

    t = run.transcript(run.question("q"))
    judge = JudgeIdentity(kind="llm", name="x")
    first = Judgment(transcript_id=t.id, judge=judge, probabilities=[0.9, 0.1])
    second = Judgment(transcript_id=t.id, judge=judge, probabilities=[0.2, 0.8])
    for record in (first, second, first):
        run.store.judgments.append(record)
    counted = [row["judgment_id"] for row in judgment_rows(run.path, counted_only=True)]
    assert counted == [first.id]
    assert load(run.path).ids == counted


def test_each_loaded_transcript_keeps_its_own_fields(run: RunBuilder) -> None:
    """A transcript row is made positionally (it is made 100,000 times in a large report):
    each field holds what the stored transcript says, none another's."""
    stored = run.transcript(
        run.question("q", correct=1),
        condition="debate-x",
        protocol="debate",
        order=[1, 0],
        assignment={"A": 0, "B": 1},
        roles={"A": "mock/a", "B": "mock/b"},
        players={"A": "player-a", "B": "player-b"},
        status="error",
        metadata={"judge_turns": 3, "setup": "s"},
    )
    row = load(run.path).transcripts[0]
    assert (row.id, row.protocol, row.run_id, row.condition) == (
        stored.id,
        "debate",
        "test-run",
        "debate-x",
    )
    assert (row.assignment, row.answer_order) == ({"A": 0, "B": 1}, [1, 0])
    assert (row.roles, row.players) == ({"A": "mock/a", "B": "mock/b"}, stored.players)
    assert (row.status, row.metadata, row.rounds) == ("error", stored.metadata, 3.0)
    assert (row.question.id, row.repeat, row.planted, row.injection_turns) == ("q", 0, None, 0)
    assert (row.extra, row.beliefs) == (False, False)


def test_judge_fields_are_coded_in_order_of_first_appearance(run: RunBuilder) -> None:
    """``--by judge`` / ``judge_kind`` / ``annotator``: each row's code names its judge's
    value, the values in the order the judges first appear, judges interleaved."""
    order = [("b", "llm", None), ("a", "human", "ana"), ("b", "llm", None), ("c", "llm", None)]
    order += [("a", "human", "bo"), ("c", "llm", None), ("a", "human", "ana")]
    for n, (name, kind, annotator) in enumerate(order):
        t = run.transcript(run.question(f"q{n}"))
        run.judge(t, [0.7, 0.3], judge=name, kind=kind, annotator=annotator)
    data = load(run.path)
    for field, want in [
        ("judge", [name for name, _, _ in order]),
        ("judge_kind", [kind for _, kind, _ in order]),
        ("annotator", [annotator for _, _, annotator in order]),
    ]:
        codes, values = field_codes(data, field)
        assert [values[c] for c in codes.tolist()] == want
        assert values == list(dict.fromkeys(want))
