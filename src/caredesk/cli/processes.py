"""`caredesk serve --workers N`: a gunicorn master builds the application once (runtime, triage model,
knowledge index), then forks N uvicorn workers that share those pages copy-on-write. Gunicorn restarts a
worker that dies; a request it was answering is lost to its client (who retries), never half-written (each
action is one transaction). Background tasks run in `caredesk worker` processes on Redis, not here."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from gunicorn.app.base import BaseApplication
from sqlalchemy import Engine

__all__ = ["serve_processes"]


class _Master(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints: its base is Any
    def __init__(self, app: FastAPI, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> FastAPI:
        return self._app


def serve_processes(app: FastAPI, engine: Engine, *, host: str, port: int, workers: int,
                    ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None,
                    json_logs: bool = False) -> None:
    def post_fork(_server: object, _worker: object) -> None:
        engine.dispose(close=False)  # the master's pooled connections stay the master's

    options: dict[str, Any] = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "uvicorn_worker.UvicornWorker",
        "preload_app": True, "post_fork": post_fork,
        "graceful_timeout": 5,  # open workbench event streams must not hold a shutdown for long
        "timeout": 60, "accesslog": "-", "errorlog": "-", "loglevel": "info",
        "control_socket_disable": True,  # no gunicornc socket in the home directory: the CLI and signals suffice
    }
    if json_logs:  # the master's and workers' lines as JSON; the request middleware writes the access lines
        from caredesk.observability.logs import gunicorn_log_config

        options |= {"accesslog": None, "logconfig_dict": gunicorn_log_config()}
    if ssl_certfile and ssl_keyfile:
        options |= {"certfile": str(ssl_certfile), "keyfile": str(ssl_keyfile)}
    gc.freeze()  # what is loaded now stays out of the collector's sight: its pages are not copied in the workers
    _Master(app, options).run()
