"""Page views and visits, the admins' statistics, and moderator matching by address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from tortoise.functions import Count

from models.accounts import User
from models.activity import PageView, Visit
from resolvers.access import STAFF_DATA, require_admin, require_admin_for_staff, require_staff
from resolvers.addresses import ciphers_of, sightings
from resolvers.audit import audit, audit_each, staff_reason
from resolvers.codes import ActivityCode
from resolvers.common import BadInput, Call, Refused
from services.clients import agent, country

VISIT_GAP = timedelta(minutes=30)
PATH_MAX, REFERRER_MAX, TITLE_MAX = 500, 1000, 200
TOP = 10
MAX_RANGE_DAYS = 366
MATCH_FIELDS = ["accountsSharingAddress"]


@dataclass(frozen=True)
class PageViewData:
    """What the frontend reports about one page shown."""

    path: str
    referrer: str | None
    title: str | None


def _referrer(call: Call, referrer: str | None) -> tuple[str | None, bool]:
    """The referring site's domain (never the full address), and whether it is ours."""
    if not referrer:
        return None, False
    host = (urlsplit(referrer).hostname or "").lower()[:255]
    if not host:
        return None, False
    ours = {urlsplit(call.settings.public_url).hostname} | {
        urlsplit(origin).hostname for origin in call.settings.allowed_origins
    }
    return host, host in ours


def _validate(data: PageViewData) -> PageViewData:
    path = data.path.strip()
    if not path.startswith("/") or len(path) > PATH_MAX or any(c in path for c in "\r\n\x00"):
        raise Refused(
            ActivityCode.PATH_INVALID,
            f"Give the page's path, starting with /, at most {PATH_MAX} characters.",
            "path",
        )
    if data.referrer is not None and len(data.referrer) > REFERRER_MAX:
        raise Refused(ActivityCode.REFERRER_INVALID, "That referrer is too long.", "referrer")
    title = (data.title or "").strip()[:TITLE_MAX] or None
    return PageViewData(path.split("#")[0], data.referrer, title)


async def record_page_view(call: Call, data: PageViewData, visitor: str, tracking: bool) -> None:
    """Record a page view in the visitor's current visit (or a new one).

    With tracking off (Sec-GPC, or the member's own opt-out) nothing is stored:
    the answer is the same, so the choice is not visible from outside.
    """
    data = _validate(data)
    viewer = call.viewer
    if not tracking or (viewer is not None and viewer.analytics_opt_out):
        return
    now = datetime.now(UTC)
    # A visit open when a key rotation started goes on under the hash of the old key.
    keys = call.vault.fingerprints(f"user:{viewer.id}" if viewer else f"visitor:{visitor}")
    key = keys[0]
    domain, internal = _referrer(call, data.referrer)
    open_visits = Visit.filter(visitor_key__in=keys, ended_at__gte=now - VISIT_GAP)
    visit = await open_visits.order_by("-id").first()
    previous = None
    if visit is None:
        client = agent(call.user_agent)
        visit = await Visit.create(
            visitor_key=key, user=viewer, started_at=now, ended_at=now, country=country(call.ip),
            browser=client.browser, browser_version=client.browser_version,
            operating_system=client.operating_system, referrer_domain=domain,
            referrer_internal=internal, landing_path=data.path, **call.ip_columns,
        )  # fmt: skip
    else:
        last = await PageView.filter(visit_id=visit.id).order_by("-id").first()
        previous = last.path if last is not None else None
    await PageView.create(
        visit=visit, path=data.path, previous_path=previous, title=data.title,
        referrer_domain=domain, referrer_internal=internal, created_at=now,
    )  # fmt: skip
    await Visit.filter(id=visit.id).update(ended_at=now, page_views=visit.page_views + 1)


@dataclass(frozen=True)
class Stats:
    """Site statistics over a date range: aggregates only."""

    visits: int
    page_views: int
    average_visit_seconds: float
    registrations: int
    top_pages: list[tuple[str, int]]
    top_referrers: list[tuple[str, int]]
    countries: list[tuple[str, int]]
    browsers: list[tuple[str, int]]
    operating_systems: list[tuple[str, int]]
    paths: list[tuple[str, str, int]]


def _range(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise BadInput(f"`to` must be on or after `from`, at most {MAX_RANGE_DAYS} days later.")
    return datetime.combine(start, time.min, UTC), datetime.combine(
        end + timedelta(days=1), time.min, UTC
    )


async def _counted(query: object, field: str, limit: int = TOP) -> list[tuple[str, int]]:
    rows = await query.annotate(n=Count("id")).group_by(field).values(field, "n")  # type: ignore[attr-defined]
    pairs = [(str(row[field]), int(row["n"])) for row in rows if row[field] is not None]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:limit]


async def site_stats(call: Call, start: date, end: date) -> Stats:
    """Admins: visits, page views and where they came from, between two dates (inclusive)."""
    require_admin(call)
    low, high = _range(start, end)
    visits = Visit.filter(started_at__gte=low, started_at__lt=high)
    views = PageView.filter(created_at__gte=low, created_at__lt=high)
    spans = await visits.values_list("started_at", "ended_at")
    seconds = [(ended - started).total_seconds() for started, ended in spans]
    moves = (
        await views.filter(previous_path__isnull=False)
        .annotate(n=Count("id"))
        .group_by("previous_path", "path")
        .values("previous_path", "path", "n")
    )
    paths = sorted(
        ((m["previous_path"], m["path"], int(m["n"])) for m in moves),
        key=lambda m: (-m[2], m[0], m[1]),
    )
    return Stats(
        visits=len(spans),
        page_views=await views.count(),
        average_visit_seconds=round(sum(seconds) / len(seconds), 1) if seconds else 0.0,
        registrations=await User.filter(joined_at__gte=low, joined_at__lt=high).count(),
        top_pages=await _counted(views, "path"),
        top_referrers=await _counted(views.filter(referrer_internal=False), "referrer_domain"),
        countries=await _counted(visits, "country", 50),
        browsers=await _counted(visits, "browser", 50),
        operating_systems=await _counted(visits, "operating_system", 50),
        paths=paths[:20],
    )


@dataclass(frozen=True)
class SharedAddress:
    """Another account seen at an address the member used: when and how often, not where."""

    user_id: int
    first_seen: datetime
    last_seen: datetime
    times: int


async def accounts_sharing_address(call: Call, user_id: int, reason: str) -> list[SharedAddress]:
    """Staff: accounts that used any address the member used, matched by keyed hash. Audited."""
    staff = require_staff(call)
    why = staff_reason(reason)
    member = await User.get_or_none(id=user_id)
    if member is None:
        return []  # as privilegedProfile: no such member, nothing read, nothing to audit
    require_admin_for_staff(staff, member, STAFF_DATA)
    mine = await sightings(user_ids=[user_id])
    hashes = {s.ip_hash for s in mine}
    if call.vault.rotating:
        # Rows hold hashes under either key until `rotate-keys --finish`: the member's
        # addresses, hashed under every listed key, match them all.
        for cipher in await ciphers_of(user_id):
            hashes.update(call.vault.fingerprints_of_sealed(cipher))
    await audit(staff, "MATCH_SHARED_ADDRESSES", user_id, MATCH_FIELDS, why)
    if not hashes:
        return []
    found: dict[int, SharedAddress] = {}
    for seen in await sightings(hashes=hashes):
        if seen.user_id == user_id:
            continue
        old = found.get(seen.user_id)
        found[seen.user_id] = SharedAddress(
            seen.user_id,
            min(seen.at, old.first_seen) if old else seen.at,
            max(seen.at, old.last_seen) if old else seen.at,
            (old.times if old else 0) + 1,
        )
    # Each matched member is shown too (with when and how often), so each is told.
    await audit_each(staff, "MATCHED_SHARED_ADDRESS", sorted(found), MATCH_FIELDS, why)
    return sorted(found.values(), key=lambda s: (-s.times, s.user_id))
