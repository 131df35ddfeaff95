"""Page views from the frontend, statistics for admins, address matching for moderators."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import activity
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.payloads import Payload, attempt
from schema.permissions import IsAdmin, IsStaff

VISITOR_COOKIE = "visitor"
VISITOR_DAYS = 365


@strawberry.input(description="A page the frontend just showed.")
class RecordPageViewInput:
    path: str = strawberry.field(description="The page's path, starting with / (at most 500).")
    referrer: str | None = strawberry.field(
        default=None, description="document.referrer; only its domain is kept."
    )
    title: str | None = strawberry.field(default=None, description="The page title.")


@strawberry.type(description="Result of recordPageView (the same whether or not it was kept).")
class RecordPageViewPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="A key and how often it occurred.")
class Count:
    key: str = strawberry.field(description="What was counted: a path, domain, country ...")
    count: int = strawberry.field(description="How many times.")


@strawberry.type(description="Navigation from one page to the next, and how often.")
class PathStep:
    from_: str = strawberry.field(name="from", description="The page before.")
    to: str = strawberry.field(description="The page after.")
    count: int = strawberry.field(description="How many times.")


@strawberry.type(description="Site statistics over a date range. Aggregates only.")
class SiteStats:
    visits: int = strawberry.field(description="Visits that started in the range.")
    page_views: int = strawberry.field(description="Pages viewed in the range.")
    average_visit_seconds: float = strawberry.field(description="Average length of a visit.")
    registrations: int = strawberry.field(description="New members in the range.")
    top_pages: list[Count] = strawberry.field(description="Most viewed paths.")
    top_referrers: list[Count] = strawberry.field(description="Other sites that sent visitors.")
    countries: list[Count] = strawberry.field(description="Visits by country (ISO code).")
    browsers: list[Count] = strawberry.field(description="Visits by browser family.")
    operating_systems: list[Count] = strawberry.field(description="Visits by operating system.")
    paths: list[PathStep] = strawberry.field(description="Commonest page-to-page moves.")


@strawberry.type(description="Another account seen at an address the member used.")
class SharedAddressMatch:
    user: User = strawberry.field(description="The other account.")
    first_seen_at: datetime = strawberry.field(description="First time it was seen there.")
    last_seen_at: datetime = strawberry.field(description="Last time it was seen there.")
    times: int = strawberry.field(description="How many records match.")


def _counts(pairs: list[tuple[str, int]]) -> list[Count]:
    return [Count(key=key, count=count) for key, count in pairs]


@strawberry.type
class ActivityQuery:
    @strawberry.field(
        description="Admins: site statistics between two dates (inclusive, UTC).",
        permission_classes=[IsAdmin],
    )
    async def site_stats(
        self,
        info: Info[Context, None],
        from_: Annotated[date, strawberry.argument(name="from", description="First day.")],
        to: Annotated[date, strawberry.argument(description="Last day.")],
    ) -> SiteStats | None:
        stats = await activity.site_stats(info.context.call, from_, to)
        return SiteStats(
            visits=stats.visits,
            page_views=stats.page_views,
            average_visit_seconds=stats.average_visit_seconds,
            registrations=stats.registrations,
            top_pages=_counts(stats.top_pages),
            top_referrers=_counts(stats.top_referrers),
            countries=_counts(stats.countries),
            browsers=_counts(stats.browsers),
            operating_systems=_counts(stats.operating_systems),
            paths=[PathStep(from_=a, to=b, count=n) for a, b, n in stats.paths],
        )

    @strawberry.field(
        description="Moderators and admins: accounts that used an address this member used, "
        "with when and how often; never the address. Audited with the reason.",
        permission_classes=[IsStaff],
    )
    async def accounts_sharing_address(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's ID.")],
        reason: Annotated[str, strawberry.argument(description="Why (3-500 characters).")],
    ) -> list[SharedAddressMatch] | None:
        pk = ids.decode_pk(user_id, "User")
        matches = await activity.accounts_sharing_address(info.context.call, pk, reason)
        rows = await info.context.loaders.user_by_id.load_many([m.user_id for m in matches])
        return [
            SharedAddressMatch(
                user=User.from_row(row),
                first_seen_at=m.first_seen,
                last_seen_at=m.last_seen,
                times=m.times,
            )
            for m, row in zip(matches, rows, strict=True)
            if row is not None
        ]


@strawberry.type
class ActivityMutation:
    @strawberry.mutation(
        description="Record a page view, signed in or not. Honours `Sec-GPC: 1` and your "
        "analytics opt-out by storing nothing."
    )
    async def record_page_view(
        self, info: Info[Context, None], input: RecordPageViewInput
    ) -> RecordPageViewPayload:
        request = info.context.request
        tracking = request.headers.get("sec-gpc", "").strip() != "1"
        visitor = request.cookies.get(VISITOR_COOKIE, "")[:64]
        new_visitor = tracking and info.context.viewer is None and len(visitor) < 20
        if new_visitor:
            visitor = secrets.token_urlsafe(24)
        data = activity.PageViewData(input.path, input.referrer, input.title)
        work = activity.record_page_view(info.context.call, data, visitor, tracking)
        result = await attempt(RecordPageViewPayload, work)
        if result.user_errors:
            return result
        # Only once the view is kept: a refused one leaves no identifier behind.
        if new_visitor:
            info.context.set_cookie(VISITOR_COOKIE, visitor, max_age=VISITOR_DAYS * 86400)
        return result
