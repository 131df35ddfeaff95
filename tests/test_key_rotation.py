"""Key rotation: SECRET_KEY and IP_KEY list the new key first and the old one after it;
`rotate-keys` records the new keys (new data uses them, old data still reads), and
`rotate-keys --finish` moves every stored address, hash and /out link onto them, then
forgets the old keys. Hosts serve only with the list the database records."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidTag

import models
from models.accounts import User
from models.activity import Visit
from models.base import Role
from models.messages import Message, Thread
from models.operations import KeyFingerprints
from models.sessions import Session
from resolvers import newsletters
from resolvers.accounts import create_member
from resolvers.addresses import HOLDERS
from resolvers.keys import fingerprint, start_rotation
from resolvers.rotation import Finished, Rotation
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.addresses import ADA, BOB, NEWCOMER, POST, every_kind_of_write, write
from tests.support.harness import (
    PASSWORD,
    TEST_IP,
    Client,
    Server,
    free_port,
    serve_process,
    stop_processes,
    until_healthy,
)
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox
from tests.support.processes import ROOT, command

OLD_SECRET = "test-secret-key-" + "x" * 32  # the harness's keys
OLD_IP_KEY = "test-ip-key-" + "y" * 32
NEW_SECRET = "rotated-secret-key-" + "n" * 32
NEW_IP_KEY = "rotated-ip-key-" + "m" * 32
LINKED = "https://example.org/a?b=1&c=2"
LINKER = "198.51.100.31"  # where ada posted her link from, before the rotation
LATER = "198.51.100.32"  # where bob posts from during the rotation
MATCH = """query($id: ID!, $reason: String!) {
  accountsSharingAddress(userId: $id, reason: $reason) { user { username } times }
}"""


def keys(tmp_path: Path, database_url: str, secret: str, ip_key: str) -> Settings:
    """The test's settings with these key settings (TEST_IP is a trusted proxy)."""
    return make_settings(tmp_path, database_url, secret_key=secret, ip_key=ip_key,
                         trusted_proxies=[f"{TEST_IP}/32"])  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Before the rotation: the old keys alone."""
    return keys(tmp_path, database_url, OLD_SECRET, OLD_IP_KEY)


@pytest.fixture
def rotating(tmp_path: Path, database_url: str) -> Settings:
    """During the rotation: the new keys first, the old ones after them."""
    return keys(tmp_path, database_url, f"{NEW_SECRET},{OLD_SECRET}", f"{NEW_IP_KEY},{OLD_IP_KEY}")


@pytest.fixture
def rotated(tmp_path: Path, database_url: str) -> Settings:
    """After the finish: the new keys alone."""
    return keys(tmp_path, database_url, NEW_SECRET, NEW_IP_KEY)


@pytest.fixture
async def written(settings: Settings, mailbox: Mailbox) -> str:
    """Under the old keys: every kind of write, and a reply of ada's with an external link
    (its /out link signed with the old key). The stored HTML of that reply."""
    async with Server(settings) as gql:
        gql.ips.update({*ADA.values(), "2001:db8::21", BOB, NEWCOMER, LINKER})
        await every_kind_of_write(gql, mailbox)
        thread = ids.encode("Thread", (await Thread.get()).id)
        body = f"Read [this]({LINKED})"
        await write(gql, LINKER, POST, {"threadId": thread, "body": body}, "ada")
        return await Message.get(body=body).values_list("body_html", flat=True)


async def rotate(settings: Settings) -> None:
    """What `rotate-keys` does (its own tests run the command), in this process."""
    await models.init_db(settings.db_url)
    try:
        await start_rotation(settings.shared_keys)
    finally:
        await models.close_db()


async def finish(settings: Settings) -> Finished:
    """What `rotate-keys --finish` does (its own tests run the command), in this process."""
    await models.init_db(settings.db_url)
    try:
        return await Rotation.of(settings).finish(settings, 500, lambda table, count: None)
    finally:
        await models.close_db()


async def finish_command(settings: Settings) -> str:
    """`rotate-keys --finish`, which must succeed; what it printed."""
    code, stdout, stderr = await command(settings, "rotate-keys", "--finish")
    assert code == 0, stdout + stderr
    return stdout


async def opened(path: str, settings: Settings) -> int:
    """The status a host with these settings answers a GET of `path` with."""
    async with Server(settings) as gql:
        return (await gql.http.get(path)).status_code


def out_link(body_html: str) -> str:
    """The /out link in a message's HTML, as a browser follows it."""
    (href,) = re.findall(r'href="(/out\?[^"]+)"', body_html)
    return html.unescape(href)


async def stored(vault: AddressVault) -> dict[str, list[str | None]]:
    """Each address-holding table's addresses in row order, opened with the vault; each
    row's hash must be the vault's current hash of its address."""
    found: dict[str, list[str | None]] = {}
    for holder in HOLDERS:
        rows = await holder.model.all().order_by("id").values_list("ip_cipher", "ip_hash")
        addresses = [vault.open(cipher) if cipher else None for cipher, _ in rows]
        assert [digest for _, digest in rows] == [a and vault.fingerprint(a) for a in addresses]
        found[holder.model._meta.db_table] = addresses
    return found


async def recorded() -> dict[str, list[str]]:
    return dict(await KeyFingerprints.all().values_list("setting", "fingerprints"))


def prints(*values: str) -> list[str]:
    return [fingerprint(value.encode()) for value in values]


# ------------------------------------------------------------------ rotate-keys


async def test_rotate_keys_records_the_new_keys_first_and_says_what_comes_next(
    written: str, rotating: Settings
) -> None:
    code, stdout, stderr = await command(rotating, "rotate-keys")

    new_secret, old_secret = prints(NEW_SECRET, OLD_SECRET)
    new_ip, old_ip = prints(NEW_IP_KEY, OLD_IP_KEY)
    assert (code, stderr) == (0, "")
    assert stdout == (
        f"SECRET_KEY: new data uses the key {new_secret}; still read: {old_secret}\n"
        f"IP_KEY: new data uses the key {new_ip}; still read: {old_ip}\n"
        "next: give every host these settings and restart it, then run `rotate-keys --finish`\n"
    )
    await models.init_db(rotating.db_url)
    try:
        assert await recorded() == {
            "SECRET_KEY": [new_secret, old_secret],
            "IP_KEY": [new_ip, old_ip],
        }
    finally:
        await models.close_db()


async def test_rotate_keys_may_rotate_one_setting_alone(written: str, settings: Settings) -> None:
    code, stdout, _ = await command(settings, "rotate-keys", IP_KEY=f"{NEW_IP_KEY},{OLD_IP_KEY}")

    assert code == 0
    assert stdout.splitlines()[0].startswith("IP_KEY: new data uses the key ")
    assert len(stdout.splitlines()) == 2


async def test_rotate_keys_refuses_a_list_that_does_not_end_with_the_keys_in_use(
    written: str, settings: Settings
) -> None:
    other = "some-other-key-" + "q" * 32

    result = await command(settings, "rotate-keys", SECRET_KEY=f"{NEW_SECRET},{other}")

    (old,) = prints(OLD_SECRET)
    assert result == (
        2,
        "",
        "error: SECRET_KEY: list the new key first, then the keys this database uses now, "
        f"in order (fingerprints {old})\n",
    )


async def test_rotate_keys_without_a_new_key_changes_nothing(
    written: str, settings: Settings
) -> None:
    result = await command(settings, "rotate-keys")

    assert result == (
        2,
        "",
        "error: no new key: put the new key first in SECRET_KEY or IP_KEY, followed by the "
        "current one (comma-separated)\n",
    )


async def test_a_host_with_the_old_key_alone_is_refused_while_a_rotation_runs(
    written: str, settings: Settings, rotating: Settings
) -> None:
    await rotate(rotating)

    result = await command(settings, "purge")

    new, old = prints(NEW_SECRET, OLD_SECRET)
    assert result == (
        2,
        "",
        "error: SECRET_KEY differs from the keys this database uses while a rotation runs "
        f"(fingerprints {new}, {old}): copy SECRET_KEY from a host that works\n",
    )


# ------------------------------------------------------------------ during the rotation


async def test_during_a_rotation_old_data_reads_and_new_data_uses_the_new_key(
    written: str, rotating: Settings
) -> None:
    await rotate(rotating)

    async with Server(rotating) as gql:
        gql.ips.add(LATER)
        assert (await gql.http.get(out_link(written))).status_code == 200
        await gql.sign_in("bob")
        thread = ids.encode("Thread", (await Thread.get()).id)
        await write(gql, LATER, POST, {"threadId": thread, "body": f"[too]({LINKED})"}, "bob")
        newest = await Message.all().order_by("-id").first()
        assert newest is not None
        assert (await gql.http.get(out_link(newest.body_html))).status_code == 200

        assert AddressVault(NEW_IP_KEY.encode()).open(newest.ip_cipher or "") == LATER
        both = AddressVault(NEW_IP_KEY.encode(), [OLD_IP_KEY.encode()])
        ciphers = await Message.all().order_by("id").values_list("ip_cipher", flat=True)
        assert [both.open(cipher) for cipher in ciphers] == [
            ADA["thread"], ADA["post"], BOB, ADA["conversation"], LINKER, LATER
        ]  # fmt: skip


async def test_reveal_ip_reads_addresses_stored_before_and_during_the_rotation(
    written: str, rotating: Settings
) -> None:
    await rotate(rotating)

    code, stdout, stderr = await command(
        rotating, "reveal-ip", "--username", "ada", "--reason", "Court order 7"
    )

    assert (code, stderr) == (0, "")
    assert {line.split("\t")[2] for line in stdout.splitlines()} == {
        *ADA.values(),
        "2001:db8::21",
        LINKER,
    } - {ADA["page view"], ADA["confirm"], ADA["edit"]}  # edits name no member


# ------------------------------------------------------------------ rotate-keys --finish


async def test_finish_moves_every_stored_address_and_hash_to_the_new_key(
    written: str, rotating: Settings, rotated: Settings
) -> None:
    before = await stored_now(rotating.db_url, AddressVault(OLD_IP_KEY.encode()))
    await rotate(rotating)

    stdout = await finish_command(rotating)

    addresses = sum(a is not None for rows in before.values() for a in rows)
    new_secret, new_ip = prints(NEW_SECRET, NEW_IP_KEY)
    assert stdout == (
        f"addresses re-encrypted: {addresses}\n"
        "address hashes re-computed: 0\n"
        "hashes without their address, cleared: 0\n"
        "addresses under no listed key, left: 0\n"
        "messages with /out links signed anew: 1\n"
        f"done: keep only the first key of SECRET_KEY ({new_secret}) and IP_KEY ({new_ip}) "
        "on every host\n"
    )
    assert await stored_now(rotating.db_url, AddressVault(NEW_IP_KEY.encode())) == before


async def stored_now(url: str, vault: AddressVault) -> dict[str, list[str | None]]:
    """`stored`, opening the database for it (the commands between need it closed)."""
    await models.init_db(url)
    try:
        return await stored(vault)
    finally:
        await models.close_db()


async def test_after_the_finish_the_database_records_the_new_keys_alone(
    written: str, rotating: Settings
) -> None:
    await rotate(rotating)
    await finish(rotating)

    await models.init_db(rotating.db_url)
    try:
        assert await recorded() == {
            "SECRET_KEY": prints(NEW_SECRET),
            "IP_KEY": prints(NEW_IP_KEY),
        }
    finally:
        await models.close_db()


async def test_an_out_link_stored_before_the_rotation_verifies_with_the_new_key_alone(
    written: str, rotating: Settings, rotated: Settings
) -> None:
    await rotate(rotating)
    await finish(rotating)

    await models.init_db(rotated.db_url)
    try:
        body_html = (
            await Message.filter(body__contains=LINKED).get().values_list("body_html", flat=True)
        )
    finally:
        await models.close_db()
    assert body_html != written  # the same link, signed anew
    assert body_html == written.replace(
        html.escape(out_link(written)), html.escape(out_link(body_html))
    )
    assert await opened(out_link(body_html), rotated) == 200
    assert await opened(out_link(written), rotated) == 400  # the old key's signature


async def test_reveal_ip_reads_every_address_with_the_new_key_alone(
    written: str, rotating: Settings, rotated: Settings
) -> None:
    await rotate(rotating)
    await finish(rotating)

    code, stdout, stderr = await command(
        rotated, "reveal-ip", "--username", "ada", "--reason", "Court order 7"
    )

    assert (code, stderr) == (0, "")
    assert LINKER in stdout.split()
    assert ADA["register"] in stdout.split()


async def test_a_hash_stored_without_its_address_is_cleared_by_the_finish(
    written: str, rotating: Settings
) -> None:
    await models.init_db(rotating.db_url)
    try:
        session = await Session.all().order_by("id").first()
        assert session is not None
        await Session.filter(id=session.id).update(ip_cipher=None)  # as purge-ip does
    finally:
        await models.close_db()
    await rotate(rotating)

    done = await finish(rotating)

    assert done.cleared_hashes == 1
    await models.init_db(rotating.db_url)
    try:
        assert await Session.get(id=session.id).values_list("ip_hash", flat=True) is None
    finally:
        await models.close_db()


async def test_after_the_finish_a_host_still_listing_the_old_key_is_refused_in_one_line(
    written: str, rotating: Settings
) -> None:
    await rotate(rotating)
    await finish(rotating)

    result = await command(rotating, "rotate-keys", "--finish")

    new = prints(NEW_SECRET)[0]
    assert result == (
        2,
        "",
        "error: SECRET_KEY lists keys this database no longer uses (rotate-keys --finish "
        f"ran): keep only its first key (fingerprint {new})\n",
    )


async def test_finish_without_a_rotation_says_there_is_none(
    written: str, settings: Settings
) -> None:
    result = await command(settings, "rotate-keys", "--finish")

    assert result == (
        2,
        "",
        "error: no rotation to finish: SECRET_KEY and IP_KEY each hold one key\n",
    )


HOME = "198.51.100.40"


async def shared_home(settings: Settings, rotating: Settings) -> int:
    """ada signs in from HOME before the rotation, bob from HOME during it, carol from
    HOME before it and again during it. ada's id."""
    async with Server(settings) as gql:
        gql.ips.add(HOME)
        ada = await create_member("ada", "ada@example.org", PASSWORD, Role.MEMBER, date(1990, 1, 1))
        for name, role in (("bob", Role.MEMBER), ("carol", Role.MEMBER), ("mod", Role.MODERATOR)):
            await create_member(name, f"{name}@example.org", PASSWORD, role, date(1990, 1, 1))
        await sign_in_from(gql, "ada", HOME)
        await sign_in_from(gql, "carol", HOME)
    await rotate(rotating)
    async with Server(rotating) as gql:
        gql.ips.add(HOME)
        await sign_in_from(gql, "bob", HOME)
        await sign_in_from(gql, "carol", HOME)
    return ada.id


async def matches_of(user_id: int, settings: Settings) -> dict:
    """accountsSharingAddress for a member, as a moderator asks on a host with these keys."""
    async with Server(settings) as gql:
        gql.ips.add(HOME)
        await gql.sign_in("mod")
        variables = {"id": ids.encode("User", user_id), "reason": "Ban evasion"}
        return await gql(MATCH, variables, as_member="mod")


BOTH = {
    "data": {
        "accountsSharingAddress": [
            {"user": {"username": "carol"}, "times": 2},
            {"user": {"username": "bob"}, "times": 1},
        ]
    }
}


async def test_address_matching_links_rows_under_either_key_during_the_rotation(
    settings: Settings, rotating: Settings, mailbox: Mailbox
) -> None:
    ada = await shared_home(settings, rotating)

    assert await matches_of(ada, rotating) == BOTH


async def test_address_matching_links_rows_from_before_and_during_the_rotation_once_finished(
    settings: Settings, rotating: Settings, rotated: Settings, mailbox: Mailbox
) -> None:
    ada = await shared_home(settings, rotating)
    await finish(rotating)

    assert await matches_of(ada, rotated) == BOTH


async def sign_in_from(gql: Client, username: str, address: str) -> None:
    headers = {"x-forwarded-for": address}
    login = {"i": {"login": username, "password": PASSWORD}}
    query = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
    assert await gql(query, login, headers=headers) == {"data": {"login": {"userErrors": []}}}


async def test_an_unsubscribe_link_mailed_before_the_rotation_works_until_the_old_key_leaves(
    written: str, settings: Settings, rotating: Settings, rotated: Settings
) -> None:
    await models.init_db(settings.db_url)
    try:
        ada = await User.get(username="ada")
    finally:
        await models.close_db()
    url = newsletters.unsubscribe_url(settings, ada.id)
    path = f"{urlsplit(url).path}?{urlsplit(url).query}"
    await rotate(rotating)

    during = await opened(path, rotating)
    await finish(rotating)
    after = await opened(path, rotated)

    assert (during, after) == (200, 400)


# ------------------------------------------------------------------ crashes and hosts


@pytest.mark.slow
async def test_a_finish_killed_half_way_and_run_again_moves_every_row_once(
    written: str, rotating: Settings
) -> None:
    old = AddressVault(OLD_IP_KEY.encode())
    await models.init_db(rotating.db_url)
    try:
        now = datetime.now(UTC)
        await Visit.bulk_create(
            [Visit(visitor_key=f"v{n}", started_at=now, ended_at=now, landing_path="/",
                   **old.columns(f"192.0.2.{n % 250}")) for n in range(2000)],
            batch_size=500,
        )  # fmt: skip
        total = await rows_with_addresses()
    finally:
        await models.close_db()
    await rotate(rotating)

    killed = await finish_killed_after_some_progress(rotating)
    moved = await rows_under_the_new_key(rotating.db_url)
    stdout = await finish_command(rotating)

    assert killed == -signal.SIGKILL
    assert 0 < moved < total  # the kill came half way
    assert f"addresses re-encrypted: {total - moved}\n" in stdout
    assert await rows_under_the_new_key(rotating.db_url) == total
    visits = await stored_now(rotating.db_url, AddressVault(NEW_IP_KEY.encode()))
    assert visits["visits"][1:] == [f"192.0.2.{n % 250}" for n in range(2000)]


async def rows_with_addresses() -> int:
    return sum([await h.model.filter(ip_cipher__isnull=False).count() for h in HOLDERS])


async def rows_under_the_new_key(url: str) -> int:
    """How many stored addresses the new key alone opens."""
    new = AddressVault(NEW_IP_KEY.encode())
    await models.init_db(url)
    count = 0
    try:
        for holder in HOLDERS:
            ciphers = await holder.model.filter(ip_cipher__isnull=False).values_list(
                "ip_cipher", flat=True
            )
            for cipher in ciphers:
                with contextlib.suppress(InvalidTag):  # sealed under the old key
                    new.open(cipher)
                    count += 1
    finally:
        await models.close_db()
    return count


async def finish_killed_after_some_progress(settings: Settings) -> int:
    """Start `rotate-keys --finish --batch 10`, kill -9 it once its progress bar has
    moved, and return its exit status."""
    env = {"DATABASE_URL": settings.db_url, "DATA_DIR": str(settings.data_dir),
           "SECRET_KEY": settings.secret_key, "IP_KEY": settings.ip_key}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", "rotate-keys", "--finish", "--batch", "10", cwd=ROOT,
        env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    seen = ""
    try:
        while not re.search(r"\| *[1-9][0-9]*/[0-9]+ ", seen):
            chunk = await asyncio.wait_for(process.stderr.read(256), 60)
            assert chunk, f"the finish ended before it was killed: {seen}"
            seen += chunk.decode()
    finally:
        process.kill()
        await process.wait()
    assert process.returncode is not None
    return process.returncode


@pytest.mark.e2e
async def test_two_hosts_serve_during_a_rotation_only_with_the_same_key_list(
    written: str, settings: Settings, rotating: Settings
) -> None:
    await rotate(rotating)
    first = serve_process(rotating, free_port())
    port = free_port()
    second = serve_process(rotating, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_healthy(http, second)
        code, stdout, stderr = await command(settings, "serve", "--port", str(free_port()))
    finally:
        await stop_processes([first, second])

    new, old = prints(NEW_SECRET, OLD_SECRET)
    assert (code, stdout) == (2, "")
    assert stderr == (
        "error: SECRET_KEY differs from the keys this database uses while a rotation runs "
        f"(fingerprints {new}, {old}): copy SECRET_KEY from a host that works\n"
    )
