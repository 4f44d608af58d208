"""A consultancy run on the fake Anthropic server: the consultant's story is a cache
breakpoint, and the run summary shows cached and cache-write tokens per condition."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from oversight.runner._usage import usage_by_condition
from oversight.testing import FakeAnthropicServer
from transcripts import RunStore


def test_cache_reads_and_writes_are_counted_per_condition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    with FakeAnthropicServer() as server:
        experiment = tmp_path / "cache.toml"
        experiment.write_text(
            'name = "cache"\n[dataset]\nloader = "sample"\nlimit = 2\n'
            '[endpoints.strong]\nspec = "anthropic/claude-sonnet-4-6"\n'
            f'base_url = "{server.base_url}"\n'
            "options = { cache_breakpoint_tokens = 50 }\n"
            '[endpoints.weak]\nspec = "mock/weak"\n'
            '[[conditions]]\nlabel = "unassisted"\nprotocol = "unassisted"\n'
            '[[conditions]]\nlabel = "consultancy"\nprotocol = "consultancy"\n'
            'roles = { consultant = "strong" }\noptions = { rounds = 2 }\n'
            '[[judges]]\nname = "j"\nkind = "llm"\nendpoint = "weak"\n'
        )
        out = tmp_path / "run"
        assert main(["run", str(experiment), "--out", str(out)]) == 0
        printed = capsys.readouterr().out
    systems = [r.body["system"] for r in server.requests if r.body]
    assert systems and all(isinstance(s, list) and s[0]["cache_control"] for s in systems)
    calls = [
        c
        for t in RunStore.open(out).transcripts.latest()
        if t.condition == "consultancy"
        for c in t.calls
    ]
    written = sum(c.usage.cache_write_tokens for c in calls)
    read = sum(c.usage.cached_tokens for c in calls)
    # The consultant's second round re-reads the first round's prefix from the cache.
    assert written > 0 and read > 0
    usage = usage_by_condition(out)
    assert (usage["consultancy"].cache_write_tokens, usage["consultancy"].cached_tokens) == (
        written,
        read,
    )
    assert usage["unassisted"].cached_tokens == 0
    assert usage["consultancy"].cost_usd == pytest.approx(sum(c.cost_usd or 0.0 for c in calls))
    assert "tokens and cost by condition" in printed
    assert f"{written:,}" in printed and f"{read:,}" in printed
