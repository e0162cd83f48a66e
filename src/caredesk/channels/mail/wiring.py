"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.channels.mail.routes import router

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["register_tasks", "router", "senders", "subscribe"]


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one. (The IMAP watcher is a process of its own:
    `caredesk mail watch`.)"""


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """The bot's replies (and notices) to e-mailed conversations, threaded (sender.py)."""
    from caredesk.channels.mail.sender import MailSender

    return {"email": MailSender(settings)}
