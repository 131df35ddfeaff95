"""The staff-tools documents (one per new mutation, selecting their payload) and the cast
of members most staff tests use."""

from __future__ import annotations

from models.accounts import User
from models.base import Role
from tests.support.harness import Client
from tests.support.members import member

CREATE_FORUM = """mutation($i: CreateForumInput!) {
  createForum(input: $i) {
    forum { slug title description position } userErrors { field message code }
  }
}"""
UPDATE_FORUM = """mutation($i: UpdateForumInput!) {
  updateForum(input: $i) {
    forum { slug title description position } userErrors { field message code }
  }
}"""
SET_ROLE = """mutation($i: SetRoleInput!) {
  setRole(input: $i) { user { username role } userErrors { field message code } }
}"""
MODERATE_THREAD = """mutation($i: ModerateThreadInput!) {
  moderateThread(input: $i) {
    thread { title locked pinned forum { slug } } userErrors { field message code }
  }
}"""
UNHIDE = """mutation($i: UnhideMessageInput!) {
  unhideMessage(input: $i) { message { body hidden } userErrors { field message code } }
}"""
WARN = """mutation($i: WarnMemberInput!) {
  warnMember(input: $i) { warning { reason } userErrors { field message code } }
}"""
AUDIT = """query {
  auditLog { edges { node { actor { username } action subject { username } fields reason } } }
}"""

# The staff tools of issue 16 (tests/test_staff_access.py refuses each to every outsider).
STAFF_MUTATIONS = ["moderateThread", "unhideMessage", "warnMember"]
ADMIN_MUTATIONS = ["createForum", "updateForum", "setRole"]

ROLES = {"ada": Role.MEMBER, "bob": Role.MEMBER, "grace": Role.MODERATOR, "root": Role.ADMIN}


async def staff_cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), all signed in."""
    return {name: await member(gql, name, role=role) for name, role in ROLES.items()}


async def audit_log(gql: Client) -> list[dict]:
    """The audit log's entries, newest first, as root (an admin) reads them."""
    response = await gql(AUDIT, as_member="root")
    return [edge["node"] for edge in response["data"]["auditLog"]["edges"]]
