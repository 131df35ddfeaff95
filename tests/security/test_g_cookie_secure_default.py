"""Issue 14, extending SECURITY.md G6 (cookie flags): behind an https PUBLIC_URL the
session cookie is `Secure` without anyone remembering COOKIE_SECURE=true; an explicit
COOKIE_SECURE still decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.harness import PASSWORD, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member

LOGIN = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"


async def login_cookie_flags(tmp_path: Path, database_url: str, **settings: object) -> list[str]:
    """The attributes of the session cookie a password sign-in sets, lower case."""
    async with Server(make_settings(tmp_path, database_url, **settings)) as gql:
        await member(None, "ada_l")
        response = await gql.post(LOGIN, {"i": {"login": "ada_l", "password": PASSWORD}})
    (cookie,) = response.headers.get_list("set-cookie")
    return [part.strip().lower() for part in cookie.split(";")[1:]]


@pytest.mark.parametrize(
    ("public_url", "cookie_secure", "secure"),
    [
        ("https://forum.example", None, True),  # the default follows PUBLIC_URL's scheme
        ("http://localhost:8000", None, False),
        ("https://forum.example", False, False),  # an explicit setting wins
        ("http://localhost:8000", True, True),
    ],
)
async def test_G6_the_session_cookie_is_secure_by_default_behind_https(
    tmp_path: Path, database_url: str, public_url: str, cookie_secure: bool | None, secure: bool
) -> None:
    flags = await login_cookie_flags(
        tmp_path, database_url, public_url=public_url, cookie_secure=cookie_secure
    )

    assert ("secure" in flags) is secure, flags
