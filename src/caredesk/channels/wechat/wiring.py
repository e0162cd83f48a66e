"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.channels.wechat.routes import router

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["register_tasks", "router", "senders", "subscribe"]


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""
    from caredesk.channels.wechat.wecom_sync import sync_wecom

    # WeCom customer service: pull the messages a callback announced (a transient API failure retries)
    queue.register("channels.wecom_sync", sync_wecom, retries=3, retry_delay=10)


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """channel -> sender, for the channels this package delivers to: "wechat" and "wecom" when an account of
    each is configured (the accounts are loaded and checked here, at start: a mistake stops the start)."""
    from caredesk.channels.wechat.accounts import load_accounts
    from caredesk.channels.wechat.service import AccountSender, WeChatService
    from caredesk.channels.wechat.shared_state import shared_state

    accounts = load_accounts(settings)
    if not accounts.wechat and not accounts.wecom:
        return {}
    service = WeChatService(settings, accounts, shared_state(settings.redis_url))
    out: dict[str, ChannelSender] = {}
    if accounts.wechat:
        out["wechat"] = AccountSender(service, "wechat")
    if accounts.wecom:
        out["wecom"] = AccountSender(service, "wecom")
    return out
