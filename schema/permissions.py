"""Who may read a field, in the schema: audiences (Private), the owner alone (OwnerOnly),
and staff or admin root fields (IsStaff, IsAdmin). Every decision is a resolvers/ rule."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

from resolvers import access, privacy
from resolvers.common import Forbidden
from resolvers.privacy import Setting
from schema.context import Context, View


class Owned(Protocol):
    """A GraphQL object holding one member's data (and, when loaded with it, the owner,
    decided for the object's reader)."""

    owner_id: int
    owner: privacy.Owner | None
    view: View | None  # whom it is resolved for; None: the request's viewer


class Mine(Protocol):
    """A GraphQL object that belongs to one member."""

    view: View | None

    @property
    def owner_id(self) -> int:
        """The member it belongs to."""
        ...


def view_of(source: Owned | Mine, info: Info[Context, None]) -> View:
    """Whom the object is resolved for: the reader it carries, else the request's."""
    return source.view if source.view is not None else info.context.view


def _must_be_nullable(kind: str, field: StrawberryField) -> None:
    """Refuse, at schema build time, a guarded field that could not read as null."""
    if not isinstance(field.type, StrawberryOptional):
        raise TypeError(f"{kind} field {field.python_name!r} must be nullable")


class Private(FieldExtension):
    """Null the field for every viewer outside the owner's audience for it."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting

    def apply(self, field: StrawberryField) -> None:
        """Refuse, at schema build time, a private field that could not be null."""
        _must_be_nullable("private", field)

    def resolve(self, next_: Any, source: Owned, info: Info[Context, None], **kwargs: Any) -> Any:
        """Decide at once when the owner came with the object (the usual case on pages);
        otherwise load the owner first."""
        if source.owner is None:
            return self.resolve_async(next_, source, info, **kwargs)
        if not privacy.can_view(view_of(source, info).viewer, source.owner, self.setting):
            return None
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Any, source: Owned, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        """Decide first: a hidden value costs no query and reveals nothing."""
        view = view_of(source, info)
        owner = source.owner or await view.loaders.owner_by_id.load(source.owner_id)
        if not privacy.can_view(view.viewer, owner, self.setting):
            return None
        value = next_(source, info, **kwargs)
        return await value if inspect.isawaitable(value) else value


class OwnerOnly(FieldExtension):
    """Null the field for everyone but the member it belongs to (staff included)."""

    def apply(self, field: StrawberryField) -> None:
        """Refuse, at schema build time, an owner-only field that could not be null."""
        _must_be_nullable("owner-only", field)

    def resolve(self, next_: Any, source: Mine, info: Info[Context, None], **kwargs: Any) -> Any:
        """The owner reads the value; anyone else reads null, and no query runs."""
        if not privacy.is_owner(view_of(source, info).viewer, source.owner_id):
            return None
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Any, source: Mine, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        """As `resolve`, for fields that await."""
        if not privacy.is_owner(view_of(source, info).viewer, source.owner_id):
            return None
        value = next_(source, info, **kwargs)
        return await value if inspect.isawaitable(value) else value


class IsStaff(BasePermission):
    """A root field for moderators and admins who are not suspended: UNAUTHENTICATED
    signed out, FORBIDDEN for anyone else (the resolver checks again)."""

    message = Forbidden().args[0]

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        """Raise the coded error of resolvers.access.require_staff, or allow."""
        access.require_staff(info.context.call)
        return True


class IsAdmin(BasePermission):
    """A root field for admins who are not suspended: UNAUTHENTICATED signed out,
    FORBIDDEN for anyone else (the resolver checks again)."""

    message = Forbidden().args[0]

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        """Raise the coded error of resolvers.access.require_admin, or allow."""
        access.require_admin(info.context.call)
        return True
