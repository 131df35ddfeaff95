"""One way to write a mutation: hand-written payload types that mix in `Payload`, and
`attempt`, which runs the resolver and turns its refusal into userErrors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import Field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self, TypeVar

import strawberry

from resolvers.common import Refused
from schema import ids
from schema.errors import UserError

if TYPE_CHECKING:
    from schema.accounts import User

# Payloads of domains that schema.accounts itself imports name the member lazily.
LazyUser = Annotated["User", strawberry.lazy("schema.accounts")]

R = TypeVar("R")
P = TypeVar("P", bound="Payload")


class Payload:
    """Mixin for payload types: each declares its own fields (userErrors last, with its
    own description); this builds the refused and the fields-free answers."""

    # What @strawberry.type (a dataclass) gives each payload, spelled out for the checker.
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    if TYPE_CHECKING:

        def __init__(self, **fields: Any) -> None: ...

    @classmethod
    def refused(cls, refused: Refused) -> Self:
        """The answer to a refusal: its userErrors, every other field null."""
        return cls(**cls._nulls(), user_errors=UserError.of(refused))

    @classmethod
    def done(cls) -> Self:
        """The answer of a mutation that reports nothing but an empty userErrors."""
        return cls(**cls._nulls(), user_errors=[])

    @classmethod
    def _nulls(cls) -> dict[str, None]:
        return dict.fromkeys(name for name in cls.__dataclass_fields__ if name != "user_errors")


def user_of(row: Any) -> User:
    """The User type for an account row, for a payload that names the member it changed."""
    from schema.accounts import User

    return User.from_row(row)


def global_ids(type_name: str, keys: list[int]) -> list[strawberry.ID]:
    """The global IDs of rows of one type (a removal's payload names what it removed)."""
    return [strawberry.ID(ids.encode(type_name, key)) for key in keys]


async def attempt(payload: type[P], work: Awaitable[R], build: Callable[[R], P] | None = None) -> P:
    """Await a resolver's work: a refusal becomes `payload.refused`, a result `build(result)`
    (the `done` answer when there is no `build`)."""
    try:
        result = await work
    except Refused as refused:
        return payload.refused(refused)
    return build(result) if build is not None else payload.done()
