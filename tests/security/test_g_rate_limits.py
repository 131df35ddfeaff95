"""SECURITY.md section G, the rate-limit rows: G14 (login brute force), G15 (reset,
registration, confirmation and message flooding), G16 (dodging the keys), and the
rate-limit half of B4 (aliased mutations in one request count one by one).

The limits are services/ratelimits.py's RULES, on here (RATE_LIMITS=on) and off in every
other test module: 10 failed sign-ins per account name and 50 per client in 15 minutes,
20 registrations and 20 mail requests per client an hour, 3 mails to one address an hour,
30 token attempts per client in 15 minutes, 20 messages per member a minute. Each refusal
is the error RATE_LIMITED with `retryAfter` (seconds), writes nothing, and reads the same
for an account that exists and one that does not. The cap on mails to one address refuses
nothing: past it the mail is skipped and the answer stays the same. Loops are bounded by
those limits: a few attempts past each one prove it holds, where the checklist's counts
would prove no more.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from models.accounts import EmailToken, PendingRegistration, TokenPurpose, User
from models.limits import RateCounter
from models.messages import Message
from resolvers.policy import current_policy
from services.settings import Settings
from tests.support.accounts import all_delivered, settled
from tests.support.documents import (
    ADDRESS,
    ASKED,
    INVALID_CREDENTIALS,
    LOGIN,
    POST,
    REGISTER,
    REGISTERED,
    REQUEST_RESET,
    RESEND,
    RESENT,
    SEND,
    SIGNED_IN,
)
from tests.support.forum import coded_error, new_forum, open_thread, reply, start_conversation
from tests.support.harness import PASSWORD, TEST_IP, Client, Server, session_cookie
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in
from tests.support.members import member

LOGIN_WINDOW = 15 * 60
HOUR = 60 * 60
TOO_MANY = "Too many attempts; try again later."


@pytest.fixture
def limited_settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings with the rate limits on."""
    return make_settings(tmp_path, database_url, rate_limits="on")


@pytest.fixture
async def limited(limited_settings: Settings) -> AsyncIterator[Client]:
    """A client on an app with rate limits on, where ada_l is a confirmed member."""
    async with Server(limited_settings) as client:
        await member(client, "ada_l", signed_in=False)
        yield client


@pytest.fixture
async def proxied(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """Like `limited`, but the harness's address is our proxy: X-Forwarded-For names
    the client, as a reverse proxy appends it."""
    settings = make_settings(
        tmp_path, database_url, rate_limits="on", trusted_proxies=f"{TEST_IP}/32"
    )
    async with Server(settings) as client:
        await member(client, "ada_l", signed_in=False)
        yield client


def refusal(query: str, field: str, retry_after: int, *, nullable: bool = False) -> dict[str, Any]:
    """The whole RATE_LIMITED answer to a one-field operation (a nullable root field is
    null beside the error; a non-null one nulls the data)."""
    error = coded_error(query, field, TOO_MANY, "RATE_LIMITED")
    error["extensions"]["retryAfter"] = retry_after
    return {"data": {field: None} if nullable else None, "errors": [error]}


def alias_refusal(document: str, alias: str, retry_after: int) -> dict[str, Any]:
    """The whole RATE_LIMITED answer to a one-line document of aliased mutations, refused
    at `alias` (a non-null payload, so the data as a whole is null)."""
    column = document.index(f"{alias}:") + 1
    error = {
        "message": TOO_MANY,
        "locations": [{"line": 1, "column": column}],
        "path": [alias],
        "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
    }
    return {"data": None, "errors": [error]}


def retry_after(answer: dict[str, Any], window: int) -> int:
    """The `retryAfter` of a refusal: whole seconds, at most the rule's window."""
    seconds = answer["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(seconds, int)
    assert 0 < seconds <= window, seconds
    return seconds


async def login(gql: Client, name: str, password: str = PASSWORD, **options: Any) -> httpx.Response:
    """POST the login mutation; the raw response."""
    return await gql.post(LOGIN, {"i": {"login": name, "password": password}}, **options)


async def fail_logins(gql: Client, names: list[str], **options: Any) -> None:
    """One wrong password for each name, each refused as wrong credentials."""
    for attempt, name in enumerate(names):
        response = await login(gql, name, f"wrong password {attempt}", **options)
        assert response.json() == INVALID_CREDENTIALS, (attempt, response.text)


async def registration(username: str, email: str) -> dict[str, Any]:
    """RegisterInput for a newcomer with a good password."""
    policy = await current_policy()
    return {
        "username": username,
        "email": email,
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": policy.version,
    }


async def register(gql: Client, username: str, email: str | None = None) -> dict[str, Any]:
    """Register a newcomer (at username@example.org unless told)."""
    fields = await registration(username, email or f"{username}@example.org")
    return await gql(REGISTER, {"i": fields})


async def quiet() -> None:
    """Wait until background reset work is done and the outbox has delivered everything."""
    await settled()
    await all_delivered()


async def stored_rows(*skip: str) -> dict[str, list[str]]:
    """Every row of every table but `skip`, as sorted text: what a request could write."""
    rows: dict[str, list[str]] = {}
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        if table not in skip:
            rows[table] = sorted(repr(row) for row in await model.all().values())
    return rows


def mails_to(mailbox: Mailbox, address: str) -> int:
    """How many mails went to an address."""
    return sum(1 for mail in mailbox.messages() if mail["To"] == address)


# ------------------------------------------------------------------ G14: login brute force


@pytest.mark.parametrize("name", ["ada_l", "nobody_here"], ids=["existing", "unknown"])
async def test_G14_thirty_wrong_passwords_lock_the_name_after_ten_and_the_right_one_too(
    limited: Client, name: str
) -> None:
    answers = [(await login(limited, name, f"guess {n}")).json() for n in range(30)]

    locked = await login(limited, name, PASSWORD)

    seconds = retry_after(locked.json(), LOGIN_WINDOW)
    assert locked.json() == refusal(LOGIN, "login", seconds)
    assert locked.headers.get_list("set-cookie") == []
    assert answers[:10] == [INVALID_CREDENTIALS] * 10
    assert answers[10:] == [
        refusal(LOGIN, "login", retry_after(a, LOGIN_WINDOW)) for a in answers[10:]
    ]


async def test_G14_the_refusal_is_the_same_for_an_existing_and_an_unknown_account(
    limited: Client,
) -> None:
    await fail_logins(limited, ["ada_l"] * 10 + ["nobody_here"] * 10)
    existing = await login(limited, "ada_l")
    unknown = await login(limited, "nobody_here")

    answers = []
    for response in (existing, unknown):
        body = response.json()
        body["errors"][0]["extensions"]["retryAfter"] = "seconds"
        answers.append((response.status_code, body, response.headers.get_list("set-cookie")))
    assert answers[0] == answers[1]
    assert retry_after(existing.json(), LOGIN_WINDOW) > 0
    assert retry_after(unknown.json(), LOGIN_WINDOW) > 0


async def test_G14_retry_after_counts_down_the_window_of_the_first_failure(
    limited: Client,
) -> None:
    started = time.time()
    await fail_logins(limited, ["ada_l"] * 10)

    locked = (await login(limited, "ada_l")).json()

    elapsed = time.time() - started
    assert LOGIN_WINDOW - elapsed - 2 <= retry_after(locked, LOGIN_WINDOW) <= LOGIN_WINDOW


async def test_G14_a_refused_login_writes_nothing(limited: Client) -> None:
    await fail_logins(limited, ["ada_l"] * 10)
    before = await stored_rows()  # counters included: a refused attempt is not counted

    locked = (await login(limited, "ada_l")).json()

    assert locked == refusal(LOGIN, "login", retry_after(locked, LOGIN_WINDOW))
    assert await stored_rows() == before


async def test_G14_the_lock_lifts_when_its_window_ends(limited: Client) -> None:
    # The window is moved into the past in the database instead of waiting 15 minutes.
    await fail_logins(limited, ["ada_l"] * 10)
    await RateCounter.all().update(expires_at=time.time() - 1)

    assert (await login(limited, "ada_l")).json() == SIGNED_IN


# ------------------------------------------------------------------ B4: aliased mutations


def aliased(count: int, field: Callable[[int], str]) -> str:
    """A one-line mutation document of `count` aliased fields a0, a1, ... (field(n) each)."""
    return "mutation { " + " ".join(f"a{n}: {field(n)}" for n in range(count)) + " }"


async def test_B4_aliased_logins_count_one_by_one_and_stop_at_the_limit(
    limited: Client,
) -> None:
    def guess(n: int) -> str:
        return f'login(input: {{login: "ada_l", password: "guess {n}"}}) {{ user {{ username }} }}'

    right = (
        f'ok: login(input: {{login: "ada_l", password: "{PASSWORD}"}}) {{ user {{ username }} }}'
    )
    document = aliased(12, guess).removesuffix(" }") + f" {right} }}"

    response = await limited.post(document)

    seconds = retry_after(response.json(), LOGIN_WINDOW)
    assert response.json() == alias_refusal(document, "a10", seconds)
    assert response.headers.get_list("set-cookie") == []
    # Ten failures counted, for the name and for the client; the rest never ran.
    assert sorted(await RateCounter.all().values_list("count", flat=True)) == [10, 10]
    locked = (await login(limited, "ada_l")).json()
    assert locked == refusal(LOGIN, "login", retry_after(locked, LOGIN_WINDOW))


async def test_B4_aliased_reset_requests_count_one_by_one(
    limited: Client, mailbox: Mailbox
) -> None:
    def ask(_: int) -> str:
        return f'requestPasswordReset(input: {{email: "{ADDRESS}"}}) {{ userErrors {{ code }} }}'

    document = aliased(21, ask)

    response = await limited(document)
    await quiet()

    assert response == alias_refusal(document, "a20", retry_after(response, HOUR))
    assert mails_to(mailbox, ADDRESS) == 3  # and one address gets at most three an hour


async def test_B4_aliased_registrations_count_one_by_one(limited: Client) -> None:
    version = (await current_policy()).version

    def newcomer(n: int) -> str:
        fields = f'username: "newcomer{n}", email: "newcomer{n}@example.org", '
        fields += f'password: "{PASSWORD}", dateOfBirth: "1990-05-17", '
        fields += f'acceptPolicyVersion: "{version}"'
        return f"register(input: {{{fields}}}) {{ userErrors {{ code }} }}"

    document = aliased(21, newcomer)

    response = await limited(document)

    assert response == alias_refusal(document, "a20", retry_after(response, HOUR))
    held = PendingRegistration.filter(username__startswith="newcomer")
    assert await held.count() == 20
    assert not await PendingRegistration.exists(username="newcomer20")


@pytest.mark.parametrize("mutation", ["confirmEmail", "resetPassword"])
async def test_B4_aliased_token_guesses_count_one_by_one(
    limited: Client, mailbox: Mailbox, mutation: str
) -> None:
    if mutation == "confirmEmail":
        assert await register(limited, "grace_h") == REGISTERED
        (mail,) = await mailbox.wait_for("grace_h@example.org")
        extra = ""
    else:
        assert await limited(REQUEST_RESET, {"i": {"email": ADDRESS}}) == ASKED
        (mail,) = await mailbox.wait_for(ADDRESS)
        extra = ', newPassword: "a brand new passphrase"'

    def attempt(token: str) -> str:
        return f'{mutation}(input: {{token: "{token}"{extra}}}) {{ userErrors {{ code }} }}'

    guesses = aliased(30, lambda n: attempt(f"guess-{n}"))
    invalid = {"userErrors": [{"code": "INVALID_TOKEN"}]}
    assert await limited(guesses) == {"data": {f"a{n}": invalid for n in range(30)}}
    real = aliased(1, lambda _: attempt(token_in(mail)))

    answer = await limited(real)

    assert answer == alias_refusal(real, "a0", retry_after(answer, LOGIN_WINDOW))
    assert await EmailToken.filter(used_at__isnull=False).count() == 0


# ------------------------------------------------------------------ G15: flooding


@pytest.mark.parametrize("address", [ADDRESS, "nobody@example.org"], ids=["known", "unknown"])
async def test_G15_the_21st_reset_request_from_one_client_is_refused(
    limited: Client, address: str
) -> None:
    for _ in range(20):
        assert await limited(REQUEST_RESET, {"i": {"email": address}}) == ASKED

    answer = await limited(REQUEST_RESET, {"i": {"email": address}})

    assert answer == refusal(REQUEST_RESET, "requestPasswordReset", retry_after(answer, HOUR))


async def test_G15_a_refused_reset_request_writes_and_mails_nothing(
    limited: Client, mailbox: Mailbox
) -> None:
    for n in range(20):
        assert await limited(REQUEST_RESET, {"i": {"email": f"nobody{n}@example.org"}}) == ASKED
    await quiet()
    before = await stored_rows("rate_counters")  # the limiter's own count is all that moves

    answer = await limited(REQUEST_RESET, {"i": {"email": ADDRESS}})
    await quiet()

    assert answer == refusal(REQUEST_RESET, "requestPasswordReset", retry_after(answer, HOUR))
    assert await stored_rows("rate_counters") == before
    assert mailbox.messages() == []


async def test_G15_reset_mail_to_one_address_is_capped_across_clients(
    proxied: Client, mailbox: Mailbox
) -> None:
    clients = [f"198.51.100.{n}" for n in range(1, 5)]
    proxied.ips.update(clients)
    for client in clients:
        for _ in range(5):
            answer = await proxied(
                REQUEST_RESET, {"i": {"email": ADDRESS}}, headers={"x-forwarded-for": client}
            )
            assert answer == ASKED
    await quiet()

    assert mails_to(mailbox, ADDRESS) == 3
    assert await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).count() == 3


@pytest.mark.parametrize("email", ["grace_h@example.org", ADDRESS], ids=["fresh", "taken"])
async def test_G15_the_21st_registration_from_one_client_is_refused(
    limited: Client, email: str
) -> None:
    for n in range(20):
        assert await register(limited, f"newcomer{n}") == REGISTERED

    answer = await register(limited, "grace_h", email)

    assert answer == refusal(REGISTER, "register", retry_after(answer, HOUR))


async def test_G15_a_refused_registration_writes_and_mails_nothing(
    limited: Client, mailbox: Mailbox
) -> None:
    for n in range(20):
        assert await register(limited, f"newcomer{n}") == REGISTERED
    await quiet()
    before = await stored_rows("rate_counters")
    mailed = len(mailbox.messages())

    answer = await register(limited, "grace_h")
    await quiet()

    assert answer == refusal(REGISTER, "register", retry_after(answer, HOUR))
    assert await stored_rows("rate_counters") == before
    assert len(mailbox.messages()) == mailed


async def test_G15_notices_to_a_taken_address_are_capped(limited: Client, mailbox: Mailbox) -> None:
    # Twenty registrations with ada's address, all answered alike, three notices to her.
    for n in range(20):
        assert await register(limited, f"newcomer{n}", ADDRESS) == REGISTERED
    await quiet()

    assert mails_to(mailbox, ADDRESS) == 3


@pytest.mark.parametrize("address", [ADDRESS, "nobody@example.org"], ids=["known", "unknown"])
async def test_G15_a_fourth_confirmation_resend_to_one_address_is_answered_alike_and_mails_nothing(
    limited: Client, mailbox: Mailbox, address: str
) -> None:
    # Past the per-address limit the mail is skipped silently: a refusal would come only
    # for addresses others mail often (members'), and so tell them apart (issue 14).
    await User.filter(username="ada_l").update(email_confirmed_at=None)
    for _ in range(3):
        assert await limited(RESEND, {"i": {"email": address}}) == RESENT

    answer = await limited(RESEND, {"i": {"email": address}})
    await quiet()

    assert answer == RESENT
    assert mails_to(mailbox, ADDRESS) == (3 if address == ADDRESS else 0)


async def test_G15_the_21st_post_within_a_minute_is_refused_and_not_written(
    limited: Client,
) -> None:
    # 25 attempts instead of the checklist's 100: the limit is 20 a minute, and five
    # refusals in a row show that it holds.
    await member(limited, "poster")
    thread, _ = await open_thread(limited, "poster", await new_forum())
    for n in range(20):
        await reply(limited, "poster", thread, f"Post {n}")

    answers = [
        await limited(POST, {"i": {"threadId": thread, "body": f"Flood {n}"}}, as_member="poster")
        for n in range(5)
    ]

    assert answers == [
        refusal(POST, "postMessage", retry_after(a, 60), nullable=True) for a in answers
    ]
    assert await Message.filter(body__startswith="Flood").count() == 0
    assert await Message.all().count() == 21  # the opener and twenty replies


async def test_G16_many_accounts_on_one_client_share_the_clients_posting_budget(
    limited: Client,
) -> None:
    # Seven accounts post 18 times each (under their own 20 a minute) from one client:
    # the client's 120 a minute stops the 121st post, whichever account sends it.
    names = [f"sock{n}" for n in range(7)]
    for name in names:
        await member(limited, name)
    thread, _ = await open_thread(limited, names[0], await new_forum())
    for n in range(120):
        await reply(limited, names[n % 7], thread, f"Post {n}")

    answer = await limited(POST, {"i": {"threadId": thread, "body": "Flood"}}, as_member="sock6")

    assert answer == refusal(POST, "postMessage", retry_after(answer, 60), nullable=True)
    assert await Message.filter(body="Flood").count() == 0


async def test_G15_thread_posts_and_private_messages_share_one_budget(limited: Client) -> None:
    await member(limited, "poster")
    friend = await member(limited, "friend")
    thread, _ = await open_thread(limited, "poster", await new_forum())
    conversation, _ = await start_conversation(limited, "poster", [friend])
    for n in range(20):
        await reply(limited, "poster", thread, f"Post {n}")

    answer = await limited(
        SEND, {"i": {"conversationId": conversation, "body": "Flood"}}, as_member="poster"
    )

    assert answer == refusal(SEND, "sendMessage", retry_after(answer, 60), nullable=True)
    assert not await Message.exists(body="Flood")


# ------------------------------------------------------------------ G16: dodging the keys


async def test_G16_a_new_x_forwarded_for_each_try_does_not_lift_the_account_lock(
    limited: Client,
) -> None:
    # No trusted proxy: the header is the client's own word, and ignored.
    forged = [f"198.51.100.{n}" for n in range(1, 12)]
    limited.ips.update(forged)
    for n, address in enumerate(forged[:10]):
        response = await login(limited, "ada_l", f"guess {n}", headers={"x-forwarded-for": address})
        assert response.json() == INVALID_CREDENTIALS

    locked = (await login(limited, "ada_l", headers={"x-forwarded-for": forged[10]})).json()

    assert locked == refusal(LOGIN, "login", retry_after(locked, LOGIN_WINDOW))


async def test_G16_a_new_x_forwarded_for_each_try_does_not_lift_the_client_limit(
    limited: Client,
) -> None:
    # Fifty names, one failure each, "from" fifty addresses: under every name's own limit.
    forged = [f"198.51.100.{n}" for n in range(1, 52)]
    limited.ips.update(forged)
    for n, address in enumerate(forged[:50]):
        await fail_logins(limited, [f"nobody_{n}"], headers={"x-forwarded-for": address})

    locked = (await login(limited, "ada_l", headers={"x-forwarded-for": forged[50]})).json()

    assert locked == refusal(LOGIN, "login", retry_after(locked, LOGIN_WINDOW))


async def test_G16_behind_our_proxy_forged_hops_do_not_lift_the_client_limit(
    proxied: Client,
) -> None:
    # The proxy appends the real client; whatever the client wrote stays to its left.
    real = "198.51.100.200"
    forged = [f"192.0.2.{n}" for n in range(1, 52)]
    proxied.ips.update([real, *forged])
    for n, hop in enumerate(forged[:50]):
        await fail_logins(proxied, [f"nobody_{n}"], headers={"x-forwarded-for": f"{hop}, {real}"})

    locked = await login(proxied, "ada_l", headers={"x-forwarded-for": f"{forged[50]}, {real}"})

    assert locked.json() == refusal(LOGIN, "login", retry_after(locked.json(), LOGIN_WINDOW))


async def test_G16_behind_our_proxy_the_account_lock_holds_for_every_client(
    proxied: Client,
) -> None:
    clients = [f"198.51.100.{n}" for n in range(1, 12)]
    proxied.ips.update(clients)
    for client in clients[:10]:
        await fail_logins(proxied, ["ada_l"], headers={"x-forwarded-for": client})

    locked = (await login(proxied, "ada_l", headers={"x-forwarded-for": clients[10]})).json()

    assert locked == refusal(LOGIN, "login", retry_after(locked, LOGIN_WINDOW))


NAME_FORMS = ["kit_k", "KIT_K", "Kit_K", " kit_k", "kit_k\t", "\u212ait_k"]  # U+212A KELVIN SIGN
EMAIL_FORMS = ["kit_k@example.org", "KIT_K@EXAMPLE.ORG", " Kit_K@Example.org "]


@pytest.mark.parametrize("form", NAME_FORMS, ids=repr)
async def test_G16_every_case_padding_or_case_folding_form_of_a_name_shares_one_lock(
    limited: Client, form: str
) -> None:
    # The ten failures cycle through every form; the right password in any one is refused.
    await member(limited, "kit_k", signed_in=False)
    await fail_logins(limited, [NAME_FORMS[n % len(NAME_FORMS)] for n in range(10)])

    locked = await login(limited, form)

    assert locked.json() == refusal(LOGIN, "login", retry_after(locked.json(), LOGIN_WINDOW))
    assert session_cookie(locked) is None


@pytest.mark.parametrize("form", EMAIL_FORMS, ids=repr)
async def test_G16_every_case_or_padding_form_of_an_email_shares_one_lock(
    limited: Client, form: str
) -> None:
    await member(limited, "kit_k", signed_in=False)
    await fail_logins(limited, [EMAIL_FORMS[n % len(EMAIL_FORMS)] for n in range(10)])

    locked = await login(limited, form)

    assert locked.json() == refusal(LOGIN, "login", retry_after(locked.json(), LOGIN_WINDOW))


@pytest.mark.parametrize(
    "form",
    ["\uff4b\uff49\uff54_\uff4b", "k\u0456t_k", "kit\u200b_k"],
    ids=["full-width", "cyrillic-i", "zero-width-space"],
)
async def test_G16_a_unicode_look_alike_of_a_locked_name_signs_no_one_in(
    limited: Client, form: str
) -> None:
    # A look-alike is its own name with its own count, but it names no account: even
    # the right password gets nowhere through it, so it opens no way around the lock.
    await member(limited, "kit_k", signed_in=False)
    await fail_logins(limited, ["kit_k"] * 10)

    response = await login(limited, form)

    assert response.json() == INVALID_CREDENTIALS
    assert session_cookie(response) is None
