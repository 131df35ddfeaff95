"""Prometheus metrics (prometheus-client): what the server does, never who did it.

No label holds a member, an address or a query variable. Operation names come from
clients, so only names of the GraphQL name shape, and at most MAX_OPERATIONS distinct ones
per process, become labels; any other is "other". With several workers `serve` sets
PROMETHEUS_MULTIPROC_DIR, and each worker writes its values to files there that /metrics
adds up."""

from __future__ import annotations

import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATIONS = 100

REQUESTS = Counter(
    "forum_requests", "Requests answered, by GraphQL operation and HTTP status.",
    ["operation", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "forum_request_duration_seconds", "Time to answer a request, by GraphQL operation.",
    ["operation"],
)  # fmt: skip
CACHE = Counter(
    "forum_response_cache", "Signed-out queries the response cache answered (hit) or ran (miss).",
    ["result"],
)  # fmt: skip
SUBSCRIPTIONS = Gauge(
    "forum_active_subscriptions", "GraphQL subscriptions open now.", multiprocess_mode="livesum"
)
REFUSALS = Counter(
    "forum_rate_limit_refusals", "Attempts refused by a rate limit, by rule.", ["rule"]
)
PLANS = Counter(
    "forum_plan_executor", "Queries answered by a compiled plan (plan) or by graphql-core "
    "(fallback: not planned, or a plan that stopped), with PLAN_EXECUTOR=on.",
    ["executor"],
)  # fmt: skip
OUTBOX = Gauge(
    "forum_outbox_depth", "Mails waiting for delivery (read at each scrape).",
    multiprocess_mode="mostrecent",
)  # fmt: skip


class OperationNames:
    """Turns client-chosen operation names into a bounded set of label values."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def label(self, name: str | None) -> str:
        """The name itself if it is well-formed and among the first `limit`; else "other"
        ("none" for a request that named no operation)."""
        if name is None:
            return "none"
        if not NAME.fullmatch(name):
            return "other"
        if name not in self.seen:
            if len(self.seen) >= self.limit:
                return "other"
            self.seen.add(name)
        return name


OPERATIONS = OperationNames()


def observe_request(operation: str | None, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    label = OPERATIONS.label(operation)
    REQUESTS.labels(label, str(status)).inc()
    LATENCY.labels(label).observe(seconds)


def count_execution(planned: bool) -> None:
    """Count one query the plan executor answered, or left to graphql-core."""
    PLANS.labels("plan" if planned else "fallback").inc()


def exposition(outbox_depth: int) -> tuple[bytes, str]:
    """The metrics in Prometheus text format (every worker's, with several) and its type."""
    OUTBOX.set(outbox_depth)
    if os.environ.get(MULTIPROCESS):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
