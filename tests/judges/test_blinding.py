"""Blinding everywhere: a person judging the quickstart run (made by the real runner with
mock models) sees no model, endpoint, gold answer, id, private turn or hidden text on any
screen of the session — including the text mock models invent."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import oversight
from tests.terminal import finish, plain, spawn_cli
from transcripts import RunStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

ROOT = Path(__file__).parents[2]
ITEM = re.compile(r"Item (\d+) of (\d+)")


def test_every_screen_of_a_session_over_the_quickstart_run_is_blind(tmp_path: Path) -> None:
    experiment = oversight.load_experiment(ROOT / "examples/quickstart.toml")
    # Model names no screen could contain by chance (the quickstart's "strong" and "weak" are
    # also words a protocol may use, e.g. RRM's "weak evaluator").
    endpoints = {
        name: config.model_copy(update={"spec": f"mock/zq-{name}-model-7b"})
        for name, config in experiment.endpoints.items()
    }
    experiment = experiment.model_copy(
        update={
            "dataset": experiment.dataset.model_copy(update={"limit": 1}),
            "endpoints": endpoints,
        }
    )
    run = tmp_path / "quickstart"
    oversight.run_experiment(experiment, out=run, progress=False, summary=False)
    store = RunStore.open(run)
    transcripts = list(store.transcripts.latest())
    secrets = {"mock/", "[mock", "gold", "zq-"}
    for t in transcripts:
        secrets |= {t.id, *t.roles.values()}
        secrets |= {c.endpoint for c in t.calls} | {c.model for c in t.calls}
        secrets |= {
            turn.content
            for turn in t.turns
            if turn.visibility == "private" and len(turn.content) > 30
        }
    secrets |= {j.id for j in store.judgments.latest()}
    context = transcripts[0].question.context
    assert context

    child = spawn_cli(
        "judge", str(run), "--annotator", "you", "--all", dimensions=(60, 140), timeout=20
    )
    screens = []
    while True:
        child.expect(ITEM)
        number, total = int(child.match.group(1)), int(child.match.group(2))
        child.expect_exact("q quit: ")
        screens.append(plain(child.before))
        child.sendline("A 60" if number % 2 else "s")
        child.expect_exact("Reason (optional" if number % 2 else "Why skip? (optional")
        child.sendline("")
        if number == total:
            break
    screens.append(finish(child))
    assert total == len(transcripts) and len(screens) == total + 1

    for screen in screens:
        for secret in secrets:
            assert secret not in screen, (secret, screen)
        if "Source text" not in screen:  # only the expert protocol's judge reads the story
            assert context[:80] not in screen
    assert (
        sum("Source text" in s for s in screens)
        == sum(t.protocol == "expert" for t in transcripts)
        > 0
    )
    assert any("[draft " in s for s in screens)  # mock speeches were on screen, unnamed
