"""The debate workload as an inspect_ai task (run by ``bench_debate.py`` with the
interpreter of its own inspect_ai environment, ``benchmarks/.venv-inspect``).

Each sample is one debate: a solver asks the model for both debaters' speeches of a round
at once (``asyncio.gather``), three rounds in turn, then the judge with a response schema;
a scorer reads the judge's probabilities. inspect_ai's OpenAI provider sends it all to the
fake server (``--base-url``) through the ``openai`` SDK, ``--concurrency`` connections.

Prints one JSON line: wall and CPU seconds of the timed eval (after a warm-up eval).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _debate_workload as workload
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import (
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    ResponseSchema,
    get_model,
)
from inspect_ai.scorer import Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, TaskState, solver
from inspect_ai.util import JSONSchema


def _messages(raw: list[dict[str, str]]) -> list[Any]:
    return [
        ChatMessageSystem(content=m["content"])
        if m["role"] == "system"
        else ChatMessageUser(content=m["content"])
        for m in raw
    ]


@solver
def debate() -> Any:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        i = int(state.metadata["index"])
        speeches: list[tuple[str, str]] = []
        for _ in range(workload.ROUNDS):
            outputs = await asyncio.gather(
                *(
                    model.generate(_messages(workload.debater_messages(i, side, speeches)))
                    for side in (0, 1)
                )
            )
            speeches += [
                (f"Debater {'AB'[side]}", out.completion) for side, out in enumerate(outputs)
            ]
        schema = ResponseSchema(
            name="verdict", json_schema=JSONSchema.model_validate(workload.VERDICT_SCHEMA)
        )
        verdict = await model.generate(
            _messages(workload.judge_messages(i, speeches)),
            config=GenerateConfig(response_schema=schema),
        )
        state.output = verdict
        return state

    return solve


@scorer(metrics=[accuracy()])
def judged() -> Any:
    async def score(state: TaskState, target: Target) -> Score:
        probabilities = json.loads(state.output.completion)["probabilities"]
        chosen = max(probabilities, key=probabilities.get)
        return Score(value="C" if chosen == target.text else "I", answer=chosen)

    return score


def task(debates: int) -> Task:
    return Task(
        dataset=[
            Sample(input=f"debate {i}", target="A", id=i, metadata={"index": i})
            for i in range(debates)
        ],
        solver=debate(),
        scorer=judged(),
    )


def run(args: argparse.Namespace, debates: int, logs: str) -> None:
    logs_before = eval(
        task(debates),
        model=f"openai/{workload.DEBATER_MODEL}",
        model_base_url=args.base_url,
        max_connections=args.concurrency,
        max_samples=debates,
        max_retries=0,
        log_dir=logs,
        display="none",
        log_level="error",
    )
    status = logs_before[0].status
    if status != "success":
        raise SystemExit(f"inspect_ai eval ended {status}: {logs_before[0].error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--debates", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "bench")
    with tempfile.TemporaryDirectory() as logs:
        run(args, 2, logs)  # warm-up: imports, provider set-up, connections
        urllib.request.urlopen(args.base_url + "/stats/reset").read()
        cpu, wall = time.process_time(), time.perf_counter()
        run(args, args.debates, logs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall_s": wall, "cpu_s": cpu}))


if __name__ == "__main__":
    main()
