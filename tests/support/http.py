"""The HTTP layer in tests: the headers every API answer carries, the frontend origin of
the test settings, and the transport's refusals."""

from __future__ import annotations

TYPENAME = {"data": {"__typename": "Query"}}
NOT_JSON = {
    "errors": [
        {
            "message": "Send the request as application/json.",
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]
}
FOREIGN_ORIGIN = {
    "errors": [
        {
            "message": "Requests from this origin are not allowed.",
            "extensions": {"code": "FORBIDDEN"},
        }
    ]
}
API_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
}
FRONTEND = "http://localhost:5173"
