"""The public names of the endpoint layer and the testing helpers."""

from __future__ import annotations

import oversight
import oversight.endpoints
import oversight.testing


def test_exported_names_are_importable() -> None:
    for module in (oversight.endpoints, oversight.testing):
        names = module.__all__
        assert len(set(names)) == len(names), module.__name__
        assert all(hasattr(module, name) for name in names), module.__name__
    assert oversight.endpoint is oversight.endpoints.endpoint
    assert {"FakeOpenAIServer", "FakeAnthropicServer", "Fault"} <= set(oversight.testing.__all__)
    assert {"endpoint", "set_price", "Completion", "Request"} <= set(oversight.endpoints.__all__)
