"""The backend behind Inspect-style model strings (see ``_model_strings``): Chat Completions
on the server the string names, with its own key variable."""

from __future__ import annotations

import os

from oversight.endpoints._model_strings import CompatibleTarget
from oversight.endpoints._openai import OpenAIBackend
from oversight.endpoints._options import EndpointOptions
from transcripts.errors import ConfigError

__all__ = ["CompatibleBackend"]


class CompatibleBackend(OpenAIBackend):
    """Chat Completions on the server an Inspect-style model string names."""

    def __init__(self, target: CompatibleTarget, options: EndpointOptions) -> None:
        url = options.base_url or os.environ.get(target.url_variable) or target.default_url
        if not url:
            raise ConfigError(
                f"{target.provider}/{target.model}: no server address: set the environment "
                f"variable {target.url_variable} (e.g. https://api.together.xyz/v1), or pass "
                "base_url"
            )
        key_env = options.api_key_env
        if key_env is None and (target.key_required or os.environ.get(target.key_variable)):
            key_env = target.key_variable
        super().__init__(
            target.model, options.model_copy(update={"base_url": url, "api_key_env": key_env})
        )
        self.provider = target.provider
        self._key_required = target.key_required
        # Local servers cost nothing unless pricing= says otherwise.
        self.free = not target.key_required

    def key_required(self) -> bool:
        return self._key_required
