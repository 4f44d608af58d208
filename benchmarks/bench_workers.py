"""``oversight run --workers N``: throughput at 1 and 2 worker processes, side by side.

Run from the repository root::

    .venv/bin/python benchmarks/bench_workers.py [--questions 500] [--latency 0.3] [--reps 2]

The workload is issue 21's: three-round debates judged by an LLM judge (7 calls an item:
the two speeches of a round at once, the rounds in turn, then the judge), every call to
the fake OpenAI server over real HTTP, the server in its own process with ``--latency``
seconds a reply, 256 items and 256 requests a model in flight. Whether the client's CPU (the SDK's
HTTP stack, the runner) or the provider decides depends on how fast the machine runs the
client: the script prints the provider bound (the least time any client needs) and what it
leaves to gain over one worker. Each repetition runs the same
experiment with ``--workers 1`` and ``--workers 2`` (alternating which goes first) into
fresh folders, through the command line as a user would. Reported for each: wall time,
calls per second, the client's CPU seconds (the ``oversight`` process, and apart from it
its workers with the fork server they are forked from, which this script adopts as a
subreaper so that ``getrusage(RUSAGE_CHILDREN)`` counts them), CPU per call, and the load
average before the run, so a reader can tell a slow run from a busy machine, and when the
run sent its first request. Prints a Markdown table.

With ``--ceiling``, each repetition also measures what the machine itself gives a second
process: a fixed pure-Python loop run alone, then two copies side by side. Two cores that
were each a whole core would finish the pair in the time of one; on a virtual machine whose
cores share a host, the pair's throughput over one copy's is the most any two processes
can reach at that moment, whatever they run.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY_VARIABLE = "BENCH_OPENAI_KEY"
_PR_SET_CHILD_SUBREAPER = 36
LIMIT = 256
"""Debates and requests an endpoint in flight (each half of ``--halves`` gets half)."""
SPIN_LOOPS = 20_000_000
"""Iterations of the ceiling's loop: about a second of one core here."""
ROUNDS = 3
"""Debate rounds: the two debaters of a round speak at once (the protocol's default), the
rounds one after another, then the judge (the run's other endpoint)."""


def serve(latency: float, jitter: float = 0.0) -> None:
    """The fake server, in this process, until killed (prints its base URL first); with
    ``jitter``, each reply waits ``latency`` times a uniform factor in ``1 ± jitter``
    (seeded: the same run draws the same delays)."""
    import random

    from oversight.testing import FakeOpenAIServer, scripted_verdict

    draw = random.Random(0)

    def delay(_: object) -> float:
        return latency * (1 + jitter * (2 * draw.random() - 1))

    FakeOpenAIServer(reply=scripted_verdict, latency=delay if jitter else latency).serve_forever()


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        KEY_VARIABLE: "bench",
        "CI": "true",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
    }


def _experiment(
    folder: Path, base_url: str, questions: int, *, first: int = 0, limit: int = LIMIT
) -> Path:
    """Debates of questions ``first`` to ``first + questions - 1``, ``limit`` items and
    requests an endpoint in flight."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "questions.jsonl"
    with data.open("w") as f:
        for i in range(first, first + questions):
            question = {
                "id": f"q{i}",
                "question": f"Which answer is right in story {i}?",
                "answers": ["the first", "the second"],
                "correct": i % 2,
                "context": f"Story {i}. " + "Some words of the hidden text. " * 20,
                "source": f"s{i // 10}",
            }
            f.write(json.dumps(question) + "\n")
    endpoint = (
        f'base_url = "{base_url}"\napi_key_env = "{KEY_VARIABLE}"\nmax_concurrency = {limit}\n'
        f"pricing = {{ input = 0.15, output = 0.6 }}\n"
    )
    path = folder / "bench.toml"
    path.write_text(
        f"""
name = "bench-workers"
[dataset]
loader = "jsonl"
path = "{data}"
[endpoints.strong]
spec = "openai/strong"
{endpoint}
[endpoints.weak]
spec = "openai/weak"
{endpoint}
[[conditions]]
label = "debate"
protocol = "debate"
roles = {{ debater = "strong" }}
options = {{ rounds = 3, resamples = 0 }}
[[judges]]
kind = "llm"
name = "judge"
endpoint = "weak"
[counterbalance]
orders = "identity"
[limits]
concurrency = {limit}
"""
    )
    return path


def _once(experiment: Path, out: Path, workers: int, server: int) -> dict[str, Any]:
    """One run through the command line; its wall time, client and server CPU, result."""
    load = os.getloadavg()[0]
    served = _cpu(server)
    stolen = _steal()
    before = _children_cpu()
    began, clock = time.perf_counter(), time.time()
    command = [sys.executable, "-m", "oversight.cli", "run", str(experiment), "--out", str(out)]
    done = subprocess.run(
        [*command, "--workers", str(workers), "--no-report", "--json"],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - began
    parent = _children_cpu() - before
    _reap_orphans(keep=server)
    others = _children_cpu() - before - parent
    if done.returncode != 0:
        raise RuntimeError(f"the run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if result["status"] != "complete":
        raise RuntimeError(f"the run ended {result['status']}: {result['message']}")
    return {
        "workers": workers,
        "wall": wall,
        "cpu": parent + others,
        "parent": parent,
        "others": others,
        "server": _cpu(server) - served,
        "calls": result["calls"],
        "first": _first_request([out]) - clock,
        "load": load,
        "steal": _steal() - stolen,
    }


def _steal() -> float:
    """CPU seconds the hypervisor gave other guests while this machine's cores wanted to
    run (``steal`` in ``/proc/stat``, all cores): a run with much of it was slowed from
    outside."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def _halves(experiments: list[Path], out: Path, server: int) -> dict[str, Any]:
    """Two separate one-process runs, side by side, of the two halves of the questions
    (each with half the limits): what two processes do with nothing in common."""
    load = os.getloadavg()[0]
    served = _cpu(server)
    stolen = _steal()
    before = _children_cpu()
    began, clock = time.perf_counter(), time.time()
    runs = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "oversight.cli", "run", str(experiment)),
                *("--out", str(out / str(half)), "--no-report", "--json"),
            ],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half, experiment in enumerate(experiments)
    ]
    outputs = [run.communicate() for run in runs]
    wall = time.perf_counter() - began
    cpu = _children_cpu() - before
    calls = 0
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        if run.returncode != 0:
            raise RuntimeError(f"a half failed ({run.returncode}):\n{stderr[-2000:]}")
        calls += json.loads(stdout)["calls"]
    return {
        "workers": "halves",
        "wall": wall,
        "cpu": cpu,
        "parent": cpu,
        "others": 0.0,
        "server": _cpu(server) - served,
        "calls": calls,
        "first": _first_request([out / "0", out / "1"]) - clock,
        "load": load,
        "steal": _steal() - stolen,
    }


SPIN = "x = 0\nfor i in range({n}): x += i\n"
"""The ceiling's loop: pure interpreter work, no memory traffic to speak of, no I/O."""


def _spin(copies: int, n: int) -> float:
    """Wall seconds for ``copies`` processes, started together, to each run the loop."""
    began = time.perf_counter()
    runs = [subprocess.Popen([sys.executable, "-S", "-c", SPIN.format(n=n)]) for _ in range(copies)]
    for run in runs:
        if run.wait() != 0:
            raise RuntimeError(f"the ceiling's loop failed ({run.returncode})")
    return time.perf_counter() - began


def _ceiling(n: int, pairs: int = 3) -> dict[str, Any]:
    """The loop alone and two copies side by side, alternated ``pairs`` times (the machine's
    speed moves from second to second): two copies' throughput over one's, from the medians."""
    ones, twos = [], []
    for _ in range(pairs):
        ones.append(_spin(1, n))
        twos.append(_spin(2, n))
    one, two = statistics.median(ones), statistics.median(twos)
    return {"workers": "ceiling", "one": one, "two": two, "ratio": 2 * one / two}


def _first_request(runs: list[Path]) -> float:
    """When the first request of ``runs`` was sent (Unix time, from their ``sent.jsonl``)."""
    sent = (json.loads(line)["at"] for run in runs for line in (run / "sent.jsonl").open())
    return min(datetime.fromisoformat(at).timestamp() for at in sent)


def _children_cpu() -> float:
    """CPU seconds of this process's children that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _become_subreaper() -> None:
    """Adopt the processes the run leaves behind (its workers' fork server), so their CPU
    is counted when they are waited for (Linux ``PR_SET_CHILD_SUBREAPER``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _reap_orphans(keep: int) -> None:
    """Wait for every child of this process but ``keep`` (the adopted orphans of a run)."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, ppid = stat.parent.name, stat.read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue  # ended meanwhile
        if ppid == me and int(pid) != keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(int(pid), 0)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=500, help="debates (7 calls each)")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds a reply")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of each side")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="each reply's latency varies uniformly by this fraction (default 0: every "
        "reply takes exactly --latency, issue 21's workload)",
    )
    parser.add_argument(
        "--halves",
        action="store_true",
        help="also run the two halves of the questions as two separate one-process runs "
        "side by side (half the limits each): the most two processes with nothing in common do",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also measure, in each repetition, the machine's own ceiling: a pure-Python "
        "loop alone and two copies side by side (the most two processes can gain here)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.latency, args.jitter)
        return 0
    _become_subreaper()
    server = subprocess.Popen(
        [
            *(sys.executable, __file__, "--serve"),
            *("--latency", str(args.latency), "--jitter", str(args.jitter)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        rows: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            experiment = _experiment(folder, base_url, args.questions)
            half = args.questions // 2
            halves = [
                _experiment(folder / "h0", base_url, half, limit=LIMIT // 2),
                _experiment(
                    folder / "h1", base_url, args.questions - half, first=half, limit=LIMIT // 2
                ),
            ]
            modes: list[int | str] = [1, 2, "halves"] if args.halves else [1, 2]
            ceilings: list[dict[str, Any]] = []
            for rep in range(args.reps):
                if args.ceiling:
                    ceilings.append(_ceiling(SPIN_LOOPS))
                    print(
                        f"rep {rep} ceiling: one loop {ceilings[-1]['one']:.2f} s, two side by "
                        f"side {ceilings[-1]['two']:.2f} s: {ceilings[-1]['ratio']:.2f}x",
                        file=sys.stderr,
                    )
                for workers in modes if rep % 2 == 0 else modes[::-1]:
                    out = folder / f"run-{rep}-{workers}"
                    if workers == "halves":
                        row = _halves(halves, out, server.pid)
                    else:
                        row = _once(experiment, out, int(workers), server.pid)
                    rows.append(row)
                    print(
                        f"rep {rep} workers {workers}: {row['wall']:.1f} s wall, "
                        f"{row['cpu']:.1f} s CPU, {row['calls']} calls, load {row['load']:.2f}, "
                        f"steal {row['steal']:.1f} s",
                        file=sys.stderr,
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)
    _table(rows, args)
    if ceilings:
        ratios = ", ".join(f"{c['ratio']:.2f}" for c in ceilings)
        print(
            f"the machine's ceiling, two loops side by side / one alone: "
            f"{statistics.median(c['ratio'] for c in ceilings):.2f}x (each rep: {ratios})"
        )
    return 0


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.questions} debates, {args.latency} s a reply"
        f"{f' ± {100 * args.jitter:.0f}%' if args.jitter else ''}\n"
    )
    print(
        "| workers | wall s (each rep) | median wall s | calls/s | client CPU s "
        "(parent + workers) | CPU ms a call | cores used (CPU / wall) | server CPU s | "
        "load avg before | steal s | first request s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    medians = {}
    for workers in dict.fromkeys(
        r["workers"] for r in sorted(rows, key=lambda r: str(r["workers"]))
    ):
        mine = [r for r in rows if r["workers"] == workers]
        wall = statistics.median(r["wall"] for r in mine)
        cpu = statistics.median(r["cpu"] for r in mine)
        parent = statistics.median(r["parent"] for r in mine)
        others = statistics.median(r["others"] for r in mine)
        served = statistics.median(r["server"] for r in mine)
        calls = mine[0]["calls"]
        medians[workers] = wall
        walls = ", ".join(f"{r['wall']:.1f}" for r in mine)
        loads = ", ".join(f"{r['load']:.2f}" for r in mine)
        steals = ", ".join(f"{r['steal']:.1f}" for r in mine)
        first = statistics.median(r["first"] for r in mine)
        print(
            f"| {workers} | {walls} | {wall:.1f} | {calls / wall:.0f} | {cpu:.1f} "
            f"({parent:.1f} + {others:.1f}) | "
            f"{cpu / calls * 1000:.2f} | {cpu / wall:.2f} | {served:.1f} | {loads} | {steals} | "
            f"{first:.2f} |"
        )
    print(f"\nthroughput ratio, 2 workers / 1: {medians[1] / medians[2]:.2f}x")
    if "halves" in medians:
        print(f"two separate runs of the halves / 1: {medians[1] / medians['halves']:.2f}x")
    # The provider bound, the least time any client needs, however fast and with however
    # many processes, after its first request (which no mode sends sooner than one worker
    # does: they all start the same way). A debate is ROUNDS + 1 replies one after another
    # and at most LIMIT debates are in flight; the debaters' model answers at most LIMIT
    # requests at once, so its 2 x ROUNDS speeches a debate need ceil(calls / LIMIT) waves
    # of replies, and the last debate's judge one more. Where one worker comes close to
    # that, two cannot gain much.
    items = -(-args.questions // LIMIT) * (ROUNDS + 1)
    speeches = -(-args.questions * 2 * ROUNDS // LIMIT) + 1
    provider = max(items, speeches) * args.latency
    first = statistics.median(r["first"] for r in rows if r["workers"] == 1)
    print(
        f"provider bound: {max(items, speeches)} replies one after another x {args.latency} s "
        f"= {provider:.1f} s (debates in flight: {items}, the debaters' requests in flight: "
        f"{speeches}), after the first request at {first:.2f} s: the most any number of "
        f"workers allows is {medians[1] / (provider + first):.2f}x"
    )
    # What the CPU alone allows on free cores: one worker needs its CPU time on one core,
    # two share theirs over two.
    bound = {w: statistics.median(r["cpu"] for r in rows if r["workers"] == w) for w in (1, 2)}
    print(f"ratio the client CPU allows on two free cores: {bound[1] / (bound[2] / 2):.2f}x")
    # The fake server needs CPU too: on two cores shared with it, two workers can at best
    # spread client and server CPU over both.
    serve = statistics.median(r["server"] for r in rows if r["workers"] in (1, 2))
    both = {w: max(bound[w] / w, (bound[w] + serve) / 2) for w in (1, 2)}
    print(f"ratio allowed on two free cores shared with the server: {both[1] / both[2]:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
