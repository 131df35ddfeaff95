"""SECURITY.md section K: identity spoofing (username variants, look-alikes, control
characters, reserved names, email canonicalisation), all through `register`.

`admin` itself is reserved here (K4), so the rows that need an existing member to
imitate (K1, K2) use ordinary members registered first (and their links opened): alice,
emma, william, olga."""

from __future__ import annotations

import asyncio

import pytest

from models.accounts import PendingRegistration, User
from resolvers.accounts import normalise_email
from tests.support.documents import CONFIRM_TOKEN
from tests.support.harness import PASSWORD, Client
from tests.support.mail import Mailbox, token_in
from tests.support.members import register

OK = {"data": {"register": {"userErrors": []}}}
SHAPE = "Usernames use only letters A-Z, digits and _ - . (no spaces)."
LENGTH = "Usernames are 3 to 30 characters long."
NUL_REFUSED = {
    "data": None,
    "errors": [
        {"message": "Text cannot contain NUL characters.", "extensions": {"code": "BAD_USER_INPUT"}}
    ],
}
LOGIN = """mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { code } }
}"""
NOT_SIGNED_IN = {"data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}}
CONFIRM_SUBJECT = "Confirm your email address"
NOTICE_SUBJECT = "Someone tried to register with your email address"


def refused(code: str, message: str, field: str = "username") -> dict:
    """register's answer when it refuses for one reason."""
    return {"data": {"register": {"userErrors": [{"field": [field], "message": message,
                                                  "code": code}]}}}  # fmt: skip


TAKEN = refused("USERNAME_TAKEN", "That username is taken.")
INVALID = refused("USERNAME_INVALID", SHAPE)
RESERVED = refused("USERNAME_RESERVED", "That username is reserved.")


def signed_in(username: str) -> dict:
    """login's answer when it signed this member in."""
    return {"data": {"login": {"user": {"username": username}, "userErrors": []}}}


async def existing(gql: Client, mailbox: Mailbox, username: str, email: str | None = None) -> None:
    """Register the member a spoofer will imitate, and open the mailed link."""
    address = email or f"{username}@example.org"
    assert await register(gql, username, email=address) == OK
    (mail,) = await mailbox.wait_for(normalise_email(address))
    confirmed = await gql(CONFIRM_TOKEN, {"t": token_in(mail)})
    assert confirmed == {
        "data": {"confirmEmail": {"user": {"username": username}, "userErrors": []}}
    }


async def usernames() -> list[str]:
    """Every username held: by an account, then by a registration waiting for its link."""
    accounts = await User.all().order_by("id").values_list("username", flat=True)
    waiting = await PendingRegistration.all().order_by("id").values_list("username", flat=True)
    return [*accounts, *waiting]


async def accounts() -> list[tuple[str, str]]:
    """(username, email) of every account."""
    return await User.all().order_by("id").values_list("username", "email")


async def mail_log(mailbox: Mailbox, count: int) -> list[tuple[str, str]]:
    """(To, Subject) of the first `count` mails delivered, sorted (delivery order may vary)."""
    for _ in range(200):  # about 10 s: the mail sender writes in the background
        messages = mailbox.messages()
        if len(messages) >= count:
            return sorted((m["To"], m["Subject"]) for m in messages)
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} mails, found {len(mailbox.messages())}")


# ------------------------------------------------------------------ K1: case and width variants


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("Alice", TAKEN),
        ("ALICE", TAKEN),
        ("aLiCe", TAKEN),
        ("\uff41\uff4c\uff49\uff43\uff45", INVALID),  # full-width
        ("alice\u200b", INVALID),  # zero-width space
        ("alice\u00ad", INVALID),  # soft hyphen
        ("alice\u2060", INVALID),  # word joiner
        ("\ufeffalice", INVALID),  # zero-width no-break space (BOM)
        (" alice ", INVALID),
        ("alice\u3000", INVALID),  # ideographic space
    ],
)
async def test_K1_a_case_or_width_variant_of_a_member_is_refused(
    gql: Client, mailbox: Mailbox, variant: str, expected: dict
) -> None:
    await existing(gql, mailbox, "alice")

    response = await register(gql, variant, email="impostor@example.org")

    assert response == expected
    assert await usernames() == ["alice"]


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("alice", signed_in("alice")),
        ("Alice", signed_in("alice")),
        ("ALICE", signed_in("alice")),
        (" alice ", signed_in("alice")),  # surrounding spaces are trimmed, as on every form
        ("\uff41\uff4c\uff49\uff43\uff45", NOT_SIGNED_IN),
        ("alice\u200b", NOT_SIGNED_IN),
        ("alice\u00ad", NOT_SIGNED_IN),
        ("al.ice", NOT_SIGNED_IN),  # a look-alike key is for refusing names, not for signing in
    ],
)
async def test_K1_signing_in_by_a_variant_finds_the_member_or_nobody(
    gql: Client, mailbox: Mailbox, login: str, expected: dict
) -> None:
    await existing(gql, mailbox, "alice")

    assert await gql(LOGIN, {"i": {"login": login, "password": PASSWORD}}) == expected


# ------------------------------------------------------------------ K2: confusables


@pytest.mark.parametrize(
    ("original", "impostor", "expected"),
    [
        ("alice", "\u0430lice", INVALID),  # Cyrillic a (U+0430)
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l", INVALID),  # Cyrillic r, a, u, r, a
        ("dorothy", "d\u043erothy", INVALID),  # mixed script: Cyrillic o (U+043E)
        ("dorothy", "d\u03bfrothy", INVALID),  # Greek omicron
        ("emma", "ernma", TAKEN),  # rn reads as m
        ("william", "vviIIiam", TAKEN),  # vv as w, I as l
        ("alice", "a1ice", TAKEN),  # 1 as l
        ("alice", "al1ce", TAKEN),  # 1 as i
        ("olga", "0lga", TAKEN),  # 0 as o
        ("dana", "clana", TAKEN),  # cl as d
        ("ann_lee", "ann.lee", TAKEN),  # separators do not tell names apart
        ("ann_lee", "annlee", TAKEN),
    ],
)
async def test_K2_a_look_alike_of_a_member_is_refused(
    gql: Client, mailbox: Mailbox, original: str, impostor: str, expected: dict
) -> None:
    await existing(gql, mailbox, original)

    response = await register(gql, impostor, email="impostor@example.org")

    assert response == expected
    assert await usernames() == [original]


async def test_K2_a_name_that_merely_resembles_a_member_is_free(
    gql: Client, mailbox: Mailbox
) -> None:
    await existing(gql, mailbox, "alice")

    response = await register(gql, "alicia", email="alicia@example.org")

    assert response == OK
    assert await usernames() == ["alice", "alicia"]


@pytest.mark.parametrize("impostor", ["a1ice", "aIice", "\u0430lice"])
async def test_K2_a_look_alike_does_not_sign_in_as_the_member(
    gql: Client, mailbox: Mailbox, impostor: str
) -> None:
    await existing(gql, mailbox, "alice")

    assert await gql(LOGIN, {"i": {"login": impostor, "password": PASSWORD}}) == NOT_SIGNED_IN


# ------------------------------------------------------------------ K3: bidi and control characters


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("\u202eresu", INVALID),  # right-to-left override
        ("ada\u202c", INVALID),  # pop directional formatting
        ("\u2066ada\u2069", INVALID),  # isolates
        ("\u200fada", INVALID),  # right-to-left mark
        ("ada\u200e", INVALID),  # left-to-right mark
        ("ada\n", INVALID),
        ("ada\r\nroot", INVALID),
        ("ada\t", INVALID),
        ("ada\x1b[2J", INVALID),
        ("ada\x7f", INVALID),
        ("ada\u0301", INVALID),  # one combining mark
        ("ad" + "\u0301" * 20 + "a", INVALID),  # zalgo within the length limit
        ("a" + "\u0301" * 100, refused("USERNAME_INVALID", LENGTH)),  # zalgo beyond it
    ],
)
async def test_K3_a_username_with_a_control_or_combining_character_is_refused(
    gql: Client, username: str, expected: dict
) -> None:
    response = await register(gql, username, email="newcomer@example.org")

    assert response == expected
    assert await usernames() == []


async def test_K3_a_nul_in_a_username_is_bad_input(gql: Client) -> None:
    response = await register(gql, "ada\x00", email="newcomer@example.org")

    assert response == NUL_REFUSED
    assert await usernames() == []


# ------------------------------------------------------------------ K4: reserved names


@pytest.mark.parametrize(
    "username",
    [
        "admin",
        "moderator",
        "system",
        "support",
        "root",
        "null",
        "undefined",
        "Admin",
        "ROOT",
        "adrnin",  # rn as m
        "m0derator",
        "sys.tem",
        "ad_min",
    ],
)
async def test_K4_a_reserved_name_or_its_look_alike_is_refused(gql: Client, username: str) -> None:
    response = await register(gql, username, email="newcomer@example.org")

    assert response == RESERVED
    assert await usernames() == []


# ------------------------------------------------------------------ K5: email canonicalisation


@pytest.mark.parametrize(
    "address",
    [
        "ADA@EXAMPLE.ORG",
        "Ada@Example.org",
        "ada@EXAMPLE.org",
        "ada@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",  # full-width domain, NFKC-folded
    ],
)
async def test_K5_the_same_address_in_another_form_is_taken_without_saying_so(
    gql: Client, mailbox: Mailbox, address: str
) -> None:
    await existing(gql, mailbox, "ada_l", "ada@example.org")

    response = await register(gql, "mallory", email=address)

    assert response == OK  # the same answer as for a free address (G1)
    assert await accounts() == [("ada_l", "ada@example.org")]
    assert await mail_log(mailbox, 2) == [
        ("ada@example.org", CONFIRM_SUBJECT),
        ("ada@example.org", NOTICE_SUBJECT),
    ]


async def test_K5_plus_addressing_is_a_different_address(gql: Client, mailbox: Mailbox) -> None:
    # docs/security.md: a+x@ and a@ are different mailboxes; uniqueness ignores case only.
    await existing(gql, mailbox, "ada_l", "ada@example.org")

    await existing(gql, mailbox, "ada_two", "ada+x@example.org")

    assert await accounts() == [
        ("ada_l", "ada@example.org"),
        ("ada_two", "ada+x@example.org"),
    ]
    assert await mail_log(mailbox, 2) == [
        ("ada+x@example.org", CONFIRM_SUBJECT),
        ("ada@example.org", CONFIRM_SUBJECT),
    ]


async def test_K5_a_look_alike_domain_is_stored_idna_encoded_and_distinct(
    gql: Client, mailbox: Mailbox
) -> None:
    await existing(gql, mailbox, "ada_l", "ada@example.org")

    await existing(gql, mailbox, "ada_two", "ada@ex\u0430mple.org")  # Cyrillic a (U+0430)

    assert await accounts() == [
        ("ada_l", "ada@example.org"),
        ("ada_two", "ada@xn--exmple-4nf.org"),
    ]
    assert await mail_log(mailbox, 2) == [
        ("ada@example.org", CONFIRM_SUBJECT),
        ("ada@xn--exmple-4nf.org", CONFIRM_SUBJECT),
    ]


@pytest.mark.parametrize(
    "address", ["ada@B\u00dcCHER.example", "ada@xn--bcher-kva.example", "ADA@XN--BCHER-KVA.EXAMPLE"]
)
async def test_K5_an_idn_address_in_another_form_is_taken(
    gql: Client, mailbox: Mailbox, address: str
) -> None:
    await existing(gql, mailbox, "ada_l", "ada@b\u00fccher.example")

    response = await register(gql, "mallory", email=address)

    assert response == OK
    assert await accounts() == [("ada_l", "ada@xn--bcher-kva.example")]


@pytest.mark.parametrize(
    "login", ["ada@b\u00fccher.example", "ada@xn--bcher-kva.example", "ADA@B\u00dcCHER.EXAMPLE"]
)
async def test_K5_a_member_signs_in_with_their_idn_address_in_any_form(
    gql: Client, mailbox: Mailbox, login: str
) -> None:
    # Registration folds the address to its IDNA form; sign-in must fold it the same way.
    await existing(gql, mailbox, "ada_l", "ada@b\u00fccher.example")

    response = await gql(LOGIN, {"i": {"login": login, "password": PASSWORD}})

    assert response == signed_in("ada_l")
