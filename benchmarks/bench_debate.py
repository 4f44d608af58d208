"""The debate workload: oversight against the bare SDK and inspect_ai, client CPU a call.

``--debates`` three-round debates with a judge (7 calls each, 4 in turn) against the fake
OpenAI server in its own process (``--latency`` seconds a reply), at most ``--concurrency``
requests in flight, every debate started at once. The contenders, each in its own process
and interleaved over ``--repeats`` rounds:

* **oversight**: a real experiment run (``run_experiment``: dataset, debate protocol, LLM
  judge, run store and response cache in a fresh folder), on the default transport;
* **oversight (httpx)**: the same with ``transport = "httpx"`` (the SDKs' default stack);
* **bare SDK**: one ``AsyncOpenAI`` (its default httpx stack) making the same calls in the
  same dependency order, a semaphore around each call;
* **bare SDK (aiohttp)**: the same through the SDK's ``DefaultAioHttpClient``;
* **inspect_ai**: the workload as an inspect_ai task (``_debate_inspect.py``), run by the
  interpreter of ``benchmarks/.venv-inspect``, which this script creates (and fills with
  ``pip install inspect-ai``) when absent. ``--no-inspect`` leaves it out.

Each contender first makes a small warm-up run (imports, connections), then the timed run;
client CPU is that process's user+sys seconds over the timed run divided by the requests
the server saw (the server is another process). Bytecode goes to one shared cache
(``PYTHONPYCACHEPREFIX``), so no contender pays for compiling imports in its timed run.
The provider bound is the time the server alone needs: ``ceil(calls / concurrency)``
latencies, or the 4 turns of one debate if longer. ``--profile`` also runs oversight under
cProfile and prints where its CPU goes, by package.

    nice .venv/bin/python benchmarks/bench_debate.py                      # 1,000 debates
    nice .venv/bin/python benchmarks/bench_debate.py --debates 100 --repeats 1 --no-inspect
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _debate_workload as workload

HERE = Path(__file__).resolve().parent
INSPECT_VENV = HERE / ".venv-inspect"
INSPECT_VERSION = "0.3.285"
CONTENDERS = ("oversight", "oversight (httpx)", "bare SDK", "bare SDK (aiohttp)", "inspect_ai")
WARM_UP = 2


# -- the fake server, in its own process --------------------------------------------------


def serve(latency: float) -> None:
    """The fake OpenAI server with the workload's replies; ``GET /v1/stats`` says how many
    requests (and request bytes) it saw and the most in flight; ``/v1/stats/reset`` then
    starts again."""
    from oversight.testing import FakeOpenAIServer
    from oversight.testing._http import HttpRequest, Responder

    class Server(FakeOpenAIServer):
        async def route(self, http: HttpRequest, out: Responder) -> bool:
            if not http.path.startswith("/v1/stats"):
                return False
            seen = [r for r in self.requests if r.path == "/v1/chat/completions"]
            size = sum(len(json.dumps(r.body)) for r in seen)
            await out.send_json(
                200, {"requests": len(seen), "bytes": size, "peak": self.peak_concurrency}
            )
            if http.path.endswith("/reset"):
                self.reset()
            return True

    Server(reply=workload.reply, latency=latency).serve_forever()


def stats(base_url: str, *, reset: bool = False) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/stats" + ("/reset" if reset else "")) as r:
        result: dict[str, Any] = json.loads(r.read())
    return result


# -- the contenders -----------------------------------------------------------------------


def oversight_run(base_url: str, debates: int, concurrency: int, folder: Path, http: str) -> None:
    """One oversight experiment run of ``debates`` debates into ``folder``."""
    from oversight.experiment import load_experiment
    from oversight.runner import run_experiment

    data = folder / "questions.jsonl"
    data.write_text("".join(json.dumps(workload.question(i)) + "\n" for i in range(debates)))
    options = {
        "spec": f"openai/{workload.DEBATER_MODEL}",
        "base_url": base_url,
        "api_key_env": "BENCH_KEY",
        "max_concurrency": concurrency,
        "pricing": {"input": 0.0, "output": 0.0},
        "options": {"transport": http},
    }
    experiment = load_experiment(
        {
            "name": "bench-debate",
            "dataset": {"loader": "jsonl", "path": str(data)},
            "endpoints": {"strong": options, "weak": options},
            "conditions": [
                {
                    "label": "debate",
                    "protocol": "debate",
                    "roles": {"debater": "strong"},
                    "options": {"rounds": workload.ROUNDS},
                }
            ],
            "judges": [{"kind": "llm", "name": "judge", "endpoint": "weak"}],
            "counterbalance": {"orders": "identity"},
            "limits": {"concurrency": debates},
        }
    )
    os.environ["BENCH_KEY"] = "bench"
    result = run_experiment(experiment, out=folder / "run", progress=False, summary=False)
    assert result.status == "complete", result.message


async def bare_run(base_url: str, debates: int, concurrency: int, http: str) -> None:
    """The same debates through one bare ``AsyncOpenAI``, the same calls in the same order."""
    import asyncio

    import openai

    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key="bench",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient() if http == "aiohttp" else None,
    )
    gate = asyncio.Semaphore(concurrency)

    async def ask(messages: list[dict[str, str]], **extra: Any) -> str:
        async with gate:
            response = await client.chat.completions.create(
                model=workload.DEBATER_MODEL,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=364,
                temperature=0.4,
                **extra,
            )
        return response.choices[0].message.content or ""

    async def debate(i: int) -> float:
        speeches: list[tuple[str, str]] = []
        for _ in range(workload.ROUNDS):
            said = await asyncio.gather(
                *(ask(workload.debater_messages(i, side, speeches)) for side in (0, 1))
            )
            speeches += [(f"Debater {'AB'[side]}", text) for side, text in enumerate(said)]
        fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True}}
        fmt["json_schema"]["schema"] = workload.VERDICT_SCHEMA  # type: ignore[index]
        verdict = await ask(workload.judge_messages(i, speeches), response_format=fmt)
        return float(json.loads(verdict)["probabilities"]["A"])

    verdicts = await asyncio.gather(*(debate(i) for i in range(debates)))
    await client.close()
    assert all(v == 0.7 for v in verdicts)


def contender(name: str, base_url: str, debates: int, concurrency: int, profile: str) -> None:
    """Run contender ``name`` (in this process): a warm-up, then the timed run; print its
    wall and CPU seconds as JSON (and, with ``profile``, dump a cProfile there)."""
    import asyncio

    http = "httpx" if name in ("oversight (httpx)", "bare SDK") else "aiohttp"
    with tempfile.TemporaryDirectory() as tmp:

        def once(n: int, tag: str) -> None:
            if name.startswith("oversight"):
                folder = Path(tmp) / tag
                folder.mkdir()
                oversight_run(base_url, n, concurrency, folder, http)
            else:
                asyncio.run(bare_run(base_url, n, concurrency, http))

        once(WARM_UP, "warm-up")
        stats(base_url, reset=True)
        profiler = cProfile.Profile(time.process_time) if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        once(debates, "timed")
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall_s": wall, "cpu_s": cpu}))


# -- the driver ---------------------------------------------------------------------------


def inspect_python() -> Path:
    """The inspect_ai environment's interpreter, the environment made first if absent."""
    python = INSPECT_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {INSPECT_VENV} (inspect-ai=={INSPECT_VERSION}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(INSPECT_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"inspect-ai=={INSPECT_VERSION}", "openai"],
            check=True,
        )
    return python


def child_env(pycache: Path) -> dict[str, str]:
    """The contenders' environment: bytecode written once to a shared cache."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["OPENAI_API_KEY"] = "bench"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    return env


def measure(
    name: str, args: argparse.Namespace, base_url: str, env: dict[str, str], profile: str = ""
) -> dict[str, float]:
    """One timed run of contender ``name`` in its own process."""
    if name == "inspect_ai":
        command = [str(inspect_python()), str(HERE / "_debate_inspect.py"), "--base-url", base_url]
    else:
        command = [sys.executable, __file__, "--contender", name, "--base-url", base_url]
        command += ["--profile-to", profile] if profile else []
    command += ["--debates", str(args.debates), "--concurrency", str(args.concurrency)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-4000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    seen = stats(base_url, reset=True)
    calls = seen["requests"]
    expected = args.debates * workload.CALLS_PER_DEBATE
    if calls != expected:
        raise SystemExit(f"{name} made {calls} requests, not {expected}")
    result |= {"calls": calls, "bytes": seen["bytes"] / calls, "peak": seen["peak"]}
    return result


GROUPS = (
    ("SDK (openai)", ("/openai/",)),
    (
        "HTTP stack",
        ("/aiohttp/", "/httpx", "/httpcore", "/anyio/", "/h11/", "/yarl/", "/multidict/"),
    ),
    ("asyncio", ("/asyncio/", "/selectors.py", "/socket.py", "/ssl.py", "/contextvars")),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("oversight: endpoints", ("/oversight/endpoints/",)),
    ("oversight: protocols and judges", ("/protocols/", "/judges/")),
    ("oversight: runner and store", ("/oversight/runner/", "/transcripts/", "/oversight/")),
)


def profile_table(path: str) -> list[tuple[str, float]]:
    """Share of the profiled CPU by package: each function's own time; the time of a
    built-in or standard-library function (``json``, ``re``, ``copy``, ``typing``...) goes
    to the packages that called it, in proportion to the calls' time."""
    entries = pstats.Stats(path).stats  # type: ignore[attr-defined]
    stdlib = os.path.dirname(os.__file__)

    def owners(key: tuple[str, int, str], depth: int = 0) -> dict[str, float]:
        where = f"{key[0]}:{key[2]}"
        named = next((g for g, marks in GROUPS if any(m in where for m in marks)), None)
        callers = entries[key][4] if key in entries else {}
        passthrough = key[0] == "~" or key[0].startswith(("<frozen", stdlib))
        if named is not None or not passthrough or not callers or depth > 8:
            return {named or "other": 1.0}
        spent = sum(c[2] for c in callers.values()) or 1.0
        shares: dict[str, float] = {}
        for caller, (_, _, time_in, _) in callers.items():
            for name, part in owners(caller, depth + 1).items():
                shares[name] = shares.get(name, 0.0) + part * time_in / spent
        return shares

    totals: dict[str, float] = {}
    for key, (_, _, own, _, _) in entries.items():
        for name, part in owners(key).items():
            totals[name] = totals.get(name, 0.0) + own * part
    total = sum(totals.values()) or 1.0
    return sorted(((g, t / total) for g, t in totals.items()), key=lambda gt: -gt[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debates", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=256, help="requests in flight")
    parser.add_argument("--latency", type=float, default=0.3, help="server seconds a reply")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-inspect", action="store_true", help="leave inspect_ai out")
    parser.add_argument("--profile", action="store_true", help="profile oversight's CPU")
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, help="these contenders only")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.latency)
    if args.contender:
        return contender(
            args.contender, args.base_url, args.debates, args.concurrency, args.profile_to
        )

    names = [n for n in args.only or CONTENDERS if not (args.no_inspect and n == "inspect_ai")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-debate-"))
    env = child_env(tmp / "pycache")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    try:
        for repeat in range(args.repeats):
            for name in names:
                runs[name].append(measure(name, args, base_url, env))
                last = runs[name][-1]
                print(
                    f"  {name:<20} run {repeat + 1}: {last['wall_s']:6.2f} s wall, "
                    f"{last['cpu_s'] / last['calls'] * 1000:.2f} ms CPU a call",
                    flush=True,
                )
        if args.profile:
            measure("oversight", args, base_url, env, profile=str(tmp / "oversight.prof"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    profiled = profile_table(str(tmp / "oversight.prof")) if args.profile else []
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)

    calls = args.debates * workload.CALLS_PER_DEBATE
    bound = max(math.ceil(calls / args.concurrency), workload.ROUNDS + 1) * args.latency
    print()
    print(
        f"{args.debates} debates ({calls} calls), {args.latency * 1000:.0f} ms latency, "
        f"{args.concurrency} in flight; provider bound {bound:.1f} s; median of {args.repeats}"
    )
    print("| contender | wall (s) | × bound | CPU a call (ms) | request bytes | peak in flight |")
    print("|---|---:|---:|---:|---:|---:|")
    summary: dict[str, float] = {}
    for name in names:
        wall = statistics.median(r["wall_s"] for r in runs[name])
        cpu = statistics.median(r["cpu_s"] / r["calls"] * 1000 for r in runs[name])
        summary[name] = round(cpu, 3)
        last = runs[name][-1]
        print(
            f"| {name} | {wall:.1f} | {wall / bound:.2f} | {cpu:.2f} | {last['bytes']:,.0f} "
            f"| {last['peak']:.0f} |"
        )
    if args.profile:
        print("\nWhere oversight's client CPU goes (cProfile, own time by package):")
        for group, share in profiled:
            print(f"  {group:<34} {share:6.1%}")
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    load = os.getloadavg()[0]
    print(json.dumps({"machine": machine, "load": round(load, 1), "cpu_ms_a_call": summary}))


if __name__ == "__main__":
    main()
