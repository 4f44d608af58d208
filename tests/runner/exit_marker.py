"""An endpoint factory for ``--workers`` tests whose module, imported by a worker process
to unpickle its job, notes that process's exit: a line with its pid is appended to the file
``$OVERSIGHT_TEST_EXIT_MARKER`` names when the process's ``atexit`` handlers run (where the
response cache writes what is pending and local model servers stop)."""

from __future__ import annotations

import atexit
import os
from typing import Any

from oversight.endpoints import Endpoint, endpoint

MARKER = "OVERSIGHT_TEST_EXIT_MARKER"


def _note() -> None:
    path = os.environ.get(MARKER)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")


atexit.register(_note)


def factory(spec: str, **options: Any) -> Endpoint:
    """:func:`oversight.endpoint` itself."""
    return endpoint(spec, **options)
