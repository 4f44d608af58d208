"""Builders for the runner tests: small experiments and scripted mock endpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from oversight.endpoints import Endpoint, Reply, Request, endpoint
from oversight.experiment import Experiment, load_experiment
from oversight.runner._build import Factory as EndpointFactory
from oversight.runner._dry import mock_replies
from oversight.runner._ray import ShardJob
from transcripts import RunStore
from transcripts.errors import ProviderError

PRICE = {"input": 1.0, "output": 2.0}
"""USD per million tokens for the scripted mocks, so every call has a known cost."""


def verdict(request: Request) -> dict[str, Any] | None:
    """A valid structured verdict when ``request`` asks for one (deterministic), else None."""
    schema = request.schema_ or {}
    probabilities = schema.get("properties", {}).get("probabilities")
    if probabilities is None:
        return None
    labels = list(probabilities.get("properties", {}))
    digest = hashlib.sha256(request.model_dump_json().encode()).digest()
    top = 0.55 + (digest[0] % 40) / 100
    first = digest[1] % len(labels)
    rest = (1 - top) / (len(labels) - 1)
    return {
        "rationale": "scripted",
        "probabilities": {label: (top if i == first else rest) for i, label in enumerate(labels)},
    }


def replies(spec: str, fail: Callable[[Request], bool] | None = None) -> Callable[[Request], Any]:
    """Replies of a scripted mock: verdicts for judges, the dry-run mock's otherwise."""

    shaped = mock_replies(spec)

    def reply(request: Request) -> Any:
        if fail is not None and fail(request):
            raise ProviderError("scripted failure", status_code=400)
        found = verdict(request)
        if found is not None:
            return found
        invented: Reply = shaped(request)  # as the dry run's mocks: tagged speeches, logprobs
        return invented

    return reply


class Factory:
    """An endpoint factory for ``run_experiment(endpoint_factory=...)``: scripted mocks with a
    known price, sharing the run's cache; counts the requests each spec received."""

    def __init__(self, fail: Callable[[Request], bool] | None = None) -> None:
        self.fail = fail
        self.sent: dict[str, int] = {}

    def __call__(self, spec: str, **options: Any) -> Endpoint:
        name = spec.removeprefix("mock/")
        script = replies(name, self.fail)

        def counted(request: Request) -> Any:
            self.sent[spec] = self.sent.get(spec, 0) + 1
            return script(request)

        options.pop("pricing", None)
        return endpoint(f"mock/{name}", replies=counted, pricing=PRICE, **options)

    @property
    def total(self) -> int:
        """Requests sent to every endpoint."""
        return sum(self.sent.values())


def experiment(**changes: Any) -> Experiment:
    """A small experiment: 4 sample questions, three protocols, one LLM judge."""
    data: dict[str, Any] = {
        "name": "small",
        "dataset": {"loader": "sample", "limit": 4},
        "endpoints": {"strong": {"spec": "mock/strong"}, "weak": {"spec": "mock/weak"}},
        "conditions": [
            {"label": "unassisted", "protocol": "unassisted"},
            {
                "label": "consultancy",
                "protocol": "consultancy",
                "roles": {"consultant": "strong"},
                "options": {"rounds": 1},
            },
            {
                "label": "debate",
                "protocol": "debate",
                "roles": {"debater": "strong"},
                "options": {"rounds": 2},
            },
        ],
        "judges": [{"kind": "llm", "name": "weak-judge", "endpoint": "weak"}],
        "limits": {"concurrency": 4},
    }
    data.update(changes)
    return load_experiment(data)


def lone_shard(
    exp: Experiment,
    run: Path,
    items: Iterable[str],
    *,
    factory: EndpointFactory | None = None,
    retry_failed: bool = False,
) -> ShardJob:
    """What ``run_ray`` gives the one task of a one-task run: ``items`` of ``exp``, into a
    shard of ``run``, with the run's cache and no caps (for running ``run_shard`` without a
    Ray cluster)."""
    return ShardJob(
        experiment=exp,
        folder=run,
        run_id=RunStore.open(run).run_id,
        shard=0,
        shards=1,
        items=frozenset(items),
        cache=run / "cache.sqlite",
        max_cost_usd=None,
        max_tokens=None,
        offline=False,
        factory=factory,
        retry_failed=retry_failed,
    )
