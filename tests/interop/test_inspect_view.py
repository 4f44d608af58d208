"""``inspect view`` shows an exported run in a real browser (headless Chromium, 127.0.0.1)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oversight.cli import main
from oversight.interop import export_inspect
from tests.optional import lazy, needs
from transcripts import RunStore

playwright = lazy("playwright.sync_api")
pytestmark = [
    needs("inspect_ai", "the inspect extra is not installed"),
    needs("playwright", "playwright (dev extra) missing"),
]

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.toml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Viewer:
    """`inspect view` on 127.0.0.1 over the exported quickstart run, maybe still starting."""

    url: str
    run: Path
    server: subprocess.Popen[bytes]
    port: int

    def ready(self) -> None:
        """Wait until the viewer answers on its port (it takes a few seconds to start)."""
        for _ in range(1200):
            if self.server.poll() is not None:
                stderr = self.server.stderr.read().decode()[-500:] if self.server.stderr else ""
                pytest.fail(f"inspect view exited: {stderr}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail("inspect view did not open its port within a minute")


@pytest.fixture
def viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Viewer]:
    """The quickstart run exported, and `inspect view` serving it on 127.0.0.1. The server
    starts first, over the empty log folder (it lists the folder when asked), so it starts
    while the run is made and exported, and the test's browser launches: not one after the
    other."""
    monkeypatch.setenv("OVERSIGHT_CACHE", str(tmp_path / "cache.sqlite"))
    logs = tmp_path / "logs"
    logs.mkdir()
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
        run = tmp_path / "quickstart"
        assert main(["run", str(QUICKSTART), "--out", str(run)]) == 0
        export_inspect(run, logs)
        yield Viewer(f"http://127.0.0.1:{port}", run, server, port)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (bash .ci/dev installs it with apt-get where it can)",
)
def test_inspect_view_shows_an_exported_transcript(viewer: Viewer, tmp_path: Path) -> None:
    debate = next(
        t for t in RunStore.open(viewer.run).transcripts.latest() if t.condition == "debate"
    )
    first_turn = next(t for t in debate.turns if t.visibility == "public")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            viewer.ready()  # started while the browser launched
            page.goto(f"{viewer.url}/#/logs/quickstart_debate.eval")
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
