"""Keyset pagination: cursors, page sizes and the page shape every connection shares."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

from resolvers.common import BadInput

T = TypeVar("T")
MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows in order, with each row's keyset value and the neighbours' news."""

    rows: list[T]
    keys: list[int]
    has_next: bool
    has_previous: bool


def page_size(first: int | None, last: int | None = None) -> int:
    """The number of rows asked for, refusing sizes outside 1..100."""
    if first is not None and last is not None:
        raise BadInput("Pass either `first` or `last`, not both.")
    size = first if first is not None else last
    if size is None:
        return DEFAULT_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise BadInput(f"`first` and `last` must be between 1 and {MAX_PAGE}.")
    return size


def encode_cursor(kind: str, key: int) -> str:
    """An opaque cursor for a keyset position (only the public row id inside)."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The keyset position inside a cursor made for `kind`, or BadInput."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadInput("That cursor is not valid here.") from error
    found, _, key = raw.partition(":")
    if found != kind or not (key.isascii() and key.isdigit()) or len(key) > 18 or len(cursor) > 100:
        raise BadInput("That cursor is not valid here.")
    return int(key)


def make_page(rows: Sequence[T], keys: Sequence[int], size: int, *, after: bool) -> Page[T]:
    """A page from `size + 1` fetched rows: the extra row only says there is more."""
    more = len(rows) > size
    return Page(list(rows[:size]), list(keys[:size]), has_next=more, has_previous=after)


async def id_page(
    query: QuerySet[Any], kind: str, first: int | None, after: str | None, *, newest_first: bool
) -> Page[Any]:
    """A keyset page of a query's rows by id (`kind` names the cursors), oldest or newest
    first."""
    size = page_size(first)
    position = decode_cursor(kind, after)
    if position is not None:
        query = query.filter(id__lt=position) if newest_first else query.filter(id__gt=position)
    rows = await query.order_by("-id" if newest_first else "id").limit(size + 1)
    return make_page(rows, [row.id for row in rows], size, after=position is not None)
