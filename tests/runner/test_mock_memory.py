"""A real run on ``mock/`` endpoints keeps nothing per call (memory flat while streaming);
a dry run's mocks keep their requests, which its estimate is made from."""

from __future__ import annotations

from oversight.endpoints._mock import MockBackend
from oversight.runner._build import make_endpoint
from oversight.runner._dry import mock_factory

STORY = "The keeper wrote every ship into the ledger. " * 500


async def test_a_run_s_mock_endpoint_keeps_no_request_and_a_dry_run_s_does() -> None:
    run = make_endpoint("mock/strong", cache=False)
    rehearsal = mock_factory()("openai/gpt-4o-mini")
    for made in (run, rehearsal):
        for n in range(3):
            completion = await made.complete(f"Story: {STORY}\nQuestion {n}?", max_tokens=50)
            assert completion.text  # invented, as before
    assert isinstance(run.backend, MockBackend) and isinstance(rehearsal.backend, MockBackend)
    assert run.backend.requests == []
    assert len(rehearsal.backend.requests) == 3
