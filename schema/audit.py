"""The audit log: entries, the admins' log and each member's privacyReads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models.audit import AuditEntry as AuditRow
from resolvers import audit
from resolvers.pagination import Page
from schema import ids
from schema.accounts import User, load_account
from schema.context import Context
from schema.node import Node, register
from schema.pagination import Connection, Edge, PageSize, StartAfter
from schema.permissions import IsAdmin


@strawberry.type(description="One privileged read or moderator action, for accountability.")
class AuditEntry(Node):
    row: strawberry.Private[AuditRow]

    @strawberry.field(description="Opaque global ID of the entry.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("AuditEntry", self.row.id))

    @strawberry.field(description="The staff member who acted; null if their account is gone.")
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await load_account(info, self.row.actor_id)  # type: ignore[attr-defined]

    @strawberry.field(description="What was done, e.g. READ_PRIVATE_PROFILE.")
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description="Whose data it concerned; null if none or gone.")
    async def subject(self, info: Info[Context, None]) -> User | None:
        return await load_account(info, self.row.subject_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Which fields were read.")
    def fields(self) -> list[str]:
        return list(self.row.fields_read)

    @strawberry.field(description="The reason the staff member gave.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="One audit entry in a list, with its cursor.")
class AuditEntryEdge(Edge[AuditEntry]):
    pass


@strawberry.type(description="A page of audit entries, newest first.")
class AuditEntryConnection(Connection[AuditEntryEdge]):
    @classmethod
    def of_entries(cls, page: Page[AuditRow]) -> AuditEntryConnection:
        """The connection for a page of audit rows."""
        return cls.of(page, "AuditEntry", lambda row: AuditEntry(row=row))


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Admins: the audit log, newest first.", permission_classes=[IsAdmin]
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: PageSize = None,
        after: StartAfter = None,
    ) -> AuditEntryConnection | None:
        return AuditEntryConnection.of_entries(
            await audit.audit_page(info.context.call, first, after)
        )


async def _audit_entry_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.audit_entry.load(key)
    return AuditEntry(row=row) if row is not None else None


register("AuditEntry", _audit_entry_node)
