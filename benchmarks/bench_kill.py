"""Kill-and-resume: ``kill -9`` of ``oversight run`` and ``oversight rejudge`` at random
moments, against a fake OpenAI server in its own process, then resume to the end.

Run from the repository root::

    .venv/bin/python benchmarks/bench_kill.py [--kills 60] [--seed 1] [--latency 0.02]

Each round makes a fresh run folder of a 40-item experiment (unassisted, consultancy and
debate; an LLM judge), and:

1. starts ``oversight run`` again and again, each time killing it (SIGKILL, no cleanup)
   at a random moment: once a random number of new calls has gone out (``RUN/sent.jsonl``),
   plus a random 0-50 ms, so calls are in flight when the kill lands; then lets one session
   finish;
2. does the same to ``oversight rejudge RUN --judge llm:second``;
3. checks the folder against an uninterrupted run of the same experiment.

Rounds repeat until ``--kills`` kills have landed (about 70 % on ``run``, 30 % on
``rejudge``). Reported, summed over rounds:

* ``answered_then_repaid``: calls on the ledger (``spend.jsonl``) twice under one request
  hash, i.e. answered, recorded as paid, then sent and paid again. Must be 0.
* ``lost``: items, or re-judgings, missing at the end, or not equal to the uninterrupted
  run's. Must be 0.
* ``duplicates``: ids with more than one complete transcript or ok judgment. Must be 0.
* ``in_flight_reported`` vs ``answered_unrecorded``: calls the fake server answered but no
  ledger line records (their replies never reached the run), against the calls the run
  reports as cut off in flight; the first can never exceed the second.

The fake server logs every reply it finishes writing (a body hash per line), so the
server's own count is independent of the run's files. ``tests/runner/test_kill_resume.py``
runs a few seeded kills of each command in CI with the same code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from oversight.testing import (
    FAKE_KEY_VARIABLE,
    cli_command,
    fake_experiment,
    line_count,
    scripted_verdict,
    signal_after,
)

KEY_VARIABLE = FAKE_KEY_VARIABLE


# -- the fake server, in its own process ------------------------------------------------------


def serve(log: Path, latency: float) -> None:
    """Serve until killed, appending a line to ``log`` for every reply fully written."""
    from oversight.testing import FakeOpenAIServer, RecordedRequest
    from oversight.testing._server import Responder

    class Logging(FakeOpenAIServer):
        async def answer(self, record: RecordedRequest, scripted: Any, out: Responder) -> None:
            await super().answer(record, scripted, out)
            digest = hashlib.sha256(json.dumps(record.body, sort_keys=True).encode()).hexdigest()
            with log.open("a") as f:
                f.write(digest + "\n")

    Logging(reply=scripted_verdict, latency=latency).serve_forever()


class Server:
    """The fake server as a child process: its base URL and its log of replies."""

    def __init__(self, folder: Path, latency: float) -> None:
        self.log = folder / "server-replies.log"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.log), "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError(f"the fake server did not start: {self.base_url!r}")

    def answered(self) -> int:
        """Replies written so far."""
        return self.log.read_bytes().count(b"\n") if self.log.exists() else 0

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- the runs ---------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        KEY_VARIABLE: "test",
        "CI": "true",
        "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root,
    }


def experiment_file(folder: Path, base_url: str) -> Path:
    """The experiment (:func:`oversight.testing.fake_experiment`) at the fake server."""
    path = folder / "kills.toml"
    path.write_text(fake_experiment(base_url, name="kills"))
    return path


def _kill_at_random(command: list[str], run: Path, rng: random.Random) -> bool:
    """Start ``command``; once a random number of new calls went out, plus a random few
    milliseconds, SIGKILL it. False if it finished first (nothing was killed)."""
    target = line_count(run / "sent.jsonl") + rng.randint(1, 12)
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    killed = signal_after(
        process, run / "sent.jsonl", target, sig=signal.SIGKILL, delay=rng.uniform(0.0, 0.05)
    )
    process.wait()
    return killed


def _finish(args: tuple[str, ...]) -> None:
    """``oversight ARGS`` to its end, in this process (nothing is killed here, so a process
    of its own would only add a start-up), its output kept for an error."""
    from oversight.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    if code != 0:
        raise RuntimeError(f"oversight {' '.join(args)} failed ({code}):\n{out.getvalue()}")


def _reference(exp: Path, whole: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The uninterrupted run and re-judging, in this process (nothing is killed here, so a
    process of its own would only add a start-up); its contents."""
    from oversight import rejudge
    from oversight.runner import run_experiment

    run_experiment(exp, out=whole, progress=False, summary=False)
    rejudge(whole, "llm:second")
    return _contents(whole)


def _contents(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from transcripts import RunStore

    store = RunStore.open(run)
    transcripts = {
        t.id: [u.content for u in t.turns]
        for t in store.transcripts.latest()
        if t.status == "complete"
    }
    judgments = {
        j.id: (j.judge.name, j.probabilities) for j in store.judgments.latest() if j.status == "ok"
    }
    store.close()
    return transcripts, judgments


def _duplicates(path: Path, ok: str) -> int:
    seen: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line (set aside on the next append)
        if record.get("status", ok) == ok:
            seen[record["id"]] += 1
    return sum(n - 1 for n in seen.values() if n > 1)


def _repaid(run: Path) -> tuple[int, int]:
    """(calls paid again under a request hash already paid, ledger lines). The lines of one
    call (its re-asked replies, when a reply failed the schema) share a ``sent_id``."""
    lines = [
        json.loads(line) for line in (run / "spend.jsonl").read_text().splitlines() if line.strip()
    ]
    calls: dict[str, set[str]] = {}
    for line in lines:
        if line.get("request_hash"):
            calls.setdefault(line["request_hash"], set()).add(line.get("sent_id") or line["id"])
    return sum(len(ids) - 1 for ids in calls.values()), len(lines)


def _lost_in_flight(run: Path) -> int:
    """Calls the run's files show as cut off in flight (what a resumed session reports)."""
    from oversight.runner._meter import Meter, SpendEntry
    from transcripts import JsonlLog

    return Meter(ledger=JsonlLog(run / "spend.jsonl", SpendEntry)).lost_in_flight


@dataclass
class Figures:
    """What the kills did, summed over rounds."""

    rounds: int = 0
    """Fresh run folders used."""
    kills_run: int = 0
    """SIGKILLs that landed on ``oversight run``."""
    kills_rejudge: int = 0
    """SIGKILLs that landed on ``oversight rejudge``."""
    answered_then_repaid: int = 0
    """Calls paid again under a request hash already on the ledger. Must be 0."""
    lost: int = 0
    """Transcripts or ok judgments of the uninterrupted run missing or different. Must be 0."""
    duplicates: int = 0
    """Extra complete transcripts or ok judgments under one id. Must be 0."""
    answered_unrecorded: int = 0
    """Replies the server wrote beyond the ledger's lines (cut off after the answer)."""
    in_flight_reported: int = 0
    """Calls the run's files report as cut off in flight (sent, never answered to it)."""
    ledger_lines: int = 0
    """Lines of ``spend.jsonl``."""
    server_replies: int = 0
    """Replies the fake server finished writing."""

    @property
    def kills(self) -> int:
        return self.kills_run + self.kills_rejudge


def kill_suite(
    folder: Path, *, kills: int, seed: int, latency: float = 0.02, rejudge_share: float = 0.3
) -> Figures:
    """Rounds of kills until ``kills`` have landed; the figures (see the module docstring).
    The uninterrupted reference and the session after the kills run in this process,
    which needs ``FAKE_OPENAI_KEY`` set (to anything)."""
    rng = random.Random(seed)
    server = Server(folder, latency)
    figures = Figures()
    try:
        exp = experiment_file(folder, server.base_url)
        reference = _reference(exp, folder / "whole")
        while figures.kills < kills:
            figures.rounds += 1
            run = folder / f"round-{figures.rounds}"
            before = server.answered()
            want_run = max(1, round((kills - figures.kills) * (1 - rejudge_share)))
            want_rejudge = max(1, (kills - figures.kills) - want_run)
            for args, attr, want in (
                (("run", str(exp), "--out", str(run), "--no-report"), "kills_run", want_run),
                (("rejudge", str(run), "--judge", "llm:second"), "kills_rejudge", want_rejudge),
            ):
                landed = 0
                while landed < want and _kill_at_random(cli_command(*args), run, rng):
                    landed += 1
                setattr(figures, attr, getattr(figures, attr) + landed)
                _finish(args)  # one session to the end (a resume, after a kill)
            repaid, ledger = _repaid(run)
            figures.answered_then_repaid += repaid
            figures.ledger_lines += ledger
            mine = _contents(run)
            figures.lost += sum(1 for i in reference[0] if mine[0].get(i) != reference[0][i])
            figures.lost += sum(1 for i in reference[1] if mine[1].get(i) != reference[1][i])
            figures.duplicates += _duplicates(run / "transcripts.jsonl", "complete")
            figures.duplicates += _duplicates(run / "judgments.jsonl", "ok")
            replies = server.answered() - before
            figures.server_replies += replies
            figures.answered_unrecorded += max(0, replies - ledger)
            figures.in_flight_reported += _lost_in_flight(run)
    finally:
        server.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=60, help="kills to land (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the fake server takes per reply"
    )
    parser.add_argument("--serve", metavar="LOG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve), args.latency)
        return
    os.environ.setdefault(KEY_VARIABLE, "test")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="oversight-kills-") as folder:
        figures = kill_suite(Path(folder), kills=args.kills, seed=args.seed, latency=args.latency)
    elapsed = time.monotonic() - started
    print(
        f"python benchmarks/bench_kill.py --kills {args.kills} --seed {args.seed} "
        f"--latency {args.latency}"
    )
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; {elapsed:.0f} s"
    )
    print("| " + " | ".join(asdict(figures)) + " |")
    print("|" + "---|" * len(asdict(figures)))
    print("| " + " | ".join(str(v) for v in asdict(figures).values()) + " |")
    ok = (
        figures.answered_then_repaid == 0
        and figures.lost == 0
        and figures.duplicates == 0
        and figures.answered_unrecorded <= figures.in_flight_reported
    )
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
