"""The member's own account: sessions, passwords, consents, policy, corrections, export,
leaving; and the admin tools for policy versions and newsletters."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import rights as rights_models
from resolvers import rights
from schema import ids
from schema.context import Context
from schema.errors import UserError
from schema.node import Node, register
from schema.pagination import CountedConnection, Edge, PageSize
from schema.payloads import LazyUser, Payload, attempt, user_of
from schema.permissions import IsStaff


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
class CorrectionRequestEdge(Edge[CorrectionRequest]):
    pass


@strawberry.type(description="A page of correction requests, oldest first.")
class CorrectionRequestConnection(CountedConnection[CorrectionRequestEdge]):
    pass


@strawberry.type(description="Result of deleteAccount.")
class DeleteAccountPayload(Payload):
    user_id: strawberry.ID | None = strawberry.field(
        description="The account that was deleted, to evict from a cache; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


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
    user: LazyUser | None = strawberry.field(
        description="You, with the request in `correctionRequests`; null if refused."
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
    user: LazyUser | None = strawberry.field(
        description="The member who asked (an applied correction changes their username or "
        "date of birth); null if refused or their account is gone."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class RightsQuery:
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
    ) -> CorrectionRequestConnection | None:
        wanted = rights_models.CorrectionStatus(status.value) if status else None
        call = info.context.call
        page = await rights.correction_page(call, wanted, first, after)
        return CorrectionRequestConnection.of(
            page,
            "CorrectionRequest",
            lambda row: CorrectionRequest(row=row),
            count=lambda: rights.correction_count(call, wanted),
        )


@strawberry.type
class RightsMutation:
    @strawberry.mutation(description="Ask moderators to correct data you cannot change yourself.")
    async def request_correction(
        self, info: Info[Context, None], input: RequestCorrectionInput
    ) -> RequestCorrectionPayload | None:
        return await attempt(
            RequestCorrectionPayload,
            rights.request_correction(
                info.context.call, input.field, input.proposed_value, input.reason
            ),
            lambda row: RequestCorrectionPayload(
                correction_request=CorrectionRequest(row=row),
                user=user_of(info.context.viewer),
                user_errors=[],
            ),
        )

    @strawberry.mutation(description="Everything held about you, as one JSON document.")
    async def export_my_data(self, info: Info[Context, None]) -> ExportMyDataPayload | None:
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
    ) -> DeleteAccountPayload | None:
        result = await attempt(
            DeleteAccountPayload,
            rights.delete_account(info.context.call, input.password),
            lambda deleted: DeleteAccountPayload(
                user_id=strawberry.ID(ids.encode("User", deleted)), user_errors=[]
            ),
        )
        info.context.sync_cookie()
        return result

    @strawberry.mutation(
        description="Moderators: apply or reject a correction request (audited).",
        permission_classes=[IsStaff],
    )
    async def resolve_correction(
        self, info: Info[Context, None], input: ResolveCorrectionInput
    ) -> ResolveCorrectionPayload | None:
        call = info.context.call
        request_id = ids.decode_pk(input.request_id, "CorrectionRequest")
        return await attempt(
            ResolveCorrectionPayload,
            rights.resolve_correction(call, request_id, input.apply, input.response),
            lambda row: ResolveCorrectionPayload(
                correction_request=CorrectionRequest(row=row),
                user=user_of(row.user),
                user_errors=[],
            ),
        )


async def _correction_request_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.correction_request.load(key)
    return CorrectionRequest(row=row) if row is not None else None


register("CorrectionRequest", _correction_request_node)
