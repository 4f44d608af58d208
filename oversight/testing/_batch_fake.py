"""Batch APIs on the fake servers: OpenAI's (file upload, batch create, poll, output and
error files) and Anthropic's Message Batches (create, poll, JSONL results), with expiry
and partial failure, all over real HTTP for the real SDKs.

Scripting (attributes of :class:`BatchBook` and :class:`MessageBatchBook`, reached as
``server.batch``):

* ``polls_before_done``: how many status checks a batch answers ``in_progress`` first;
* ``hold``: while True, every batch stays ``in_progress`` (a test kills its client then);
* ``expire_next``: the next N batches expire, answering only their first half;
* ``cancel_next``: the next N batches end cancelled (as by a person at the provider's
  console), answering only their first half (OpenAI lists the others in the error file,
  code ``batch_cancelled``, unless ``cancel_lines`` is False; Anthropic as ``canceled``);
* both list their batches, newest first (OpenAI with its metadata labels; Anthropic's
  Message Batches, which carry none, paged with ``limit``, ``after_id`` and ``before_id``);
* a reply script returning a :class:`Fault` for a line makes that line fail (partial
  failure), reported in the batch's error file with the fault's status.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from oversight.testing._faults import Fault, RecordedRequest
from oversight.testing._http import HttpRequest, Responder

if TYPE_CHECKING:
    from oversight.testing._anthropic_fake import FakeAnthropicServer
    from oversight.testing._openai_fake import FakeOpenAIServer

__all__ = ["BatchBook", "MessageBatchBook"]


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created_at: int
    status: str = "validating"
    checks: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
        }


class BatchBook:
    """Files and batches of one fake OpenAI server."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        """Uploaded and result files by id."""
        self.batches: dict[str, _Batch] = {}
        """Batches by id, in creation order."""
        self.lines_answered = 0
        """Requests inside batches that got a reply."""
        self.polls_before_done = 1
        """Status checks answered ``in_progress`` before a batch completes."""
        self.hold = False
        """While True, batches never finish."""
        self.expire_next = 0
        """The next this-many batches expire with only their first half answered."""
        self.cancel_next = 0
        """The next this-many batches are cancelled with only their first half answered."""
        self.cancel_lines = True
        """Whether a cancelled batch's error file lists the requests it never ran."""

    async def route(self, server: FakeOpenAIServer, http: HttpRequest, out: Responder) -> bool:
        """Answer a batch or file request; False if ``http`` is not one."""
        path, method = http.path, http.method
        if path == "/v1/files" and method == "POST":
            await out.send_json(200, self._upload(http))
        elif path.startswith("/v1/files/") and path.endswith("/content") and method == "GET":
            file_id = path.split("/")[3]
            if file_id not in self.files:
                await _missing(out, f"no file {file_id}")
            else:
                await out.send(200, self.files[file_id], content_type="application/jsonl")
        elif path == "/v1/batches" and method == "POST":
            body = json.loads(http.body)
            if body.get("input_file_id") not in self.files:
                await _missing(out, "no such input file")
                return True
            batch = _Batch(
                id=f"batch_{len(self.batches)}",
                input_file_id=body["input_file_id"],
                created_at=int(time.time()),
                metadata=body.get("metadata") or {},
            )
            batch.total = len(self._lines(batch))
            self.batches[batch.id] = batch
            await out.send_json(200, batch.wire())
        elif path == "/v1/batches" and method == "GET":
            data = [b.wire() for b in reversed(self.batches.values())]  # newest first
            await out.send_json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                },
            )
        elif path.startswith("/v1/batches/") and method == "GET":
            batch_id = path.split("/")[3]
            found = self.batches.get(batch_id)
            if found is None:
                await _missing(out, f"no batch {batch_id}")
            else:
                await self._advance(server, found)
                await out.send_json(200, found.wire())
        else:
            return False
        return True

    def _upload(self, http: HttpRequest) -> dict[str, Any]:
        head = f"Content-Type: {http.headers.get('content-type', '')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + http.body)
        content, name = b"", "upload.jsonl"
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
                name = part.get_filename() or name
        file_id = f"file-{len(self.files)}"
        self.files[file_id] = content
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": "batch",
            "status": "processed",
        }

    def _lines(self, batch: _Batch) -> list[dict[str, Any]]:
        raw = self.files[batch.input_file_id].decode()
        return [json.loads(line) for line in raw.splitlines() if line.strip()]

    async def _advance(self, server: FakeOpenAIServer, batch: _Batch) -> None:
        """Move a batch along one status check; run its lines when it finishes."""
        if batch.status in ("completed", "expired", "failed", "cancelled"):
            return
        batch.status = "in_progress"
        batch.checks += 1
        if self.hold or batch.checks <= self.polls_before_done:
            return
        end = _cut(self, "completed")
        lines = self._lines(batch)
        answered = len(lines) if end == "completed" else len(lines) // 2
        output, errors = [], []
        for i, line in enumerate(lines):
            custom_id = line["custom_id"]
            if i >= answered:
                if end == "expired" or self.cancel_lines:
                    code, why = (
                        ("batch_expired", "before the completion window expired")
                        if end == "expired"
                        else ("batch_cancelled", "before the batch was cancelled")
                    )
                    errors.append(
                        {
                            "id": f"req_{i}",
                            "custom_id": custom_id,
                            "response": None,
                            "error": {
                                "code": code,
                                "message": f"This request could not be executed {why}.",
                            },
                        }
                    )
                continue
            record = RecordedRequest(
                index=-1,
                path=line["url"],
                body=line["body"],
                headers={},
                received_at=time.monotonic(),
                status=200,
            )
            scripted = await server._script(record)
            if isinstance(scripted, Fault):
                error = {
                    "message": scripted.message,
                    "type": scripted.error_type,
                    "code": scripted.code,
                }
                errors.append(
                    {
                        "id": f"req_{i}",
                        "custom_id": custom_id,
                        "error": None,
                        "response": {"status_code": scripted.status, "body": {"error": error}},
                    }
                )
                continue
            self.lines_answered += 1
            output.append(
                {
                    "id": f"req_{i}",
                    "custom_id": custom_id,
                    "error": None,
                    "response": {
                        "status_code": 200,
                        "request_id": f"req_{i}",
                        "body": server.completion(record, scripted),
                    },
                }
            )
        batch.completed, batch.failed = len(output), len(errors)
        batch.status = end
        for kind, rows in (("output", output), ("error", errors)):
            if rows:
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                setattr(batch, f"{kind}_file_id", file_id)


def _cut(book: BatchBook | MessageBatchBook, done: str) -> str:
    """How the batch now ending ends: ``expired`` or ``cancelled`` as scripted, else ``done``."""
    if book.expire_next > 0:
        book.expire_next -= 1
        return "expired"
    if book.cancel_next > 0:
        book.cancel_next -= 1
        return "cancelled"
    return done


async def _missing(out: Responder, message: str) -> None:
    await out.send_json(
        404,
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )


class MessageBatchBook:
    """Message Batches of one fake Anthropic server."""

    def __init__(self) -> None:
        self.batches: dict[str, dict[str, Any]] = {}
        """Batches by id: their wire form, requests and results."""
        self.lines_answered = 0
        """Requests inside batches that got a reply."""
        self.polls_before_done = 1
        """Status checks answered ``in_progress`` before a batch ends."""
        self.hold = False
        """While True, batches never end."""
        self.expire_next = 0
        """The next this-many batches end with only their first half answered."""
        self.cancel_next = 0
        """The next this-many batches are cancelled with only their first half answered."""

    async def route(self, server: FakeAnthropicServer, http: HttpRequest, out: Responder) -> bool:
        """Answer a Message Batches request; False if ``http`` is not one."""
        path, method = http.path, http.method
        if path == "/v1/messages/batches" and method == "POST":
            body = json.loads(http.body)
            batch_id = f"msgbatch_{len(self.batches)}"
            self.batches[batch_id] = {
                "requests": body.get("requests", []),
                "checks": 0,
                "results": None,
                "created_at": _now(),
            }
            await out.send_json(200, self._wire(server, batch_id))
        elif path == "/v1/messages/batches" and method == "GET":
            await out.send_json(200, self._page(server, http.query))
        elif path.startswith("/v1/messages/batches/") and method == "GET":
            parts = path.split("/")
            batch_id = parts[4]
            if batch_id not in self.batches:
                await out.send_json(
                    404,
                    {
                        "type": "error",
                        "error": {"type": "not_found_error", "message": f"no batch {batch_id}"},
                    },
                )
            elif len(parts) > 5 and parts[5] == "results":
                results = self.batches[batch_id]["results"] or []
                lines = "".join(json.dumps(r) + "\n" for r in results).encode()
                await out.send(200, lines, content_type="application/binary")
            else:
                await self._advance(server, batch_id)
                await out.send_json(200, self._wire(server, batch_id))
        else:
            return False
        return True

    def _page(self, server: FakeAnthropicServer, query: dict[str, str]) -> dict[str, Any]:
        """One page of the list, newest first, after (older than) ``after_id`` or before
        (newer than) ``before_id``, at most ``limit`` (default 20) long."""
        ids = list(reversed(self.batches))
        limit = int(query.get("limit", "20"))
        if "after_id" in query and query["after_id"] in ids:
            ids = ids[ids.index(query["after_id"]) + 1 :]
            page, more = ids[:limit], len(ids) > limit
        elif "before_id" in query and query["before_id"] in ids:
            ids = ids[: ids.index(query["before_id"])]
            page, more = ids[-limit:], len(ids) > limit
        else:
            page, more = ids[:limit], len(ids) > limit
        return {
            "data": [self._wire(server, i) for i in page],
            "has_more": more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    def _wire(self, server: FakeAnthropicServer, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        results = batch["results"]
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if results is None:
            counts["processing"] = len(batch["requests"])
        else:
            for r in results:
                counts[r["result"]["type"]] += 1
        ended = results is not None
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": batch["created_at"],
            "expires_at": batch["created_at"],
            "ended_at": batch["created_at"] if ended else None,
            "archived_at": None,
            "cancel_initiated_at": batch.get("cancel_initiated_at"),
            "results_url": f"{server.base_url}/v1/messages/batches/{batch_id}/results"
            if ended
            else None,
        }

    async def _advance(self, server: FakeAnthropicServer, batch_id: str) -> None:
        batch = self.batches[batch_id]
        if batch["results"] is not None:
            return
        batch["checks"] += 1
        if self.hold or batch["checks"] <= self.polls_before_done:
            return
        end = _cut(self, "ended")
        requests = batch["requests"]
        answered = len(requests) if end == "ended" else len(requests) // 2
        unanswered = "expired" if end == "expired" else "canceled"
        if end == "cancelled":
            batch["cancel_initiated_at"] = _now()
        results = []
        for i, item in enumerate(requests):
            custom_id = item["custom_id"]
            if i >= answered:
                results.append({"custom_id": custom_id, "result": {"type": unanswered}})
                continue
            record = RecordedRequest(
                index=-1,
                path="/v1/messages",
                body=item["params"],
                headers={},
                received_at=time.monotonic(),
                status=200,
            )
            scripted = server.refusal(record) or await server._script(record)
            if isinstance(scripted, Fault):
                results.append(
                    {
                        "custom_id": custom_id,
                        "result": {
                            "type": "errored",
                            "error": {
                                "type": "error",
                                "error": {"type": scripted.error_type, "message": scripted.message},
                            },
                        },
                    }
                )
                continue
            self.lines_answered += 1
            results.append(
                {
                    "custom_id": custom_id,
                    "result": {"type": "succeeded", "message": server.message(record, scripted)},
                }
            )
        batch["results"] = results


def _now() -> str:
    """Now in RFC 3339, to the microsecond, as Anthropic writes times."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
