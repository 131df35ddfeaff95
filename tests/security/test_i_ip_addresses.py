"""SECURITY.md section I: IP address handling. Addresses are stored (sealed) for every
transaction, taken from the socket peer or from trusted proxies only, and never shown: not
in responses, pages, mails, exports, logs, the schema, nor to moderators."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from models.accounts import PendingRegistration, User
from models.base import Role
from models.sessions import Session
from resolvers.addresses import reveal
from resolvers.policy import current_policy
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.documents import CONFIRM_TOKEN
from tests.support.forum import new_forum
from tests.support.harness import (
    PASSWORD,
    TEST_IP,
    Client,
    Live,
    assert_no_ip,
    free_port,
    serve,
    session_cookie,
    stop,
    until_healthy,
)
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in
from tests.support.members import member

PEER = "127.0.0.1"  # the live server's view of every test socket
SPOOFED = "203.0.113.7"  # what a client claims in X-Forwarded-For
FORWARDED = "203.0.113.8"  # ... in Forwarded
REAL_IP = "203.0.113.9"  # ... in X-Real-IP and friends
FORWARDED_V6 = "2001:db8::8"
LEFT = "198.51.100.1"  # the left-most, client-written hop of a chain
# Canary addresses of the members behind our proxy in the I4 and I7 rows, one per kind of write.
CANARIES = {
    "register": "198.51.100.61",
    "confirm": "198.51.100.62",
    "login": "198.51.100.63",
    "thread": "198.51.100.64",
    "conversation": "2001:db8::65",
    "report": "198.51.100.66",
    "correction": "198.51.100.67",
    "page view": "198.51.100.68",
}
WAIT = 5.0  # seconds: the bound on every wait in this module
PROTOCOL: Any = "graphql-transport-ws"

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }"
REGISTERED = {"data": {"register": {"userErrors": []}}}
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
CREATE_THREAD = """mutation($i: CreateThreadInput!) {
  createThread(input: $i) {
    thread { id title messages(first: 1) { edges { node { id } } } }
    userErrors { code }
  }
}"""
START_CONVERSATION = """mutation($i: StartConversationInput!) {
  startConversation(input: $i) { conversation { id } userErrors { code } }
}"""
RESET = """mutation($i: RequestPasswordResetInput!) {
  requestPasswordReset(input: $i) { userErrors { code } }
}"""
RESET_PASSWORD = """mutation($i: ResetPasswordInput!) {
  resetPassword(input: $i) { userErrors { code } }
}"""
CHANGE_PASSWORD = """mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { userErrors { code } }
}"""
CHANGE_EMAIL = "mutation($i: ChangeEmailInput!) { changeEmail(input: $i) { userErrors { code } } }"
EXPORT = "mutation { exportMyData { export userErrors { field message code } } }"
REPORT = """mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { userErrors { code } }
}"""
CORRECTION = """mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { userErrors { code } }
}"""
PAGE_VIEW = """mutation($i: RecordPageViewInput!) {
  recordPageView(input: $i) { userErrors { code } }
}"""


def forms(address: str) -> set[str]:
    """The ways an address can be written: short, exploded and (IPv4) IPv4-mapped IPv6."""
    ip = ipaddress.ip_address(address)
    written = {str(ip), ip.exploded}
    if ip.version == 4:
        mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
        written |= {f"::ffff:{ip}", str(mapped), mapped.exploded, f"0:0:0:0:0:ffff:{ip}"}
    return written


def every_form(addresses: set[str] | list[str] | tuple[str, ...]) -> set[str]:
    """`forms` of each address."""
    return {form for address in addresses for form in forms(address)}


ALL_TEST_IPS = every_form(
    [TEST_IP, PEER, "::1", SPOOFED, FORWARDED, FORWARDED_V6, REAL_IP, LEFT, *CANARIES.values()]
)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """This test's settings; a test passes overrides through indirect parametrization."""
    return make_settings(tmp_path, database_url, **getattr(request, "param", {}))


BEHIND_LOOPBACK_PROXY = pytest.param({"trusted_proxies": [PEER]}, id="trusted-127.0.0.1")
BEHIND_HARNESS_PROXY = pytest.param({"trusted_proxies": [f"{TEST_IP}/32"]}, id="trusted-peer")


@pytest.fixture
def vault(settings: Settings) -> AddressVault:
    """The server's own address vault (same key): the app's decrypting code."""
    return AddressVault(settings.address_key)


async def register_from(
    client: Client, username: str, headers: dict[str, str], email: str | None = None
) -> dict:
    """Register a member sending extra request headers; return the JSON answer."""
    variables = {
        "username": username,
        "email": email or f"{username}@example.org",
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": (await current_policy()).version,
    }
    return await client(REGISTER, {"i": variables}, headers=headers)


async def stored(username: str, vault: AddressVault) -> set[tuple[str, str]]:
    """(table, address) of every address kept about a member or a registration waiting
    for its link: a member's opened by the app's own operator path
    (resolvers.addresses.reveal, which also audits the reading)."""
    sealed = PendingRegistration.filter(username=username).values_list("ip_cipher", flat=True)
    found = {("pending_registrations", vault.open(cipher)) for cipher in await sealed if cipher}
    user = await User.get_or_none(username=username)
    if user is not None:
        revealed = await reveal(user, "security test", vault.open)
        found |= {(row.table, row.address) for row in revealed}
    return found


def as_registered(address: str) -> set[tuple[str, str]]:
    """What a registration records until its link is opened: the registration itself."""
    return {("pending_registrations", address)}


SPOOFING_HEADERS = [
    {"x-forwarded-for": SPOOFED},
    {"x-forwarded-for": f"{LEFT}, {SPOOFED}"},
    {"forwarded": f"for={FORWARDED};proto=https"},
    {"forwarded": f'for="[{FORWARDED_V6}]:4711"'},
    {"x-real-ip": REAL_IP},
    {"true-client-ip": REAL_IP},
    {"cf-connecting-ip": REAL_IP},
    {"x-client-ip": REAL_IP},
    {"x-cluster-client-ip": REAL_IP},
    {
        "x-forwarded-for": SPOOFED,
        "forwarded": f"for={FORWARDED}",
        "x-real-ip": REAL_IP,
    },
]


# ------------------------------------------------------------------ I1 spoofing, untrusted peer


@pytest.mark.parametrize("headers", SPOOFING_HEADERS)
async def test_I1_forwarding_headers_from_an_untrusted_peer_are_ignored(
    gql: Client, vault: AddressVault, headers: dict[str, str]
) -> None:
    gql.ips.update(ALL_TEST_IPS)

    assert await register_from(gql, "ada_l", headers) == REGISTERED

    assert await stored("ada_l", vault) == as_registered(TEST_IP)
    registration = await PendingRegistration.get(username="ada_l")
    assert registration.ip_hash == vault.fingerprint(TEST_IP)


@pytest.mark.parametrize("headers", SPOOFING_HEADERS)
async def test_I1_the_real_uvicorn_does_not_rewrite_the_client_from_headers(
    live: Live, vault: AddressVault, headers: dict[str, str]
) -> None:
    # uvicorn's proxy_headers (on by default, trusting 127.0.0.1) would make SPOOFED the
    # client before the app runs; web.app.UVICORN_OPTIONS turns it off.
    live.http.ips.update(ALL_TEST_IPS)

    assert await register_from(live.http, "ada_l", headers) == REGISTERED

    assert await stored("ada_l", vault) == as_registered(PEER)
    registration = await PendingRegistration.get(username="ada_l")
    assert registration.ip_hash == vault.fingerprint(PEER)


async def test_I1_a_websocket_mutation_records_the_socket_peer(
    live: Live, vault: AddressVault
) -> None:
    live.http.ips.update(ALL_TEST_IPS)
    await member(live.http, "ada")
    forum = await new_forum()
    variables = {"i": {"forumId": ids.encode("Forum", forum.id), "title": "Over WS", "body": "Hi"}}
    headers = {"Cookie": f"session={live.http.cookies['ada']}", "X-Forwarded-For": SPOOFED}

    async with connect(live.ws_url, subprotocols=[PROTOCOL], additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        payload = {"query": CREATE_THREAD, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        created = json.loads(await asyncio.wait_for(ws.recv(), WAIT))

    assert ack == {"type": "connection_ack"}
    assert created["payload"]["data"]["createThread"]["userErrors"] == []
    assert (created["id"], created["type"], list(created["payload"])) == ("1", "next", ["data"])
    assert await stored("ada", vault) == {("threads", PEER), ("messages", PEER)}


CONFIRM_BOGUS = """mutation($t: String!) {
  confirmEmail(input: {token: $t}) { user { username } userErrors { code } }
}"""
INVALID_TOKEN = {
    "data": {"confirmEmail": {"user": None, "userErrors": [{"code": "INVALID_TOKEN"}]}}
}
TOKEN_ATTEMPTS = 30  # services.ratelimits.RULES["token-address"]: 30 per 15 minutes


@pytest.mark.parametrize("settings", [{"rate_limits": "on"}], indirect=True, ids=["limits-on"])
async def test_I1_a_rotating_x_forwarded_for_does_not_dodge_the_rate_limit(live: Live) -> None:
    live.http.ips.update(every_form([f"203.0.113.{n}" for n in range(1, TOKEN_ATTEMPTS + 2)]))

    answers = [
        await live.http(
            CONFIRM_BOGUS, {"t": f"bogus-{n}"}, headers={"x-forwarded-for": f"203.0.113.{n}"}
        )
        for n in range(1, TOKEN_ATTEMPTS + 2)
    ]

    assert answers[:TOKEN_ATTEMPTS] == [INVALID_TOKEN] * TOKEN_ATTEMPTS
    retry_after = answers[-1]["errors"][0]["extensions"]["retryAfter"]
    assert answers[-1] == {
        "data": None,
        "errors": [
            {
                "message": "Too many attempts; try again later.",
                "locations": [{"line": 2, "column": 3}],
                "path": ["confirmEmail"],
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
            }
        ],
    }


# ------------------------------------------------------------------ I2 trusted proxies


@pytest.mark.parametrize("settings", [BEHIND_LOOPBACK_PROXY], indirect=True)
@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        (f"{LEFT}, {SPOOFED}", SPOOFED),  # the left-most hop is the client's own claim
        (f"{LEFT}, {SPOOFED}, {PEER}", SPOOFED),  # a second proxy of ours in the chain
        (SPOOFED, SPOOFED),
        (f"::ffff:{SPOOFED}", SPOOFED),  # an IPv4-mapped hop is stored as IPv4
        (f"{LEFT},{SPOOFED}", SPOOFED),
        ("2001:db8::7", "2001:db8::7"),
    ],
)
async def test_I2_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(
    live: Live, vault: AddressVault, forwarded_for: str, client: str
) -> None:
    live.http.ips.update(ALL_TEST_IPS | every_form(["2001:db8::7"]))

    response = await register_from(live.http, "ada_l", {"x-forwarded-for": forwarded_for})

    assert response == REGISTERED
    assert await stored("ada_l", vault) == as_registered(client)


@pytest.mark.parametrize("settings", [BEHIND_LOOPBACK_PROXY], indirect=True)
async def test_I2_a_proxy_that_adds_its_own_header_line_is_read_right_to_left(
    live: Live, vault: AddressVault
) -> None:
    # Some proxies append a second X-Forwarded-For line instead of extending the first;
    # the lines form one list (RFC 9110 5.3), so the client's own line is still left-most.
    live.http.ips.update(ALL_TEST_IPS)
    policy = (await current_policy()).version
    variables = {
        "username": "ada_l",
        "email": "ada_l@example.org",
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": policy,
    }
    headers = [
        ("content-type", "application/json"),
        ("x-forwarded-for", LEFT),  # written by the client
        ("x-forwarded-for", SPOOFED),  # written by our proxy: the address it saw
    ]

    response = await live.http.request(
        "POST", "/graphql", json={"query": REGISTER, "variables": {"i": variables}}, headers=headers
    )

    assert response.json() == REGISTERED
    assert await stored("ada_l", vault) == as_registered(SPOOFED)


@pytest.mark.parametrize("settings", [BEHIND_LOOPBACK_PROXY], indirect=True)
@pytest.mark.parametrize(
    "headers",
    [{"forwarded": f"for={FORWARDED}"}, {"x-real-ip": REAL_IP}, {}],
    ids=["forwarded", "x-real-ip", "none"],
)
async def test_I2_only_x_forwarded_for_is_read_from_a_trusted_proxy(
    live: Live, vault: AddressVault, headers: dict[str, str]
) -> None:
    live.http.ips.update(ALL_TEST_IPS)

    assert await register_from(live.http, "ada_l", headers) == REGISTERED

    assert await stored("ada_l", vault) == as_registered(PEER)


@pytest.mark.parametrize(
    "settings", [{"trusted_proxies": ["10.0.0.0/8"]}], indirect=True, ids=["other-proxies"]
)
async def test_I2_a_peer_that_is_not_one_of_our_proxies_is_not_believed(
    gql: Client, vault: AddressVault
) -> None:
    gql.ips.update(ALL_TEST_IPS)

    response = await register_from(gql, "ada_l", {"x-forwarded-for": f"10.0.0.1, {SPOOFED}"})

    assert response == REGISTERED
    assert await stored("ada_l", vault) == as_registered(TEST_IP)


# ------------------------------------------------------------------ I3 malformed headers

MANY_HOPS = ", ".join(f"198.51.100.{n % 250 + 1}" for n in range(1000))


@pytest.mark.parametrize("settings", [BEHIND_LOOPBACK_PROXY], indirect=True)
@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("<script>alert(1)</script>", PEER),
        ("'; DROP TABLE users; --", PEER),
        ("x" * 8192, PEER),
        ("unknown", PEER),
        (f"{SPOOFED}, unknown", PEER),
        ("999.1.1.1", PEER),
        (",,,", PEER),
        ("fe80::1%eth0", "fe80::1"),  # a zone id is dropped, the address kept
        (MANY_HOPS, "198.51.100.250"),  # the right-most hop of 1 000
        ("203.0.113.7:8080", PEER),  # a port is not part of an address
    ],
    ids=[
        "script",
        "sql",
        "8KB",
        "unknown",
        "unknown-last",
        "bad-octet",
        "commas",
        "zone",
        "1000-hops",
        "port",
    ],
)
async def test_I3_a_malformed_x_forwarded_for_is_ignored_or_parsed_and_never_echoed(
    live: Live, vault: AddressVault, forwarded_for: str, client: str
) -> None:
    live.http.ips.update(ALL_TEST_IPS | every_form(["198.51.100.250", "fe80::1"]))
    headers = {"x-forwarded-for": forwarded_for}

    graphql = await live.http.post("{ __typename }", headers=headers)
    registered = await register_from(live.http, "ada_l", headers)
    health = await live.http.request("GET", "/healthz", headers=headers)

    assert (graphql.status_code, graphql.json()) == (200, {"data": {"__typename": "Query"}})
    assert registered == REGISTERED
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    for response in (graphql, health):
        assert forwarded_for not in response.text
        assert forwarded_for not in str(response.headers)
    assert await stored("ada_l", vault) == as_registered(client)


@pytest.mark.parametrize(
    "headers",
    [
        {"forwarded": "for=<script>;by=;;;"},
        {"forwarded": "for=" + "x" * 8192},
        {"x-real-ip": "'; DROP TABLE users; --"},
        {"x-forwarded-for": "fe80::1%eth0", "x-real-ip": "unknown"},
    ],
    ids=["forwarded-garbage", "forwarded-8KB", "x-real-ip-sql", "zone-untrusted"],
)
async def test_I3_malformed_forwarding_headers_from_an_untrusted_peer_change_nothing(
    live: Live, vault: AddressVault, headers: dict[str, str]
) -> None:
    live.http.ips.update(ALL_TEST_IPS | every_form(["fe80::1"]))

    response = await register_from(live.http, "ada_l", headers)

    assert response == REGISTERED
    assert await stored("ada_l", vault) == as_registered(PEER)


# ------------------------------------------------------------------ I4 canary scans


@pytest.mark.parametrize("settings", [BEHIND_LOOPBACK_PROXY], indirect=True)
@pytest.mark.parametrize("forwarded_for", [None, SPOOFED, f"::ffff:{SPOOFED}"])
async def test_I4_the_graphiql_page_shows_no_address(live: Live, forwarded_for: str | None) -> None:
    headers = {"accept": "text/html"}
    if forwarded_for:
        headers["x-forwarded-for"] = forwarded_for

    response = await live.http.request("GET", "/graphql", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    assert_no_ip(response.text + str(response.headers), ALL_TEST_IPS)


async def write_as(client: Client, query: str, variables: dict[str, Any], **options: Any) -> dict:
    """A mutation whose only answer should be empty userErrors; return the payload."""
    response = await client(query, variables, **options)
    (payload,) = response["data"].values()
    assert payload["userErrors"] == [], response
    return payload


def from_(address: str) -> dict[str, str]:
    """Headers of a request our proxy forwarded for a client at `address`."""
    return {"x-forwarded-for": address}


async def registered_member(gql: Client, mailbox: Mailbox, username: str) -> None:
    """Register, confirm and sign in a member, each step from its own canary address."""
    assert await register_from(gql, username, from_(CANARIES["register"])) == REGISTERED
    (mail,) = await mailbox.wait_for(f"{username}@example.org")
    confirmed = await gql(CONFIRM_TOKEN, {"t": token_in(mail)}, headers=from_(CANARIES["confirm"]))
    assert confirmed["data"]["confirmEmail"]["userErrors"] == []
    response = await gql.post(
        LOGIN,
        {"i": {"login": username, "password": PASSWORD}},
        headers=from_(CANARIES["login"]),
    )
    token = session_cookie(response)
    assert token is not None
    gql.cookies[username] = token


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
async def test_I4_no_mail_the_server_writes_holds_an_address(gql: Client, mailbox: Mailbox) -> None:
    gql.ips.update(ALL_TEST_IPS)
    await registered_member(gql, mailbox, "ada_l")
    again = await register_from(gql, "ada_2", from_(SPOOFED), email="ada_l@example.org")
    await write_as(gql, RESET, {"i": {"email": "ada_l@example.org"}}, headers=from_(SPOOFED))
    (*_, reset_mail) = await mailbox.wait_for("ada_l@example.org", count=3)
    new_password = "another correct horse"
    await write_as(
        gql,
        RESET_PASSWORD,
        {"i": {"token": token_in(reset_mail), "newPassword": new_password}},
        headers=from_(FORWARDED),
    )
    await gql.sign_in("ada_l", new_password)
    await write_as(
        gql,
        CHANGE_PASSWORD,
        {"i": {"currentPassword": new_password, "newPassword": PASSWORD}},
        as_member="ada_l",
        headers=from_(CANARIES["login"]),
    )
    await write_as(
        gql,
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada_new@example.org"}},
        as_member="ada_l",
        headers=from_(REAL_IP),
    )
    await mailbox.wait_for("ada_l@example.org", count=5)
    await mailbox.wait_for("ada_new@example.org")

    files = sorted(mailbox.folder.glob("*.eml"))
    subjects = sorted(str(message["Subject"]) for message in mailbox.messages())
    assert again == REGISTERED
    assert subjects == [
        "Confirm your email address",
        "Confirm your new email address",
        "Reset your password",
        "Someone tried to register with your email address",
        "Your email address is being changed",
        "Your password was changed",
    ]
    for path in files:
        assert_no_ip(path.read_bytes().decode("utf-8", errors="replace"), ALL_TEST_IPS)


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
async def test_I4_the_data_export_holds_no_address(gql: Client, mailbox: Mailbox) -> None:
    gql.ips.update(ALL_TEST_IPS)
    await registered_member(gql, mailbox, "ada_l")
    bob = await member(gql, "bob")
    forum = await new_forum()
    thread = {"forumId": ids.encode("Forum", forum.id), "title": "Canaries", "body": "Hello"}
    await write_as(gql, CREATE_THREAD, {"i": thread}, as_member="ada_l", headers=from_(SPOOFED))
    talk = {"recipientIds": [ids.encode("User", bob.id)], "title": "Just us", "body": "Hi bob"}
    await write_as(gql, START_CONVERSATION, {"i": talk}, as_member="ada_l", headers=from_(REAL_IP))

    response = await gql(EXPORT, as_member="ada_l", headers=from_(FORWARDED))

    export = response["data"]["exportMyData"]["export"]
    assert response["data"]["exportMyData"]["userErrors"] == []
    assert sorted(export) == sorted(
        [
            "exportedAt", "account", "profile", "privacySettings", "consents", "sessions",
            "following", "followers", "threads", "messages", "correctionRequests", "warnings",
            "blocked", "watchedThreads", "notificationSettings", "notifications", "privacyReads",
            "retention",
        ]
    )  # fmt: skip
    assert [sorted(session) for session in export["sessions"]] == [
        ["browser", "country", "createdAt", "lastUsedAt", "operatingSystem", "revokedAt"]
    ]
    assert [message["body"] for message in export["messages"]] == ["Hello", "Hi bob"]
    assert_no_ip(json.dumps(export), ALL_TEST_IPS)


# ------------------------------------------------------------------ I5 a real server's output


async def traffic_with_addresses(port: int) -> None:
    """Requests carrying addresses in every header a server might print, succeeding and
    failing, over HTTP and WebSocket (bounded: about a dozen)."""
    spoof = {"x-forwarded-for": SPOOFED, "forwarded": f"for={FORWARDED}", "x-real-ip": REAL_IP}
    json_spoof = {"content-type": "application/json", **spoof}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

        async def ask(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
            """POST a query with the spoofing headers."""
            return await http.post("/graphql", json={"query": query, "variables": variables},
                                   headers=spoof)  # fmt: skip

        policy = (await ask("{ privacyPolicy { version } }")).json()
        variables = {
            "username": "ada",
            "email": "ada@example.org",
            "password": PASSWORD,
            "dateOfBirth": "1990-05-17",
            "acceptPolicyVersion": policy["data"]["privacyPolicy"]["version"],
        }
        answers = [
            await ask(REGISTER, {"i": variables}),
            await ask(LOGIN, {"i": {"login": "ada", "password": "wrong password 1"}}),
            await ask("{ nope }"),
            await http.post("/graphql", content=b"{", headers=json_spoof),
            await http.post("/graphql", content=b"x" * 2_000_000, headers=json_spoof),
            await http.get("/nowhere", headers=spoof),
            await http.get("/graphql", headers={"accept": "text/html", **spoof}),
            # Not a probe: a loopback peer probes under any Host, everything else is refused.
            await http.get("/graphql", headers={"host": "evil.example", **spoof}),
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 400, 413, 404, 200, 400]
    # By name, so the server's own address in a Host header is not mistaken for a client's.
    url = f"ws://localhost:{port}/graphql"
    for frame in ('{"type": "bogus"}', "[1]", "x" * 1_100_000):  # 4400, a fault, 1009
        async with connect(url, subprotocols=[PROTOCOL], additional_headers=spoof) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "connection_ack"}
            await ws.send(frame)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), WAIT)
    with pytest.raises(InvalidStatus):
        await connect(url, origin="https://evil.example", additional_headers=spoof)  # type: ignore[arg-type]


@pytest.mark.e2e
async def test_I5_a_real_server_prints_no_client_address(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_healthy(http, process)
        await traffic_with_addresses(port)
    finally:
        output = await asyncio.to_thread(stop, process)

    # uvicorn's start-up line names the address it listens on: the server's own (the
    # --host default), not a client's. Every other line must name none.
    listening = f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)"
    others = [line for line in output.splitlines() if listening not in line]
    assert listening in output, output
    assert '"path": "/graphql"' in output  # the request lines did reach the output
    assert "Rejected WebSocket connection from origin" in output  # so did the WS refusal
    assert_no_ip("\n".join(others), ALL_TEST_IPS)


# ------------------------------------------------------------------ I6 the schema

INTROSPECTION = """{ __schema {
  types {
    name description
    fields(includeDeprecated: true) { name description args { name description } }
    inputFields { name description }
    enumValues(includeDeprecated: true) { name description }
  }
  directives { name description args { name description } }
} }"""
# Words in a schema name that would mean it carries a network address or its location.
ADDRESS_WORDS = {"ip", "ips", "ipv4", "ipv6", "ipaddr", "ipaddress", "addr", "remote",
                 "forwarded", "xff", "peer", "geo", "geoip", "host", "hostname"}  # fmt: skip


def words(name: str) -> list[str]:
    """The lower-cased words of a camelCase, PascalCase or snake_case name."""
    return [word.lower() for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name)]


def described(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, name, description) of every type, field, argument, input field, enum value
    and directive an introspection answer lists."""
    found: list[tuple[str, str, str]] = []
    for kind in schema["types"]:
        found.append((kind["name"], kind["name"], kind["description"] or ""))
        members = (kind["fields"] or []) + (kind["inputFields"] or []) + (kind["enumValues"] or [])
        for item in members:
            where = f"{kind['name']}.{item['name']}"
            found.append((where, item["name"], item["description"] or ""))
            for argument in item.get("args") or []:
                found.append((f"{where}({argument['name']})", argument["name"],
                              argument["description"] or ""))  # fmt: skip
    for directive in schema["directives"]:
        found.append((f"@{directive['name']}", directive["name"], directive["description"] or ""))
        for argument in directive["args"]:
            found.append((f"@{directive['name']}({argument['name']})", argument["name"],
                          argument["description"] or ""))  # fmt: skip
    return found


@pytest.fixture
async def introspected(gql: Client) -> list[tuple[str, str, str]]:
    """The schema as an anonymous client introspects it over HTTP."""
    response = await gql(INTROSPECTION)
    assert list(response) == ["data"]
    return described(response["data"]["__schema"])


async def test_I6_no_name_in_the_schema_is_about_network_addresses(
    introspected: list[tuple[str, str, str]],
) -> None:
    offenders = [where for where, name, _ in introspected if ADDRESS_WORDS & set(words(name))]

    assert len(introspected) > 500  # the whole schema was read
    assert offenders == []


async def test_I6_every_description_naming_ip_addresses_says_they_are_not_shown(
    introspected: list[tuple[str, str, str]],
) -> None:
    mentions = {
        where: text
        for where, _, text in introspected
        if re.search(r"(?i)\bip\b|forwarded|remote.?addr", text)
    }

    assert mentions == {
        "Session": "A browser signed in to your account. Never shows an IP address.",
        "ExportMyDataPayload.export": "Everything held about you, as one JSON document "
        "(no IP addresses).",
    }


# ------------------------------------------------------------------ I7 moderators


@pytest.fixture
async def moderated(gql: Client, vault: AddressVault, mailbox: Mailbox) -> dict[str, str]:
    """ada (every kind of record, each from a canary address), bob (sharing ada's login
    address, so accountsSharingAddress finds him), moderator `mod`, admin `boss`; global IDs."""
    gql.ips.update(ALL_TEST_IPS)
    await registered_member(gql, mailbox, "ada_l")
    bob = await member(gql, "bob")
    await Session.filter(user_id=bob.id).update(**vault.columns(CANARIES["login"]))
    await member(gql, "mod", role=Role.MODERATOR)
    await member(gql, "boss", role=Role.ADMIN)
    forum = await new_forum()
    thread = {"forumId": ids.encode("Forum", forum.id), "title": "Canaries", "body": "Hi"}
    created = await write_as(
        gql, CREATE_THREAD, {"i": thread}, as_member="ada_l", headers=from_(CANARIES["thread"])
    )
    message_id = created["thread"]["messages"]["edges"][0]["node"]["id"]
    talk = {"recipientIds": [ids.encode("User", bob.id)], "title": "Just us", "body": "Hi bob"}
    await write_as(
        gql,
        START_CONVERSATION,
        {"i": talk},
        as_member="ada_l",
        headers=from_(CANARIES["conversation"]),
    )
    complaint = {"messageId": message_id, "reason": "Canary report"}
    await write_as(
        gql, REPORT, {"i": complaint}, as_member="bob", headers=from_(CANARIES["report"])
    )
    fix = {"field": "dateOfBirth", "proposedValue": "1990-05-18", "reason": "Typo at signup"}
    await write_as(
        gql, CORRECTION, {"i": fix}, as_member="ada_l", headers=from_(CANARIES["correction"])
    )
    view = {"path": "/threads/1", "referrer": "https://example.com/x", "title": "Canaries"}
    await write_as(
        gql, PAGE_VIEW, {"i": view}, as_member="ada_l", headers=from_(CANARIES["page view"])
    )
    ada = await User.get(username="ada_l")
    return {"ada": ids.encode("User", ada.id), "message": message_id}


USER_FIELDS = """id username role joinedAt email dateOfBirth age lastSeenAt suspendedUntil
  profile { bio location website } privacySettings { email }
  sessions { id createdAt lastUsedAt browser operatingSystem country current }
  consents { kind granted policyVersion createdAt } newsletter policyAccepted"""
STAFF_READS = {
    "privilegedProfile": f"""query($ada: ID!) {{
      privilegedProfile(userId: $ada, reason: "Canary check") {{
        user {{ {USER_FIELDS} }} email dateOfBirth location website bio lastSeenAt
        privacySettings {{ email dateOfBirth location website bio lastSeen }}
      }}
    }}""",
    "accountsSharingAddress": """query($ada: ID!) {
      accountsSharingAddress(userId: $ada, reason: "Canary check") {
        user { username } firstSeenAt lastSeenAt times
      }
    }""",
    # 50 reports: the price counts each member's sessions and consents as lists.
    "reports": f"""{{ reports(first: 50) {{ edges {{ cursor node {{
      id reason status createdAt reporter {{ {USER_FIELDS} }}
      message {{ id body bodyHtml createdAt author {{ {USER_FIELDS} }} }}
      context {{ id body author {{ username }} }}
    }} }} }} }}""",
    "correctionRequests": """{ correctionRequests(first: 100) { edges { cursor node {
      id field proposedValue reason status response createdAt resolvedAt
    } } } }""",
    "user": f"""query($ada: ID!) {{
      node(id: $ada) {{ ... on User {{ {USER_FIELDS} }} }}
      user(username: "ada_l") {{ {USER_FIELDS} }}
      users(first: 100) {{ edges {{ node {{ {USER_FIELDS} }} }} }}
    }}""",
}
STAFF_ONLY_ADMIN = {
    "siteStats": """query($from: Date!, $to: Date!) { siteStats(from: $from, to: $to) {
      visits pageViews averageVisitSeconds registrations
      topPages { key count } topReferrers { key count } countries { key count }
      browsers { key count } operatingSystems { key count } paths { from to count }
    } }""",
    "auditLog": """{ auditLog(first: 100) { edges { cursor node {
      id action fields reason createdAt actor { username } subject { username }
    } } } }""",
}


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
@pytest.mark.parametrize("read", sorted(STAFF_READS))
@pytest.mark.parametrize("staff", ["mod", "boss"])
async def test_I7_a_staff_read_shows_no_address(
    gql: Client, moderated: dict[str, str], read: str, staff: str
) -> None:
    query = STAFF_READS[read]
    variables = {"ada": moderated["ada"]} if "$ada" in query else None

    response = await gql.post(query, variables, as_member=staff)

    assert list(response.json()) == ["data"], response.text
    assert_no_ip(response.text + str(response.headers), ALL_TEST_IPS)


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
async def test_I7_shared_addresses_name_accounts_never_the_address(
    gql: Client, moderated: dict[str, str]
) -> None:
    ada = {"ada": moderated["ada"]}

    response = await gql(STAFF_READS["accountsSharingAddress"], ada, as_member="mod")

    (match,) = response["data"]["accountsSharingAddress"]
    assert (sorted(match), match["user"], match["times"]) == (
        ["firstSeenAt", "lastSeenAt", "times", "user"],
        {"username": "bob"},
        1,
    )


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
async def test_I7_staff_do_not_see_a_members_sessions_or_consents(
    gql: Client, moderated: dict[str, str]
) -> None:
    query = """query($ada: ID!) { node(id: $ada) { ... on User {
      username sessions { country } consents { kind } newsletter policyAccepted
    } } }"""

    response = await gql(query, {"ada": moderated["ada"]}, as_member="boss")

    assert response == {
        "data": {
            "node": {
                "username": "ada_l",
                "sessions": None,
                "consents": None,
                "newsletter": None,
                "policyAccepted": None,
            }
        }
    }


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
@pytest.mark.parametrize("read", sorted(STAFF_ONLY_ADMIN))
async def test_I7_the_admin_views_show_no_address(
    gql: Client, vault: AddressVault, moderated: dict[str, str], read: str
) -> None:
    await gql(STAFF_READS["privilegedProfile"], {"ada": moderated["ada"]}, as_member="mod")
    await gql(STAFF_READS["accountsSharingAddress"], {"ada": moderated["ada"]}, as_member="mod")
    await stored("ada_l", vault)  # the operator's reveal command, audited too

    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=30)), "to": str(today + timedelta(days=1))}
    query = STAFF_ONLY_ADMIN[read]

    response = await gql.post(query, days if "$from" in query else None, as_member="boss")

    assert list(response.json()) == ["data"], response.text
    assert_no_ip(response.text + str(response.headers), ALL_TEST_IPS)


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
async def test_I7_the_audit_log_records_reads_of_addresses_without_any_address(
    gql: Client, vault: AddressVault, moderated: dict[str, str]
) -> None:
    await gql(STAFF_READS["accountsSharingAddress"], {"ada": moderated["ada"]}, as_member="mod")
    await stored("ada_l", vault)
    query = """{ auditLog(first: 10) { edges { node {
      action fields reason actor { username } subject { username }
    } } } }"""

    response = await gql(query, as_member="boss")

    nodes = [edge["node"] for edge in response["data"]["auditLog"]["edges"]]
    assert nodes == [
        {
            "action": "REVEAL_IP_ADDRESSES",
            "fields": ["ip_address"],
            "reason": "security test",
            "actor": None,
            "subject": {"username": "ada_l"},
        },
        {
            "action": "MATCHED_SHARED_ADDRESS",  # bob, whom the match showed, is told too
            "fields": ["accountsSharingAddress"],
            "reason": "Canary check",
            "actor": {"username": "mod"},
            "subject": {"username": "bob"},
        },
        {
            "action": "MATCH_SHARED_ADDRESSES",
            "fields": ["accountsSharingAddress"],
            "reason": "Canary check",
            "actor": {"username": "mod"},
            "subject": {"username": "ada_l"},
        },
    ]


MODERATION = {
    "suspendMember": """mutation($ada: ID!) {
      suspendMember(input: {
        userId: $ada, until: "2099-01-01T00:00:00+00:00", reason: "Canary suspension"
      }) { user { id username suspendedUntil sessions { country } } userErrors { code } }
    }""",
    "hideMessage": """mutation($message: ID!) {
      hideMessage(input: {messageId: $message, reason: "Canary hide"}) {
        message { id hidden author { username } } userErrors { code }
      }
    }""",
    "resolveReport": """mutation($report: ID!) {
      resolveReport(input: {reportId: $report, action: DISMISS, note: "Canary note"}) {
        report { id status reporter { username } } userErrors { code }
      }
    }""",
}


@pytest.mark.parametrize("settings", [BEHIND_HARNESS_PROXY], indirect=True)
@pytest.mark.parametrize("action", sorted(MODERATION))
async def test_I7_moderator_actions_answer_without_any_address(
    gql: Client, moderated: dict[str, str], action: str
) -> None:
    reports = await gql("{ reports(first: 1) { edges { node { id } } } }", as_member="mod")
    report = reports["data"]["reports"]["edges"][0]["node"]["id"]
    query = MODERATION[action]
    known = {**moderated, "report": report}
    variables = {name: value for name, value in known.items() if f"${name}" in query}

    response = await gql.post(query, variables, headers=from_(SPOOFED), as_member="mod")

    assert list(response.json()) == ["data"], response.text
    (payload,) = response.json()["data"].values()
    assert payload["userErrors"] == [], response.text
    assert_no_ip(response.text + str(response.headers), ALL_TEST_IPS)
