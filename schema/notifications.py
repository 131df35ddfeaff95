"""Notifications (the list, read marks, per-kind settings, live) and watched threads.

What a notification points at resolves through the loaders every other read uses, for
the recipient: a message since hidden reads hidden and empty, a conversation they left
reads null, the actor's fields follow the actor's privacy.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from models import notifications as models
from models.notifications import NotificationKind as KindValue
from resolvers import notifications
from resolvers.access import require_member
from resolvers.pagination import Page
from schema import ids
from schema.context import Context
from schema.errors import UserError
from schema.messages import Message, Thread, load_user, still_signed_in
from schema.node import Node, register
from schema.pagination import After, Connection, Edge, First
from schema.payloads import Payload, attempt

if TYPE_CHECKING:
    from schema.accounts import User
    from schema.conversations import Conversation

LazyUser = Annotated["User", strawberry.lazy("schema.accounts")]
LazyConversation = Annotated["Conversation", strawberry.lazy("schema.conversations")]


@strawberry.enum(description="Why a member is told something.")
class NotificationKind(Enum):
    REPLY = strawberry.enum_value(
        KindValue.REPLY.value,
        description="A reply in a thread you watch (starting or replying in one watches it).",
    )
    MENTION = strawberry.enum_value(
        KindValue.MENTION.value, description="A public message mentions you (@username)."
    )
    CONVERSATION_MESSAGE = strawberry.enum_value(
        KindValue.CONVERSATION_MESSAGE.value, description="A message in one of your conversations."
    )
    NEW_FOLLOWER = strawberry.enum_value(
        KindValue.NEW_FOLLOWER.value, description="A member started following you."
    )
    MODERATION = strawberry.enum_value(
        KindValue.MODERATION.value,
        description="Staff acted on you or your message (warning, hiding, suspension, report).",
    )


@strawberry.type(description="Something that happened for you.")
class Notification(Node):
    row: strawberry.Private[models.Notification]

    @strawberry.field(description="Opaque global ID of the notification.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Notification", self.row.id))

    @strawberry.field(description="Why you are told.")
    def kind(self) -> NotificationKind:
        return NotificationKind(self.row.kind.value)

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When you marked it read; null while unread.")
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field(
        description="Who did it (as you may see them); null for staff actions and erased members."
    )
    async def actor(self, info: Info[Context, None]) -> LazyUser | None:
        return await load_user(info, self.row.actor_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The thread it is about; null if none.")
    async def thread(self, info: Info[Context, None]) -> Thread | None:
        thread_id = self.row.thread_id  # type: ignore[attr-defined]
        if thread_id is None:
            return None
        row = await info.context.loaders.thread_by_id.load(thread_id)
        return Thread(row=row) if row is not None else None

    @strawberry.field(
        description="The message it is about, as you may read it now (hidden or deleted ones "
        "read empty); null if none or no longer yours to read."
    )
    async def message(self, info: Info[Context, None]) -> Message | None:
        message_id = self.row.message_id  # type: ignore[attr-defined]
        if message_id is None:
            return None
        row = await info.context.loaders.message_by_id.load(message_id)
        if row is None:
            return None
        conversation_id = row.conversation_id  # type: ignore[attr-defined]
        # A conversation the recipient left is theirs no more.
        if conversation_id is not None and not await self._mine(info, conversation_id):
            return None
        return Message.of(row)

    async def _mine(self, info: Info[Context, None], conversation_id: int) -> bool:
        return await info.context.loaders.my_conversation.load(conversation_id) is not None

    @strawberry.field(description="The conversation it is about; null if none or if you left it.")
    async def conversation(self, info: Info[Context, None]) -> LazyConversation | None:
        from schema.conversations import Conversation

        conversation_id = self.row.conversation_id  # type: ignore[attr-defined]
        if conversation_id is None:
            return None
        row = await info.context.loaders.my_conversation.load(conversation_id)
        return Conversation(row=row) if row is not None else None

    @strawberry.field(description="For MODERATION: what staff did and why; null otherwise.")
    def text(self) -> str | None:
        return self.row.text


@strawberry.type(description="One notification in a list, with its cursor.")
class NotificationEdge(Edge[Notification]):
    pass


@strawberry.type(description="A page of your notifications, newest first.")
class NotificationConnection(Connection[NotificationEdge]):
    @classmethod
    def of_rows(cls, page: Page[models.Notification]) -> NotificationConnection:
        """The connection for a page of notification rows."""
        return cls.of(page, "Notification", lambda row: Notification(row=row))


@strawberry.type(description="How you want to hear of one kind of notification.")
class NotificationSetting:
    kind: NotificationKind = strawberry.field(description="The kind.")
    in_app: bool = strawberry.field(description="Listed in `notifications`. Default true.")
    email: bool = strawberry.field(
        description="Mailed (batched: at most one mail per kind within the mail delay). "
        "Default false."
    )

    @classmethod
    def of(cls, kind: KindValue, choice: notifications.Choice) -> NotificationSetting:
        """The type for one kind's setting."""
        return cls(kind=NotificationKind(kind.value), in_app=choice.in_app, email=choice.email)


@strawberry.input(description="Notifications to mark read: `ids`, or `all: true`.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Your notifications' IDs (at most {notifications.MARK_MAX}); others "
        "mark nothing.",
    )
    all: bool | None = strawberry.field(default=None, description="Mark every one read.")


@strawberry.type(description="Result of markNotificationsRead.")
class MarkNotificationsReadPayload(Payload):
    unread_notification_count: int | None = strawberry.field(
        description="Your unread notifications now; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="How to hear of one kind; fields left out stay as they are.")
class UpdateNotificationSettingInput:
    kind: NotificationKind = strawberry.field(description="The kind to change.")
    in_app: bool | None = strawberry.field(default=None, description="List it in the app.")
    email: bool | None = strawberry.field(default=None, description="Mail it (batched).")


@strawberry.type(description="Result of updateNotificationSetting.")
class UpdateNotificationSettingPayload(Payload):
    notification_setting: NotificationSetting | None = strawberry.field(
        description="The setting now in force; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="The thread to watch or stop watching.")
class WatchThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread's global ID.")


@strawberry.type(description="Result of watchThread and unwatchThread.")
class WatchThreadPayload(Payload):
    thread: Thread | None = strawberry.field(description="The thread; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="Your notifications, newest first (none from members you blocked); "
        "UNAUTHENTICATED when signed out."
    )
    async def notifications(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        unread_only: Annotated[
            bool | None, strawberry.argument(description="Only the unread ones.")
        ] = None,
    ) -> NotificationConnection | None:
        blocked = await info.context.viewer_blocked()
        call = info.context.call
        page = await notifications.notification_page(call, blocked, first, after, bool(unread_only))
        return NotificationConnection.of_rows(page)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Mark notifications read. Ids that are not yours mark nothing, and the "
        "answer is the same as for unknown ids."
    )
    async def mark_notifications_read(
        self, info: Info[Context, None], input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload | None:
        keys = None
        if input.ids is not None:
            keys = [ids.decode_pk(global_id, "Notification") for global_id in input.ids]
        blocked = await info.context.viewer_blocked()
        return await attempt(
            MarkNotificationsReadPayload,
            notifications.mark_read(info.context.call, blocked, keys, bool(input.all)),
            lambda count: MarkNotificationsReadPayload(
                unread_notification_count=count, user_errors=[]
            ),
        )

    @strawberry.mutation(description="Choose how to hear of one kind of notification.")
    async def update_notification_setting(
        self, info: Info[Context, None], input: UpdateNotificationSettingInput
    ) -> UpdateNotificationSettingPayload | None:
        kind = KindValue(input.kind.value)
        work = notifications.update_setting(info.context.call, kind, input.in_app, input.email)
        return await attempt(
            UpdateNotificationSettingPayload,
            work,
            lambda found: UpdateNotificationSettingPayload(
                notification_setting=NotificationSetting.of(*found), user_errors=[]
            ),
        )

    @strawberry.mutation(description="Watch a thread: its replies notify you (REPLY).")
    async def watch_thread(
        self, info: Info[Context, None], input: WatchThreadInput
    ) -> WatchThreadPayload | None:
        thread_id = ids.decode_pk(input.thread_id, "Thread")
        return await attempt(
            WatchThreadPayload,
            notifications.watch_thread(info.context.call, thread_id),
            lambda row: WatchThreadPayload(thread=Thread(row=row), user_errors=[]),
        )

    @strawberry.mutation(description="Stop watching a thread (also one you started or replied in).")
    async def unwatch_thread(
        self, info: Info[Context, None], input: WatchThreadInput
    ) -> WatchThreadPayload | None:
        thread_id = ids.decode_pk(input.thread_id, "Thread")
        return await attempt(
            WatchThreadPayload,
            notifications.unwatch_thread(info.context.call, thread_id),
            lambda row: WatchThreadPayload(thread=Thread(row=row), user_errors=[]),
        )


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(
        description="Your new notifications as they happen (those listed in the app); "
        "UNAUTHENTICATED when signed out."
    )
    async def notification_added(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[Notification, None]:
        viewer = require_member(info.context.call)
        return _notifications(info, viewer.id)


async def _notifications(
    info: Info[Context, None], user_id: int
) -> AsyncGenerator[Notification, None]:
    async for notification_id in info.context.call.broker.subscribe(notifications.topic(user_id)):
        if not await still_signed_in(info):
            return
        blocked = await info.context.viewer_blocked()
        row = await notifications.notification_of(info.context.viewer, blocked, notification_id)
        if row is not None:
            yield Notification(row=row)


async def _notification_node(info: Info[Context, None], key: int) -> Node | None:
    blocked = await info.context.viewer_blocked()
    row = await notifications.notification_of(info.context.viewer, blocked, key)
    return Notification(row=row) if row is not None else None


register("Notification", _notification_node)
