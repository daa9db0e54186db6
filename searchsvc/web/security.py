"""Response headers that keep the pages safe to render, and the request size limits.

The pages need no inline script or style: everything comes from ``/static``, so the
Content-Security-Policy can be strict. Query strings longer than any sensible search are
refused with 414 before a view sees them.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

# Room for a maximal query plus every filter, percent-encoded; anything longer is not a search.
MAX_QUERY_STRING_BYTES = 8 * 1024


def register(app: Flask) -> None:
    app.before_request(_refuse_oversized_requests)
    app.after_request(_add_security_headers)


def _refuse_oversized_requests() -> None:
    """414 and 413 up front, before any view reads (or ignores) the input."""
    if len(request.query_string) > MAX_QUERY_STRING_BYTES:
        abort(414)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    return response
