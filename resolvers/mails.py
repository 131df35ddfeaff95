"""The texts of the emails the site sends. Links use PUBLIC_URL, never the request's host."""

from __future__ import annotations

from urllib.parse import urlencode

from services.mail import enqueue
from services.settings import Settings


def link(settings: Settings, path: str, **params: str) -> str:
    """An absolute link on the public site."""
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode(params)}"


async def send_confirmation(settings: Settings, to: str, username: str, token: str) -> None:
    """Ask the member to confirm their address."""
    url = link(settings, "/confirm-email", token=token)
    await enqueue(
        to,
        "Confirm your email address",
        f"Hello {username},\n\n"
        f"Please confirm your email address by opening this link within "
        f"{settings.confirm_token_hours} hours:\n\n{url}\n\n"
        "If you did not create an account, you can ignore this email.\n",
    )


async def send_already_registered(settings: Settings, to: str) -> None:
    """Tell an address's owner that someone tried to register with it."""
    await enqueue(
        to,
        "Someone tried to register with your email address",
        "Hello,\n\nSomeone just tried to create a new account with this email address, "
        "which already belongs to an account.\n\n"
        f"If it was you, sign in at {settings.public_url} or reset your password there.\n"
        "If it was not you, you need do nothing: no account was created.\n",
    )
