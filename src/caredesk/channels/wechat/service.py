"""The WeChat package's state for one runtime: its accounts, their API clients, the shared token and nonce
store, and the threads that take a message in while the callback keeps its time budget. It is the sender of
the "wechat" and "wecom" channels, so that the routes and tasks find it through `rt.channels`."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from caredesk.channels.outbound import ChannelSender, Outgoing, Senders, SendRefused, Sent
from caredesk.channels.wechat.accounts import Account, ChannelAccounts
from caredesk.channels.wechat.api_client import ApiClient
from caredesk.channels.wechat.shared_state import SharedState
from caredesk.settings import Settings

__all__ = ["AccountSender", "WeChatService", "service_of"]

log = logging.getLogger(__name__)


class WeChatService:
    def __init__(self, settings: Settings, accounts: ChannelAccounts, state: SharedState) -> None:
        self.settings = settings
        self.accounts = accounts
        self.state = state
        self._apis = {(a.kind, a.name): ApiClient(a, state) for a in (*accounts.wechat.values(),
                                                                        *accounts.wecom.values())}
        # intake of callbacks that outlive their budget finishes here (threads are joined at exit)
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wechat-intake")

    def api(self, account: Account) -> ApiClient:
        return self._apis[(account.kind, account.name)]

    def account(self, kind: str, name: str | None) -> Account | None:
        """The account by name; without a name, the Official Account "default" or the only one there is."""
        accounts = self.accounts.wechat if kind == "wechat" else self.accounts.wecom
        if name:
            return accounts.get(name)
        if "default" in accounts:
            return accounts["default"]
        return next(iter(accounts.values())) if len(accounts) == 1 else None


class AccountSender:
    """The channel's sender: replies, notices and surveys to the contact's openid / external user id through
    the account's customer-service message API."""

    def __init__(self, service: WeChatService, kind: str) -> None:
        self.service, self.kind = service, kind

    def send(self, out: Outgoing) -> Sent:
        account = self.service.account(self.kind, out.account or None)
        if account is None:
            raise SendRefused(f"{self.kind} account {out.account!r} is not configured")
        if not out.address:
            raise SendRefused("the conversation has no WeChat contact to send to")
        external = self.service.api(account).send_text(out.address, out.text, msgid=out.delivery_id)
        return Sent(external)


def service_of(senders: Senders, kind: str) -> WeChatService | None:
    sender: ChannelSender | None = senders.get(kind)
    return sender.service if isinstance(sender, AccountSender) else None
