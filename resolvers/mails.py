"""The texts of the emails the site sends. Links use PUBLIC_URL, never the request's host."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from models.mail import OutboxMail
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


async def send_reset(settings: Settings, to: str, username: str, token: str) -> None:
    """A password-reset link."""
    url = link(settings, "/reset-password", token=token)
    minutes = settings.reset_token_minutes
    await enqueue(
        to,
        "Reset your password",
        f"Hello {username},\n\nSomeone asked to reset the password of your account. "
        f"To choose a new password, open this link within {minutes} minutes:\n\n{url}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n",
    )


async def send_password_changed(settings: Settings, to: str) -> None:
    """Tell a member their password changed."""
    await enqueue(
        to,
        "Your password was changed",
        "Hello,\n\nThe password of your account was just changed, and every other "
        "browser was signed out.\n\nIf it was not you, reset your password at "
        f"{settings.public_url} at once.\n",
    )


async def send_change_email(settings: Settings, to: str, username: str, token: str) -> None:
    """Ask the owner of a new address to confirm it."""
    url = link(settings, "/confirm-email", token=token)
    await enqueue(
        to,
        "Confirm your new email address",
        f"Hello {username},\n\nPlease confirm this new address for your account by "
        f"opening this link within {settings.confirm_token_hours} hours:\n\n{url}\n\n"
        "If you did not ask for this, ignore this email.\n",
    )


async def send_email_change_notice(settings: Settings, to: str) -> None:
    """Tell the old address that a change to another address was asked for."""
    await enqueue(
        to,
        "Your email address is being changed",
        "Hello,\n\nSomeone signed in to your account asked to move it to another email "
        "address. The change happens once the new address is confirmed.\n\n"
        f"If it was not you, change your password at {settings.public_url} at once.\n",
    )


async def send_email_changed(settings: Settings, to: str) -> None:
    """Tell the old address that the account has moved to another one (not named here)."""
    await enqueue(
        to,
        "Your account now uses another email address",
        "Hello,\n\nThe email address of your account was just changed: this address "
        "will get no more mail about the account.\n\n"
        f"If it was not you, reset your password at {settings.public_url} at once and "
        "tell the site's moderators; your account may be in someone else's hands.\n",
    )


async def oldest_unsent_mail_at() -> datetime | None:
    """When the oldest mail still waiting for delivery was queued (None: the outbox is empty)."""
    oldest = await OutboxMail.filter(sent_at__isnull=True).order_by("created_at").first()
    return oldest.created_at if oldest is not None else None


async def unsent_mail_count() -> int:
    """How many mails wait for delivery."""
    return await OutboxMail.filter(sent_at__isnull=True).count()


async def send_warning(settings: Settings, to: str, username: str, reason: str) -> None:
    """Tell a member that the moderators have warned them, and why."""
    await enqueue(
        to,
        "A warning from the moderators",
        f"Hello {username},\n\nThe moderators of the forum have given you a formal "
        f"warning:\n\n{reason}\n\nPlease keep to the forum's rules; further breaches "
        f"may lead to a suspension. Your warnings are listed on your account at "
        f"{settings.public_url}.\n",
    )
