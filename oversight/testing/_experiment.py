"""A small experiment against a fake OpenAI server, and the judge verdicts it is scripted
with: what the runner's fake-server tests, the persona tests and ``benchmarks/bench_kill.py``
share, written once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["FAKE_KEY_VARIABLE", "fake_experiment", "scripted_verdict"]

FAKE_KEY_VARIABLE = "FAKE_OPENAI_KEY"
"""The environment variable :func:`fake_experiment`'s endpoints read their API key from."""


def scripted_verdict(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a request that asks for a judge's verdict (a JSON schema with ``probabilities``),
    a verdict whose probabilities sum to 1, the first answer's between 0.55 and 0.94 as a
    function of the request (so it is deterministic); None for any other request (the fake
    server then invents a schema-valid reply, or echoes)."""
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    probabilities = schema.get("properties", {}).get("probabilities")
    if probabilities is None:
        return None
    labels = list(probabilities["properties"])
    top = 0.55 + (len(json.dumps(body)) % 40) / 100
    return {
        "rationale": "scripted",
        "probabilities": {
            label: top if i == 0 else (1 - top) / (len(labels) - 1)
            for i, label in enumerate(labels)
        },
    }


def fake_experiment(
    base_url: str,
    *,
    name: str = "fake",
    key_variable: str = FAKE_KEY_VARIABLE,
    protocol_options: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
) -> str:
    """The text of an experiment file: the four-question sample dataset in three conditions
    (``unassisted``, ``consultancy``, ``debate``; the speakers' ``protocol_options``, by
    default two rounds) judged by an LLM judge ``weak-judge``, with three endpoints
    (``strong``, ``weak``, ``second`` for re-judging) at the fake server ``base_url``, priced
    ($1 / $2 a million tokens), one retry, 10 ms back-off. ``limits`` are added to
    ``[limits]`` (``concurrency = 4`` unless given)."""
    options = {"rounds": 2, **(protocol_options or {})}
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
    limit_lines = "\n".join(
        f"{k} = {json.dumps(v)}" for k, v in {"concurrency": 4, **(limits or {})}.items()
    )
    endpoints = "".join(
        f'[endpoints.{label}]\nspec = "openai/{model}"\nbase_url = "{base_url}"\n'
        f'api_key_env = "{key_variable}"\npricing = {{ input = 1.0, output = 2.0 }}\n'
        f"max_retries = 1\noptions = {{ retry_backoff = 0.01 }}\n"
        for label, model in (
            ("strong", "strong-model"),
            ("weak", "weak-model"),
            ("second", "second-judge"),
        )
    )
    return f"""name = {json.dumps(name)}
[dataset]
loader = "sample"
limit = 4
{endpoints}[[conditions]]
label = "unassisted"
protocol = "unassisted"
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = {{ consultant = "strong" }}
options = {{ {inline} }}
[[conditions]]
label = "debate"
protocol = "debate"
roles = {{ debater = "strong" }}
options = {{ {inline} }}
[[judges]]
kind = "llm"
name = "weak-judge"
endpoint = "weak"
[limits]
{limit_lines}
"""
