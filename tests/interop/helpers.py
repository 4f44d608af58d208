"""Inspect logs written by inspect_ai itself, for the interop tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_log(path: Path, task: str, samples: list[Any]) -> None:
    """An Inspect log of ``task`` (model openai/gpt-x) holding ``samples``, written by
    inspect_ai itself to ``path`` in the format its suffix names (``.json`` logs keep
    samples whose ids the ``.eval`` format would file under one name)."""
    from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalSpec, write_eval_log

    spec = EvalSpec(
        created="2026-01-01T00:00:00+00:00",
        task=task,
        model="openai/gpt-x",
        dataset=EvalDataset(name=task),
        config=EvalConfig(),
    )
    log = EvalLog(status="success", eval=spec, samples=samples)
    write_eval_log(log, str(path), format=path.suffix.lstrip("."))
