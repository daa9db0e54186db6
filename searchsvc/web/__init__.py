"""The web edge: HTML pages, the JSON API and the admin endpoints over one :class:`SearchEngine`.

Views only turn a request into a call on the search core and the result into a template or JSON;
everything that knows about ranking, highlighting or index files lives below this package.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from searchsvc.config import Settings
from searchsvc.web.state import WebState, get_state


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    ``config`` is a :class:`Settings`, or a dict of overrides applied on top of the
    ``SEARCHSVC_*`` environment (so a test can point the app at its own index), or ``None``
    for the environment alone. Nothing is opened here: the engine opens the index on first use.
    """
    settings = config if isinstance(config, Settings) else Settings.from_env(**(config or {}))
    app = Flask(__name__)
    # A rebuild request has no body; anything bigger than this is not for us (413).
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json.sort_keys = False
    app.extensions["searchsvc"] = WebState.create(settings)

    from searchsvc.web import admin, api, errors, health, security, views

    app.register_blueprint(views.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(health.blueprint)
    errors.register(app)
    security.register(app)
    return app


def close_app(app: Flask) -> None:
    """Close the app's search engine (its searchers and their file handles)."""
    get_state(app).close()


__all__ = ["close_app", "create_app"]
