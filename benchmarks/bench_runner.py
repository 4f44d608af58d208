"""What the runner itself costs, and whether its concurrency turns into throughput.

Run from the repository root::

    .venv/bin/python benchmarks/bench_runner.py [--items 2000] [--latency 0.05]

Three measurements, each into a fresh temporary run folder:

1. **overhead**: ``--items`` unassisted items judged by a scripted mock LLM judge that
   answers at once, so the time is the runner's own (planning, metering, the response
   cache, saving every transcript and judgment, progress);
2. **resume scan**: running the finished experiment again, which must skip every item and
   call nothing (reading the store back);
3. **throughput**: consultancy items (2 rounds, so 2 consultant calls and 1 judge call each)
   against the fake OpenAI server over real HTTP with ``--latency`` seconds per request, at
   several ``[limits] concurrency`` values; with enough concurrency, items per second should
   grow until the server or the endpoint's own limit is the bottleneck.

Prints a table to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from oversight.endpoints import Endpoint, Request, endpoint
from oversight.experiment import load_experiment
from oversight.runner import RunResult, run_experiment
from oversight.testing import FakeOpenAIServer


def _verdict(request_or_body: Request | dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(request_or_body, Request):
        schema = request_or_body.schema_ or {}
    else:
        schema = (
            (request_or_body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
        )
    probabilities = schema.get("properties", {}).get("probabilities")
    if probabilities is None:
        return None
    labels = list(probabilities["properties"])
    return {
        "rationale": "scripted",
        "probabilities": {
            label: 0.7 if i == 0 else 0.3 / (len(labels) - 1) for i, label in enumerate(labels)
        },
    }


def _mock(spec: str, **options: Any) -> Endpoint:
    def reply(request: Request) -> Any:
        return _verdict(request) or "An argument."

    return endpoint(spec, replies=reply, **options)


def _dataset(folder: Path, n: int) -> Path:
    path = folder / "questions.jsonl"
    with open(path, "w") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {
                        "id": f"q{i}",
                        "question": f"Question {i}?",
                        "answers": ["yes", "no"],
                        "correct": i % 2,
                        "context": "A short story.",
                        "source": f"s{i // 10}",
                    }
                )
                + "\n"
            )
    return path


def _experiment(
    data: Path, conditions: list[dict[str, Any]], endpoints: dict[str, Any], concurrency: int
) -> Any:
    return load_experiment(
        {
            "name": "bench",
            "dataset": {"loader": "jsonl", "path": str(data)},
            "endpoints": endpoints,
            "conditions": conditions,
            "judges": [{"kind": "llm", "name": "judge", "endpoint": "weak"}],
            "counterbalance": {"orders": "identity"},
            "limits": {"concurrency": concurrency},
        }
    )


def _timed(run: Any) -> tuple[float, RunResult]:
    began = time.perf_counter()
    result = run()
    return time.perf_counter() - began, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000, help="items of the overhead run")
    parser.add_argument("--http-items", type=int, default=200, help="items per throughput run")
    parser.add_argument("--latency", type=float, default=0.05, help="fake server seconds/request")
    args = parser.parse_args()
    os.environ["CI"] = "true"
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = _dataset(folder, args.items)
        mocks = {"weak": {"spec": "mock/weak"}}
        exp = _experiment(data, [{"label": "unassisted", "protocol": "unassisted"}], mocks, 64)
        seconds, result = _timed(
            lambda: run_experiment(
                exp, out=folder / "overhead", endpoint_factory=_mock, progress=False, summary=False
            )
        )
        assert result.status == "complete", result.message
        rows.append(
            (
                f"overhead: {args.items} items, 1 judge call each (mock, no latency)",
                f"{seconds:.2f} s = {args.items / seconds:,.0f} items/s",
            )
        )
        seconds, result = _timed(
            lambda: run_experiment(
                exp, out=folder / "overhead", endpoint_factory=_mock, progress=False, summary=False
            )
        )
        assert result.calls == 0 and result.cached_calls == 0
        rows.append(
            (f"resume scan of the finished {args.items}-item run (no call)", f"{seconds:.2f} s")
        )

        (folder / "http").mkdir()
        http_data = _dataset(folder / "http", args.http_items)
        with FakeOpenAIServer(reply=_verdict, latency=args.latency) as server:
            options = {
                "base_url": server.base_url,
                "api_key_env": "BENCH_KEY",
                "max_concurrency": 256,
                "pricing": {"input": 0.0, "output": 0.0},
            }
            os.environ["BENCH_KEY"] = "test"
            fake = {
                "strong": {"spec": "openai/strong", **options},
                "weak": {"spec": "openai/weak", **options},
            }
            consultancy = [
                {
                    "label": "consultancy",
                    "protocol": "consultancy",
                    "roles": {"consultant": "strong"},
                    "options": {"rounds": 2, "sides": "correct"},
                }
            ]
            for concurrency in (1, 8, 32, 128):
                server.reset()
                exp = _experiment(http_data, consultancy, fake, concurrency)
                out = folder / f"http-{concurrency}"
                seconds, result = _timed(
                    lambda exp=exp, out=out: run_experiment(  # type: ignore[misc]
                        exp, out=out, progress=False, summary=False
                    )
                )
                assert result.status == "complete", result.message
                rows.append(
                    (
                        f"fake OpenAI, {args.latency * 1000:.0f} ms/request, concurrency "
                        f"{concurrency}: {result.items_total} items, "
                        f"{server.total_requests} requests",
                        f"{seconds:.2f} s = {result.items_total / seconds:,.1f} items/s, "
                        f"peak {server.peak_concurrency} in flight",
                    )
                )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
