"""Newsletters: opting in or out, and the admins' sending."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import newsletters
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.payloads import Payload, attempt
from schema.permissions import IsAdmin


@strawberry.input(description="Newsletters on or off.")
class SetNewsletterSubscriptionInput:
    subscribed: bool = strawberry.field(description="True to receive newsletters.")


@strawberry.type(description="Result of setNewsletterSubscription.")
class SetNewsletterSubscriptionPayload(Payload):
    user: User | None = strawberry.field(description="You; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="A newsletter to send to every opted-in member.")
class SendNewsletterInput:
    subject: str = strawberry.field(description="1-200 characters.")
    body: str = strawberry.field(description="Plain text, 1-50,000 characters.")


@strawberry.type(description="Result of sendNewsletter.")
class SendNewsletterPayload(Payload):
    recipients: int | None = strawberry.field(description="How many members it went to.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was sent.")


@strawberry.type
class NewsletterMutation:
    @strawberry.mutation(description="Newsletters on or off (never on unless you say so).")
    async def set_newsletter_subscription(
        self, info: Info[Context, None], input: SetNewsletterSubscriptionInput
    ) -> SetNewsletterSubscriptionPayload | None:
        return await attempt(
            SetNewsletterSubscriptionPayload,
            newsletters.set_subscription(info.context.call, input.subscribed),
            lambda row: SetNewsletterSubscriptionPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Admins: mail a newsletter to confirmed, active, opted-in members, each "
        "copy with a one-click unsubscribe link.",
        permission_classes=[IsAdmin],
    )
    async def send_newsletter(
        self, info: Info[Context, None], input: SendNewsletterInput
    ) -> SendNewsletterPayload | None:
        return await attempt(
            SendNewsletterPayload,
            newsletters.send_newsletter(info.context.call, input.subject, input.body),
            lambda count: SendNewsletterPayload(recipients=count, user_errors=[]),
        )
