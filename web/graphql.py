"""The GraphQL endpoint: Strawberry's ASGI view with our context, page and protocols."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from resolvers.common import Call
from resolvers.sessions import session_for_token
from schema.context import SESSION_COOKIE, Context, Loaders
from schema.plans import encode
from services.addresses import AddressVault
from services.broker import Broker
from services.markdown import Renderer
from services.ratelimits import RateLimits
from services.settings import Settings
from web.graphiql import graphiql_page
from web.middleware import CLIENT_IP
from web.persisted import PersistedQueries
from web.requestlog import RAN_ANONYMOUSLY, REQUEST_ID, VIEWER_ID, note_operation
from web.websocket import SocketSlots, TransportWS

INIT_WAIT_SECONDS = 10

DEFAULT_QUERY = """# A thread page of the demo forum (`make run` seeds it). Every type and field is
# documented: open the Docs pane. Sign in with the `login` mutation (demo members
# alice, bob, carol; password forum-demo-2026; the demo staff's passwords are the ones
# `seed` printed) to see more of members' profiles.
query ThreadPage($after: String) {
  thread(id: "VGhyZWFkOjE") {
    title
    forum { slug title }
    messages(first: 50, after: $after) {
      edges {
        cursor
        node {
          bodyHtml
          createdAt
          author { username profile { bio location } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


class ForumGraphQL(GraphQL[Context, None]):
    """`/graphql`: JSON over POST (and queries over GET), graphql-transport-ws, GraphiQL."""

    graphql_transport_ws_handler_class = TransportWS

    def __init__(
        self,
        schema: Any,
        settings: Settings,
        vault: AddressVault,
        renderer: Renderer,
        broker: Broker,
        queries: PersistedQueries,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],  # no legacy graphql-ws
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=20,
            # A socket that never says hello is dropped soon (graphql-ws waits 3 s).
            connection_init_wait_timeout=timedelta(seconds=INIT_WAIT_SECONDS),
            allowed_origins=sorted(settings.origins),
        )
        self.settings = settings
        self.vault = vault
        self.renderer = renderer
        self.broker = broker
        self.queries = queries  # the HTTP front's rules too: one object for both paths
        self.limits = RateLimits(enabled=settings.rate_limits == "on")
        self.sockets = SocketSlots(settings.ws_max_per_client, settings.ws_max_per_member)

    def encode_json(self, data: object) -> str:
        """Every answer through the plans' encoder, so both executors write the same bytes.
        Text, not bytes: Strawberry sends bytes over a WebSocket as binary frames, and
        graphql-transport-ws messages are text."""
        return encode(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """A WebSocket frame's JSON: nesting deeper than the parser recurses is invalid
        JSON, so the socket is closed with 4400 as for any other bad frame."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None

    def parse_json(self, data: str | bytes) -> object:
        """An HTTP body or parameter: too deep nesting stays a RecursionError, which the
        write guard answers with its coded 400 (web/middleware.py)."""
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            return super().parse_json(data)  # Strawberry's own 400 for text that is not JSON

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        """Who is asking: the session cookie's member, the client, and fresh loaders."""
        call = Call(
            settings=self.settings,
            vault=self.vault,
            limits=self.limits,
            renderer=self.renderer,
            broker=self.broker,
            ip=request.scope.get(CLIENT_IP, "0.0.0.0"),  # noqa: S104 - "unknown", never bound
            user_agent=(request.headers.get("user-agent") or "")[:512],
        )
        found = await session_for_token(
            request.cookies.get(SESSION_COOKIE), self.settings.session_days
        )
        blocked = None
        if found is not None:
            call.session, call.viewer, blocked = found.session, found.user, found.blocked
            request.scope[VIEWER_ID] = call.viewer.id
        else:
            request.scope[RAN_ANONYMOUSLY] = True
        return Context(
            call=call,
            request=request,
            request_id=request.scope.get(REQUEST_ID) or uuid.uuid4().hex,
            loaders=Loaders.for_viewer(call.viewer, blocked=blocked),
            over_socket=request.scope.get("type") == "websocket",
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """Run the operation, then give the response the cookies it changed and the log
        line its name."""
        result = await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )
        set_cookies(sub_response, context, secure=self.settings.secure_cookies)
        note_operation(request.scope, context.operation_name)
        return result

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from our own files, opening on an example query."""
        return HTMLResponse(graphiql_page(DEFAULT_QUERY))


def set_cookies(response: Response, context: Context, *, secure: bool) -> None:
    """Apply the cookie changes the operation recorded (HttpOnly, SameSite=Lax, site-wide)."""
    for name, change in context.cookies.items():
        if change.value is None:
            response.delete_cookie(name, httponly=True, secure=secure, samesite="lax")
        else:
            response.set_cookie(
                name, change.value, max_age=change.max_age, httponly=True, secure=secure,
                samesite="lax", path="/",
            )  # fmt: skip
