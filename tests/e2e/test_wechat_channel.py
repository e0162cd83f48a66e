"""WeChat Official Account and WeCom customer service end to end: callbacks signed, encrypted and posted to the
real app as WeChat's servers post them, and a real local HTTP server standing in for WeChat's API (tokens,
customer-service messages, WeCom's sync_msg), which keeps what it received."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.outbound import Outgoing, SendRefused
from caredesk.channels.wechat.crypto import MessageCrypto, signature
from caredesk.channels.wechat.inbound import PASSIVE
from caredesk.channels.wechat.service import WeChatService, service_of
from caredesk.channels.wechat.xml_messages import fields_of
from caredesk.http.app import create_app
from caredesk.storage.orm import (
    ChannelContact,
    Conversation,
    Customer,
    InboundKey,
    Message,
    MessageDelivery,
    TriageResult,
)
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings
from tests.support.wechat_provider import SECRET, Provider, wechat_provider

# the encrypted ("safe mode") Official Account: WeChat's published sample credentials
TOKEN, AES_KEY, APP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
PLAIN_TOKEN = "plain-token-1"  # a second Official Account in plaintext mode (channels.yaml)
WECOM_TOKEN, WECOM_AES, CORP_ID, KFID = "wecom-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "ww-corp", "wk-1"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
QUESTION = "手机银行登录密码忘了怎么重置？"

CHANNELS_YAML = f"""
wechat:
  - name: plain
    app_id: wx-plain-app
    token_env: TEST_WX_PLAIN_TOKEN
    app_secret_env: TEST_WX_PLAIN_SECRET
    welcome: 欢迎关注示范银行！
  - name: retired
    enabled: false
    app_id: wx-off
    token_env: TEST_WX_UNSET
wecom:
  - name: support
    corp_id: {CORP_ID}
    open_kfid: {KFID}
    token_env: TEST_WECOM_TOKEN
    aes_key_env: TEST_WECOM_AES
    secret_env: TEST_WECOM_SECRET
"""


@dataclass
class WeChat:
    rt: Runtime
    client: TestClient
    provider: Provider
    service: WeChatService

    def count(self, model: Any) -> int:
        with self.rt.session_factory() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"TEST_WX_PLAIN_TOKEN": PLAIN_TOKEN, "TEST_WX_PLAIN_SECRET": SECRET,
                        "TEST_WECOM_TOKEN": WECOM_TOKEN, "TEST_WECOM_AES": WECOM_AES,
                        "TEST_WECOM_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def provider() -> Iterator[Provider]:
    with wechat_provider() as p:
        yield p


def _build(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, provider: Provider,
           **overrides: Any) -> Runtime:
    tmp_path.mkdir(parents=True, exist_ok=True)
    channels = tmp_path / "channels.yaml"
    channels.write_text(CHANNELS_YAML.replace(
        f"    corp_id: {CORP_ID}", f"    corp_id: {CORP_ID}\n    api_base: {provider.url}").replace(
        "    app_id: wx-plain-app", f"    app_id: wx-plain-app\n    api_base: {provider.url}"), encoding="utf-8")
    values: dict[str, Any] = dict(wechat_token=TOKEN, wechat_aes_key=AES_KEY, wechat_app_id=APP_ID,
                                  wechat_app_secret=SECRET, wechat_api_base=provider.url, channels_file=channels)
    values.update(overrides)
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, **values))
    rt.set_pipeline(pipeline)
    from caredesk.demo.loader import do_load_demo

    do_load_demo(rt.uow(), rt.clock)
    rt.knowledge_index()  # as `caredesk serve` does before it listens: the first callback keeps its budget
    rt.triage("warm up")
    return rt


@pytest.fixture
def wx_with(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, provider: Provider,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., WeChat]]:
    """Builds the app with settings overridden (one per test)."""
    _env(monkeypatch)
    made: list[WeChat] = []
    stack = ExitStack()

    def make(**overrides: Any) -> WeChat:
        rt = _build(db_url, tmp_path, mailbox, pipeline, provider, **overrides)
        service = service_of(rt.channels, "wechat")
        assert service is not None
        client = stack.enter_context(TestClient(create_app(rt, start_consumer=False)))
        made.append(WeChat(rt, client, provider, service))
        return made[-1]

    yield make
    stack.close()
    for w in made:
        w.service.pool.shutdown(wait=True)  # an intake that outlived its callback finishes before the clean-up
        _clean(w.rt)
        w.rt.engine.dispose()


@pytest.fixture
def wx(wx_with: Callable[..., WeChat]) -> WeChat:
    return wx_with()


# --- what WeChat's servers send ---------------------------------------------------------------------------------
def _stamp() -> tuple[str, str]:
    return str(int(time.time())), str(secrets.randbelow(10**9))


def _message(content: str = QUESTION, *, msg_id: str | None = None, kind: str = "text", to: str = "gh_bank",
             user: str = OPENID, extra: str = "") -> str:
    body = f"<Content><![CDATA[{content}]]></Content>" if kind == "text" else ""
    msg = f"<MsgId>{msg_id or secrets.randbelow(10**18)}</MsgId>" if kind != "event" else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}{extra}{msg}"
            "</xml>")


def post_encrypted(wx: WeChat, xml: str, *, app_id: str = APP_ID, token: str = TOKEN, stamp: tuple[str, str] | None
                   = None, forge: bool = False, compatible: str | None = None, client: TestClient | None = None
                   ) -> Any:
    """Safe mode; `compatible`: compatible mode, whose body also carries a plaintext copy (here a different
    one: only the signed, encrypted copy may count)."""
    timestamp, nonce = stamp or _stamp()
    encrypted = MessageCrypto(AES_KEY, app_id).encrypt(xml)
    msg_signature = signature(token, timestamp, nonce, encrypted)
    if forge:
        msg_signature = signature(token, timestamp, nonce, encrypted + "x")
    envelope = f"<xml><ToUserName><![CDATA[gh_bank]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    if compatible is not None:
        envelope = compatible.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return (client or wx.client).post("/channels/wechat", content=envelope.encode(), params={
        "signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
        "openid": OPENID, "encrypt_type": "aes", "msg_signature": msg_signature})


def post_plain(wx: WeChat, xml: str | bytes, *, account: str = "plain", token: str = PLAIN_TOKEN,
               stamp: tuple[str, str] | None = None) -> Any:
    timestamp, nonce = stamp or _stamp()
    return wx.client.post("/channels/wechat", content=xml if isinstance(xml, bytes) else xml.encode(), params={
        "account": account, "signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce})


def open_reply(response: Any) -> dict[str, str]:
    """The passive reply of an encrypted account: its envelope checked and opened as WeChat does."""
    assert response.status_code == 200, response.text
    envelope = fields_of(response.content)
    assert envelope["MsgSignature"] == signature(TOKEN, envelope["TimeStamp"], envelope["Nonce"],
                                                 envelope["Encrypt"])
    xml, app_id = MessageCrypto(AES_KEY, APP_ID).decrypt(envelope["Encrypt"])
    assert app_id == APP_ID
    return fields_of(xml)


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- URL verification ---------------------------------------------------------------------------------------------
def test_wechat_url_verification_echoes_only_a_fresh_signed_request(wx: WeChat) -> None:
    timestamp, nonce = _stamp()
    params = {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
              "echostr": "7432941716826380922"}
    ok = wx.client.get("/channels/wechat", params=params)
    assert (ok.status_code, ok.text) == (200, "7432941716826380922")
    again = wx.client.get("/channels/wechat", params=params)  # the same nonce again: a replay
    assert (again.status_code, again.json()["code"]) == (403, "wechat_stale_callback")
    timestamp, nonce = _stamp()
    forged = wx.client.get("/channels/wechat", params={**params, "timestamp": timestamp, "nonce": nonce})
    assert (forged.status_code, forged.json()["code"]) == (403, "wechat_bad_signature")
    old = str(int(time.time()) - 301)
    stale = wx.client.get("/channels/wechat", params={**params, "timestamp": old, "nonce": nonce,
                                                      "signature": signature(TOKEN, old, nonce)})
    assert (stale.status_code, stale.json()["code"]) == (403, "wechat_stale_callback")
    assert "7432941716826380922" not in stale.text
    unknown = wx.client.get("/channels/wechat", params={**params, "account": "nope"})
    assert unknown.status_code == 404


# --- encrypted messages, passive and asynchronous replies ---------------------------------------------------------
def test_wechat_encrypted_question_gets_passive_encrypted_answer(wx: WeChat) -> None:
    reply = open_reply(post_encrypted(wx, _message(msg_id="1001")))
    assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (OPENID, "gh_bank", "text")
    assert "密码" in reply["Content"]
    with wx.rt.session_factory() as s:
        conversation = s.scalars(select(Conversation)).one()
        contact = s.get(ChannelContact, conversation.contact_id)
        assert conversation.channel == "wechat" and contact is not None
        assert (contact.channel, contact.account, contact.address) == ("wechat", "default", OPENID)
        assert s.get(Customer, contact.customer_id).ref == f"wechat:default:{OPENID}"  # type: ignore[union-attr]
        texts = s.scalars(select(Message.text).order_by(Message.created_at, Message.id)).all()
        assert texts[0] == QUESTION and texts[1] == reply["Content"]
        delivery = s.scalars(select(MessageDelivery)).one()
        assert (delivery.status, delivery.last_error) == ("skipped", PASSIVE)  # answered in the callback
    assert wx.provider.sent == []

    # WeChat retries (its answer may have been lost): stored once, the same answer given again
    again = open_reply(post_encrypted(wx, _message(msg_id="1001")))
    assert again["Content"] == reply["Content"]
    assert wx.count(Message) == 2 and wx.count(InboundKey) == 1
    # the next message continues the conversation (compatible mode: the encrypted copy is the one taken in)
    open_reply(post_encrypted(wx, _message("信用卡怎么激活", msg_id="1002"),
                              compatible=_message("转账给我一百万", msg_id="1002")))
    assert wx.count(Conversation) == 1 and wx.count(InboundKey) == 2
    with wx.rt.session_factory() as s:
        assert "信用卡怎么激活" in s.scalars(select(Message.text)).all()
        assert "转账给我一百万" not in s.scalars(select(Message.text)).all()


def test_wechat_reply_past_the_budget_goes_by_customer_service_api(wx_with: Callable[..., WeChat]) -> None:
    """When the budget runs out the callback answers "success" without waiting for intake, and the reply goes by
    the customer-service API once intake has run. Intake is held from starting (the intake threads are kept busy),
    so the answer cannot have waited for it; a wall-clock bound failed on a loaded 2-core machine instead."""
    wx = wx_with(wechat_reply_budget_seconds=0.0)
    hold = threading.Event()
    for _ in range(8):  # at least the pool's threads; the queue is first in, first out
        wx.service.pool.submit(hold.wait, 60)
    try:
        r = post_encrypted(wx, _message(msg_id="2001"))
        assert (r.status_code, r.text) == (200, "success")
        assert wx.count(Message) == 0 and wx.provider.sent == []  # answered before intake began
    finally:
        hold.set()
    wait_for(lambda: len(wx.provider.sent) == 1)
    sent = wx.provider.sent[0]
    assert (sent["path"], sent["touser"], sent["msgtype"]) == ("custom/send", OPENID, "text")
    assert "密码" in sent["text"]["content"]
    assert wx.provider.tokens_issued == 1 and wx.provider.token_requests[0]["appid"] == APP_ID
    wx.service.pool.shutdown(wait=True)
    with wx.rt.session_factory() as s:
        delivery = s.scalars(select(MessageDelivery)).one()
        assert delivery.status == "sent" and delivery.attempts == 1


def _outgoing(text: str = "您的工单已受理。", account: str = "default", channel: str = "wechat") -> Outgoing:
    return Outgoing("d" * 32, "m" * 32, "c" * 32, channel, "notice", text, "zh", account, OPENID)


def test_wechat_sender_refreshes_a_retired_token_and_sorts_errors(wx: WeChat) -> None:
    sender = wx.rt.channels.get("wechat")
    assert sender is not None
    sender.send(_outgoing("first"))
    wx.provider.retire_tokens()  # another client fetched a token: WeChat answers 40001 to the old one
    sender.send(_outgoing("second"))
    assert [m["text"]["content"] for m in wx.provider.sent] == ["first", "second"]
    assert wx.provider.tokens_issued == 2
    sender.send(_outgoing("third"))
    assert wx.provider.tokens_issued == 2  # cached
    wx.provider.errcodes.append(45015)  # past the 48-hour reply window: no retry will help
    with pytest.raises(SendRefused, match="45015"):
        sender.send(_outgoing())
    wx.provider.errcodes.append(40003)  # not an openid of this account
    with pytest.raises(SendRefused, match="40003"):
        sender.send(_outgoing())
    wx.provider.errcodes.append(-1)  # system busy: the queue retries
    with pytest.raises(OSError):
        sender.send(_outgoing())
    with pytest.raises(SendRefused):
        sender.send(_outgoing(account="unknown"))
    assert len(wx.provider.sent) == 3


@pytest.mark.redis
def test_wechat_token_is_shared_by_workers_through_redis(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                         pipeline: TriagePipeline, provider: Provider,
                                                         redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete(f"caredesk:wechat:token:wechat:{APP_ID}")
    _env(monkeypatch)
    workers = [_build(db_url, tmp_path / str(i), mailbox, pipeline, provider, redis_url=redis_url)
               for i in range(2)]
    try:
        for rt in workers:
            sender = rt.channels.get("wechat")
            assert sender is not None
            sender.send(_outgoing())
        assert provider.tokens_issued == 1 and len(provider.sent) == 2
        # a nonce seen by one worker is a replay at the other
        timestamp, nonce = _stamp()
        params = {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                  "echostr": "e1"}
        with TestClient(create_app(workers[0], start_consumer=False)) as one, \
                TestClient(create_app(workers[1], start_consumer=False)) as two:
            assert one.get("/channels/wechat", params=params).status_code == 200
            assert two.get("/channels/wechat", params=params).status_code == 403
    finally:
        _clean(workers[0])
        for rt in workers:
            rt.engine.dispose()


# --- refusals: nothing stored, nothing of the customer logged ------------------------------------------------------
BOMB = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><ToUserName>gh</ToUserName><FromUserName>x</FromUserName>'
        '<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&c;</Content></xml>')


def test_wechat_refuses_forged_stale_replayed_malformed_and_foreign_callbacks(
        wx: WeChat, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    secret_text = "我的卡号6222020202020202020被盗刷"

    def refused(response: Any, status: int, code: str) -> None:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text

    refused(post_encrypted(wx, _message(secret_text), forge=True), 403, "wechat_bad_signature")
    refused(post_encrypted(wx, _message(secret_text), token="not-the-token"), 403, "wechat_bad_signature")
    old = (str(int(time.time()) - 600), "1234")
    refused(post_encrypted(wx, _message(secret_text), stamp=old), 403, "wechat_stale_callback")
    refused(post_encrypted(wx, _message(secret_text), app_id="wx-someone-else"), 403, "wechat_wrong_app_id")
    stamp = _stamp()
    assert post_plain(wx, "<xml><broken>", stamp=stamp).status_code == 400
    refused(post_plain(wx, _message(secret_text), stamp=stamp), 403, "wechat_stale_callback")  # nonce used
    refused(post_plain(wx, "<xml><Content>unclosed</xml>"), 400, "wechat_malformed_callback")
    refused(post_plain(wx, BOMB), 400, "wechat_malformed_callback")
    refused(post_plain(wx, "<xml><ToUserName>gh</ToUserName></xml>"), 400, "wechat_malformed_callback")
    big = _message("很" * 30_000)
    assert post_plain(wx, big).status_code == 413
    # the encrypted account takes no plaintext body, and a plaintext account no encrypted one
    timestamp, nonce = _stamp()
    plain_to_safe = wx.client.post("/channels/wechat", content=_message(secret_text).encode(), params={
        "signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce})
    refused(plain_to_safe, 403, "wechat_encryption_required")
    for model in (Message, InboundKey, ChannelContact, Conversation, Customer):
        if model is Customer:
            with wx.rt.session_factory() as s:
                assert s.scalar(select(func.count()).select_from(Customer).where(
                    Customer.ref.like("wechat:%"))) == 0
        else:
            assert wx.count(model) == 0, model
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("caredesk"))
    assert "refused" in ours
    for leak in (secret_text, "6222020202020202020", OPENID):
        assert leak not in ours


# --- plaintext account: message types and events ------------------------------------------------------------------
def test_wechat_plaintext_image_voice_and_events(wx: WeChat) -> None:
    image = post_plain(wx, _message(kind="image", msg_id="3001", extra="<PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]>"
                                    "</PicUrl><MediaId><![CDATA[media-img-1]]></MediaId>"))
    assert image.status_code == 200
    voice = post_plain(wx, _message(kind="voice", msg_id="3002", extra="<MediaId><![CDATA[media-v-1]]></MediaId>"
                                    "<Format><![CDATA[amr]]></Format>"
                                    f"<Recognition><![CDATA[{QUESTION}]]></Recognition>"))
    reply = fields_of(voice.content)
    assert reply["ToUserName"] == OPENID and "密码" in reply["Content"]  # answered from the recognition text
    silent = post_plain(wx, _message(kind="voice", msg_id="3003", extra="<MediaId><![CDATA[media-v-2]]></MediaId>"))
    assert silent.status_code == 200
    with wx.rt.session_factory() as s:
        texts = s.scalars(select(Message.text).where(Message.direction == "in")
                          .order_by(Message.created_at, Message.id)).all()
    assert "media-img-1" in texts[0] and "http://mmbiz.qpic.cn/x.jpg" in texts[0]
    assert texts[1] == QUESTION
    assert "media-v-2" in texts[2] and "voice" in texts[2]
    with wx.rt.session_factory() as s:  # a voice message nobody could read goes to a person
        placeholder = s.scalars(select(Message).where(Message.text.is_not(None))).all()
        voice_id = next(m.id for m in placeholder if "media-v-2" in m.text)
        assert s.scalar(select(TriageResult.work_order_id).where(TriageResult.message_id == voice_id))

    welcome = post_plain(wx, _message(kind="event", user="o-new-follower",
                                      extra="<Event><![CDATA[subscribe]]></Event>"))
    assert fields_of(welcome.content)["Content"] == "欢迎关注示范银行！"
    click = post_plain(wx, _message(kind="event", extra="<Event><![CDATA[CLICK]]></Event>"
                                                        "<EventKey><![CDATA[MENU_1]]></EventKey>"))
    assert click.text == "success"
    bye = post_plain(wx, _message(kind="event", extra="<Event><![CDATA[unsubscribe]]></Event>"))
    assert bye.text == "success"
    with wx.rt.session_factory() as s:
        contacts = {c.address: c for c in s.scalars(select(ChannelContact))}
        assert contacts[OPENID].account == "plain" and contacts[OPENID].opted_out_at is not None
        assert contacts["o-new-follower"].opted_out_at is None


# --- WeCom customer service ---------------------------------------------------------------------------------------
def _wecom(wx: WeChat, xml: str) -> Any:
    timestamp, nonce = _stamp()
    encrypted = MessageCrypto(WECOM_AES, CORP_ID).encrypt(xml)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return wx.client.post("/channels/wecom/support", content=body.encode(), params={
        "msg_signature": signature(WECOM_TOKEN, timestamp, nonce, encrypted), "timestamp": timestamp,
        "nonce": nonce})


def test_wecom_verifies_its_url_pulls_messages_and_answers_by_kf_api(wx: WeChat) -> None:
    timestamp, nonce = _stamp()
    echostr = MessageCrypto(WECOM_AES, CORP_ID).encrypt("wecom-echo-8812")
    ok = wx.client.get("/channels/wecom/support", params={
        "msg_signature": signature(WECOM_TOKEN, timestamp, nonce, echostr), "timestamp": timestamp,
        "nonce": nonce, "echostr": echostr})
    assert (ok.status_code, ok.text) == (200, "wecom-echo-8812")
    assert wx.client.get("/channels/wecom/nobody", params={"timestamp": timestamp}).status_code == 404

    def item(msgid: str, text: str, origin: int = 3) -> dict[str, Any]:
        return {"msgid": msgid, "open_kfid": KFID, "external_userid": "wm-ext-1", "send_time": int(time.time()),
                "origin": origin, "msgtype": "text", "text": {"content": text}}

    wx.provider.waiting.extend([item("k1", QUESTION), item("k2", "客服您好", origin=5), item("k3", "信用卡怎么激活")])
    event = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
             "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
             f"<Token><![CDATA[ENC-TOKEN-1]]></Token><OpenKfId><![CDATA[{KFID}]]></OpenKfId></xml>")
    r = _wecom(wx, event)
    assert (r.status_code, r.text) == (200, "success")
    assert [s.get("cursor") for s in wx.provider.syncs] == [None, "2"]  # two pages, the cursor carried
    assert wx.provider.syncs[0]["token"] == "ENC-TOKEN-1" and wx.provider.syncs[0]["open_kfid"] == KFID
    with wx.rt.session_factory() as s:
        ins = s.scalars(select(Message.text).where(Message.direction == "in")).all()
        conversation = s.scalars(select(Conversation)).one()
        assert conversation.channel == "wecom"
        contact = s.get(ChannelContact, conversation.contact_id)
        assert contact is not None and s.get(Customer, contact.customer_id).ref == "wecom:support:wm-ext-1"  # type: ignore[union-attr]
    assert sorted(ins) == sorted([QUESTION, "信用卡怎么激活"])  # the agent's own message (origin 5) is not
    kf = [m for m in wx.provider.sent if m["path"] == "kf/send_msg"]
    assert len(kf) == 2 and all(m["touser"] == "wm-ext-1" and m["open_kfid"] == KFID for m in kf)
    assert wx.provider.token_requests[0] == {"corpid": CORP_ID}
    with wx.rt.session_factory() as s:
        assert {d.external_id for d in s.scalars(select(MessageDelivery))} == {f"kf-{m['msgid']}" for m in kf}

    # a second callback (or a lost cursor) pulls nothing twice
    wx.service.state.drop("cursor:wecom:support")
    assert _wecom(wx, event).text == "success"
    assert wx.count(InboundKey) == 2 and len([m for m in wx.provider.sent if m["path"] == "kf/send_msg"]) == 2
    forged = _wecom(wx, event.replace("ENC-TOKEN-1", "X"))
    assert forged.status_code == 200  # well signed: fine
    r = wx.client.post("/channels/wecom/support", content=b"<xml><Encrypt>abc</Encrypt></xml>",
                       params={"msg_signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "1"})
    assert (r.status_code, r.json()["code"]) == (403, "wechat_bad_signature")
