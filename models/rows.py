"""Light read-only rows for the batch reads of pages: one NamedTuple per kind of row,
built straight from a statement's dict rows (models/sql.py `fetch`).

Building a Tortoise model costs ~15 µs a row (every column through the model's
`__setattr__` and its field's `to_python_value`), and a thread page builds more than a
hundred. A row here is a tuple of the columns the schema reads (no password hash, no
address columns); only the values that need it are converted, by a converter chosen
once per column from Tortoise's own rule (the columns its `_init_from_db` converts), so
a value reads exactly as the model's would. Whatever writes, or needs a model's
methods, still reads a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

from tortoise.fields.data import CharEnumFieldInstance, DatetimeField, parse_datetime
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_timezone, get_use_tz

from models.base import Role
from models.privacy import Audience


class AccountRow(NamedTuple):
    """A member's account as pages show it."""

    id: int
    username: str
    email: str
    date_of_birth: date
    role: Role
    joined_at: datetime
    email_confirmed_at: datetime | None
    last_seen_at: datetime | None
    suspended_until: datetime | None
    newsletter: bool
    deleted_at: datetime | None

    @property
    def confirmed(self) -> bool:
        """Has the member confirmed their email address?"""
        return self.email_confirmed_at is not None


class ProfileRow(NamedTuple):
    """A member's profile (every column None for a member who never wrote one)."""

    user_id: int | None
    bio: str | None
    location: str | None
    website: str | None
    diet_plan: str | None
    start_weight_kg: Decimal | None
    current_weight_kg: Decimal | None
    goal_weight_kg: Decimal | None


NO_PROFILE = ProfileRow(None, None, None, None, None, None, None, None)


class SettingsRow(NamedTuple):
    """A member's saved privacy settings: each audience an Audience member already."""

    user_id: int
    email: Audience
    date_of_birth: Audience
    age: Audience
    last_seen: Audience
    bio: Audience
    location: Audience
    website: Audience
    diet_plan: Audience
    weight_journey: Audience
    followers: Audience
    following: Audience
    who_can_message: Audience
    who_can_mention: Audience
    listed_in_members: bool


class MessageRow(NamedTuple):
    """A message as a page shows it (its client record stays in the database)."""

    id: int
    thread_id: int | None
    conversation_id: int | None
    author_id: int | None
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden_at: datetime | None


class ThreadRow(NamedTuple):
    """A thread as a page shows it."""

    id: int
    forum_id: int
    author_id: int | None
    title: str
    created_at: datetime
    last_message_id: int
    locked: bool
    pinned: bool


class ConversationRow(NamedTuple):
    """A conversation as the inbox shows it."""

    id: int
    title: str
    created_by_id: int | None
    created_at: datetime
    last_message_id: int


R = TypeVar("R", bound=tuple[Any, ...])
Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Shape(Generic[R]):
    """How rows of one kind come out of a statement: the model's table, the NamedTuple
    whose field names are its columns, and the alias the columns are selected under
    (`alias__column` keys, as models/sql.py `select_list` writes them) or none."""

    row: type[R]
    model: type[Model]
    alias: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns selected, in the row's order."""
        return self.row._fields  # type: ignore[attr-defined,no-any-return]

    def key(self, column: str) -> str:
        """The result key a column comes back under."""
        return f"{self.alias}__{column}" if self.alias else column

    def select_list(self) -> str:
        """The select list of the row's columns (`alias."column" AS "alias__column"`)."""
        if self.alias is None:
            return ", ".join(f'"{column}"' for column in self.columns)
        return ", ".join(
            f'{self.alias}."{column}" AS "{self.key(column)}"' for column in self.columns
        )

    def build(self, found: Mapping[str, Any]) -> R:
        """The row a statement's dict row holds."""
        return self.builder()(found)

    def build_all(self, found: list[dict[str, Any]]) -> list[R]:
        """The rows of a statement's dict rows, in order."""
        build = self.builder()
        return [build(row) for row in found]

    def builder(self) -> Callable[[Mapping[str, Any]], R]:
        """The build function for the connected database (made once per database kind
        and time-zone setting: they decide which values need converting)."""
        setting = (self.model._meta.db.executor_class, get_use_tz(), get_timezone())
        made = _BUILDERS.get((self, setting))
        if made is None:
            made = _BUILDERS[(self, setting)] = self._make_builder()
        return made

    def _make_builder(self) -> Callable[[Mapping[str, Any]], R]:
        get = itemgetter(*(self.key(column) for column in self.columns))
        make = self.row._make  # type: ignore[attr-defined]
        converters = [
            (index, convert)
            for index, column in enumerate(self.columns)
            if (convert := converter(self.model, column)) is not None
        ]
        if not converters:
            return lambda found: make(get(found))  # type: ignore[no-any-return]

        def build(found: Mapping[str, Any]) -> R:
            values = list(get(found))
            for index, convert in converters:
                value = values[index]
                if value is not None:  # None is None for every field
                    values[index] = convert(value)
            return make(values)  # type: ignore[no-any-return]

        return build


_BUILDERS: dict[tuple[Shape[Any], tuple[Any, ...]], Callable[[Mapping[str, Any]], Any]] = {}


def converter(model: type[Model], column: str) -> Convert | None:
    """What a column's non-null value goes through to read as the model's attribute
    would, or None when the driver's value already is it (Tortoise's own split of the
    columns into native, default and complex ones)."""
    meta = model._meta
    if any(key == column for key, _, _ in meta.db_native_fields):
        return None
    for key, _, field in meta.db_default_fields:
        if key == column:
            return field.field_type  # type: ignore[no-any-return]
    field = meta.fields_map[meta.fields_db_projection_reverse[column]]
    if isinstance(field, DatetimeField):
        return _datetime(field)
    if isinstance(field, CharEnumFieldInstance):
        return _enum(field.enum_type)
    return field.to_python_value  # type: ignore[no-any-return]


def _datetime(field: DatetimeField) -> Convert:
    """DatetimeField.to_python_value with its common case inlined: an aware timestamp
    (PostgreSQL's datetime, SQLite's ISO text) moved to the configured time zone."""
    if not get_use_tz():
        return field.to_python_value
    zone = get_default_timezone()

    def convert(value: Any) -> Any:
        if type(value) is str:
            value = parse_datetime(value)
        elif not isinstance(value, datetime):
            return field.to_python_value(value)
        if value.utcoffset() is None:
            return field.to_python_value(value)  # naive: made aware Tortoise's way
        return value.astimezone(zone)

    return convert


def _enum(enum_type: type[Enum]) -> Convert:
    """The enum member of a stored value: a dict look-up, the enum's call for anything
    else (which raises as Tortoise's would for a value that is no member)."""
    members = {member.value: member for member in enum_type}

    def convert(value: Any) -> Any:
        found = members.get(value)
        return found if found is not None else enum_type(value)

    return convert
