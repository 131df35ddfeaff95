"""One log line per request (JSON fields of its record): no client address unless the
operator asks for it."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from services import metrics
from web.middleware import CLIENT_IP, ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = "forum.request_id"
VIEWER_ID = "forum.viewer_id"
# Set by the GraphQL view (get_context) only, once it resolved neither a viewer nor a
# session: the response cache stores an answer only when it finds this marker.
RAN_ANONYMOUSLY = "forum.ran_anonymously"
OPERATION = "forum.operation"
log = logging.getLogger("forum.requests")


def note_operation(scope: Scope, name: str | None) -> None:
    """Name the operation in the request's log line (the schema records the name on its
    Context, bounded; the log line escapes it)."""
    if name is not None:
        scope[OPERATION] = name


class RequestLog:
    """Give each request an id (errors quote it) and log how it went."""

    def __init__(
        self, app: ASGIApp, with_addresses: bool = False, with_metrics: bool = False
    ) -> None:
        self.app = app
        self.with_addresses = with_addresses
        self.with_metrics = with_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and write its line when it ends."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope[REQUEST_ID] = uuid.uuid4().hex
        started = time.perf_counter()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._write(scope, status, time.perf_counter() - started)

    def _write(self, scope: Scope, status: int, seconds: float) -> None:
        line: dict[str, Any] = {
            "request_id": scope[REQUEST_ID],
            "method": scope.get("method", "WS"),
            "path": scope.get("path", ""),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "operation": scope.get(OPERATION),
            "viewer": scope.get(VIEWER_ID),
        }
        if self.with_addresses:
            line["client"] = scope.get(CLIENT_IP)
        if self.with_metrics:
            metrics.observe_request(line["operation"], status, seconds)
        # Fields of the record: the JSON formatter writes them (escaped, so a crafted path
        # cannot forge a line) beside the time, level, logger and pid.
        log.info("request", extra=line)


class HideClientAddresses(logging.Filter):
    """uvicorn logs each WebSocket handshake with the client's address even with its
    access log off; this keeps the line and drops the address."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Blank the address argument of uvicorn's WebSocket access lines."""
        if isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket'):
            record.args = ("client", *tuple(record.args or ())[1:])
        return True


def hide_client_addresses() -> None:
    """Install the filter on uvicorn's logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, HideClientAddresses) for f in logger.filters):
        logger.addFilter(HideClientAddresses())
