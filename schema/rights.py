"""The member's own account: sessions, passwords, consents, policy, corrections, export,
leaving; and the admin tools for policy versions and newsletters."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import policy as policy_models
from models import rights as rights_models
from models import sessions as session_models
from resolvers import accounts, newsletters, passwords, policy, rights, sessions
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.node import Node
from schema.pagination import PageInfo, PageSize, edges, page_info
from schema.payloads import Payload, attempt
from schema.permissions import IsAdmin, IsStaff
from schema.policy import PolicyVersion


@strawberry.type(description="A browser signed in to your account. Never shows an IP address.")
class Session:
    row: strawberry.Private[session_models.Session]
    current_id: strawberry.Private[int | None]

    @strawberry.field(description="Opaque ID, for revokeSession.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Session", self.row.id))

    @strawberry.field(description="When you signed in.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was last used (to within five minutes).")
    def last_used_at(self) -> datetime:
        return self.row.last_used_at

    @strawberry.field(description="Browser family, e.g. Firefox; null if unknown.")
    def browser(self) -> str | None:
        return self.row.browser

    @strawberry.field(description="Operating system, e.g. Android; null if unknown.")
    def operating_system(self) -> str | None:
        return self.row.operating_system

    @strawberry.field(description="Country (ISO code) it signed in from; null if unknown.")
    def country(self) -> str | None:
        return self.row.country

    @strawberry.field(description="Is this the session making this request?")
    def current(self) -> bool:
        return self.row.id == self.current_id


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


@strawberry.enum(description="Where a correction request stands.")
class CorrectionStatus(Enum):
    OPEN = strawberry.enum_value("open", description="Waiting for a moderator.")
    APPLIED = strawberry.enum_value("applied", description="The correction was made.")
    REJECTED = strawberry.enum_value("rejected", description="Not made; see the response.")


@strawberry.type(description="A request to correct data the member cannot change themselves.")
class CorrectionRequest(Node):
    row: strawberry.Private[rights_models.CorrectionRequest]

    @strawberry.field(description="Opaque global ID of the request.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("CorrectionRequest", self.row.id))

    @strawberry.field(description="Which data, e.g. username or dateOfBirth.")
    def field(self) -> str:
        return self.row.field

    @strawberry.field(description="The value the member says is right.")
    def proposed_value(self) -> str:
        return self.row.proposed_value

    @strawberry.field(description="Why.")
    def reason(self) -> str:
        return self.row.reason

    @strawberry.field(description="Where it stands.")
    def status(self) -> CorrectionStatus:
        return CorrectionStatus(self.row.status.value)

    @strawberry.field(description="The moderator's answer, if any.")
    def response(self) -> str | None:
        return self.row.response

    @strawberry.field(description="When it was asked for.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was applied or rejected.")
    def resolved_at(self) -> datetime | None:
        return self.row.resolved_at


@strawberry.type(description="One correction request in a list.")
class CorrectionRequestEdge:
    cursor: str = strawberry.field(description="Keyset cursor of this request.")
    node: CorrectionRequest = strawberry.field(description="The request.")


@strawberry.type(description="A page of correction requests, oldest first.")
class CorrectionRequestConnection:
    edges: list[CorrectionRequestEdge] = strawberry.field(description="The requests.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")


@strawberry.type(description="Result of changePassword.")
class ChangePasswordPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of changeEmail.")
class ChangeEmailPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of revokeSession.")
class RevokeSessionPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of revokeOtherSessions.")
class RevokeOtherSessionsPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of requestPasswordReset (the same for every address).")
class RequestPasswordResetPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of resetPassword.")
class ResetPasswordPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of acceptPrivacyPolicy.")
class AcceptPrivacyPolicyPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of deleteAccount.")
class DeleteAccountPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Your current password and the new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="Your password now.")
    new_password: str = strawberry.field(description="10-256 characters, not a common one.")


@strawberry.input(description="Move your account to another address.")
class ChangeEmailInput:
    password: str = strawberry.field(description="Your password, to prove it is you.")
    new_email: str = strawberry.field(description="The new address; it must confirm by email.")


@strawberry.input(description="One of your sessions.")
class RevokeSessionInput:
    session_id: strawberry.ID = strawberry.field(description="`Session.id`.")


@strawberry.input(description="Where to send a reset link.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="Your account's address.")


@strawberry.input(description="A mailed reset token and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token=` value of the mailed link.")
    new_password: str = strawberry.field(description="10-256 characters, not a common one.")


@strawberry.input(description="Newsletters on or off.")
class SetNewsletterSubscriptionInput:
    subscribed: bool = strawberry.field(description="True to receive newsletters.")


@strawberry.type(description="Result of setNewsletterSubscription.")
class SetNewsletterSubscriptionPayload(Payload):
    user: User | None = strawberry.field(description="You; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Give or withdraw a permission.")
class SetConsentInput:
    kind: ConsentKind = strawberry.field(description="Which permission.")
    granted: bool = strawberry.field(description="Give (true) or withdraw (false).")


@strawberry.type(description="Result of setConsent.")
class SetConsentPayload(Payload):
    consent: Consent | None = strawberry.field(description="The new record; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="The policy version you accept.")
class AcceptPrivacyPolicyInput:
    version: str = strawberry.field(description="Must be `privacyPolicy.version`.")


@strawberry.input(description="A correction you need.")
class RequestCorrectionInput:
    field: str = strawberry.field(description="Which data, e.g. username or dateOfBirth.")
    proposed_value: str = strawberry.field(description="The right value (1-500 characters).")
    reason: str = strawberry.field(description="Why (3-1000 characters).")


@strawberry.type(description="Result of requestCorrection.")
class RequestCorrectionPayload(Payload):
    correction_request: CorrectionRequest | None = strawberry.field(
        description="The request; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was filed.")


@strawberry.type(description="Result of exportMyData.")
class ExportMyDataPayload(Payload):
    export: JSON | None = strawberry.field(
        description="Everything held about you, as one JSON document (no IP addresses)."
    )
    user_errors: list[UserError] = strawberry.field(description="Why no export was made.")


@strawberry.input(description="Your password, to leave for good.")
class DeleteAccountInput:
    password: str = strawberry.field(description="Your password.")


@strawberry.input(description="How a moderator answers a correction request.")
class ResolveCorrectionInput:
    request_id: strawberry.ID = strawberry.field(description="The request's global ID.")
    apply: bool = strawberry.field(description="Make the correction (true) or reject it.")
    response: str | None = strawberry.field(default=None, description="Told to the member.")


@strawberry.type(description="Result of resolveCorrection.")
class ResolveCorrectionPayload(Payload):
    correction_request: CorrectionRequest | None = strawberry.field(
        description="The request; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


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


@strawberry.input(description="A newsletter to send to every opted-in member.")
class SendNewsletterInput:
    subject: str = strawberry.field(description="1-200 characters.")
    body: str = strawberry.field(description="Plain text, 1-50,000 characters.")


@strawberry.type(description="Result of sendNewsletter.")
class SendNewsletterPayload(Payload):
    recipients: int | None = strawberry.field(description="How many members it went to.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was sent.")


@strawberry.type
class RightsQuery:
    @strawberry.field(description="Every published version of the privacy policy, newest first.")
    async def privacy_policy_versions(self) -> list[PolicyVersion]:
        return [PolicyVersion.from_row(row) for row in await policy.policy_versions()]

    @strawberry.field(
        description="Moderators and admins: correction requests, oldest first.",
        permission_classes=[IsStaff],
    )
    async def correction_requests(
        self,
        info: Info[Context, None],
        first: PageSize = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
        status: Annotated[
            CorrectionStatus | None, strawberry.argument(description="Only this state.")
        ] = None,
    ) -> CorrectionRequestConnection:
        wanted = rights_models.CorrectionStatus(status.value) if status else None
        page = await rights.correction_page(info.context.call, wanted, first, after)
        found = edges(page, "CorrectionRequest", lambda row: CorrectionRequest(row=row))
        return CorrectionRequestConnection(
            edges=[CorrectionRequestEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "CorrectionRequest"),
        )


@strawberry.type
class RightsMutation:
    @strawberry.mutation(description="Change your password; every other session is signed out.")
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        work = passwords.change_password(
            info.context.call, input.current_password, input.new_password
        )
        return await attempt(ChangePasswordPayload, work)

    @strawberry.mutation(
        description="Move your account to a new address, once a link mailed there is opened. "
        "The old address is told."
    )
    async def change_email(
        self, info: Info[Context, None], input: ChangeEmailInput
    ) -> ChangeEmailPayload:
        work = accounts.change_email(info.context.call, input.password, input.new_email)
        return await attempt(ChangeEmailPayload, work)

    @strawberry.mutation(description="Sign out one of your sessions.")
    async def revoke_session(
        self, info: Info[Context, None], input: RevokeSessionInput
    ) -> RevokeSessionPayload:
        work = sessions.revoke_session(
            info.context.call, ids.decode_pk(input.session_id, "Session")
        )
        result = await attempt(RevokeSessionPayload, work)
        info.context.sync_cookie()
        return result

    @strawberry.mutation(description="Sign out every session but this one.")
    async def revoke_other_sessions(self, info: Info[Context, None]) -> RevokeOtherSessionsPayload:
        work = sessions.revoke_others(info.context.call)
        return await attempt(RevokeOtherSessionsPayload, work)

    @strawberry.mutation(
        description="Mail a password-reset link (valid one hour). The answer is the same "
        "for every address."
    )
    async def request_password_reset(
        self, info: Info[Context, None], input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        work = passwords.request_reset(info.context.call, input.email)
        return await attempt(RequestPasswordResetPayload, work)

    @strawberry.mutation(
        description="Set a new password with a mailed token; signs out everywhere."
    )
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> ResetPasswordPayload:
        work = passwords.reset_password(info.context.call, input.token, input.new_password)
        result = await attempt(ResetPasswordPayload, work)
        info.context.sync_cookie()
        return result

    @strawberry.mutation(description="Newsletters on or off (never on unless you say so).")
    async def set_newsletter_subscription(
        self, info: Info[Context, None], input: SetNewsletterSubscriptionInput
    ) -> SetNewsletterSubscriptionPayload:
        return await attempt(
            SetNewsletterSubscriptionPayload,
            newsletters.set_subscription(info.context.call, input.subscribed),
            lambda row: SetNewsletterSubscriptionPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Give or withdraw a permission. Every change is kept in your consent history."
    )
    async def set_consent(
        self, info: Info[Context, None], input: SetConsentInput
    ) -> SetConsentPayload:
        kind = policy_models.ConsentKind(input.kind.value)
        return await attempt(
            SetConsentPayload,
            policy.set_consent(info.context.call, kind, input.granted),
            lambda row: SetConsentPayload(consent=Consent(row=row), user_errors=[]),
        )

    @strawberry.mutation(description="Accept the current version of the privacy policy.")
    async def accept_privacy_policy(
        self, info: Info[Context, None], input: AcceptPrivacyPolicyInput
    ) -> AcceptPrivacyPolicyPayload:
        work = policy.accept_policy(info.context.call, input.version)
        return await attempt(AcceptPrivacyPolicyPayload, work)

    @strawberry.mutation(description="Ask moderators to correct data you cannot change yourself.")
    async def request_correction(
        self, info: Info[Context, None], input: RequestCorrectionInput
    ) -> RequestCorrectionPayload:
        return await attempt(
            RequestCorrectionPayload,
            rights.request_correction(
                info.context.call, input.field, input.proposed_value, input.reason
            ),
            lambda row: RequestCorrectionPayload(
                correction_request=CorrectionRequest(row=row), user_errors=[]
            ),
        )

    @strawberry.mutation(description="Everything held about you, as one JSON document.")
    async def export_my_data(self, info: Info[Context, None]) -> ExportMyDataPayload:
        return await attempt(
            ExportMyDataPayload,
            rights.export_data(info.context.call),
            lambda export: ExportMyDataPayload(export=export, user_errors=[]),
        )

    @strawberry.mutation(
        description="Leave for good: personal data and address records are erased; your public "
        "messages stay, signed by a deleted member."
    )
    async def delete_account(
        self, info: Info[Context, None], input: DeleteAccountInput
    ) -> DeleteAccountPayload:
        result = await attempt(
            DeleteAccountPayload, rights.delete_account(info.context.call, input.password)
        )
        info.context.sync_cookie()
        return result

    @strawberry.mutation(
        description="Moderators: apply or reject a correction request (audited).",
        permission_classes=[IsStaff],
    )
    async def resolve_correction(
        self, info: Info[Context, None], input: ResolveCorrectionInput
    ) -> ResolveCorrectionPayload:
        call = info.context.call
        request_id = ids.decode_pk(input.request_id, "CorrectionRequest")
        return await attempt(
            ResolveCorrectionPayload,
            rights.resolve_correction(call, request_id, input.apply, input.response),
            lambda row: ResolveCorrectionPayload(
                correction_request=CorrectionRequest(row=row), user_errors=[]
            ),
        )

    @strawberry.mutation(
        description="Admins: publish a new privacy-policy version.", permission_classes=[IsAdmin]
    )
    async def publish_privacy_policy(
        self, info: Info[Context, None], input: PublishPrivacyPolicyInput
    ) -> PublishPrivacyPolicyPayload:
        return await attempt(
            PublishPrivacyPolicyPayload,
            policy.publish_policy(
                info.context.call, input.version, input.body, input.summary_of_changes
            ),
            lambda row: PublishPrivacyPolicyPayload(
                policy_version=PolicyVersion.from_row(row), user_errors=[]
            ),
        )

    @strawberry.mutation(
        description="Admins: mail a newsletter to confirmed, active, opted-in members, each "
        "copy with a one-click unsubscribe link.",
        permission_classes=[IsAdmin],
    )
    async def send_newsletter(
        self, info: Info[Context, None], input: SendNewsletterInput
    ) -> SendNewsletterPayload:
        return await attempt(
            SendNewsletterPayload,
            newsletters.send_newsletter(info.context.call, input.subject, input.body),
            lambda count: SendNewsletterPayload(recipients=count, user_errors=[]),
        )
