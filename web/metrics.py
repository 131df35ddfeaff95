"""/metrics: Prometheus text format for a scraper on loopback or a private network
(METRICS=on; the route does not exist otherwise)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from resolvers.mails import unsent_mail_count
from services import metrics
from services.settings import Settings
from web.probes import is_private_peer


async def metrics_page(request: Request) -> Response:
    """Every metric, to private peers only: counts of what the site does are the
    operator's business, not a visitor's."""
    if not is_private_peer(request.client.host if request.client else None):
        return PlainTextResponse("Forbidden", status_code=403)
    body, media_type = metrics.exposition(await unsent_mail_count())
    return Response(body, media_type=media_type)


def metrics_routes(settings: Settings) -> list[Route]:
    """The /metrics route when METRICS=on."""
    if settings.metrics != "on":
        return []
    return [Route("/metrics", metrics_page, methods=["GET"])]
