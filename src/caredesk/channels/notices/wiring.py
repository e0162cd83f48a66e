"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["register_tasks", "router", "senders", "subscribe"]

router = APIRouter()


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again). Notices are not a
    handler: they are queued by a timeline hook in the transaction of the change itself. The notices file is
    read and checked here, at start."""
    from caredesk.channels.notices.config import load_notices
    from caredesk.channels.notices.queueing import notice_hook
    from caredesk.workorders.timeline_hooks import add_timeline_hook

    config = load_notices(rt.settings.notices_file)
    if rt.settings.notices_enabled:
        add_timeline_hook(rt.session_factory, notice_hook(config, rt.channels))


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """channel -> sender, for the channels this package delivers to."""
    return {}
