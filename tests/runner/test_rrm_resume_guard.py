"""A run begun when ``rrm`` meant expert leaves (schema version 1) is not resumed with the
weak-evaluator protocol of the same name: the user is told what to do instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.runner import run_experiment
from transcripts.errors import ConfigError

from .helpers import Factory, experiment


def rrm_experiment():  # type: ignore[no-untyped-def]
    return experiment(
        conditions=[
            {
                "label": "rrm",
                "protocol": "rrm",
                "roles": {"assistant": "strong", "evaluator": "weak"},
                "options": {"depth": 1},
            }
        ]
    )


def test_a_version_1_run_with_rrm_is_not_resumed_by_the_new_rrm(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = run_experiment(
        rrm_experiment(), out=out, endpoint_factory=Factory(), progress=False, summary=False
    )
    assert first.status == "complete"
    meta = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**meta, "schema_version": 1}))
    factory = Factory()
    with pytest.raises(ConfigError, match=r"now 'rrm-expert-leaves'.*--out"):
        run_experiment(
            rrm_experiment(), out=out, endpoint_factory=factory, progress=False, summary=False
        )
    assert factory.total == 0  # nothing was sent
    # A version 2 run resumes as usual.
    (out / "run.json").write_text(json.dumps(meta))
    again = run_experiment(
        rrm_experiment(), out=out, endpoint_factory=factory, progress=False, summary=False
    )
    assert again.status == "complete" and factory.total == 0
