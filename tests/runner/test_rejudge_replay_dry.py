"""Re-judging saved transcripts, exact replay, and the dry run (on scripted mocks)."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import pytest

from oversight import rejudge
from oversight.datasets import load_questions
from oversight.runner import dry_run, run_experiment
from oversight.runner._api import run_lock
from oversight.runner._items import judgment_id, plan
from oversight.runner._merge import SHARDS
from oversight.runner._ray import run_shard
from transcripts import Judgment, RunStore
from transcripts.errors import CacheMissError, ConfigError, CorruptRecordError

from .helpers import Factory, experiment, lone_shard


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Factory]:
    """The small experiment run once for the module (its folder holds its response
    cache), and the factory that counted its requests; tests get copies of the folder."""
    out = tmp_path_factory.mktemp("finished") / "run"
    factory = Factory()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OVERSIGHT_CACHE", str(out.parent / "cache" / "responses.sqlite"))
        result = run_experiment(
            experiment(), out=out, endpoint_factory=factory, progress=False, summary=False
        )
    assert result.status == "complete"
    return out, factory


def _finished_run(finished: tuple[Path, Factory], out: Path) -> Factory:
    """A copy of the module's finished run at ``out``; a factory with the requests it sent."""
    shutil.copytree(finished[0], out)
    factory = Factory()
    factory.sent = dict(finished[1].sent)
    return factory


def test_rejudge_calls_only_the_judge_and_records_provenance(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    _finished_run(finished, tmp_path / "run")
    spec = "llm:mock/other,name=second"
    factory = Factory()
    result = rejudge(tmp_path / "run", spec, conditions=["debate"], endpoint_factory=factory)
    assert result.judged == 8 and result.failed == 0
    assert factory.sent == {"mock/other": 8}, "only the judge's endpoint was called"
    store = RunStore.open(tmp_path / "run")
    new = [j for j in store.judgments if j.metadata.get("rejudge")]
    assert len(new) == 8
    for j in new:
        assert j.judge.name == "second" and j.metadata["judge_spec"] == spec
        assert j.metadata["rounds"] is None and j.metadata["rejudged_at"]
    again = rejudge(tmp_path / "run", spec, conditions=["debate"], endpoint_factory=Factory())
    assert again.judged == 0 and again.skipped == 8
    # The run's own judge model, asked the same questions: answered by the run's cache.
    same = Factory()
    cached = rejudge(
        tmp_path / "run", "llm:weak,name=third", conditions=["debate"], endpoint_factory=same
    )
    assert cached.judged == 8 and same.total == 0 and cached.cached_calls == 8


def test_the_new_judgments_are_read_back_from_the_run_not_held(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    """``result.judgments`` is the pass's judgments as written to ``judgments.jsonl``, read
    back each time it is looked at: after the pass, no judgment model is left in memory."""
    # Objects older than this test are set aside (gc.freeze): no judgment of its run is
    # among them, and collecting and scanning a worker's whole heap took 20 s in the suite.
    gc.freeze()
    try:
        _finished_run(finished, tmp_path / "run")
        result = rejudge(tmp_path / "run", "llm:mock/other,name=second", endpoint_factory=Factory())
        assert result.judged == len(result.judgments) == 32
        gc.collect()
        run_id = RunStore.open(tmp_path / "run").run_id  # (other tests' judgments aside)
        held = sum(isinstance(o, Judgment) and o.run_id == run_id for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert held == 0, f"{held} judgments still held after the pass"
    written = [j for j in RunStore.open(tmp_path / "run").judgments if j.judge.name == "second"]
    assert sorted(j.id for j in result.judgments) == sorted(j.id for j in written)
    assert list(result.judgments) == [
        next(j for j in written if j.id == k.id) for k in result.judgments
    ]
    assert result.judgments[-1] == list(result.judgments)[-1]
    assert result.judgments[1:3] == list(result.judgments)[1:3]
    assert "32 records of" in repr(result.judgments)


def test_truncated_rejudging_shows_only_the_first_rounds(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    _finished_run(finished, tmp_path / "run")
    factory = Factory()
    result = rejudge(
        tmp_path / "run",
        "llm:mock/weak",
        rounds=[1, 2],
        where=["protocol=debate", "question=lighthouse-1"],
        endpoint_factory=factory,
    )
    assert result.judged == 4  # 2 debates (answer orders) of one question x 2 cuts
    by_rounds = {(j.transcript_id, j.metadata["rounds"]): j for j in result.judgments}
    for (tid, k), j in by_rounds.items():
        assert j.rounds_seen == k
        assert j.id == judgment_id(tid, "mock/weak", k, j.id and _extra(j.metadata["judge_spec"]))
    prompts = [r for r in factory.sent]
    assert prompts == ["mock/weak"]


def _extra(spec: str) -> str:
    import hashlib

    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def test_a_damaged_transcript_is_refused_before_any_judge_call(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    """Every chosen transcript is read before the first call: a record damaged by hand is
    an error that names it, and the judge was never asked (nothing paid, nothing half
    done)."""
    _finished_run(finished, tmp_path / "run")
    log = tmp_path / "run" / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    damaged = json.loads(lines[-1])
    damaged["assignment"] = dict.fromkeys(damaged["assignment"], 7)  # no such answer
    lines[-1] = json.dumps(damaged, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))
    factory = Factory()
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        rejudge(tmp_path / "run", "llm:mock/other,name=second", endpoint_factory=factory)
    assert factory.total == 0, "no judge call before the damaged record was found"
    judged = [j for j in RunStore.open(tmp_path / "run").judgments if j.judge.name == "second"]
    assert judged == []


def test_an_experiment_file_that_no_longer_validates_is_refused_not_ignored(
    finished: tuple[Path, Factory],
    tmp_path: Path,
) -> None:
    """The run's frozen experiment names its endpoints, cache and prices; rejudge read it
    and, when it did not validate, went on without it: a named endpoint was taken for a
    spec and the run's cache left unused. It is now an error naming the file and the key,
    and no judge call is made."""
    _finished_run(finished, tmp_path / "run")
    path = tmp_path / "run" / "experiment.json"
    frozen = json.loads(path.read_text())
    frozen["spec"]["limits"]["max_cosst_usd"] = 5  # edited by hand, misspelled
    path.write_text(json.dumps(frozen))
    factory = Factory()
    with pytest.raises(ConfigError) as raised:
        rejudge(tmp_path / "run", "llm:weak,name=third", endpoint_factory=factory)
    said = str(raised.value)
    assert str(path) in said and "spec.limits.max_cosst_usd: unknown key" in said
    assert factory.total == 0


def test_rejudge_by_id_prefix(finished: tuple[Path, Factory], tmp_path: Path) -> None:
    _finished_run(finished, tmp_path / "run")
    store = RunStore.open(tmp_path / "run")
    target = next(iter(store.transcripts)).id
    result = rejudge(tmp_path / "run", "llm:weak", ids=[target[:8]], endpoint_factory=Factory())
    assert [j.transcript_id for j in result.judgments] == [target]


def test_replay_of_a_finished_run_makes_no_call(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    first = _finished_run(finished, tmp_path / "run")
    replay = Factory()
    result = run_experiment(
        experiment(),
        out=tmp_path / "replay",
        replay=tmp_path / "run",
        endpoint_factory=replay,
        progress=False,
        summary=False,
    )
    assert result.status == "complete"
    assert replay.total == 0 and result.calls == 0
    assert result.cached_calls == first.total
    original, copy = RunStore.open(tmp_path / "run"), RunStore.open(tmp_path / "replay")
    for a, b in ((original, copy), (copy, original)):
        turns = {t.id: [u.content for u in t.turns] for t in a.transcripts.latest()}
        assert turns == {t.id: [u.content for u in t.turns] for t in b.transcripts.latest()}
        verdicts = {j.id: j.probabilities for j in a.judgments.latest()}
        assert verdicts == {j.id: j.probabilities for j in b.judgments.latest()}
    assert all(t.call is None or t.call.cached for x in copy.transcripts for t in x.turns)


def test_offline_run_fails_items_on_a_cache_miss_instead_of_calling(tmp_path: Path) -> None:
    factory = Factory()
    result = run_experiment(
        experiment(limits={"item_retries": 0}),
        out=tmp_path / "run",
        offline=True,
        endpoint_factory=factory,
        progress=False,
        summary=False,
    )
    assert factory.total == 0
    assert result.status == "stopped: too many failures"
    store = RunStore.open(tmp_path / "run")
    errors = [t for t in store.transcripts if t.status == "error"]
    assert errors and all(CacheMissError.__name__ in (t.error or "") for t in errors)


def test_dry_run_estimates_the_real_calls_per_endpoint(
    finished: tuple[Path, Factory], tmp_path: Path
) -> None:
    real = _finished_run(finished, tmp_path / "real")
    exp = experiment(
        endpoints={
            "strong": {"spec": "openai/gpt-4o-mini"},
            "weak": {"spec": "anthropic/claude-3-5-haiku-latest"},
        },
        limits={"max_cost_usd": 0.0001},
    )
    rehearsal = dry_run(exp, out=tmp_path / "dry")
    assert rehearsal.result.status == "complete"
    calls = {e.name: e.calls for e in rehearsal.endpoints}
    assert calls == {"strong": real.sent["mock/strong"], "weak": real.sent["mock/weak"]}
    for e in rehearsal.endpoints:
        assert e.input_tokens > 0 and 0 < e.output_tokens <= e.output_tokens_max
        assert e.cost_usd is not None and 0 < e.cost_usd <= (e.cost_usd_max or 0)
    assert rehearsal.cost_usd is not None
    assert rehearsal.to_json()["endpoints"][0]["spec"] == "openai/gpt-4o-mini"


def test_dry_run_says_when_a_price_is_unknown(tmp_path: Path) -> None:
    exp = experiment(
        endpoints={
            "strong": {"spec": "openai/qwen2.5-7b", "base_url": "http://localhost:8000/v1"},
            "weak": {"spec": "mock/weak"},
        }
    )
    rehearsal = dry_run(exp, out=tmp_path / "dry")
    prices = {e.name: e.cost_usd for e in rehearsal.endpoints}
    assert prices["strong"] is None and prices["weak"] == 0.0
    assert rehearsal.cost_usd is None


@pytest.mark.parametrize("k", [0])
def test_rounds_zero_is_the_question_alone(
    finished: tuple[Path, Factory], tmp_path: Path, k: int
) -> None:
    _finished_run(finished, tmp_path / "run")
    result = rejudge(
        tmp_path / "run", "llm:weak", rounds=k, conditions=["debate"], endpoint_factory=Factory()
    )
    assert all(j.rounds_seen == 0 for j in result.judgments)


def test_dry_run_asks_no_one_but_still_runs_the_automatic_judges(tmp_path: Path) -> None:
    exp = experiment(
        judges=[
            {
                "kind": "fallback",
                "name": "asks-now",
                "endpoint": "weak",
                "threshold": 0.99,
                "mode": "interactive",
                "annotator": "ann",
            },
            {"kind": "human", "name": "person", "annotator": "ann"},
        ]
    )
    rehearsal = dry_run(exp, out=tmp_path / "dry")
    assert rehearsal.result.status == "complete"
    assert {e.name: e.calls for e in rehearsal.endpoints}["weak"] == 32
    store = RunStore.open(tmp_path / "dry")
    assert {j.judge.name for j in store.judgments} == {"asks-now"}
    assert len(list(store.escalations)) > 0


def test_a_dry_run_without_a_folder_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rehearsal = dry_run(experiment())
    assert rehearsal.result.status == "complete" and rehearsal.endpoints
    assert rehearsal.result.path.parent == scratch
    assert list(scratch.iterdir()) == [], "the rehearsal's temporary store is removed"


def test_repeats_of_an_unassisted_condition_are_rejudged_apart(tmp_path: Path) -> None:
    """The judge alone sees the same view in every repeat: each repeat's re-judgment is its
    own draw (as in the run), the same draw again when the command is run again."""
    unassisted = [{"label": "unassisted", "protocol": "unassisted"}]
    exp = experiment(repeats=2, conditions=unassisted)
    result = run_experiment(
        exp, out=tmp_path / "run", endpoint_factory=Factory(), progress=False, summary=False
    )
    assert result.status == "complete"
    # The run's own judge model: every repeat's draw is the run's, from its cache.
    same = Factory()
    cached = rejudge(tmp_path / "run", "llm:weak,name=third", endpoint_factory=same)
    assert cached.judged == 16 and same.total == 0 and cached.cached_calls == 16
    store = RunStore.open(tmp_path / "run")
    by_name: dict[str, dict[str, object]] = {"weak-judge": {}, "third": {}}
    for j in store.judgments:
        by_name[j.judge.name][j.transcript_id] = j.probabilities
    store.close()
    assert by_name["third"] == by_name["weak-judge"], "each repeat's verdict is the run's own"
    # A new judge model: one call per repeat, none answered with another repeat's reply.
    other = Factory()
    first = rejudge(tmp_path / "run", "llm:mock/other,name=second", endpoint_factory=other)
    assert first.judged == 16 and other.sent == {"mock/other": 16} and first.cached_calls == 0
    # Asked again under another name: the same draws, from the cache, nothing paid twice.
    again = Factory()
    second = rejudge(tmp_path / "run", "llm:mock/other,name=fourth", endpoint_factory=again)
    assert second.judged == 16 and again.total == 0 and second.cached_calls == 16


def test_shards_a_killed_ray_driver_left_are_merged_before_rejudging(tmp_path: Path) -> None:
    """A run whose Ray driver was killed holds its tasks' transcripts, spend and replies in
    shards: rejudge merges them (as every `oversight run` does) before it chooses the
    transcripts, so it judges them all, and the run's judge is answered from their cache."""
    run = tmp_path / "run"
    factory = Factory()
    first = run_experiment(
        experiment(),
        out=run,
        endpoint_factory=factory,
        progress=False,
        summary=False,
        max_cost_usd=0,
    )
    # The driver began the run (two unassisted transcripts need no call; their judgments
    # were stopped by the cap), then its one task ran every other item into its shard.
    store = RunStore.open(run)
    begun = {t.id for t in store.transcripts}
    assert first.calls == 0 and len(begun) == 2
    exp = experiment()
    items = plan(exp, load_questions(exp.dataset, exp.base_dir))
    job = lone_shard(exp, run, (i.id for i in items if i.id not in begun), factory=factory)
    assert run_shard(job).result.status == "complete"
    spent = sum(
        json.loads(line)["cost_usd"] for line in (run / SHARDS / "0" / "spend.jsonl").open()
    )
    store.close()
    # While a session holds the run (a live driver), its shards are left to it.
    lock = run_lock(run)
    beside = rejudge(run, "llm:weak,name=beside", endpoint_factory=Factory())
    lock.release()
    assert beside.judged == 2 and (run / SHARDS / "0").is_dir()
    same = Factory()
    result = rejudge(run, "llm:weak,name=third", endpoint_factory=same)
    # Every transcript judged, each from the cache (the shard's, and what beside asked).
    assert result.judged == 32 and result.cached_calls == 32 and same.total == 0
    assert not (run / SHARDS / "0").exists(), "the shard was merged"
    assert len({t.id for t in RunStore.open(run).transcripts}) == 32
    ledger = [json.loads(line) for line in (run / "spend.jsonl").open()]
    assert sum(e["cost_usd"] for e in ledger) == pytest.approx(spent + beside.spent_usd)


def test_dry_run_estimates_a_regional_openai_host_at_its_uplifted_price(tmp_path: Path) -> None:
    """The estimate priced gpt-5.4 at eu.api.openai.com at the global price, 10% below
    what the run is charged there."""
    from oversight.endpoints import lookup_price
    from transcripts import Usage

    def estimate(base_url: str) -> tuple[float | None, int, int]:
        exp = experiment(
            endpoints={
                "strong": {"spec": "openai/gpt-5.4", "base_url": base_url},
                "weak": {"spec": "mock/weak"},
            },
        )
        [e] = [
            e for e in dry_run(exp, out=tmp_path / base_url[8:10]).endpoints if e.name == "strong"
        ]
        return e.cost_usd, e.input_tokens, e.output_tokens

    cost, tokens_in, tokens_out = estimate("https://eu.api.openai.com/v1")
    price = lookup_price("gpt-5.4")
    assert price is not None and cost is not None
    standard = price.cost(Usage(input_tokens=tokens_in, output_tokens=tokens_out))
    assert cost == pytest.approx(standard * 1.1)
    assert estimate("https://api.openai.com/v1")[0] == pytest.approx(standard)
