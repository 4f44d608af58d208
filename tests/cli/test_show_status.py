"""``oversight show RUN``'s first line while a run goes on and after a ``kill -9``: counts and
spend from the store (``status.json`` is rewritten every 2 s, and a kill leaves ``running``
in it), and ``running`` only while a process holds the run's lock; otherwise stopped, with
the command that resumes it. The same from a folder the reader cannot write to."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.testing import (
    FAKE_KEY_VARIABLE,
    FakeOpenAIServer,
    RecordedRequest,
    cli_command,
    fake_experiment,
    scripted_verdict,
)
from tests.cli.test_read_only_run import _as_a_reader
from transcripts import RunStore

ROOT = Path(__file__).resolve().parents[2]
_STALL_AT = 14
"""Requests the fake server answers; from this one on, each waits an hour (a run stuck on
its calls in flight: every write of the items before it is done)."""


def _latency(record: RecordedRequest) -> float:
    return 3600.0 if record.index >= _STALL_AT else 0.0


def _truth(run: Path) -> tuple[int, int, float, int]:
    """(items done, items failed, dollars on the ledger, calls sent and never closed), read
    from the files as a test reads them: one judge, so an item is done once its complete
    transcript has a judgment."""
    store = RunStore.open(run)
    latest = {t.id: t.status for t in store.transcripts.latest()}
    judged = {j.transcript_id for j in store.judgments.latest() if j.status == "ok"}
    store.close()
    done = sum(s == "complete" and i in judged for i, s in latest.items())
    failed = sum(s != "complete" for s in latest.values())
    spend = [json.loads(line) for line in (run / "spend.jsonl").read_text().splitlines()]
    marks = [json.loads(line) for line in (run / "sent.jsonl").read_text().splitlines()]
    closed = {s["sent_id"] for s in spend} | {m["id"] for m in marks if m["event"] == "unpaid"}
    open_ = sum(m["event"] == "sent" and m["id"] not in closed for m in marks)
    return done, failed, sum(s["cost_usd"] for s in spend), open_


@contextlib.contextmanager
def _stuck_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """``oversight run`` in its own process, one item at a time, stuck on a call the fake
    server holds: (the process, the experiment file, the run folder)."""
    server = FakeOpenAIServer(reply=scripted_verdict, latency=_latency).start_in_thread()
    exp = tmp_path / "exp.toml"
    exp.write_text(fake_experiment(server.base_url, limits={"concurrency": 1}))
    run = tmp_path / "run"
    env = {**os.environ, FAKE_KEY_VARIABLE: "test", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        cli_command("run", str(exp), "--out", str(run), "--no-progress", "--no-report"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120  # bounded: the server's own count, no fixed wait
        while server.total_requests <= _STALL_AT or server.in_flight == 0:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the run never reached the held call"
            time.sleep(0.005)
        yield process, exp, run
    finally:
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
        server.stop_thread()


def _first_line(out: str) -> str:
    return " ".join(out.split("┏")[0].split())


def test_show_says_running_then_stopped_after_a_kill_with_the_store_s_counts_and_spend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _stuck_run(tmp_path) as (process, exp, run):
        done, failed, dollars, _ = _truth(run)
        assert done >= 3  # items went through before the held call
        assert main(["show", str(run), "--limit", "1"]) == 0
        line = _first_line(capsys.readouterr().out)
        assert line.startswith(f"{run}: running · {done} of 32 items")
        assert f"spend ${dollars:.4f}" in line
        assert "cut off" not in line  # the held call is in flight in a live session
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert json.loads((run / "status.json").read_text())["status"] == "running"
        done, failed, dollars, cut_off = _truth(run)
        assert cut_off >= 1  # the held call
        assert main(["show", str(run), "--limit", "1"]) == 0
        line = _first_line(capsys.readouterr().out)
    assert failed == 0
    assert line.startswith(
        f"{run}: stopped (interrupted: no process is running it; resume with: "
        f"oversight run {exp} --out {run}) · {done} of 32 items · spend ${dollars:.4f} + "
        f"{cut_off} call(s) cut off in flight"
    ), line


def test_show_reads_a_killed_run_from_a_folder_it_cannot_write_and_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    with _stuck_run(tmp_path) as (process, _, run):
        process.send_signal(signal.SIGKILL)
        process.wait()
    done, _, dollars, cut_off = _truth(run)
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    everything = [run, *run.rglob("*")]  # a read-only copy: files and folders
    for path in everything:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        shown = subprocess.run(
            _as_a_reader(cli_command("show", str(run), "--limit", "1")),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
            timeout=120,
        )
    finally:
        for path in everything:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert shown.returncode == 0, shown.stderr
    line = _first_line(shown.stdout)
    assert line.startswith(f"{run}: stopped (interrupted"), line
    assert f"· {done} of 32 items · spend ${dollars:.4f} + {cut_off} call(s)" in line
    assert {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before


def test_show_names_the_session_that_holds_a_finished_run_before_it_writes_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.runner._lock import run_lock
    from oversight.runner._status import RunResult, write_status

    store = RunStore.create(tmp_path / "run")
    write_status(store, RunResult(path=store.path, status="complete", items_total=2))
    store.close()
    assert main(["show", str(tmp_path / "run")]) == 0
    assert "now:" not in capsys.readouterr().out
    lock = run_lock(tmp_path / "run")  # a new session began: its first status is not out yet
    try:
        assert main(["show", str(tmp_path / "run")]) == 0
    finally:
        lock.release()
    said = " ".join(capsys.readouterr().out.split())
    assert "complete · 0 of 2 items" in said
    assert f"now: another `oversight run` is writing {tmp_path / 'run'} (pid {os.getpid()})" in said


@pytest.mark.parametrize(
    ("spec", "command"),
    [({"name": "e"}, "run"), ({"name": "e-stress", "stress": {"personas": ["x"]}}, "stress")],
)
def test_a_stopped_run_is_resumed_by_the_command_that_made_it(
    tmp_path: Path, spec: dict[str, object], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``oversight stress`` writes its run as ``oversight run`` does; a stopped one is
    resumed by ``oversight stress``."""
    from oversight.runner._status import RunResult, write_status

    store = RunStore.create(tmp_path / "run")
    store.write_json("experiment.json", {"source": "/exp/e.toml", "spec": spec})
    write_status(store, RunResult(path=store.path, status="running", items_total=2))
    store.close()
    assert main(["show", str(tmp_path / "run")]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"resume with: oversight {command} /exp/e.toml --out {tmp_path / 'run'}) ·" in said
    assert "· 0 of 2 items · spend $0.0000" in said


_STALL_FIRST_STATUS = """
import sys, time
from pathlib import Path
import oversight.runner._run as session_module
def stall(*args, **kwargs):  # the first status write never happens: killed before it
    Path(sys.argv[1]).touch()
    time.sleep(3600)
session_module.write_status = stall
from oversight.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_show_says_where_a_run_killed_before_its_first_status_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill before a run wrote ``status.json`` (a session hashing a large local model,
    say): show says running while the process holds the run, then stopped, with the
    store's counts and the command that resumes it. The run's process is real and killed
    with SIGKILL; only its first status write is held back, to place the kill there."""
    exp = tmp_path / "exp.toml"
    exp.write_text(fake_experiment("http://127.0.0.1:9/v1"))  # never called
    run, ready = tmp_path / "run", tmp_path / "ready"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _STALL_FIRST_STATUS,
            str(ready),
            "run",
            str(exp),
            "--out",
            str(run),
            "--no-progress",
        ],
        env={**os.environ, FAKE_KEY_VARIABLE: "test", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # bounded: the process says when it is there
        while not ready.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        assert main(["show", str(run), "--limit", "1"]) == 0
        running = " ".join(capsys.readouterr().out.split())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (run / "status.json").exists()
    assert running.startswith(
        f"{run}: running before it wrote its first status · 0 items done · spend $0.0000 "
        f"now: another `oversight run` is writing {run} (pid {process.pid})"
    ), running
    assert main(["show", str(run), "--limit", "1"]) == 0
    assert _first_line(capsys.readouterr().out) == (
        f"{run}: stopped (interrupted before it wrote its first status: no process is "
        f"running it; resume with: oversight run {exp} --out {run}) · 0 items done · spend "
        f"$0.0000"
    )


def _files_and_times(run: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(run)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def _index_rows(run: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each index's rows and bookkeeping, read from a copy (opening one runs SQLite's
    recovery of the write-ahead log a kill left)."""
    import shutil
    import sqlite3

    copy = run.with_name(run.name + "-rows")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run, copy)
    rows = {}
    for index in sorted(copy.glob("*.jsonl.idx")):
        db = sqlite3.connect(index)
        rows[index.name] = [
            *db.execute("SELECT * FROM meta"),
            *db.execute("SELECT * FROM stamp"),
            *db.execute("SELECT * FROM entries ORDER BY offset"),
        ]
        db.close()
    shutil.rmtree(copy)
    return rows


def test_reading_a_killed_run_changes_only_its_indexes_files_never_their_rows(
    tmp_path: Path,
) -> None:
    """After a ``kill -9``, the first ``show`` or ``report`` may rewrite the indexes'
    ``*.jsonl.idx`` files: SQLite folds in the write-ahead log (``-wal``) the killed writer
    left and removes it and its ``-shm``. Derived files, with the same rows; every other
    file (records, ledger, status, cache, locks) keeps its bytes and its modification
    time, and a second read changes nothing at all."""
    with _stuck_run(tmp_path) as (process, _, run):
        process.send_signal(signal.SIGKILL)
        process.wait()
    before, rows = _files_and_times(run), _index_rows(run)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["show", str(run), "--limit", "1"], ["report", str(run), "--json"]):
        subprocess.run(cli_command(*args), env=env, capture_output=True, check=True, timeout=120)
    after = _files_and_times(run)
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert changed, "nothing to fold in: the kill left no write-ahead log"
    assert all(".jsonl.idx" in name for name in changed), changed
    assert _index_rows(run) == rows
    subprocess.run(cli_command("show", str(run)), env=env, capture_output=True, check=True)
    assert _files_and_times(run) == after
