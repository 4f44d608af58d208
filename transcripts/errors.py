"""The one exception tree of oversight.

It lives in the bottom layer so that every layer can raise from it; the public
home is :mod:`oversight.errors`, which re-exports it unchanged.

    OversightError
    ├── ConfigError                 bad user input: experiment files, specs, options, CLI
    │   └── MissingAPIKeyError      an endpoint needs a key that is not set
    ├── StoreError                  a run folder cannot be read or written as asked
    │   ├── SchemaVersionError      a record written by a newer oversight
    │   └── CorruptRecordError      a record in the middle of a file does not parse
    ├── EndpointError               a model call failed for good (after retries)
    │   ├── ProviderError           the provider answered with an error (status_code, request_id)
    │   ├── RetriesExhaustedError   transient failures outlasted the retry budget
    │   ├── StructuredOutputError   the reply never matched the requested schema
    │   └── CacheMissError          offline replay asked for a response not in the cache
    ├── ProtocolError               a protocol could not be carried out
    ├── JudgeError                  a judge could not give a judgment
    ├── DatasetError                a dataset or import source is malformed
    └── CostCapReached              the run's cost cap stops new calls

Every error a user can cause says what was wrong and what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transcripts._models import Call

__all__ = [
    "CacheMissError",
    "ConfigError",
    "CorruptRecordError",
    "CostCapReached",
    "DatasetError",
    "EndpointError",
    "JudgeError",
    "MissingAPIKeyError",
    "OversightError",
    "ProtocolError",
    "ProviderError",
    "RetriesExhaustedError",
    "SchemaVersionError",
    "StoreError",
    "StructuredOutputError",
]


class OversightError(Exception):
    """Root of every error oversight raises on purpose."""


class ConfigError(OversightError):
    """Bad user input: an experiment file, an endpoint spec, an option, a CLI argument."""


class MissingAPIKeyError(ConfigError):
    """An endpoint needs an API key that is not set; the message names the variable."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable
        """The environment variable the key was looked for in (never the key)."""


class StoreError(OversightError):
    """A run folder cannot be read or written as asked."""


class SchemaVersionError(StoreError):
    """A record was written by a newer oversight than this one."""


class CorruptRecordError(StoreError):
    """A record that is not the last line of its file does not parse."""


class EndpointError(OversightError):
    """A model call failed for good, after whatever retries were allowed.

    Attributes:
        calls: paid calls made before the failure (e.g. replies that never matched the
            schema), so that their tokens and cost are still counted by whoever catches it.
    """

    def __init__(self, *args: object, calls: Sequence[Call] = ()) -> None:
        super().__init__(*args)
        self.calls: list[Call] = list(calls)


class ProviderError(EndpointError):
    """The provider answered with an error status.

    Attributes:
        status_code: HTTP status the provider returned (None for in-stream errors).
        request_id: the provider's request id, when it sent one.
        provider_message: the provider's own error message.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        provider_message: str | None = None,
        calls: Sequence[Call] = (),
    ) -> None:
        super().__init__(message, calls=calls)
        self.status_code = status_code
        self.request_id = request_id
        self.provider_message = provider_message


class RetriesExhaustedError(EndpointError):
    """Transient failures (rate limits, overload, 5xx, timeouts) outlasted the retry budget."""


class StructuredOutputError(EndpointError):
    """The model's reply never matched the requested JSON schema."""


class CacheMissError(EndpointError):
    """Offline replay needed a response that the cache does not hold."""


class ProtocolError(OversightError):
    """A protocol could not be carried out (bad configuration or assignment)."""


class JudgeError(OversightError):
    """A judge could not give a judgment."""


class DatasetError(OversightError):
    """A dataset file or import source is malformed; the message names file and record."""


class CostCapReached(OversightError):
    """The run reached its cost cap: no new call is started."""
