"""Registration: the rules for usernames, emails, passwords, birth dates and consent."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from models.accounts import PendingRegistration, User
from models.policy import Consent, ConsentKind
from resolvers.policy import current_policy
from tests.support.documents import CONFIRM_TOKEN, SIGN_UP
from tests.support.harness import PASSWORD, Server
from tests.support.harness import test_settings as settings_for
from tests.support.mail import token_in
from tests.support.members import register

USER = "query($u: String!) { user(username: $u) { username } }"
LOGIN = """
mutation($i: LoginInput!) { login(input: $i) { user { username } userErrors { code } } }
"""
OK = {"data": {"register": {"userErrors": []}}}
TOO_EASY = "That password is too easy to guess; choose another."


def refused(code: str, message: str, field: str) -> dict:
    """The answer to a registration refused for one reason."""
    error = {"field": [field], "message": message, "code": code}
    return {"data": {"register": {"userErrors": [error]}}}


def years_ago(years: int) -> date:
    """The same calendar day `years` ago (28 February for a leap day), in UTC as the server."""
    today = datetime.now(UTC).date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


async def member_named(gql, username: str) -> dict:
    return await gql(USER, {"u": username})


async def mail_to_count(mailbox, address: str, count: int) -> list:
    """Wait for `count` mails to an address, ignoring the address's case."""
    for _ in range(200):  # about 10 s
        found = [m for m in mailbox.messages() if m["To"].lower() == address.lower()]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} mails to {address}")


async def open_link(gql, mailbox, address: str) -> None:
    """Open the newest link mailed to an address, as its owner would."""
    mails = await mail_to_count(mailbox, address, 1)
    answer = await gql(CONFIRM_TOKEN, {"t": token_in(mails[-1])})
    assert answer["data"]["confirmEmail"]["userErrors"] == [], answer


async def registered_member(gql, mailbox, username: str, **fields: object) -> None:
    """Register and open the mailed link: a member."""
    assert await register(gql, username, **fields) == OK
    await open_link(gql, mailbox, str(fields.get("email", f"{username.lower()}@example.org")))


# ---------------------------------------------------------------- usernames


@pytest.mark.parametrize("username", ["ada", "Ada.L-99_x", "a" * 30, "7of9"])
async def test_a_well_formed_username_registers(gql, mailbox, username):
    response = await register(gql, username)

    assert response == OK
    await open_link(gql, mailbox, f"{username.lower()}@example.org")
    assert await member_named(gql, username) == {"data": {"user": {"username": username}}}


SHAPE = "Usernames use only letters A-Z, digits and _ - . (no spaces)."
LENGTH = "Usernames are 3 to 30 characters long."


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", LENGTH),
        ("a" * 31, LENGTH),
        ("", LENGTH),
        ("ada lovelace", SHAPE),
        ("ada@home", SHAPE),
        ("ada/../root", SHAPE),
        ("_ada", "Usernames start with a letter or digit."),
        (".ada", "Usernames start with a letter or digit."),
        ("adá", SHAPE),  # non-ASCII letter
        ("\uff41\uff44\uff41", SHAPE),  # full-width "ada"
        ("\u0430da", SHAPE),  # Cyrillic a
        ("ada\u200bl", SHAPE),  # zero-width space
        ("ada\u202el", SHAPE),  # right-to-left override
        ("ada\u00a0l", SHAPE),  # no-break space
        ("ada\n", SHAPE),
    ],
)
async def test_a_malformed_username_is_invalid(gql, username, message):
    response = await register(gql, username, email="newcomer@example.org")

    assert response == refused("USERNAME_INVALID", message, "username")


@pytest.mark.parametrize(
    "username", ["admin", "Admin", "moderator", "root", "null", "system", "adrnin", "m0d"]
)
async def test_a_reserved_username_or_its_look_alike_is_refused(gql, username):
    response = await register(gql, username, email="newcomer@example.org")

    assert response == refused("USERNAME_RESERVED", "That username is reserved.", "username")


async def test_a_taken_username_in_another_case_is_taken(gql):
    await register(gql, "ada_l")

    response = await register(gql, "Ada_L", email="someone.else@example.org")

    assert response == refused("USERNAME_TAKEN", "That username is taken.", "username")


@pytest.mark.parametrize("username", ["a1ice", "AL1CE", "al.ice", "a_lice", "aIice", "ALICE"])
async def test_a_look_alike_of_a_taken_username_is_taken(gql, username):
    await register(gql, "alice")

    response = await register(gql, username, email="impostor@example.org")

    assert response == refused("USERNAME_TAKEN", "That username is taken.", "username")
    assert await PendingRegistration.all().values_list("username", flat=True) == ["alice"]


# ---------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "That is not a valid email address."),
        ("a@b", "That is not a valid email address."),
        ("ada@", "That is not a valid email address."),
        ("@example.org", "That is not a valid email address."),
        ("ada@@example.org", "That is not a valid email address."),
        ("ada l@example.org", "That is not a valid email address."),
        ("Ada <ada@example.org>", "That is not a valid email address."),
        ("", "That is not a valid email address."),
        ("a" * 243 + "@example.org", "That email address is too long."),
    ],
)
async def test_a_malformed_email_is_invalid(gql, email, message):
    response = await register(gql, "ada_l", email=email)

    assert response == refused("EMAIL_INVALID", message, "email")
    assert await member_named(gql, "ada_l") == {"data": {"user": None}}


async def test_a_taken_email_gets_the_same_answer_as_a_fresh_one(gql, mailbox):
    await registered_member(gql, mailbox, "ada_l")
    fresh = await register(gql, "grace_h")

    taken = await register(gql, "mallory", email="ADA_L@Example.org")

    assert taken == fresh == OK


async def test_a_taken_email_creates_no_account(gql, mailbox):
    await registered_member(gql, mailbox, "ada_l")

    await register(gql, "mallory", email="ADA_L@Example.org")

    assert await member_named(gql, "mallory") == {"data": {"user": None}}
    login = await gql(LOGIN, {"i": {"login": "mallory", "password": PASSWORD}})
    assert login == {
        "data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}
    }
    assert await User.filter(email_key="ada_l@example.org").count() == 1


async def test_a_taken_email_mails_its_owner_a_notice_without_a_link(gql, mailbox):
    await registered_member(gql, mailbox, "ada_l")

    await register(gql, "mallory", email="ADA_L@Example.org")

    mails = await mail_to_count(mailbox, "ada_l@example.org", 2)
    subjects = {mail["Subject"]: mail for mail in mails}
    notice = subjects.pop("Someone tried to register with your email address")
    assert list(subjects) == ["Confirm your email address"]
    body = notice.get_content()
    assert "no account was created" in body
    assert "http://localhost:8000" in body
    assert "token=" not in body
    assert "mallory" not in body


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize("password", ["k7#pQ2!zWm", "x7" * 128])
async def test_a_password_of_ten_to_256_characters_is_accepted(gql, mailbox, password):
    response = await register(gql, "ada_l", password=password)

    assert response == OK
    await open_link(gql, mailbox, "ada_l@example.org")
    login = await gql(LOGIN, {"i": {"login": "ada_l", "password": password}})
    assert login == {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}


@pytest.mark.parametrize(
    ("password", "code", "message"),
    [
        ("", "PASSWORD_TOO_SHORT", "Passwords need at least 10 characters."),
        ("k7#pQ2!zW", "PASSWORD_TOO_SHORT", "Passwords need at least 10 characters."),
        ("x7" * 128 + "x", "PASSWORD_TOO_LONG", "Passwords have at most 256 characters."),
        ("x7" * 5000, "PASSWORD_TOO_LONG", "Passwords have at most 256 characters."),
        ("password123", "PASSWORD_TOO_COMMON", TOO_EASY),
        ("PASSWORD123", "PASSWORD_TOO_COMMON", TOO_EASY),
        ("qwertyuiop", "PASSWORD_TOO_COMMON", TOO_EASY),
        ("1234567890", "PASSWORD_TOO_COMMON", TOO_EASY),
    ],
)
async def test_a_weak_or_unusable_password_is_refused(gql, password, code, message):
    response = await register(gql, "ada_l", password=password)

    assert response == refused(code, message, "password")
    assert await member_named(gql, "ada_l") == {"data": {"user": None}}


@pytest.mark.parametrize("password", ["I am ada_l, hello", "ADA_L-ADA_L-ADA_L"])
async def test_a_password_containing_the_username_is_refused(gql, password):
    response = await register(gql, "ada_l", password=password)

    assert response == refused("PASSWORD_TOO_COMMON", TOO_EASY, "password")


async def test_a_password_containing_the_email_name_is_refused(gql):
    response = await register(
        gql, "grace_h", email="hopper1906@example.org", password="hopper1906 rules ok"
    )

    assert response == refused("PASSWORD_TOO_COMMON", TOO_EASY, "password")


async def test_a_one_letter_email_name_does_not_forbid_that_letter_in_passwords(gql):
    response = await register(gql, "ada_l", email="a@example.org", password=PASSWORD)

    assert response == OK


# ---------------------------------------------------------------- date of birth


@pytest.mark.parametrize(
    "born",
    [
        lambda today: today + timedelta(days=1),
        lambda today: today,
        lambda today: date(3000, 1, 1),
        lambda today: date(1899, 12, 31),
        lambda today: date(1, 1, 1),
    ],
    ids=["tomorrow", "today", "year-3000", "before-1900", "year-1"],
)
async def test_an_impossible_date_of_birth_is_invalid(gql, born):
    day = born(datetime.now(UTC).date())

    response = await register(gql, "ada_l", dateOfBirth=day.isoformat())

    message = "Enter your real date of birth."
    assert response == refused("DATE_OF_BIRTH_INVALID", message, "dateOfBirth")


async def test_a_date_of_birth_in_1900_is_accepted(gql):
    assert await register(gql, "ada_l", dateOfBirth="1900-01-01") == OK


async def test_a_member_turning_13_today_may_register(gql):
    assert await register(gql, "ada_l", dateOfBirth=years_ago(13).isoformat()) == OK


async def test_a_child_one_day_short_of_13_is_too_young(gql):
    born = years_ago(13) + timedelta(days=1)

    response = await register(gql, "ada_l", dateOfBirth=born.isoformat())

    message = "Members must be at least 13 years old."
    assert response == refused("TOO_YOUNG", message, "dateOfBirth")
    assert await member_named(gql, "ada_l") == {"data": {"user": None}}


async def test_the_minimum_age_follows_the_settings(tmp_path, database_url):
    settings = settings_for(tmp_path, database_url, min_age=18)
    async with Server(settings) as gql:
        young = await register(gql, "teen_ager", dateOfBirth=years_ago(16).isoformat())
        adult = await register(gql, "grown_up", dateOfBirth=years_ago(18).isoformat())

    message = "Members must be at least 18 years old."
    assert young == refused("TOO_YOUNG", message, "dateOfBirth")
    assert adult == OK


async def test_a_malformed_date_in_variables_is_bad_input_and_creates_nothing(gql):
    policy = await current_policy()
    variables = {
        "username": "ada_l",
        "email": "ada_l@example.org",
        "password": PASSWORD,
        "dateOfBirth": "2020-13-45",
        "acceptPolicyVersion": policy.version,
    }

    response = await gql.post(SIGN_UP, {"input": variables})

    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Variable '$input' has invalid value at .dateOfBirth: Value cannot "
                'represent a Date: "2020-13-45". month must be in 1..12',
                "locations": [{"line": 2, "column": 19}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert await User.all().count() == 0


async def test_a_malformed_date_in_the_document_is_bad_input(gql):
    mutation = """mutation { register(input: {username: "ada_l", email: "ada_l@example.org",
      password: "correct horse battery", dateOfBirth: "1990-02-30",
      acceptPolicyVersion: "2026-01"}) { userErrors { code } } }"""

    response = await gql.post(mutation)

    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": 'Value cannot represent a Date: "1990-02-30". '
                "day is out of range for month",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert await User.all().count() == 0


# ---------------------------------------------------------------- policy and consent


@pytest.mark.parametrize("version", ["2025-01", "", "2026-01 ", "latest"])
async def test_an_outdated_or_unknown_policy_version_is_not_accepted(gql, version):
    current = (await current_policy()).version

    response = await register(gql, "ada_l", acceptPolicyVersion=version)

    message = f"Accept the current privacy policy (version {current})."
    assert response == refused("POLICY_NOT_ACCEPTED", message, "acceptPolicyVersion")
    assert await member_named(gql, "ada_l") == {"data": {"user": None}}


async def test_several_problems_come_back_together_with_their_fields(gql):
    response = await register(
        gql,
        "a",
        email="a@b",
        password="short",
        dateOfBirth="2999-01-01",
        acceptPolicyVersion="old",
    )

    current = (await current_policy()).version
    assert response == {
        "data": {
            "register": {
                "userErrors": [
                    {"field": ["username"], "message": LENGTH, "code": "USERNAME_INVALID"},
                    {
                        "field": ["email"],
                        "message": "That is not a valid email address.",
                        "code": "EMAIL_INVALID",
                    },
                    {
                        "field": ["password"],
                        "message": "Passwords need at least 10 characters.",
                        "code": "PASSWORD_TOO_SHORT",
                    },
                    {
                        "field": ["dateOfBirth"],
                        "message": "Enter your real date of birth.",
                        "code": "DATE_OF_BIRTH_INVALID",
                    },
                    {
                        "field": ["acceptPolicyVersion"],
                        "message": f"Accept the current privacy policy (version {current}).",
                        "code": "POLICY_NOT_ACCEPTED",
                    },
                ]
            }
        }
    }
    assert await User.all().count() == 0


async def consents_of(username: str) -> list[tuple[ConsentKind, bool, str | None]]:
    rows = await Consent.filter(user__username=username).order_by("id")
    return [(row.kind, row.granted, row.policy_version) for row in rows]


async def test_registration_records_consent_to_the_current_policy(gql, mailbox):
    current = (await current_policy()).version

    await registered_member(gql, mailbox, "ada_l")

    assert await consents_of("ada_l") == [(ConsentKind.PRIVACY_POLICY, True, current)]


@pytest.mark.parametrize("newsletter", [{}, {"newsletter": False}, {"newsletter": None}])
async def test_the_newsletter_is_off_unless_asked_for(gql, mailbox, newsletter):
    current = (await current_policy()).version

    await registered_member(gql, mailbox, "ada_l", **newsletter)

    assert await consents_of("ada_l") == [(ConsentKind.PRIVACY_POLICY, True, current)]
    assert (await User.get(username="ada_l")).newsletter is False


async def test_asking_for_the_newsletter_records_its_consent(gql, mailbox):
    current = (await current_policy()).version

    await registered_member(gql, mailbox, "ada_l", newsletter=True)

    assert await consents_of("ada_l") == [
        (ConsentKind.PRIVACY_POLICY, True, current),
        (ConsentKind.NEWSLETTER, True, current),
    ]
    assert (await User.get(username="ada_l")).newsletter is True


async def test_a_refused_registration_records_no_consent(gql):
    await register(gql, "ada_l", password="short", newsletter=True)

    assert await Consent.all().count() == 0


# ---------------------------------------------------------------- mass assignment


async def test_a_role_in_the_input_is_bad_input_and_creates_nothing(gql):
    mutation = """mutation { register(input: {username: "ada_l", email: "ada_l@example.org",
      password: "correct horse battery", dateOfBirth: "1990-05-17",
      acceptPolicyVersion: "2026-01", role: ADMIN}) { userErrors { code } } }"""

    response = await gql.post(mutation)

    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Expected value of type 'RegisterInput' not to include unknown field "
                "'role', found: {\n"
                '  username: "ada_l"\n'
                '  email: "ada_l@example.org"\n'
                '  password: "correct horse battery"\n'
                '  dateOfBirth: "1990-05-17"\n'
                '  acceptPolicyVersion: "2026-01"\n'
                "  role: ADMIN\n"
                "}.",
                "locations": [{"line": 3, "column": 39}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert await User.all().count() == 0


@pytest.mark.parametrize(
    "extra", [{"role": "ADMIN"}, {"emailConfirmedAt": "2020-01-01T00:00:00Z"}, {"id": "1"}]
)
async def test_an_unknown_input_field_in_variables_is_bad_input(gql, extra):
    policy = await current_policy()
    variables = {
        "username": "ada_l",
        "email": "ada_l@example.org",
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": policy.version,
        **extra,
    }

    response = await gql(SIGN_UP, {"input": variables})

    assert response["data"] is None
    assert [error["extensions"] for error in response["errors"]] == [{"code": "BAD_USER_INPUT"}]
    assert await User.all().count() == 0


# ---------------------------------------------------------------- after registering


async def test_a_registration_cannot_sign_in_until_its_link_is_opened(gql, mailbox):
    await register(gql, "ada_l")
    refused_login = await gql(LOGIN, {"i": {"login": "ada_l", "password": PASSWORD}})
    await open_link(gql, mailbox, "ada_l@example.org")

    response = await gql(LOGIN, {"i": {"login": "ada_l", "password": PASSWORD}})

    assert refused_login == {
        "data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}
    }
    assert response == {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}


async def test_a_new_member_is_a_confirmed_plain_member_once_the_link_is_opened(gql, mailbox):
    await register(gql, "ada_l")
    before = await User.all().count()
    await open_link(gql, mailbox, "ada_l@example.org")

    user = await User.get(username="ada_l")

    assert before == 0
    assert (user.role.value, user.confirmed, user.email) == ("member", True, "ada_l@example.org")
