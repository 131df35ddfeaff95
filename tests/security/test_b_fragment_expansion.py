"""SECURITY.md row B6, extended by issue 14: one anonymous request of about 900 bytes
froze the server. `fragment F0 on Query { __typename }`, `Fn { ...F(n-1) ...F(n-1) }`,
`{ ...Fn }` passed the token, alias and depth limits, but the depth and alias limiters
and the cost rule each followed every expanded spread, on the event loop: 20 levels
took seconds, 40 never ended, and /healthz waited meanwhile.

Now every rule measures each fragment once, and a document expanding more than
MAX_SPREADS spreads is refused before any rule follows one. The server runs in a
process of its own here, so that a server stuck in validation fails the test at its
fail-safe timeout instead of stopping the test's own event loop.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from schema.fragments import MAX_SPREADS
from services.settings import Settings
from tests.support.cost import doubling, refused
from tests.support.harness import Client, free_port, serve_process, until_healthy

FAIL_SAFE = 5.0  # seconds: a guard against a hang, not a measure of speed
TYPENAME = {"data": {"__typename": "Query"}}
TOO_MANY_SPREADS = refused(
    f"This document expands more than {MAX_SPREADS} fragment spreads; "
    "spread each fragment fewer times."
)


@dataclass
class Process:
    """A `server.py serve` process: the IP-scanned GraphQL client and a raw one."""

    gql: Client
    http: httpx.AsyncClient


@pytest.fixture
async def process(settings: Settings) -> AsyncIterator[Process]:
    """`server.py serve` on this test's database, healthy, stopped after the test."""
    port = free_port()
    server = serve_process(settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await until_healthy(http, server)
            yield Process(Client(http=http), http)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:  # a server stuck in validation ignores SIGTERM
            server.kill()
            server.wait(10)


def fresh(document: str) -> str:
    """The document behind a comment of its own, so no cache has seen it."""
    return f"# {uuid.uuid4()}\n{document}"


async def healthz_meanwhile(http: httpx.AsyncClient, attack: asyncio.Task[Any]) -> list[int]:
    """/healthz asked three times while the attack is on its way (or just answered)."""
    statuses = []
    for _ in range(3):
        statuses.append((await http.get("/healthz")).status_code)
        if attack.done():
            break
    return statuses


@pytest.mark.parametrize("levels", [20, 40, 100, 200])
async def test_B6_doubling_fragments_are_refused_at_once_while_healthz_answers(
    process: Process, levels: int
) -> None:
    document = fresh(doubling(levels, "__typename"))

    async with asyncio.timeout(FAIL_SAFE):
        attack = asyncio.create_task(process.gql(document))
        statuses = await healthz_meanwhile(process.http, attack)
        response = await attack
        after = await process.gql("{ __typename }")

    assert response == TOO_MANY_SPREADS
    assert set(statuses) == {200}
    assert after == TYPENAME


async def test_B6_the_refusal_comes_before_any_other_rule(process: Process) -> None:
    # Unknown fields, an alias flood and a fragment cycle: none of them is reported,
    # since no rule ran.
    document = doubling(30, "a: nothing b: nothing") + " fragment X on Query { ...X }"

    async with asyncio.timeout(FAIL_SAFE):
        response = await process.gql(fresh(document))

    assert response == TOO_MANY_SPREADS


def spreads(total: int) -> str:
    """A document whose spreads expand to exactly `total` (F1 spreads F0 fifty times)."""
    outer, direct = divmod(total, 51)
    inner = " ".join(["...F0"] * 50)
    selection = " ".join(["...F1"] * outer + ["...F0"] * direct)
    return (
        f"query {{ {selection} }} fragment F1 on Query {{ {inner} }} "
        "fragment F0 on Query { __typename }"
    )


async def test_B6_a_document_expanding_exactly_the_cap_runs(gql: Client) -> None:
    assert await gql(spreads(MAX_SPREADS)) == TYPENAME


async def test_B6_one_spread_past_the_cap_is_refused(gql: Client) -> None:
    assert await gql(spreads(MAX_SPREADS + 1)) == TOO_MANY_SPREADS


async def test_B6_nested_fragments_under_the_cap_are_measured_once_each(gql: Client) -> None:
    # Twelve levels expand 8,190 spreads: over the cap. Eleven (4,094) pass it, and each
    # limit still counts the expanded document, from one measure per fragment.
    deep = doubling(11, "a: __typename")

    assert await gql(deep) == refused("2048 aliases found. Allowed: 30")
    assert await gql(doubling(12, "a: __typename")) == TOO_MANY_SPREADS


async def test_B6_a_long_chain_of_fragments_is_no_stack_overflow(gql: Client) -> None:
    # 300 fragments each spreading the next: no recursion follows the chain.
    chain = " ".join(f"fragment C{n} on Query {{ ...C{n + 1} }}" for n in range(299))
    document = f"{{ ...C0 }} {chain} fragment C299 on Query {{ __typename }}"

    response = await gql(document)

    assert response == refused("Validation aborted.")  # graphql-core's own nesting bound
