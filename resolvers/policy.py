"""The privacy policy's versions and the consent ledger."""

from __future__ import annotations

from pathlib import Path

from models.accounts import User
from models.policy import Consent, ConsentKind, PolicyVersion
from resolvers.common import Call

INITIAL_VERSION = "2026-01"
_INITIAL_TEXT = Path(__file__).resolve().parent.parent / "services" / "data" / "privacy-policy.md"


async def current_policy() -> PolicyVersion:
    """The version in force: the one published last."""
    policy = await PolicyVersion.all().order_by("-published_at", "-id").first()
    if policy is None:
        policy = await ensure_initial_policy()
    return policy


async def ensure_initial_policy() -> PolicyVersion:
    """Publish the policy that ships with the server when none is published yet."""
    policy, _ = await PolicyVersion.get_or_create(
        version=INITIAL_VERSION,
        defaults={"body": _INITIAL_TEXT.read_text(), "summary_of_changes": "First version."},
    )
    return policy


async def record_consent(
    call: Call, user: User, kind: ConsentKind, granted: bool, version: str | None = None
) -> Consent:
    """Append a grant or withdrawal to the ledger, with the policy version and client."""
    if version is None:
        version = (await current_policy()).version
    return await Consent.create(
        user=user, kind=kind, granted=granted, policy_version=version, **call.ip_columns
    )
