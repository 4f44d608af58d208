"""What a ``local/`` endpoint decides before any server starts: the chat template (or a
refusal), stop sequences, the context size from the model's metadata, threads, the OpenMP
wait policy, and the model's identity by content. Runs without llama.cpp: the model files
here are GGUF headers written by the test (no tensors), which is all these decisions read.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from oversight.endpoints import endpoint
from oversight.endpoints._gguf import read_info
from oversight.endpoints._local import LocalBackend, available_cores, clean_reply, prepare
from oversight.endpoints._options import EndpointOptions
from oversight.experiment import load_experiment
from oversight.runner._build import Endpoints
from oversight.runner._freeze import freeze_models
from transcripts import RunStore
from transcripts.errors import ConfigError

CHATML_JINJA = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}<|im_start|>assistant\n"
)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(
    path: Path, *, context: int | None = 8192, template: str | None = None, vocab: int = 300
) -> Path:
    """A GGUF v3 header with the keys a real model file has, and a token array to skip."""
    kv = [
        _string("general.architecture") + struct.pack("<I", 8) + _string("llama"),
        _string("general.name") + struct.pack("<I", 8) + _string("Tiny"),
        _string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, vocab)
        + b"".join(_string(f"tok{i}") for i in range(vocab)),
        _string("tokenizer.ggml.scores")
        + struct.pack("<IIQ", 9, 6, vocab)
        + struct.pack(f"<{vocab}f", *range(vocab)),
    ]
    if context is not None:
        kv.append(
            _string("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", context)
        )
    if template is not None:
        kv.append(_string("tokenizer.chat_template") + struct.pack("<I", 8) + _string(template))
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv))
    return path


def options(**given: object) -> EndpointOptions:
    return EndpointOptions(**given)  # type: ignore[arg-type]


def test_the_header_reader_finds_context_and_template_past_the_vocabulary(
    tmp_path: Path,
) -> None:
    info = read_info(write_gguf(tmp_path / "m.gguf", context=32768, template=CHATML_JINJA))
    assert (info.architecture, info.context_length, info.name) == ("llama", 32768, "Tiny")
    assert info.chat_template == CHATML_JINJA
    (tmp_path / "bad.gguf").write_bytes(b"NOPE" + bytes(20))
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        read_info(tmp_path / "bad.gguf")


def test_a_model_without_a_chat_template_is_refused_unless_one_is_named(tmp_path: Path) -> None:
    path = str(write_gguf(tmp_path / "base.gguf"))
    with pytest.raises(ConfigError) as caught:
        prepare(path, options())
    message = str(caught.value)
    assert "no chat template" in message and "chat_template = 'gemma'" in message
    named = prepare(path, options(chat_template="chatml"))
    assert named.chat_template == "chatml" and named.stops == ["<|im_end|>", "<|im_start|>"]


def test_the_files_own_template_is_used_and_gives_the_stop_sequences(tmp_path: Path) -> None:
    model = prepare(str(write_gguf(tmp_path / "it.gguf", template=CHATML_JINJA)), options())
    assert model.chat_template is None and model.template_text == CHATML_JINJA
    assert model.stops == ["<|im_end|>"]


def test_ctx_size_comes_from_the_models_metadata_and_is_checked(tmp_path: Path) -> None:
    path = str(write_gguf(tmp_path / "m.gguf", context=8192, template=CHATML_JINJA))
    assert prepare(path, options()).ctx_size == 8192  # was a fixed 4096
    big = str(write_gguf(tmp_path / "big.gguf", context=131072, template=CHATML_JINJA))
    assert prepare(big, options()).ctx_size == 16384  # capped: every slot's cache is reserved
    assert prepare(path, options(ctx_size=2048)).ctx_size == 2048
    with pytest.raises(ConfigError, match="more than the 8192 tokens"):
        prepare(path, options(ctx_size=10000))


def test_threads_default_to_the_cores_this_process_may_use(tmp_path: Path) -> None:
    path = str(write_gguf(tmp_path / "m.gguf", template=CHATML_JINJA))
    assert prepare(path, options()).threads == available_cores()
    assert prepare(path, options(threads=1)).threads == 1


def test_openmp_is_told_to_sleep_before_llama_cpp_loads() -> None:
    pytest.importorskip("xllamacpp", reason="the local extra (llama.cpp) is not installed")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = (
        "import os, sys; from oversight.endpoints._local import _import_llama_cpp; "
        "_import_llama_cpp(); print(os.environ['OMP_WAIT_POLICY'], 'xllamacpp' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split() == ["passive", "True"]
    env["OMP_WAIT_POLICY"] = "active"  # the user's choice stands
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split()[0] == "active"


def test_control_tokens_never_reach_a_reply() -> None:
    stops = ["<end_of_turn>", "<start_of_turn>"]
    assert clean_reply("Blue.<end_of_turn>\n<start_of_turn>user\nmore", stops) == "Blue."
    assert clean_reply("A<|im_end|> and <|im_start|>user B", []) == "A and user B"
    assert clean_reply("plain text", stops) == "plain text"


async def test_a_local_models_identity_is_its_content_not_its_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = write_gguf(tmp_path / "a" / "model.gguf", template=CHATML_JINJA)
    moved = tmp_path / "b.gguf"
    shutil.copy(first, moved)
    other = write_gguf(tmp_path / "c.gguf", template=CHATML_JINJA, vocab=301)
    a, b, c = (LocalBackend(str(p), options()).identity() for p in (first, moved, other))
    assert a == b  # the same bytes under another path: the same cache entries
    assert a["model"] != c["model"] and a["model"].startswith("sha256:")
    # Endpoints are made without reading the file; identity is settled at the first call.
    endpoint(f"local/{tmp_path / 'missing.gguf'}")


def test_local_model_paths_in_an_experiment_file_are_read_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "study"
    (folder / "models").mkdir(parents=True)
    write_gguf(folder / "models" / "tiny.gguf", template=CHATML_JINJA)
    (folder / "exp.toml").write_text(
        'name = "rel"\n[dataset]\nloader = "sample"\nlimit = 1\n'
        '[endpoints.strong]\nspec = "local/models/tiny.gguf"\n'
        '[[conditions]]\nlabel = "consultancy"\nprotocol = "consultancy"\n'
        'roles = { consultant = "strong" }\n'
        '[[judges]]\nkind = "llm"\nendpoint = "local/models/tiny.gguf"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory no longer decides
    exp = load_experiment(folder / "exp.toml")
    endpoints = Endpoints(exp, cache=False)
    for ref in ("strong", "local/models/tiny.gguf"):
        made = endpoints.get(ref)
        assert Path(made.backend.model) == folder / "models" / "tiny.gguf"
        assert made.backend.identity()["model"].startswith("sha256:")
    assert endpoints.spec_of("strong") == "local/models/tiny.gguf"  # recorded as written
    # The run records the model by content, and a resume refuses a changed model file.
    store = RunStore.create(tmp_path / "run")
    store.write_json("experiment.json", {"name": "rel"})
    freeze_models(store, exp, endpoints)
    models = store.read_json("experiment.json")["models"]
    assert list(models) == ["local/models/tiny.gguf"]
    assert models["local/models/tiny.gguf"] == made.backend.identity()["model"]
    write_gguf(folder / "models" / "tiny.gguf", template=CHATML_JINJA, vocab=7)
    with pytest.raises(ConfigError, match=r"model file of local/models/tiny\.gguf changed"):
        freeze_models(store, exp, Endpoints(exp, cache=False))


def test_another_chat_template_is_another_cache_identity(tmp_path: Path) -> None:
    path = str(write_gguf(tmp_path / "m.gguf", template=CHATML_JINJA))
    own, chatml, gemma = (
        LocalBackend(path, options(**given)).identity()
        for given in ({}, {"chat_template": "chatml"}, {"chat_template": "gemma"})
    )
    assert len({own["chat_template"], chatml["chat_template"], gemma["chat_template"]}) == 3
    assert own["model"] == chatml["model"] == gemma["model"]


def test_batch_is_refused_when_the_endpoint_is_made_not_at_the_first_call(tmp_path: Path) -> None:
    """llama.cpp has no batch API: ``batch=True`` on a ``local/`` endpoint was accepted, and
    its first batched call failed on the real server with "the provider refused the request
    (HTTP 404): File Not Found" (its ``/v1/files``)."""
    path = write_gguf(tmp_path / "m.gguf", template=CHATML_JINJA)
    with pytest.raises(ConfigError, match=r"local/.*no batch API; batch=True works with openai/"):
        endpoint(f"local/{path}", batch=True)
