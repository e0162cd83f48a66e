"""The callback protocol of an Official Account (`/channels/wechat`) and of WeCom customer service
(`/channels/wecom/{account}`): URL verification, the signature and its time window and nonce, plaintext
and encrypted (safe or compatible) bodies, and the answer: a passive reply when intake finishes within the
budget, else "success" at once and the reply by the customer-service message API."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from caredesk.channels.inbound_claim import AlreadyTaken
from caredesk.channels.wechat.accounts import Account
from caredesk.channels.wechat.crypto import BadFrame, MessageCrypto, signature, signature_matches
from caredesk.channels.wechat.errors import (
    BadSignature,
    EncryptionRequired,
    MalformedCallback,
    StaleCallback,
    WrongAppId,
)
from caredesk.channels.wechat.inbound import (
    PassiveGate,
    TakenIn,
    do_follow,
    do_take_in,
    do_unfollow,
    earlier_passive_reply,
    message_text,
)
from caredesk.channels.wechat.service import WeChatService
from caredesk.channels.wechat.xml_messages import (
    MalformedXml,
    Pushed,
    encrypted_envelope,
    fields_of,
    pushed_of,
    text_reply,
)
from caredesk.errors import PayloadTooLarge
from caredesk.intake.deps import IntakeDeps

if TYPE_CHECKING:
    from caredesk.tasks.app import TaskQueue

__all__ = ["SUCCESS", "WELCOME", "Answer", "CallbackDeps", "CallbackQuery", "handle_post", "verify_url"]

log = logging.getLogger(__name__)
SUCCESS = "success"  # "received, no passive reply" in WeChat's protocol
WELCOME = ("您好，欢迎关注！请直接发送您的问题，我们会尽快答复。\n"
           "Welcome! Send us your question here and we will answer as soon as we can.")
TAKEN_MESSAGES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link", "file"})


class CallbackDeps(IntakeDeps, Protocol):
    @property
    def queue(self) -> TaskQueue: ...  # WeCom: the messages are fetched by a task


@dataclass(frozen=True)
class CallbackQuery:
    timestamp: str = ""
    nonce: str = ""
    signature: str = ""
    msg_signature: str = ""
    echostr: str = ""
    encrypt_type: str = ""


@dataclass(frozen=True)
class Answer:
    body: str
    media_type: str = "text/plain"


def _refuse(account: Account, exc: Exception) -> Exception:
    # the reason and the account only: never the body, the openid or the signature values
    log.warning("%s callback refused for account %s: %s", account.kind, account.name, exc)
    return exc


def _check(service: WeChatService, account: Account, q: CallbackQuery, *parts: str, msg: bool, now: float
           ) -> None:
    """The time window, the signature (over token, timestamp, nonce and, for `msg_signature`, the encrypted
    part), then the nonce: a replay is refused only after the signature, so a forger cannot burn nonces."""
    window = service.settings.wechat_timestamp_window_seconds
    try:
        stamp = int(q.timestamp)
    except ValueError:
        raise _refuse(account, StaleCallback("the timestamp is missing or not a number")) from None
    if abs(now - stamp) > window:
        raise _refuse(account, StaleCallback(f"the timestamp is more than {window} s away from now"))
    given = q.msg_signature if msg else q.signature
    if not given or not signature_matches(given, account.token, q.timestamp, q.nonce, *parts):
        raise _refuse(account, BadSignature("the signature does not match"))
    if not q.nonce or not service.state.first(_nonce_key(account, q), 2 * window):
        raise _refuse(account, StaleCallback("the nonce was used before (a replayed request)"))


def _nonce_key(account: Account, q: CallbackQuery) -> str:
    return f"nonce:{account.kind}:{account.name}:{q.timestamp}:{q.nonce}"


def forget_nonce(service: WeChatService, account: Account, q: CallbackQuery) -> None:
    """A callback that failed on our side may be retried by WeChat with the same nonce."""
    service.state.drop(_nonce_key(account, q))


def _decrypt(account: Account, crypto: MessageCrypto, encrypted: str) -> str:
    try:
        message, receive_id = crypto.decrypt(encrypted)
    except BadFrame as exc:
        raise _refuse(account, MalformedCallback(f"the encrypted message does not decrypt: {exc}")) from None
    if receive_id != account.app_id:
        raise _refuse(account, WrongAppId("the encrypted message is for another app id"))
    return message


def verify_url(service: WeChatService, account: Account, q: CallbackQuery, *, now: float) -> str:
    """The URL check when the callback is configured: the Official Account signs its `echostr` with
    `signature`; WeCom encrypts it and signs it with `msg_signature`, and wants it decrypted."""
    if account.kind == "wechat":
        _check(service, account, q, msg=False, now=now)
        return q.echostr
    assert account.crypto is not None
    _check(service, account, q, q.echostr, msg=True, now=now)
    return _decrypt(account, account.crypto, q.echostr)


def _fields(account: Account, body: bytes) -> dict[str, str]:
    try:
        return fields_of(body)
    except MalformedXml as exc:
        raise _refuse(account, MalformedCallback(str(exc))) from None


def _opened(service: WeChatService, account: Account, q: CallbackQuery, body: bytes, now: float
            ) -> dict[str, str]:
    """The pushed message's fields, checked and (in safe / compatible mode) decrypted."""
    if len(body) > service.settings.wechat_max_body_bytes:
        raise _refuse(account, PayloadTooLarge(f"the body is larger than {service.settings.wechat_max_body_bytes} "
                                               "bytes"))
    crypto = account.crypto
    if crypto is None:
        if q.encrypt_type and q.encrypt_type != "raw":
            raise _refuse(account, MalformedCallback("an encrypted callback, but no AES key is configured"))
        _check(service, account, q, msg=False, now=now)
        return _fields(account, body)
    else:
        if account.kind == "wechat" and q.encrypt_type != "aes":
            raise _refuse(account, EncryptionRequired("this account takes encrypted callbacks only"))
        envelope = _fields(account, body)
        encrypted = envelope.get("Encrypt", "")
        if not encrypted:
            raise _refuse(account, MalformedCallback("<Encrypt> is missing"))
        if account.kind == "wechat" and q.signature and not signature_matches(q.signature, account.token,
                                                                              q.timestamp, q.nonce):
            raise _refuse(account, BadSignature("the signature does not match"))
    _check(service, account, q, encrypted, msg=True, now=now)
    return _fields(account, _decrypt(account, crypto, encrypted).encode("utf-8"))


def _reply(account: Account, pushed: Pushed, text: str | None, now: float) -> Answer:
    if text is None:
        return Answer(SUCCESS)
    xml = text_reply(to_user=pushed.from_user, from_user=pushed.to_user, create_time=int(now), text=text)
    if account.crypto is None:
        return Answer(xml, "application/xml")
    timestamp, nonce = str(int(now)), str(secrets.randbelow(10**10))
    encrypted = account.crypto.encrypt(xml)
    return Answer(encrypted_envelope(encrypted=encrypted, msg_signature=signature(account.token, timestamp, nonce,
                                                                                  encrypted),
                                     timestamp=timestamp, nonce=nonce), "application/xml")


def _take_in_within_budget(rt: CallbackDeps, service: WeChatService, account: Account, pushed: Pushed,
                           text: str) -> str | None:
    """Intake in a thread: its reply if it commits within the budget, else None (it goes on and the reply
    is sent by the API). A retry of a message taken in before gets the passive reply given then, if any."""
    gate = PassiveGate()

    def run() -> TakenIn | None:
        try:
            return do_take_in(rt, account, pushed.from_user, pushed.external_id, text, gate=gate)
        except AlreadyTaken:
            return None
        except Exception as exc:
            if gate.gave_up:  # the callback already answered "success": nobody else will hear of it
                log.error("%s intake failed after the callback answered (account %s): %s", account.kind,
                          account.name, type(exc).__name__)
            raise

    future: Future[TakenIn | None] = service.pool.submit(run)
    try:
        taken = future.result(timeout=service.settings.wechat_reply_budget_seconds)
    except FutureTimeout:
        if gate.give_up():
            log.info("%s callback answered before intake finished (account %s): the reply goes by the API",
                     account.kind, account.name)
            return None
        taken = future.result()  # intake chose the passive reply: its commit is under way
    if taken is None:
        return earlier_passive_reply(rt, account.kind, pushed.external_id)
    return taken.reply_text if taken.passive else None


def handle_post(rt: CallbackDeps, service: WeChatService, account: Account, q: CallbackQuery, body: bytes
                ) -> Answer:
    now = rt.clock.now().timestamp()
    fields = _opened(service, account, q, body, now)
    if account.kind == "wecom":
        # WeCom customer service only says that messages wait; a task fetches them (sync_msg) and answers by
        # the API, so this answer is "success" at once
        if fields.get("Event") == "kf_msg_or_event" and fields.get("Token"):
            from caredesk.channels.wechat.wecom_sync import sync_wecom

            rt.queue.enqueue(sync_wecom, account.name, fields["Token"])
        return Answer(SUCCESS)
    try:
        pushed = pushed_of(fields)
    except MalformedXml as exc:
        raise _refuse(account, MalformedCallback(str(exc))) from None
    if pushed.msg_type == "event":
        if pushed.event == "subscribe":
            do_follow(rt, account, pushed.from_user, pushed.external_id)
            return _reply(account, pushed, account.welcome or WELCOME, now)
        if pushed.event == "unsubscribe":
            do_unfollow(rt, account, pushed.from_user)
        return Answer(SUCCESS)  # menu clicks, scans, location reports: nothing to take in
    if pushed.msg_type not in TAKEN_MESSAGES:
        return Answer(SUCCESS)
    text = message_text(pushed.msg_type, content=pushed.content, media_id=pushed.media_id,
                        pic_url=pushed.pic_url, recognition=pushed.recognition)
    if not text.strip():
        return Answer(SUCCESS)
    return _reply(account, pushed, _take_in_within_budget(rt, service, account, pushed, text), now)
