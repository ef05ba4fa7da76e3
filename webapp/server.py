"""Gunicorn, started from ``marketpass serve`` with the settings of gunicorn.conf.py."""

from __future__ import annotations

import runpy
from pathlib import Path

from gunicorn.app.base import BaseApplication

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


class _App(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        config = runpy.run_path(str(CONFIG)) if CONFIG.exists() else {}
        for key, value in {**config, **self.options}.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from webapp import create_app

        return create_app()


def run(host: str, port: int, workers: int) -> None:
    _App({"bind": f"{host}:{port}", "workers": workers}).run()
