"""The GraphQL documents the benchmark sends, shared by the runner and the raw baseline."""

from __future__ import annotations

# The thread page: 50 messages, each author's username and the profile fields the
# viewer may see (age, location and dietPlan default to MEMBERS; many members chose
# FOLLOWING or ONLY_ME for some), and whether the viewer follows the author.
THREAD_PAGE = """query ThreadPage($id: ID!, $first: Int!, $after: String) {
  thread(id: $id) {
    id
    title
    createdAt
    author { id username }
    messages(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          bodyHtml
          createdAt
          editedAt
          deleted
          hidden
          author {
            id
            username
            lastSeenAt
            age
            profile {
              bio
              location
              website
              dietPlan
              weightJourney { startKg currentKg goalKg }
            }
            viewerIsFollowing
          }
        }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""

# The inbox: the viewer's 20 most recently active conversations with their last message.
INBOX = """query Inbox {
  conversations(first: 20) {
    edges {
      cursor
      node {
        id
        title
        unreadCount
        participants { id username }
        messages(last: 1) {
          edges { node { id bodyHtml createdAt author { id username } } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

POST_MESSAGE = """mutation Post($input: PostMessageInput!) {
  postMessage(input: $input) {
    message { id bodyHtml createdAt author { username } }
    userErrors { field code message }
  }
}"""

LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { user { username } userErrors { code message } }
}"""

PAGE_SIZE = 50
POST_BODY = "Benchmark reply: *still* going strong, [see the plan](https://www.nhs.uk/)."


def thread_page(thread_gid: str, after: str | None = None) -> dict[str, object]:
    """The request body of a thread page."""
    variables: dict[str, object] = {"id": thread_gid, "first": PAGE_SIZE}
    if after is not None:
        variables["after"] = after
    return {"query": THREAD_PAGE, "operationName": "ThreadPage", "variables": variables}


def inbox() -> dict[str, object]:
    """The request body of the inbox."""
    return {"query": INBOX, "operationName": "Inbox", "variables": {}}


def post_message(thread_gid: str) -> dict[str, object]:
    """The request body of a reply."""
    return {
        "query": POST_MESSAGE,
        "operationName": "Post",
        "variables": {"input": {"threadId": thread_gid, "body": POST_BODY}},
    }


def login(username: str, password: str) -> dict[str, object]:
    """The request body of a sign-in."""
    return {
        "query": LOGIN,
        "operationName": "Login",
        "variables": {"input": {"login": username, "password": password}},
    }
