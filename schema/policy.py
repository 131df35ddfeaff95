"""The privacy policy as data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from models import policy as models
from models import policy as policy_models
from resolvers import policy
from schema.context import Context
from schema.errors import UserError
from schema.payloads import LazyUser, Payload, attempt, user_of
from schema.permissions import IsAdmin


@strawberry.type(description="One published version of the site's privacy policy.")
class PolicyVersion:
    version: str = strawberry.field(
        description="Version label; registration must accept the current one."
    )
    published_at: datetime = strawberry.field(description="When this version took effect.")
    body: str = strawberry.field(description="The policy text, in Markdown.")
    summary_of_changes: str | None = strawberry.field(
        description="What changed since the version before; null for the first."
    )

    @classmethod
    def from_row(cls, row: models.PolicyVersion) -> PolicyVersion:
        """The type for a database row."""
        return cls(
            version=row.version,
            published_at=row.published_at,
            body=row.body,
            summary_of_changes=row.summary_of_changes,
        )


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="The privacy policy in force now.")
    async def privacy_policy(self) -> PolicyVersion:
        return PolicyVersion.from_row(await policy.current_policy())

    @strawberry.field(description="Every published version of the privacy policy, newest first.")
    async def privacy_policy_versions(self) -> list[PolicyVersion]:
        return [PolicyVersion.from_row(row) for row in await policy.policy_versions()]


@strawberry.enum(description="What a consent record is about.")
class ConsentKind(Enum):
    PRIVACY_POLICY = strawberry.enum_value("privacy_policy", description="The privacy policy.")
    NEWSLETTER = strawberry.enum_value("newsletter", description="Occasional newsletters.")
    THIRD_PARTY_SHARING = strawberry.enum_value(
        "third_party_sharing", description="Sharing with third parties (off unless granted)."
    )
    ANALYTICS = strawberry.enum_value("analytics", description="Recording your page views.")


@strawberry.type(description="One grant or withdrawal of permission, as recorded (no address).")
class Consent:
    row: strawberry.Private[policy_models.Consent]

    @strawberry.field(description="What it is about.")
    def kind(self) -> ConsentKind:
        return ConsentKind(self.row.kind.value)

    @strawberry.field(description="Given (true) or withdrawn (false).")
    def granted(self) -> bool:
        return self.row.granted

    @strawberry.field(description="The policy version in force at the time.")
    def policy_version(self) -> str | None:
        return self.row.policy_version

    @strawberry.field(description="When.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="Result of acceptPrivacyPolicy.")
class AcceptPrivacyPolicyPayload(Payload):
    user: LazyUser | None = strawberry.field(
        description="You, with `policyAccepted` and `consents` updated; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Give or withdraw a permission.")
class SetConsentInput:
    kind: ConsentKind = strawberry.field(description="Which permission.")
    granted: bool = strawberry.field(description="Give (true) or withdraw (false).")


@strawberry.type(description="Result of setConsent.")
class SetConsentPayload(Payload):
    consent: Consent | None = strawberry.field(description="The new record; null if refused.")
    user: LazyUser | None = strawberry.field(
        description="You, with `consents` (and `newsletter`) updated; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="The policy version you accept.")
class AcceptPrivacyPolicyInput:
    version: str = strawberry.field(description="Must be `privacyPolicy.version`.")


@strawberry.input(description="A new version of the privacy policy.")
class PublishPrivacyPolicyInput:
    version: str = strawberry.field(description="A new label, e.g. 2026-06.")
    body: str = strawberry.field(description="The full text, in Markdown.")
    summary_of_changes: str | None = strawberry.field(
        default=None, description="What changed, for members."
    )


@strawberry.type(description="Result of publishPrivacyPolicy.")
class PublishPrivacyPolicyPayload(Payload):
    policy_version: PolicyVersion | None = strawberry.field(description="It; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was published.")


@strawberry.type
class PolicyMutation:
    @strawberry.mutation(
        description="Give or withdraw a permission. Every change is kept in your consent history."
    )
    async def set_consent(
        self, info: Info[Context, None], input: SetConsentInput
    ) -> SetConsentPayload | None:
        kind = policy_models.ConsentKind(input.kind.value)
        return await attempt(
            SetConsentPayload,
            policy.set_consent(info.context.call, kind, input.granted),
            lambda row: SetConsentPayload(
                consent=Consent(row=row), user=user_of(info.context.viewer), user_errors=[]
            ),
        )

    @strawberry.mutation(description="Accept the current version of the privacy policy.")
    async def accept_privacy_policy(
        self, info: Info[Context, None], input: AcceptPrivacyPolicyInput
    ) -> AcceptPrivacyPolicyPayload | None:
        work = policy.accept_policy(info.context.call, input.version)
        return await attempt(
            AcceptPrivacyPolicyPayload,
            work,
            lambda _: AcceptPrivacyPolicyPayload(user=user_of(info.context.viewer), user_errors=[]),
        )

    @strawberry.mutation(
        description="Admins: publish a new privacy-policy version.", permission_classes=[IsAdmin]
    )
    async def publish_privacy_policy(
        self, info: Info[Context, None], input: PublishPrivacyPolicyInput
    ) -> PublishPrivacyPolicyPayload | None:
        return await attempt(
            PublishPrivacyPolicyPayload,
            policy.publish_policy(
                info.context.call, input.version, input.body, input.summary_of_changes
            ),
            lambda row: PublishPrivacyPolicyPayload(
                policy_version=PolicyVersion.from_row(row), user_errors=[]
            ),
        )
