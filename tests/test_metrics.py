"""Metrics: /metrics in Prometheus text format when METRICS=on, to private peers only;
requests by operation and status, latencies, response-cache hits and misses, outbox
depth, active subscriptions and rate-limit refusals; never a member, an address or a
variable in a label, and client-chosen operation names bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from models.mail import OutboxMail
from services.broker import Broker
from services.metrics import OperationNames
from services.settings import Settings
from tests.support.harness import (
    POSTGRES_ADMIN_URL,
    TEST_IP,
    Client,
    Server,
    free_port,
    until_healthy,
)
from tests.support.harness import test_settings as make_settings
from tests.support.members import member
from tests.support.processes import Lines, serve_two_workers

LOOPBACK = "127.0.0.1"
CANARY = "canary-variable-61"
USER = "query {name}($u: String!) {{ user(username: $u) {{ username }} }}"


@pytest.fixture
async def site(tmp_path: Path, database_url: str) -> Client:
    """The app with METRICS=on, asked from loopback (as a scraper on the host would)."""
    settings = make_settings(tmp_path, database_url, metrics="on")
    async with Server(settings, client_ip=LOOPBACK) as client:
        yield client


async def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    response = await client.request("GET", "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when it was never recorded)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_unless_asked_for(settings) -> None:
    async with Server(settings, client_ip=LOOPBACK) as client:
        response = await client.request("GET", "/metrics")

    assert response.status_code == 404


async def test_metrics_are_refused_to_a_public_peer(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, metrics="on")
    async with Server(settings, client_ip=TEST_IP) as client:
        response = await client.request("GET", "/metrics")

    assert (response.status_code, response.text) == (403, "Forbidden")


async def test_requests_are_counted_by_operation_and_status(site: Client) -> None:
    before = await scrape(site)
    for n in range(3):  # other variables each time: the cache answers none of them
        await site(USER.format(name="CountedUser"), {"u": f"nobody{n}"})

    after = await scrape(site)

    counted = {"operation": "CountedUser", "status": "200"}
    assert (
        value(after, "forum_requests_total", **counted)
        - value(before, "forum_requests_total", **counted)
        == 3
    )
    assert (
        value(after, "forum_request_duration_seconds_count", operation="CountedUser")
        - value(before, "forum_request_duration_seconds_count", operation="CountedUser")
        == 3
    )


async def test_the_response_cache_counts_its_hits_and_misses(site: Client) -> None:
    before = await scrape(site)
    for _ in range(2):
        await site(USER.format(name="CachedUser"), {"u": "cached-nobody"})

    after = await scrape(site)

    changes = {result: value(after, "forum_response_cache_total", result=result)
               - value(before, "forum_response_cache_total", result=result)
               for result in ("hit", "miss")}  # fmt: skip
    assert changes == {"hit": 1, "miss": 1}


async def test_queries_are_counted_by_the_executor_that_answered(site: Client) -> None:
    before = await scrape(site)
    await site("{ viewer { username } }")  # a query the plans know
    await site("{ privacyPolicy { version } }")  # one they leave to graphql-core

    after = await scrape(site)

    changes = {executor: value(after, "forum_plan_executor_total", executor=executor)
               - value(before, "forum_plan_executor_total", executor=executor)
               for executor in ("plan", "fallback")}  # fmt: skip
    assert changes == {"plan": 1, "fallback": 1}


async def test_the_outbox_depth_is_read_at_each_scrape(site: Client) -> None:
    for _ in range(2):
        await OutboxMail.create(to_address="ada@example.org", subject="s", body="b",
                                next_attempt_at=datetime(2099, 1, 1, tzinfo=UTC))  # fmt: skip

    samples = await scrape(site)

    assert value(samples, "forum_outbox_depth") == 2


async def test_open_subscriptions_are_counted_while_they_last(site: Client) -> None:
    broker = Broker()

    async def listen() -> None:
        async for _ in broker.subscribe("thread:1"):
            pass

    before = value(await scrape(site), "forum_active_subscriptions")
    task = asyncio.create_task(listen())
    await asyncio.sleep(0)  # the subscription starts
    during = value(await scrape(site), "forum_active_subscriptions")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    after = value(await scrape(site), "forum_active_subscriptions")

    assert (during - before, after - before) == (1, 0)


async def test_rate_limit_refusals_are_counted_by_rule(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, metrics="on", rate_limits="on")
    login = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
    wrong = {"i": {"login": "ada", "password": "not the right one"}}
    async with Server(settings, client_ip=LOOPBACK) as client:
        await member(None, "ada", signed_in=False)
        before = value(
            await scrape(client), "forum_rate_limit_refusals_total", rule="login-account"
        )
        answers = [json.dumps(await client(login, wrong)) for _ in range(12)]
        after = value(await scrape(client), "forum_rate_limit_refusals_total", rule="login-account")

    refused = sum("RATE_LIMITED" in answer for answer in answers)
    assert refused >= 1  # ten failed sign-ins per account, then refusals
    assert after - before == refused


async def test_no_member_address_or_variable_reaches_a_label(site: Client) -> None:
    await member(site, "ada_l")
    await site(USER.format(name="Private"), {"u": CANARY}, as_member="ada_l")
    await site("query { viewer { username } }", headers={"x-forwarded-for": "198.51.100.9"})

    text = (await site.request("GET", "/metrics")).text

    assert [secret for secret in (CANARY, "ada_l", "ada_l@example.org", TEST_IP, "198.51.100.9")
            if secret in text] == []  # fmt: skip


def test_operation_names_become_labels_only_when_well_formed_and_few() -> None:
    names = OperationNames(limit=2)

    labels = [names.label(name) for name in
              ["First", None, "ada@example.org", "Second", "Third", "First", "x" * 65]]  # fmt: skip

    assert labels == ["First", "none", "other", "Second", "other", "First", "other"]


@pytest.mark.e2e
@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="several workers need PostgreSQL")
async def test_every_worker_counts_into_one_exposition(settings: Settings) -> None:
    port = free_port()
    server = serve_two_workers(settings, port, METRICS="on")
    output = Lines(server)
    fresh = httpx.Limits(max_keepalive_connections=0)  # each request may meet either worker
    query = {"query": "query Spread { viewer { username } }", "operationName": "Spread"}
    sent = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=fresh) as http:
            await until_healthy(http, server)
            async with asyncio.timeout(120):  # a fail-safe against a hang
                while len(output.request_pids()) < 2:
                    await asyncio.gather(*(http.post("/graphql", json=query) for _ in range(8)))
                    sent += 8
            # Whichever worker answers the scrape, it reports both workers' counts.
            totals = []
            for _ in range(6):
                text = (await http.get("/metrics")).text
                families = text_string_to_metric_families(text)
                samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                           for f in families for s in f.samples}  # fmt: skip
                totals.append(value(samples, "forum_requests_total", operation="Spread",
                                    status="200"))  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.to_thread(server.wait, 30)
        output.reader.join(30)

    assert totals == [sent] * 6
    assert len(output.request_pids()) == 2
