"""The request documents several test modules send, by name, and their usual answers."""

from __future__ import annotations

import re

ADDRESS = "ada_l@example.org"
NEW_PASSWORD = "a brand new passphrase"
PUBLIC = "http://localhost:8000"  # PUBLIC_URL of the test settings
TOKEN = re.compile(r"[A-Za-z0-9_\-]{43}")  # 32 random bytes, base64url: 256 bits

LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { field message code } }
}
"""
LOGOUT = "mutation { logout { userErrors { field message code } } }"
VIEWER = "{ viewer { username } }"
REGISTER = """
mutation($i: RegisterInput!) {
  register(input: $i) { userErrors { field message code } }
}
"""
REQUEST_RESET = """
mutation($i: RequestPasswordResetInput!) {
  requestPasswordReset(input: $i) { userErrors { field message code } }
}
"""
RESET = """
mutation($i: ResetPasswordInput!) {
  resetPassword(input: $i) { userErrors { field message code } }
}
"""
CONFIRM = """
mutation($i: ConfirmEmailInput!) {
  confirmEmail(input: $i) { user { username } userErrors { field message code } }
}
"""
RESEND = """
mutation($i: ResendConfirmationInput!) {
  resendConfirmation(input: $i) { userErrors { field message code } }
}
"""
CHANGE_PASSWORD = """
mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { userErrors { field message code } }
}
"""
CHANGE_EMAIL = """
mutation($i: ChangeEmailInput!) {
  changeEmail(input: $i) { userErrors { field message code } }
}
"""

ANONYMOUS = {"data": {"viewer": None}}
ADA = {"data": {"viewer": {"username": "ada_l"}}}
SIGNED_IN = {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}
INVALID_CREDENTIALS = {
    "data": {
        "login": {
            "user": None,
            "userErrors": [
                {
                    "field": ["login"],
                    "message": "Wrong username, email or password, "
                    "or the email address is not confirmed yet.",
                    "code": "INVALID_CREDENTIALS",
                }
            ],
        }
    }
}
REGISTERED = {"data": {"register": {"userErrors": []}}}
ASKED = {"data": {"requestPasswordReset": {"userErrors": []}}}
POST = """
mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { id } userErrors { field message code } }
}
"""
RESENT = {"data": {"resendConfirmation": {"userErrors": []}}}

# ---------------------------------------------------------------- forums and conversations

CREATE_THREAD = """
mutation($i: CreateThreadInput!) {
  createThread(input: $i) {
    thread { id title messages(first: 1) { edges { node { id } } } }
    userErrors { field message code }
  }
}
"""

START = """
mutation($i: StartConversationInput!) {
  startConversation(input: $i) {
    conversation { id messages(first: 1) { edges { node { id } } } }
    userErrors { field message code }
  }
}
"""

SEND = """
mutation($i: SendMessageInput!) {
  sendMessage(input: $i) { message { id } userErrors { field message code } }
}
"""

# ---------------------------------------------------------------- registering through the API

# register() and confirmed_member() send these (the variable names differ from REGISTER
# and CONFIRM above, which the account tests send).
SIGN_UP = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { userErrors { field message code } }
}
"""
CONFIRM_TOKEN = """
mutation($t: String!) {
  confirmEmail(input: {token: $t}) { user { username } userErrors { code } }
}
"""

# ------------------------------------------------ the same mutations, asking for less

LOGOUT_CODE = "mutation { logout { userErrors { code } } }"

EXPORT_CODE = "mutation { exportMyData { export userErrors { code } } }"
