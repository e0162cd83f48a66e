"""What a background task runs with. The composition root sets the process's context once at start
(`bootstrap.build_runtime`); each area's tasks module states the narrow shape it needs as a Protocol and asks
for it with `rt: Shape = task_context()`, so no task module imports the runtime."""

from __future__ import annotations

from typing import Any

from caredesk.errors import Unavailable

__all__ = ["set_task_context", "task_context"]

_context: object | None = None


def set_task_context(context: object | None) -> None:
    global _context
    _context = context


def task_context() -> Any:
    """The process's context; a task annotates what it reads it as (`rt: AlarmTaskDeps = task_context()`),
    and bootstrap checks with mypy that the runtime satisfies each of those shapes."""
    if _context is None:
        raise Unavailable("CareDesk runtime is not started in this process")
    return _context
