"""The privacy policy's versions and the consent ledger."""

from __future__ import annotations

from pathlib import Path

from tortoise.transactions import in_transaction

from models.accounts import User
from models.policy import Consent, ConsentKind, PolicyVersion
from resolvers.access import require_admin, require_member
from resolvers.codes import PolicyCode
from resolvers.common import Call, Refused
from services import cachekeys

INITIAL_VERSION = "2026-01"
_INITIAL_TEXT = Path(__file__).resolve().parent.parent / "services" / "data" / "privacy-policy.md"


async def current_policy() -> PolicyVersion:
    """The version in force: the one published last."""
    with cachekeys.attributed():  # every policy change moves the site-wide key
        policy = await PolicyVersion.all().order_by("-published_at", "-id").first()
    if policy is None:
        policy = await ensure_initial_policy()
    return policy


async def ensure_initial_policy() -> PolicyVersion:
    """Publish the policy that ships with the server when none is published yet."""
    with cachekeys.attributed():  # a write that moves the site-wide key itself
        policy, _ = await PolicyVersion.get_or_create(
            version=INITIAL_VERSION,
            defaults={"body": _INITIAL_TEXT.read_text(), "summary_of_changes": "First version."},
        )
    return policy


async def record_consent(
    call: Call, user: User, kind: ConsentKind, granted: bool, version: str | None = None
) -> Consent:
    """Append a grant or withdrawal to the ledger, with the policy version and client."""
    return await append_consent(call.ip_columns, user, kind, granted, version)


async def append_consent(
    client: dict[str, str], user: User, kind: ConsentKind, granted: bool, version: str | None
) -> Consent:
    """The ledger write itself; `client` holds the IpRecord columns of the request."""
    if version is None:
        version = (await current_policy()).version
    return await Consent.create(
        user=user, kind=kind, granted=granted, policy_version=version, **client
    )


VERSION_MAX = 32
POLICY_MAX = 100_000


async def policy_versions() -> list[PolicyVersion]:
    """Every published version, newest first."""
    await current_policy()
    with cachekeys.attributed():  # every policy change moves the site-wide key
        return await PolicyVersion.all().order_by("-published_at", "-id")


async def publish_policy(call: Call, version: str, body: str, summary: str | None) -> PolicyVersion:
    """Admins: publish a new version; members are asked to accept it."""
    require_admin(call)
    version, body = version.strip(), body.strip()
    if (
        not 1 <= len(version) <= VERSION_MAX
        or not version.replace(".", "").replace("-", "").isalnum()
    ):
        raise Refused(
            PolicyCode.VERSION_INVALID, "Versions are 1-32 letters, digits, . and -.", "version"
        )
    if not body or len(body) > POLICY_MAX:
        raise Refused(
            PolicyCode.BODY_LENGTH, f"The policy needs 1 to {POLICY_MAX} characters.", "body"
        )
    if await PolicyVersion.exists(version=version):
        raise Refused(PolicyCode.VERSION_TAKEN, "That version is already published.", "version")
    return await PolicyVersion.create(
        version=version, body=body, summary_of_changes=(summary or "").strip()[:5000] or None
    )


async def latest_consents(user_id: int) -> dict[ConsentKind, Consent]:
    """The consent in force per kind: the newest ledger row of each."""
    rows = await Consent.filter(user_id=user_id).order_by("-created_at", "-id")
    latest: dict[ConsentKind, Consent] = {}
    for row in rows:
        latest.setdefault(row.kind, row)
    return latest


async def policy_accepted(user: User) -> bool:
    """Has the member accepted the version in force?"""
    policy = await current_policy()
    return await Consent.exists(
        user_id=user.id,
        kind=ConsentKind.PRIVACY_POLICY,
        granted=True,
        policy_version=policy.version,
    )


async def accept_policy(call: Call, version: str) -> None:
    """Accept the current version of the policy."""
    viewer = require_member(call)
    policy = await current_policy()
    if version != policy.version:
        message = f"Accept the current privacy policy (version {policy.version})."
        raise Refused(PolicyCode.POLICY_NOT_CURRENT, message, "version")
    await record_consent(call, viewer, ConsentKind.PRIVACY_POLICY, True, policy.version)


async def set_consent(call: Call, kind: ConsentKind, granted: bool) -> Consent:
    """Give or withdraw a permission; the ledger keeps every change."""
    viewer = require_member(call)
    if kind is ConsentKind.PRIVACY_POLICY:
        raise Refused(
            PolicyCode.USE_ACCEPT_POLICY, "Accept the policy with acceptPrivacyPolicy.", "kind"
        )
    async with in_transaction():
        consent = await record_consent(call, viewer, kind, granted)
        if kind is ConsentKind.NEWSLETTER:
            viewer.newsletter = granted
            await viewer.save(update_fields=["newsletter"])
        if kind is ConsentKind.ANALYTICS:
            viewer.analytics_opt_out = not granted
            await viewer.save(update_fields=["analytics_opt_out"])
    return consent


async def my_consents(call: Call) -> list[Consent]:
    """The viewer's ledger, newest first."""
    viewer = require_member(call)
    return await Consent.filter(user_id=viewer.id).order_by("-created_at", "-id")
