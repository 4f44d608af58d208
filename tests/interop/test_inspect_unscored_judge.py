"""A judge none of whose judgments the report scores, in an exported Inspect log."""

from __future__ import annotations

import math
from pathlib import Path

from oversight.interop import export_inspect
from tests.optional import lazy, needs
from transcripts import JudgeIdentity, RunStore

inspect_log = lazy("inspect_ai.log")
pytestmark = needs("inspect_ai", "the inspect extra is not installed")


def test_a_judge_with_only_unscored_judgments_reads_as_inspect_computes_it(
    tmp_path: Path,
) -> None:
    """The judge "strong" gave only judgments the report does not score (a probability too
    many): the log declared it as a scorer but ``results.scores`` had no entry for it, while
    Inspect recomputing the metrics from the samples gives it one (0 scored samples)."""
    from tests.transcripts.factories import debate, judgment

    strong = JudgeIdentity(kind="llm", name="strong", model="openai/gpt-4o")
    store = RunStore.create(tmp_path / "run")
    for i in (1, 2, 3):
        store.transcripts.append(debate(id=f"d{i}", condition="debate"))
        store.judgments.append(judgment(id=f"w{i}", transcript_id=f"d{i}"))
        store.judgments.append(
            judgment(id=f"s{i}", transcript_id=f"d{i}", judge=strong, probabilities=[0.5, 0.3, 0.2])
        )
    store.close()
    (path,) = export_inspect(tmp_path / "run", tmp_path / "logs")
    log = inspect_log.read_eval_log(str(path))
    assert all(math.isnan(s.scores["strong"].value) for s in log.samples)
    declared = [scorer.name for scorer in log.eval.scorers]
    written = {
        s.name: (s.scored_samples, s.unscored_samples, s.metrics["accuracy"].value)
        for s in log.results.scores
    }

    log.results = None  # only what Inspect computes itself from the samples
    inspect_log.recompute_metrics(log)
    computed = {
        s.name: (s.scored_samples, s.unscored_samples, s.metrics["accuracy"].value)
        for s in log.results.scores
    }
    assert sorted(written) == sorted(computed) == sorted(declared) == ["strong", "weak"]
    assert written["weak"] == computed["weak"] == (3, 0, 1.0)
    assert written["strong"][:2] == computed["strong"][:2] == (0, 3)
    assert math.isnan(written["strong"][2]) and math.isnan(computed["strong"][2])
