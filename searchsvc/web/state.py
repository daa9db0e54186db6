"""What the app owns for its whole life: the settings, one search engine, the rebuild launcher."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.search import SearchEngine
from searchsvc.web.rebuild import RebuildLauncher


@dataclass
class WebState:
    settings: Settings
    engine: SearchEngine
    rebuilds: RebuildLauncher

    @classmethod
    def create(cls, settings: Settings) -> WebState:
        return cls(
            settings=settings,
            engine=open_engine(settings, prepare_lexicon=True, follow_index=True),
            rebuilds=RebuildLauncher(settings),
        )

    def close(self) -> None:
        self.engine.close()


def get_state(app: Flask | None = None) -> WebState:
    return (app or current_app).extensions["searchsvc"]
