"""Inspect-style model strings for OpenAI-compatible servers.

``openai-api/<provider>/<model>`` talks Chat Completions to ``$<PROVIDER>_BASE_URL`` with the
key in ``$<PROVIDER>_API_KEY`` (``openai-api/together/meta-llama/...`` reads
``TOGETHER_BASE_URL`` and ``TOGETHER_API_KEY``), as inspect_ai spells it, so one model string
works in both tools. ``vllm/<model>`` and ``ollama/<model>`` are shorthands for a local
server: ``$VLLM_BASE_URL`` (default ``http://localhost:8000/v1``) and ``$OLLAMA_BASE_URL``
(default ``http://localhost:11434/v1``), keys optional (``VLLM_API_KEY``, ``OLLAMA_API_KEY``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transcripts.errors import ConfigError

__all__ = ["CompatibleTarget", "compatible_target"]

_LOCAL_DEFAULTS = {"vllm": "http://localhost:8000/v1", "ollama": "http://localhost:11434/v1"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class CompatibleTarget:
    """Where an Inspect-style model string points."""

    provider: str
    """The name calls are recorded under, e.g. ``openai-api/together`` or ``vllm``."""
    model: str
    """Model name sent to the server."""
    url_variable: str
    """Environment variable read for the server address, e.g. ``TOGETHER_BASE_URL``."""
    key_variable: str
    """Environment variable read for the key, e.g. ``TOGETHER_API_KEY``."""
    default_url: str | None
    """Address used when the variable is unset (local shorthands only)."""
    key_required: bool
    """Whether a missing key is an error (hosted providers) or fine (local servers)."""


def compatible_target(spec: str) -> CompatibleTarget:
    """Read ``openai-api/<provider>/<model>``, ``vllm/<model>`` or ``ollama/<model>``."""
    prefix, _, rest = spec.partition("/")
    if prefix == "openai-api":
        name, _, model = rest.partition("/")
        if not _NAME.match(name) or not model:
            raise ConfigError(
                f"endpoint spec {spec!r}: write openai-api/<provider>/<model>, e.g. "
                "openai-api/together/meta-llama/Llama-3.3-70B-Instruct-Turbo (the provider "
                "names the variables TOGETHER_BASE_URL and TOGETHER_API_KEY)"
            )
        upper = name.upper().replace("-", "_")
        return CompatibleTarget(
            f"openai-api/{name}", model, f"{upper}_BASE_URL", f"{upper}_API_KEY", None, True
        )
    if prefix in _LOCAL_DEFAULTS and rest:
        upper = prefix.upper()
        return CompatibleTarget(
            prefix, rest, f"{upper}_BASE_URL", f"{upper}_API_KEY", _LOCAL_DEFAULTS[prefix], False
        )
    raise ConfigError(f"endpoint spec {spec!r} has no model: write e.g. {prefix}/<model>")
