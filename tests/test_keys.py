"""Many hosts, one truth: the database records fingerprints of SECRET_KEY and IP_KEY at
first start (never the keys), and a server or command whose keys differ refuses to start
in one line that says what to copy, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import models
from models.operations import KeyFingerprints
from resolvers.keys import KeyMismatch, fingerprint
from services.settings import Settings
from tests.support.harness import Server, free_port, serve_process, stop_processes, until_healthy
from tests.support.harness import test_settings as make_settings
from tests.support.processes import command

ROOT = Path(__file__).resolve().parent.parent
OTHER_SECRET = "another-hosts-secret-" + "z" * 32
OTHER_IP_KEY = "another-hosts-ip-key-" + "w" * 32


def refusal(settings: Settings, setting: str) -> str:
    """The one line a host with another `setting` is refused with."""
    recorded = fingerprint(settings.shared_keys[setting][0])
    return (
        f"error: {setting} differs from the one this database was first used with "
        f"(fingerprint {recorded}): copy {setting} from a host that works\n"
    )


async def test_the_first_start_records_fingerprints_and_never_the_keys(
    settings: Settings,
) -> None:
    async with Server(settings):
        rows = await KeyFingerprints.all().order_by("setting").values("setting", "fingerprints")

    assert rows == [
        {"setting": "IP_KEY", "fingerprints": [fingerprint(settings.address_key)]},
        {"setting": "SECRET_KEY", "fingerprints": [fingerprint(settings.key)]},
    ]
    assert settings.secret_key not in repr(rows) and settings.ip_key not in repr(rows)
    assert len(rows[0]["fingerprints"][0]) == 16


async def test_a_later_start_with_the_same_keys_serves(settings: Settings) -> None:
    async with Server(settings):
        pass
    async with Server(settings) as client:
        response = await client.request("GET", "/readyz")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("setting", "override"),
    [("SECRET_KEY", {"secret_key": OTHER_SECRET}), ("IP_KEY", {"ip_key": OTHER_IP_KEY})],
)
async def test_an_app_with_another_key_does_not_start(
    settings: Settings, tmp_path: Path, database_url: str, setting: str, override: dict[str, str]
) -> None:
    async with Server(settings):
        pass
    other = make_settings(tmp_path, database_url, **override)

    with pytest.raises(KeyMismatch) as refused:
        async with Server(other):
            pass

    assert f"{refused.value}\n" == refusal(settings, setting).removeprefix("error: ")


@pytest.mark.parametrize(
    ("setting", "env"),
    [("SECRET_KEY", {"SECRET_KEY": OTHER_SECRET}), ("IP_KEY", {"IP_KEY": OTHER_IP_KEY})],
)
async def test_a_command_with_another_key_refuses_in_one_line(
    settings: Settings, setting: str, env: dict[str, str]
) -> None:
    assert (await command(settings, "seed"))[0] == 0

    code, stdout, stderr = await command(settings, "createuser", "--username", "mira",
                                         "--email", "mira@example.org", "--password",
                                         "a long passphrase", **env)  # fmt: skip

    assert (code, stdout, stderr) == (2, "", refusal(settings, setting))


@pytest.mark.e2e
async def test_a_second_serve_shares_the_database_only_with_the_same_keys(
    settings: Settings,
) -> None:
    # Two hosts: the second first with the first's keys, then with a key of its own.
    await models.init_db(settings.db_url)
    await models.close_db()
    first = serve_process(settings, free_port())
    port = free_port()
    same = serve_process(settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_healthy(http, same)
        code, stdout, stderr = await command(
            settings, "serve", "--port", str(free_port()), SECRET_KEY=OTHER_SECRET
        )
    finally:
        await stop_processes([first, same])

    assert (code, stdout, stderr) == (2, "", refusal(settings, "SECRET_KEY"))


def test_fingerprints_name_keys_without_revealing_them() -> None:
    assert fingerprint(b"k1") == fingerprint(b"k1")
    assert fingerprint(b"k1") != fingerprint(b"k2")
    assert len(fingerprint(b"k1")) == 16
