"""WeCom customer service: the callback only says that messages wait, with a short-lived token; this task
pulls them (`/cgi-bin/kf/sync_msg`, from the cursor the last pull left) and takes each customer message in.
A message pulled twice (a retry, a lost cursor) is stored once: its msgid is the inbound key."""

from __future__ import annotations

import logging
import threading
from typing import Any

from caredesk.channels.inbound_claim import AlreadyTaken
from caredesk.channels.outbound import SendRefused
from caredesk.channels.wechat.accounts import Account
from caredesk.channels.wechat.inbound import do_follow, do_take_in, message_text
from caredesk.channels.wechat.service import service_of
from caredesk.errors import InvalidInput
from caredesk.intake.deps import IntakeDeps
from caredesk.tasks.context import task_context

__all__ = ["sync_wecom"]

log = logging.getLogger(__name__)
CUSTOMER = 3  # `origin` of a message the customer sent (4: system event, 5: an agent in WeCom)
CURSOR_TTL = 30 * 86_400.0
MAX_PAGES = 50  # 50,000 messages in one pull; the next callback goes on from the cursor
_locks: dict[str, threading.Lock] = {}


def _text(item: dict[str, Any]) -> str:
    kind = str(item.get("msgtype", ""))
    part = item.get(kind) if isinstance(item.get(kind), dict) else {}
    assert isinstance(part, dict)
    return message_text(kind, content=str(part.get("content", "")), media_id=str(part.get("media_id", "")))


def _take(rt: IntakeDeps, account: Account, item: dict[str, Any]) -> bool:
    user, msgid = str(item.get("external_userid") or ""), str(item.get("msgid") or "")
    if not user or not msgid:
        return False
    if item.get("msgtype") == "event":
        event = item.get("event") if isinstance(item.get("event"), dict) else {}
        assert isinstance(event, dict)
        user = str(event.get("external_userid") or user)
        return event.get("event_type") == "enter_session" and do_follow(rt, account, user, msgid)
    if item.get("origin") != CUSTOMER:
        return False
    text = _text(item)
    if not text.strip():
        return False
    try:
        do_take_in(rt, account, user, msgid, text)
    except AlreadyTaken:
        return False
    except InvalidInput as exc:  # too long, say: kept out, the rest of the page goes on
        log.warning("wecom message refused by intake (account %s): %s", account.name, exc.code)
        return False
    return True


def sync_wecom(account_name: str, callback_token: str) -> int:
    """The messages taken in; 0 when the account is gone or WeCom refuses the pull for good."""
    rt: IntakeDeps = task_context()
    service = service_of(rt.channels, "wecom")
    account = service.account("wecom", account_name) if service is not None else None
    if service is None or account is None:
        log.warning("wecom sync: account %s is not configured", account_name)
        return 0
    api, key = service.api(account), f"cursor:wecom:{account.name}"
    taken = 0
    with _locks.setdefault(account.name, threading.Lock()):
        cursor = service.state.get(key)
        for _ in range(MAX_PAGES):
            try:
                page = api.sync_messages(callback_token=callback_token, cursor=cursor)
            except SendRefused as exc:
                log.warning("wecom sync refused (account %s): %s", account.name, exc)
                break
            items = page.get("msg_list")
            for item in items if isinstance(items, list) else []:
                taken += isinstance(item, dict) and _take(rt, account, item)
            cursor = str(page.get("next_cursor") or "") or cursor
            if cursor:
                service.state.put(key, cursor, CURSOR_TTL)
            if not page.get("has_more"):
                break
    return taken
