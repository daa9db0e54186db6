"""Admin endpoints: start a rebuild, watch its progress (and that of `searchsvc watch`).

``POST /api/index/rebuild`` needs ``Authorization: Bearer <SEARCHSVC_ADMIN_TOKEN>``; with no
token configured it is disabled (403, saying how to enable it). ``GET /api/index/status`` is
read-only and open to everyone: it reveals progress and counts, nothing that changes state.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from searchsvc.index.watchstate import watch_status
from searchsvc.web.errors import ApiError
from searchsvc.web.health import serving_generation
from searchsvc.web.rebuild import RebuildFailedToStart, RebuildRunning
from searchsvc.web.state import get_state

blueprint = Blueprint("admin", __name__, url_prefix="/api/index")

ADMIN_DISABLED_MESSAGE = (
    "admin endpoints are disabled; set SEARCHSVC_ADMIN_TOKEN to a secret value and restart "
    "the server to enable them"
)


@blueprint.post("/rebuild")
def rebuild() -> tuple[Response, int, dict[str, str]]:
    state = get_state()
    require_admin_token(state.settings.admin_token)
    try:
        status = state.rebuilds.start()
    except RebuildRunning as running:
        raise ApiError(409, str(running), job=job_view(running.status)) from None
    except RebuildFailedToStart as failure:
        raise ApiError(500, str(failure)) from None
    status_url = url_for("admin.status")
    body = {"job": job_view(status), "status_url": status_url}
    return jsonify(body), 202, {"Location": status_url}


@blueprint.get("/status")
def status() -> Response:
    state = get_state()
    build = state.engine.build_status()
    return jsonify(
        {
            "state": build["state"],
            "phase": build.get("phase"),
            "job": job_view(build),
            "progress": {
                "done": build.get("done") or 0,
                "total": build.get("total"),
                "rate": build.get("rate"),
                "files_done": build.get("files_done"),
                "files_total": build.get("files_total"),
            },
            "serving": serving_generation(state.engine),
            "report": build.get("report"),
            "error": build.get("error"),
            "lock": build.get("lock"),
            "watch": watch_status(state.settings.index_dir),
        }
    )


def require_admin_token(expected: str | None) -> None:
    """Refuse unless the request carries the configured token (compared in constant time)."""
    if not expected:
        raise ApiError(403, ADMIN_DISABLED_MESSAGE)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8"), expected.encode("utf-8")
    ):
        error = ApiError(401, "this endpoint needs the admin token: Authorization: Bearer <token>")
        error.headers["WWW-Authenticate"] = 'Bearer realm="searchsvc admin"'
        raise error


def job_view(status: dict[str, Any]) -> dict[str, Any] | None:
    """The build a status record describes, or ``None`` before any build ran."""
    if not status.get("pid") and not status.get("started_at"):
        return None
    return {
        "pid": status.get("pid"),
        "generation": status.get("generation"),
        "state": status.get("state"),
        "started_at": status.get("started_at"),
        "finished_at": status.get("finished_at"),
    }
