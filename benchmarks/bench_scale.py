"""The run store at scale: write, resume, show and report at 1,000 to 100,000 mock items.

Run from the repository root (nice, so the shared machine stays usable)::

    nice .venv/bin/python benchmarks/bench_scale.py [--sizes 1000 10000 100000]
        [--story-chars 25000] [--questions 500] [--big 100000 --tail 5000 --pairs 3]

For each size N in ``--sizes``, in a fresh temporary folder, each step a separate
``oversight`` process (so its time and peak memory are its own, measured by the process
itself: wall time and ``VmHWM``, its peak resident memory):

1. **write**: ``oversight run`` of N consultancy items (one round: one consultant call
   and one judge call an item) on dry-run ``mock/`` endpoints, over ``--questions`` distinct
   questions, each with a hidden story of ``--story-chars`` characters (QuALITY-sized);
   reported as wall seconds and milliseconds per item (the per-item time must not grow
   with N: that is what "linear" means);
2. **resume**: the same command again on the finished run (nothing to do; it must find
   that out from the indexes);
3. **show**: ``oversight show RUN --limit 10``;
4. **show ID**: ``oversight show RUN ID`` of the last transcript;
5. **report**: ``oversight report RUN --json``;
6. **judge --all**: ``oversight judge RUN --annotator bench --all`` with its input closed: a
   human judging session over every transcript, planned, its first item shown, then over
   (the input ends);
7. **resume of a copy**: the run folder copied (``shutil.copytree``: every log a new file,
   as ``cp -r``, ``rsync`` or an unpacked archive make it), then the resume of step 2 on the
   copy: the first command on a copied run, which checks the indexes it came with against
   the copy's logs.

Then ``--big`` items (100,000), where a real mock run would take too long on a shared
machine: ``oversight run`` of the big experiment is interrupted (SIGINT) once it has saved
about 1,000 transcripts (so the run folder, its frozen experiment and real records exist);
the benchmark then appends, through :class:`transcripts.RunStore` (the runner's own write
path: questions by reference, index entries), copies of those real records under the
planned ids of every item but the last ``--tail``; ``oversight run`` then resumes and runs
the last ``--tail`` items for real with the store at full size (**write at full size**,
ms/item), then again on the finished run (**resume**), then show, show ID, report, the
judging session and the resume of a copy.

``--pairs K`` measures what "flat" asks side by side: before the last ``--tail`` items are
run, K alternated pairs of a fresh run of the smallest ``--sizes`` items and the last items
written into the filled store (put back in place after each, its files keeping their
inodes: the indexes check every line of a log that is another file, as a copy is), each
pair's ratio of net per-item write CPU printed.

"net ms/item" leaves out each session's fixed start (planning all N items and reading the
store's indexes), taken as the time of the same command on the finished run: the per-item
cost that must stay flat as the store grows.

Also the run folder's size on disk. Prints a Markdown table for BENCHMARKS.md.

Each cell is wall seconds with the process's CPU seconds (user + system, imports included)
in brackets: on a shared machine the CPU seconds are the steadier measure. The packages are
compiled to ``.pyc`` first (``python -m compileall``, which writes them even under
``PYTHONDONTWRITEBYTECODE=1``), as an installed oversight has them; otherwise every command
would also pay for compiling its imports (0.4-1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import measure_cli

from oversight.testing import cli_command, signal_after

_measure = measure_cli
"""One command in its own process: wall, CPU and peak memory (``_measure.py``)."""


def _experiment(folder: Path, n: int, *, questions: int, story_chars: int) -> Path:
    data = folder / "questions.jsonl"
    story = (
        "The keeper wrote every ship into the ledger, and the storms too. "
        * (story_chars // 64 + 1)
    )[:story_chars]
    with open(data, "w") as f:
        for i in range(min(n // 2, questions)):
            f.write(
                json.dumps(
                    {
                        "id": f"q{i}",
                        "question": f"Question {i}?",
                        "answers": ["yes", "no"],
                        "correct": i % 2,
                        "context": f"Story {i}. {story}",
                        "source": f"s{i // 5}",
                    }
                )
                + "\n"
            )
    repeats = max(1, n // (2 * min(n // 2, questions)))  # consultancy: 2 sides a question
    spec = folder / "scale.toml"
    spec.write_text(f"""
name = "scale"
repeats = {repeats}
[dataset]
loader = "jsonl"
path = "{data}"
[endpoints.strong]
spec = "mock/strong"
[endpoints.weak]
spec = "mock/weak"
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = {{ consultant = "strong" }}
options = {{ rounds = 1 }}
[[judges]]
name = "judge"
kind = "llm"
endpoint = "weak"
[counterbalance]
orders = "identity"
[limits]
concurrency = 64
""")
    return spec


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _write_and_resume(spec: Path, run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``oversight run`` of the experiment into ``run``, then the same on the finished run
    (nothing left to do: the session's fixed start, which :func:`_net` leaves out)."""
    command = ("run", str(spec), "--out", str(run), "--no-report")
    return _measure(*command), _measure(*command)


def _resume_of_a_copy(spec: Path, run: Path) -> dict[str, Any]:
    """The finished ``run`` copied beside it, then resumed there (the copy then removed)."""
    copy = run.with_name(run.name + ".copy")
    shutil.copytree(run, copy)
    try:
        return _measure("run", str(spec), "--out", str(copy), "--no-report")
    finally:
        shutil.rmtree(copy)


def _row(n: int, *, questions: int, story_chars: int, write_only: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        spec = _experiment(folder, n, questions=questions, story_chars=story_chars)
        run = folder / "run"
        row: dict[str, Any] = {"n": n}
        row["write"], row["resume"] = _write_and_resume(spec, run)
        if write_only:
            return row
        row["show"] = _measure("show", str(run), "--limit", "10")
        last = json.loads((run / "transcripts.jsonl").read_bytes().splitlines()[-1])["id"]
        row["show_id"] = _measure("show", str(run), last)
        row["report"] = _measure("report", str(run), "--json")
        row["judge"] = _measure("judge", str(run), "--annotator", "bench", "--all")
        row["copy"] = _resume_of_a_copy(spec, run)
        row["items"] = (run / "transcripts.jsonl").read_bytes().count(b"\n")
        row["store_mb"] = _size_mb(run) - _cache_mb(run)
        shutil.rmtree(run)
        return row


def _fill(run: Path, spec: Path, tail: int) -> None:
    """Append copies of the run's real records under the planned ids of every item but the
    last ``tail`` (the runner's write path: RunStore.append)."""
    from oversight.datasets import load_questions
    from oversight.experiment import load_experiment
    from oversight.runner._items import judgment_id, plan
    from transcripts import RunStore

    exp = load_experiment(spec)
    items = list(plan(exp, load_questions(exp.dataset, exp.base_dir)))
    store = RunStore.open(run)
    done = {e.id for e in store.transcripts.latest_entries() if e.status == "complete"}
    templates = {t.metadata.get("setup"): t for t in store.transcripts.latest()}
    judgment = next(iter(store.judgments.latest()))
    for item in items[: len(items) - tail]:
        if item.id in done:
            continue
        template = templates[item.setup.label]
        store.transcripts.append(
            template.model_copy(
                update={"id": item.id, "question": item.question, "repeat": item.repeat}
            )
        )
        key = judgment_id(item.id, judgment.judge.name, None)
        store.judgments.append(
            judgment.model_copy(
                update={
                    "id": key,
                    "transcript_id": item.id,
                    "work_key": key,
                }
            )
        )
    store.close()


def _interrupted_run(spec: Path, run: Path, after: int) -> None:
    """Start ``oversight run`` and interrupt it (SIGINT) once ``after`` transcripts exist."""
    command = cli_command("run", str(spec), "--out", str(run), "--no-report", "--no-progress")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    signal_after(process, run / "transcripts.jsonl", after, poll=0.5, timeout=600)
    process.wait(timeout=600)


def _big(
    n: int,
    *,
    tail: int,
    questions: int,
    story_chars: int,
    keep: Path | None = None,
    pairs: int = 0,
    small: int = 1000,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp) if keep is None else keep
        folder.mkdir(parents=True, exist_ok=True)
        spec = _experiment(folder, n, questions=questions, story_chars=story_chars)
        run = folder / "run"
        _interrupted_run(spec, run, after=1000)
        started = time.perf_counter()
        _fill(run, spec, tail)
        row: dict[str, Any] = {"n": n, "fill_s": time.perf_counter() - started}
        if pairs:
            row["pairs"] = _pairs(
                pairs, run, spec, small=small, questions=questions, story_chars=story_chars
            )
        row["write_tail"], row["resume"] = _write_and_resume(spec, run)
        row["show"] = _measure("show", str(run), "--limit", "10")
        last = json.loads((run / "transcripts.jsonl").read_bytes().splitlines()[-1])["id"]
        row["show_id"] = _measure("show", str(run), last)
        row["report"] = _measure("report", str(run), "--json")
        row["judge"] = _measure("judge", str(run), "--annotator", "bench", "--all")
        row["copy"] = _resume_of_a_copy(spec, run)
        row["items"] = (run / "transcripts.jsonl").read_bytes().count(b"\n")
        status = json.loads((run / "status.json").read_text())
        row["status"] = status["status"]
        row["store_mb"] = _size_mb(run) - _cache_mb(run)
        if keep is None:
            shutil.rmtree(run)
        return row


def _pairs(
    k: int, run: Path, spec: Path, *, small: int, questions: int, story_chars: int
) -> list[dict[str, float]]:
    """``k`` pairs, alternated: a fresh run of ``small`` items, then the last items of the
    big run written into the filled store, put back as it was before each (each pair's two
    sessions minutes apart at most, so the machine's speed, which drifts by up to half
    between sessions on a shared machine, cancels in their ratio). The big run is left
    filled, not run."""
    filled = run.with_name("run.filled")
    shutil.copytree(run, filled)
    before = (filled / "transcripts.jsonl").read_bytes().count(b"\n")
    out = []
    for _ in range(k):
        fresh = _row(small, questions=questions, story_chars=story_chars, write_only=True)
        write, resume = _write_and_resume(spec, run)
        tail = (run / "transcripts.jsonl").read_bytes().count(b"\n") - before
        pair = {
            "small_net_ms": _net(fresh["write"], fresh["resume"], small),
            "tail_net_ms": _net(write, resume, tail),
        }
        pair["ratio"] = pair["tail_net_ms"] / pair["small_net_ms"]
        print(json.dumps(pair), flush=True)
        out.append(pair)
        _restore(filled, run)
    shutil.rmtree(filled)
    return out


def _restore(snapshot: Path, run: Path) -> None:
    """Put ``run`` back as ``snapshot`` holds it, each file rewritten in place. A log keeps
    its inode that way: the indexes note their log's inode and check every line of a log
    that is another file (a copied folder; step 6 measures that), which is not what is
    measured here.
    SQLite's shared-memory files go (rebuilt from the write-ahead logs on the next open)."""
    for path in run.iterdir():
        if path.name.endswith("-shm") or not (snapshot / path.name).exists():
            path.unlink()
    for source in snapshot.iterdir():
        if not source.name.endswith("-shm"):
            shutil.copyfile(source, run / source.name)  # truncates the file, same inode


def _cell(m: dict[str, Any], *, memory: bool = False) -> str:
    """Wall seconds of the whole process (CPU seconds, user + system, imports included)
    [/ peak MB]."""
    text = f"{m['process_s']:.2f} ({m['cpu_s']:.2f})"
    return f"{text} / {m['peak_mb']:.0f}" if memory else text


def _net(write: dict[str, Any], resume: dict[str, Any], items: int) -> float:
    """CPU milliseconds an item of a session, without the session's fixed start (planning
    every item, reading the store: the CPU the same command takes on the finished run)."""
    return 1000 * (write["cpu_s"] - resume["cpu_s"]) / items


def _cache_mb(run: Path) -> float:
    cache = run / "cache.sqlite"
    return cache.stat().st_size / 2**20 if cache.exists() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--big", type=int, default=100000, help="0 to skip")
    parser.add_argument("--tail", type=int, default=5000)
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--story-chars", type=int, default=25000)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the --big run in DIR (its experiment beside it) and keep it, e.g. to "
        "profile a command on it (DIR/run must not exist yet)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        metavar="K",
        help="before the --big run's last items, K alternated pairs of net per-item write "
        "CPU: a fresh run of the smallest --sizes items (1,000 without --sizes) against the "
        "last --tail items written into a copy of the filled big store",
    )
    args = parser.parse_args()
    if args.keep is not None and (args.keep / "run").exists():
        parser.error(f"--keep: {args.keep / 'run'} exists; remove it or name another DIR")
    root = Path(__file__).resolve().parents[1]
    packages = ["oversight", "transcripts", "judges", "protocols"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=root, check=True)
    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at start "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {time.strftime('%Y-%m-%d %H:%M')}; "
        f"packages precompiled (compileall)"
    )
    rows = []
    for n in args.sizes:
        row = _row(n, questions=args.questions, story_chars=args.story_chars)
        rows.append(row)
        print(json.dumps(row), flush=True)
    big = None
    if args.big:
        big = _big(
            args.big,
            tail=args.tail,
            questions=args.questions,
            story_chars=args.story_chars,
            keep=args.keep,
            pairs=args.pairs,
            small=min(args.sizes, default=1000),
        )
        print(json.dumps(big), flush=True)
    print()
    print(
        "| items | write s (CPU s) / MB | CPU ms/item | net CPU ms/item | resume s (CPU s) / MB | "
        "show --limit 10 s (CPU s) | show ID s (CPU s) | report s (CPU s) / MB | "
        "judge --all s (CPU s) / MB | resume of a copy s (CPU s) / MB | store MB (no cache) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        w = r["write"]
        print(
            f"| {r['n']:,} | {_cell(w, memory=True)} | {1000 * w['cpu_s'] / r['n']:.2f} | "
            f"{_net(w, r['resume'], r['n']):.2f} | "
            f"{_cell(r['resume'], memory=True)} | {_cell(r['show'])} | "
            f"{_cell(r['show_id'])} | {_cell(r['report'], memory=True)} | "
            f"{_cell(r['judge'], memory=True)} | {_cell(r['copy'], memory=True)} | "
            f"{r['store_mb']:.1f} |"
        )
    if big is not None:
        print(
            f"| {big['items']:,} (last {args.tail:,} run) | "
            f"{_cell(big['write_tail'], memory=True)} | "
            f"{1000 * big['write_tail']['cpu_s'] / args.tail:.2f} | "
            f"{_net(big['write_tail'], big['resume'], args.tail):.2f} | "
            f"{_cell(big['resume'], memory=True)} | {_cell(big['show'])} | "
            f"{_cell(big['show_id'])} | {_cell(big['report'], memory=True)} | "
            f"{_cell(big['judge'], memory=True)} | {_cell(big['copy'], memory=True)} | "
            f"{big['store_mb']:.1f} |"
        )
    if rows:
        base = _net(rows[0]["write"], rows[0]["resume"], rows[0]["n"])
        for r in rows[1:]:
            ratio = _net(r["write"], r["resume"], r["n"]) / base
            print(f"net per-item write CPU at {r['n']:,} / at {rows[0]['n']:,}: {ratio:.2f}")
        if big is not None:
            ratio = _net(big["write_tail"], big["resume"], args.tail) / base
            print(
                f"net per-item write CPU of the last {args.tail:,} at {big['items']:,} / "
                f"at {rows[0]['n']:,} (fresh): {ratio:.2f}"
            )
    if big is not None and big.get("pairs"):
        ratios = [p["ratio"] for p in big["pairs"]]
        print(
            f"side by side, net per-item write CPU of the last {args.tail:,} at "
            f"{big['items']:,} / of a fresh {min(args.sizes, default=1000):,}-item run, "
            f"{len(ratios)} alternated pairs: "
            + ", ".join(f"{p['ratio']:.2f}" for p in big["pairs"])
            + f" (median {statistics.median(ratios):.2f})"
        )
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
