"""``inspect view`` shows an exported run in a real browser (headless Chromium, 127.0.0.1)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.interop import export_inspect
from transcripts import RunStore

pytest.importorskip("inspect_ai", reason="the inspect extra is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) missing")

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.toml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """The quickstart run exported, and `inspect view` serving it on 127.0.0.1."""
    monkeypatch.setenv("OVERSIGHT_CACHE", str(tmp_path / "cache.sqlite"))
    run = tmp_path / "quickstart"
    assert main(["run", str(QUICKSTART), "--out", str(run)]) == 0
    logs = export_inspect(run)[0].parent
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspect_ai",
            "view",
            "--log-dir",
            str(logs),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(400):  # the viewer takes a few seconds to start; poll its port
            if server.poll() is not None:
                pytest.fail(
                    f"inspect view exited: {server.stderr.read().decode()[-500:]}"
                    if server.stderr
                    else "inspect view exited"
                )
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", run
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (bash .ci/dev installs it with apt-get where it can)",
)
def test_inspect_view_shows_an_exported_transcript(
    viewer: tuple[str, Path], tmp_path: Path
) -> None:
    url, run = viewer
    debate = next(t for t in RunStore.open(run).transcripts.latest() if t.condition == "debate")
    first_turn = next(t for t in debate.turns if t.visibility == "public")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/#/logs/quickstart_debate.eval")
            # The sample list shows the question and the accuracy headline.
            row = page.get_by_text(debate.question.text[:40]).first
            row.wait_for(timeout=60_000)
            page.get_by_text("quickstart/debate").first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "samples.png"))
            # Opening a sample shows the transcript's public turns.
            page.get_by_text(debate.id[:12]).first.click()
            turn = page.get_by_text(first_turn.content.splitlines()[0][:40]).first
            turn.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "sample.png"))
        finally:
            browser.close()
    assert (tmp_path / "samples.png").stat().st_size > 10_000
    assert (tmp_path / "sample.png").stat().st_size > 10_000
