"""Every userErrors code, defined once: one enum per domain, each code with its meaning.
Resolvers refuse with a member of these (`Refused(ForumCode.FORUM_NOT_FOUND, ...)`);
the schema's `UserErrorCode` enum lists them all, so clients find every code in GraphiQL."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Code(StrEnum):
    """A stable UPPER_SNAKE code and what it means; a member is written as
    `NAME = "NAME", "meaning"` (the value is the code clients read in `code`)."""

    description: str

    def __new__(cls, code: str, description: str) -> Self:
        """A member whose value is `code`."""
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member


class ChangeCode(Code):
    """Any change a member or staff asks for."""

    NOTHING_TO_CHANGE = "NOTHING_TO_CHANGE", "The change names nothing to change."


class AccessCode(Code):
    """Who may write at all."""

    EMAIL_NOT_CONFIRMED = "EMAIL_NOT_CONFIRMED", "Confirm your email address first."
    SUSPENDED = "SUSPENDED", "Your account is suspended; the message says until when."


class AccountCode(Code):
    """Registration, confirmation and the account's address and name."""

    EMAIL_INVALID = "EMAIL_INVALID", "Not a valid email address."
    EMAIL_TAKEN = "EMAIL_TAKEN", "Another account has that address (createuser only)."
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT", "The password is too short."
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG", "The password is too long."
    PASSWORD_INVALID = "PASSWORD_INVALID", "The password holds a character it cannot hold."
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON", "The password is too common or too like you."
    USERNAME_INVALID = "USERNAME_INVALID", "The username breaks a rule the message names."
    USERNAME_RESERVED = "USERNAME_RESERVED", "The username is reserved."
    USERNAME_TAKEN = "USERNAME_TAKEN", "Another member has that username (or one like it)."
    DATE_OF_BIRTH_INVALID = "DATE_OF_BIRTH_INVALID", "Not a real date of birth."
    TOO_YOUNG = "TOO_YOUNG", "Under the site's minimum age."
    POLICY_NOT_ACCEPTED = "POLICY_NOT_ACCEPTED", "The current privacy policy was not accepted."
    INVALID_TOKEN = "INVALID_TOKEN", "The mailed link is invalid or has expired."
    WRONG_PASSWORD = "WRONG_PASSWORD", "The password given is not the account's."
    SAME_EMAIL = "SAME_EMAIL", "That is already the account's address."


class SessionCode(Code):
    """Signing in and the member's sessions."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS", "Wrong login or password (never says which)."
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND", "You have no such session."


class ProfileCode(Code):
    """Profiles and follows."""

    TOO_LONG = "TOO_LONG", "A profile field is longer than it may be."
    INVALID_URL = "INVALID_URL", "The website is not an http(s) address."
    WEIGHT_OUT_OF_RANGE = "WEIGHT_OUT_OF_RANGE", "A weight outside the range the site takes."
    USER_NOT_FOUND = "USER_NOT_FOUND", "There is no such member."
    CANNOT_FOLLOW_SELF = "CANNOT_FOLLOW_SELF", "Members cannot follow themselves."


class PrivacyCode(Code):
    """Privacy settings."""

    UNKNOWN_SETTING = "UNKNOWN_SETTING", "No such privacy setting."


class ForumCode(Code):
    """Forums and threads."""

    TITLE_LENGTH = "TITLE_LENGTH", "The title is empty or too long."
    FORUM_NOT_FOUND = "FORUM_NOT_FOUND", "There is no such forum."
    THREAD_NOT_FOUND = "THREAD_NOT_FOUND", "There is no such thread."
    SLUG_INVALID = "SLUG_INVALID", "The forum slug is missing or not lower-case a-z, 0-9, hyphens."
    SLUG_TAKEN = "SLUG_TAKEN", "Another forum has that slug."
    DESCRIPTION_TOO_LONG = "DESCRIPTION_TOO_LONG", "The forum description is too long."
    POSITION_INVALID = "POSITION_INVALID", "The forum position is out of range."


class MessageCode(Code):
    """Writing, editing and deleting messages."""

    BODY_EMPTY = "BODY_EMPTY", "The message is empty."
    BODY_TOO_LONG = "BODY_TOO_LONG", "The message is too long."
    INVALID_TEXT = "INVALID_TEXT", "The text holds a NUL character."
    MESSAGE_NOT_FOUND = "MESSAGE_NOT_FOUND", "There is no such message you can act on."
    MESSAGE_GONE = "MESSAGE_GONE", "The message was deleted or hidden."
    EDIT_WINDOW_CLOSED = "EDIT_WINDOW_CLOSED", "The time to edit the message has passed."
    THREAD_LOCKED = "THREAD_LOCKED", "The thread is locked: only staff write in it."


class ConversationCode(Code):
    """Private conversations."""

    RECIPIENTS_COUNT = "RECIPIENTS_COUNT", "Too few or too many recipients."
    CANNOT_MESSAGE = "CANNOT_MESSAGE", "That member does not take messages from you."
    CONVERSATION_NOT_FOUND = "CONVERSATION_NOT_FOUND", "You have no such conversation."


class ModerationCode(Code):
    """Reports and moderators' actions."""

    REASON_LENGTH = "REASON_LENGTH", "The reason is too short or too long."
    REPORT_NOT_FOUND = "REPORT_NOT_FOUND", "There is no such open report."
    UNTIL_IN_PAST = "UNTIL_IN_PAST", "A suspension must end in the future."
    REASON_INVALID = "REASON_INVALID", "A staff action's reason is empty or too long."
    LAST_ADMIN = "LAST_ADMIN", "The change would leave no admin who can act."


class RightsCode(Code):
    """Correction requests."""

    FIELD_INVALID = "FIELD_INVALID", "Name the data to correct."
    VALUE_LENGTH = "VALUE_LENGTH", "The proposed value is empty or too long."
    DATE_INVALID = "DATE_INVALID", "Write the date as YYYY-MM-DD."
    REQUEST_NOT_OPEN = "REQUEST_NOT_OPEN", "There is no such open request."


class PolicyCode(Code):
    """The privacy policy and consents."""

    VERSION_INVALID = "VERSION_INVALID", "Not a valid version label."
    VERSION_TAKEN = "VERSION_TAKEN", "That version is already published."
    POLICY_NOT_CURRENT = "POLICY_NOT_CURRENT", "Accept the current version of the policy."
    USE_ACCEPT_POLICY = "USE_ACCEPT_POLICY", "Accept the policy with acceptPrivacyPolicy."
    BODY_LENGTH = "BODY_LENGTH", "The text is empty or too long."


class NewsletterCode(Code):
    """Newsletters."""

    SUBJECT_LENGTH = "SUBJECT_LENGTH", "The subject is empty or too long."


class ActivityCode(Code):
    """Page views."""

    PATH_INVALID = "PATH_INVALID", "Not a path on this site."
    REFERRER_INVALID = "REFERRER_INVALID", "The referrer is too long."


class BlockCode(Code):
    """Blocking another member."""

    CANNOT_BLOCK_SELF = "CANNOT_BLOCK_SELF", "You cannot block yourself."


class NotificationCode(Code):
    """Notifications and watched threads."""

    IDS_OR_ALL = "IDS_OR_ALL", "Name the notifications to mark read, or ask for all of them."


DOMAINS: tuple[type[Code], ...] = (
    ChangeCode,
    AccessCode,
    AccountCode,
    SessionCode,
    ProfileCode,
    PrivacyCode,
    ForumCode,
    MessageCode,
    ConversationCode,
    ModerationCode,
    RightsCode,
    PolicyCode,
    NewsletterCode,
    ActivityCode,
    BlockCode,
    NotificationCode,
)
