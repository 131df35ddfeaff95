"""The fields the plan compiler knows, by type: an allow-list, so a field added to the
schema (or one with side effects, such as `Message.revisions`, whose staff read is
audited) runs through graphql-core until someone adds it here and the differential test
(tests/test_plans_differential.py) has compared both executors on it."""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONNECTION = _names("edges pageInfo totalCount")
_EDGE = _names("cursor node")

KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "Query": _names("viewer user forums forum thread conversations conversation"),
    "Forum": _names("id slug title description position threads"),
    "ThreadConnection": _CONNECTION,
    "ThreadEdge": _EDGE,
    "Thread": _names("id title forum author createdAt viewerIsWatching locked pinned messages"),
    "MessageConnection": _CONNECTION,
    "MessageEdge": _EDGE,
    "PageInfo": _names("hasNextPage hasPreviousPage startCursor endCursor"),
    "Message": _names(
        "id body bodyHtml createdAt editedAt deleted hidden authorBlockedByViewer author "
        "thread conversation"
    ),
    "User": _names(
        "id username role joinedAt email dateOfBirth age lastSeenAt profile followers "
        "following viewerIsFollowing viewerCanMessage viewerHasBlocked suspendedUntil "
        "newsletter suspended privacySettings policyAccepted profilePreview "
        "unreadNotificationCount messages notificationSettings warnings"
    ),
    "PrivacySettings": _names(
        "email dateOfBirth age lastSeen bio location website dietPlan weightJourney followers "
        "following whoCanMessage whoCanMention listedInMembers"
    ),
    "NotificationSetting": _names("kind inApp email"),
    "Warning": _names("reason createdAt"),
    "UserConnection": _CONNECTION,
    "UserEdge": _EDGE,
    "Profile": _names("bio location website dietPlan weightJourney"),
    "WeightJourney": _names("startKg currentKg goalKg"),
    "ConversationConnection": _CONNECTION,
    "ConversationEdge": _EDGE,
    "Conversation": _names("id title participants createdAt unreadCount messages"),
}
