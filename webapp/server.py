"""Gunicorn, started from ``marketpass serve`` with the settings of gunicorn.conf.py."""

from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import BaseApplication

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


class _App(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        if CONFIG.exists():
            self.load_config_from_file(str(CONFIG))
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webapp import create_app

        return create_app()


def run(host: str, port: int, workers: int) -> None:
    _App({"bind": f"{host}:{port}", "workers": workers}).run()
