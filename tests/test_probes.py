"""Probes: /healthz says the process is alive and /readyz that it can work (database,
migrations, broker, outbox); both answer any Host header from loopback and private
networks, and only the configured hosts from anywhere else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import connections

from models.mail import OutboxMail
from services.settings import Settings
from tests.support.harness import TEST_IP, Server
from tests.support.harness import test_settings as make_settings

PRIVATE_PEERS = ["127.0.0.1", "::1", "10.1.2.3", "172.20.0.5", "192.168.1.9", "fd00::5",
                 "fe80::1", "169.254.1.1", "::ffff:10.0.0.7"]  # fmt: skip
PUBLIC_PEERS = [TEST_IP, "172.32.0.1", "192.169.0.1", "2001:db8::1", "100.64.0.1"]
READY = {"status": "ok", "problems": []}
PROBE_HOST = {"host": "10.0.0.5:8000"}  # how an orchestrator names the container


@pytest.mark.parametrize("peer", PRIVATE_PEERS)
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_a_private_peer_probes_under_any_host_header(
    settings: Settings, peer: str, path: str
) -> None:
    async with Server(settings, client_ip=peer) as client:
        response = await client.request("GET", path, headers=PROBE_HOST)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("peer", PUBLIC_PEERS)
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_a_public_peer_with_a_foreign_host_header_is_refused(
    settings: Settings, peer: str, path: str
) -> None:
    async with Server(settings, client_ip=peer) as client:
        response = await client.request("GET", path, headers=PROBE_HOST)

    assert (response.status_code, response.text) == (400, "Invalid host header")


async def test_a_forwarded_private_address_does_not_open_the_probes(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])
    async with Server(settings) as client:
        response = await client.request(
            "GET", "/readyz", headers={**PROBE_HOST, "x-forwarded-for": "10.9.9.9"}
        )

    assert (response.status_code, response.text) == (400, "Invalid host header")


async def test_a_private_peer_still_needs_a_known_host_for_everything_else(
    settings: Settings,
) -> None:
    async with Server(settings, client_ip="10.1.2.3") as client:
        response = await client.request(
            "POST", "/graphql", json={"query": "{ __typename }"}, headers=PROBE_HOST
        )

    assert (response.status_code, response.text) == (400, "Invalid host header")


async def test_readyz_is_ok_on_a_current_database_with_an_empty_outbox(settings: Settings) -> None:
    async with Server(settings) as client:
        response = await client.request("GET", "/readyz")

    assert (response.status_code, response.json()) == (200, READY)


async def test_readyz_fails_while_a_mail_waits_longer_than_the_bound(settings: Settings) -> None:
    async with Server(settings) as client:
        later = datetime.now(UTC) + timedelta(days=1)  # the sender leaves it alone meanwhile
        mail = await OutboxMail.create(
            to_address="ada@example.org", subject="s", body="b", next_attempt_at=later
        )
        fresh = await client.request("GET", "/readyz")
        old = datetime.now(UTC) - timedelta(minutes=settings.outbox_stuck_minutes + 1)
        await OutboxMail.filter(id=mail.id).update(created_at=old)
        stuck = await client.request("GET", "/readyz")
        await OutboxMail.filter(id=mail.id).update(sent_at=datetime.now(UTC))
        sent = await client.request("GET", "/readyz")

    assert (fresh.status_code, fresh.json()) == (200, READY)
    assert (stuck.status_code, stuck.json()) == (
        503,
        {"status": "unavailable", "problems": ["outbox"]},
    )
    assert (sent.status_code, sent.json()) == (200, READY)


async def test_readyz_fails_while_a_migration_is_missing(settings: Settings) -> None:
    async with Server(settings) as client:
        # The newest one: as if the code were newer than the database.
        await connections.get("default").execute_query(
            "DELETE FROM tortoise_migrations WHERE id = (SELECT MAX(id) FROM tortoise_migrations)"
        )
        response = await client.request("GET", "/readyz")

    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "problems": ["migrations"]},
    )
