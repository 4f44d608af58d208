"""What an :class:`~oversight.endpoints._base.Endpoint` wraps and takes: the provider
:class:`Backend` (one request sent, its errors classified) and the messages and schema a
call is given, in the shapes a caller may write them."""

from __future__ import annotations

import abc
import functools
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from oversight.endpoints._batch_api import BatchApi
from oversight.endpoints._retry import Failure, status_failure
from oversight.endpoints._secrets import public_url
from oversight.endpoints._types import Message, Reply, Request
from transcripts.errors import ConfigError, ProviderError

MessageLike = Message | dict[str, str] | str


class Backend(abc.ABC):
    """Sends one request to one provider; knows nothing of caching, limits or retries."""

    provider: str
    """``openai``, ``anthropic``, ``local`` or ``mock``."""
    model: str
    """Model name as sent to the provider."""
    server: str = ""
    """Where requests go (base URL), for the shared limits; empty for in-process backends."""
    account: str = ""
    """Whose budget the provider counts requests against (a digest of the API key, never
    the key), for the shared limits: each key has its own. Empty where there is no key."""
    default_concurrency: int | None = 64
    """Concurrency limit when no endpoint of this model sets one (None: unlimited)."""
    cache_by_default: bool = True
    """Whether replies are cached when the ``cache`` option is not given."""
    free: bool = False
    """True when calls cost nothing (mocks, local servers) unless ``pricing=`` says otherwise."""

    @abc.abstractmethod
    async def send(self, request: Request) -> Reply:
        """Send ``request`` once and return the provider's reply."""

    async def server_slots(self) -> int | None:
        """Requests the server decodes at once, where it says (a llama.cpp server's slots;
        the rest wait in its queue): the concurrency limit where no endpoint sets one.
        None: unknown. Asked before the first request (a failed connection is retried)."""
        return None

    def unsent(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """An attempt ended before its request was sent (it failed, or was cancelled, while
        it waited for the server's slots or the limits): requests waiting on it must not
        wait for its task to end."""

    def classify(self, error: BaseException) -> Failure | None:
        """What ``error`` from :meth:`send` means for retrying; None if it is not a provider
        failure (it then propagates unchanged). Backends extend this for their SDK."""
        if isinstance(error, ProviderError) and error.status_code is not None:
            return status_failure(
                error.status_code, error.provider_message or str(error), request_id=error.request_id
            )
        return None

    def identity(self) -> dict[str, Any]:
        """Everything besides the request that changes the answer (part of the cache key)."""
        return {"provider": self.provider, "model": self.model, "server": public_url(self.server)}

    def redact(self, text: str) -> str:
        """``text`` with any secret of this backend removed (for error messages)."""
        return text

    def batch_api(self) -> BatchApi:
        """This provider's batch endpoints (for ``batch=True``)."""
        raise ConfigError(
            f"{self.provider}/{self.model}: no batch API; batch=True works with openai/ and "
            "anthropic/ endpoints"
        )

    def check_credentials(self) -> None:  # noqa: B027 - optional hook, no key by default
        """Raise MissingAPIKeyError now if a call would need a key that is not set."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""


def as_messages(messages: Sequence[MessageLike] | str) -> list[Message]:
    """Accept a string (one user message), dicts or Message objects."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    out = []
    for m in messages:
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, str):
            out.append(Message(role="user", content=m))
        else:
            out.append(Message.model_validate(m))
    return out


def schema_dict(schema: dict[str, Any] | type[BaseModel] | None) -> dict[str, Any] | None:
    """A JSON schema from a dict or a pydantic model class."""
    if schema is None or isinstance(schema, dict):
        return schema
    return _model_schema(schema)


@functools.lru_cache(maxsize=256)
def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, built once (pydantic builds it anew on every call)."""
    return model.model_json_schema()
