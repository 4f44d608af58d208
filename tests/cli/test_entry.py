"""The console script's exit (:func:`oversight.cli.entry`): the exit code, every line the
command printed, and the ``atexit`` handlers, as a normal interpreter exit gives them."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading

import pytest

from oversight.cli import _main


def _script(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", body], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_exit_keeps_the_code_the_output_and_the_exit_handlers() -> None:
    done = _script(
        "import atexit, sys\n"
        "from oversight.cli import entry\n"
        "atexit.register(lambda: print('the handler ran', flush=True))\n"
        "sys.argv = ['oversight', 'show', '/no/such/run']\n"
        "entry()\n"
    )
    assert done.returncode == 1
    assert "no run folder at /no/such/run" in done.stderr.replace("\n", " ")
    assert done.stdout == "the handler ran\n"


def test_a_piped_help_is_printed_whole() -> None:
    done = _script(
        "import sys\n"
        "from oversight.cli import entry\n"
        "sys.argv = ['oversight', 'run', '--help']\n"
        "entry()\n"
    )
    assert done.returncode == 0
    assert done.stdout.rstrip().endswith("--ray auto      # over a Ray cluster")


def test_a_thread_still_running_gets_the_interpreter_s_own_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread that is not a daemon is waited for, as Python waits for it: no os._exit."""
    monkeypatch.setattr(_main, "main", lambda: 0)
    monkeypatch.setattr(_main.os, "_exit", lambda code: pytest.fail("left without waiting"))
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=False)
    worker.start()
    try:
        with pytest.raises(SystemExit) as leaving:
            _main.entry()
        assert leaving.value.code == 0
    finally:
        stop.set()
        worker.join()


def test_the_exit_statuses_run_help_gives_are_the_ones_it_exits_with() -> None:
    """A command line that does not parse is argparse's 2; a refused file or value is 1."""
    shown = _script(
        "import sys\nfrom oversight.cli import entry\n"
        "sys.argv = ['oversight', 'run', '--help']\nentry()\n"
    ).stdout
    unparsed = _script(
        "import sys\nfrom oversight.cli import entry\n"
        "sys.argv = ['oversight', 'run', 'exp.toml', '--no-such-flag']\nentry()\n"
    )
    refused = _script(
        "import sys\nfrom oversight.cli import entry\n"
        "sys.argv = ['oversight', 'run', '/no/such/exp.toml']\nentry()\n"
    )
    said = " ".join(shown.split())
    assert (unparsed.returncode, refused.returncode) == (2, 1)
    assert "2 when the command line does not parse" in said, said
    assert "1 when the experiment file or an option's value is refused" in said, said


def test_no_help_text_shows_docstring_markup() -> None:
    """``monitor --help`` and ``unseal --help`` printed their module docstrings as written:
    double backticks and a ``:mod:`` role in a terminal."""
    parser = _main.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(commands.choices) > 10
    for name, command in commands.choices.items():
        shown = command.format_help()
        assert "``" not in shown and ":mod:" not in shown, name
