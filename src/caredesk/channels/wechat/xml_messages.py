"""The callback's XML: a pushed message read into a typed `Pushed` (defusedxml: no DTD, no entities, no
network, so a hostile body is refused rather than expanded), and the passive reply and encrypted envelope
written back."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = ["MalformedXml", "Pushed", "encrypted_envelope", "fields_of", "pushed_of", "text_reply"]

MAX_FIELD_CHARS = 20_000  # a text message is at most 2,048 bytes; anything far past it is not WeChat's


class MalformedXml(ValueError):
    """Not a WeChat callback body: not XML, a DTD or entity, nested or missing fields."""


def fields_of(body: bytes | str) -> dict[str, str]:
    """The flat `<xml><Name>value</Name>...</xml>` of a callback as a dict (nested elements are refused: no
    WeChat message has them at the top level we read; a `<ScanCodeInfo>` style child is kept as text)."""
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedXml(f"not a WeChat XML body ({type(exc).__name__})") from None
    if root.tag != "xml":
        raise MalformedXml("the root element is not <xml>")
    out: dict[str, str] = {}
    for child in root:
        text = (child.text or "").strip() if len(child) == 0 else ""
        if len(text) > MAX_FIELD_CHARS:
            raise MalformedXml(f"<{child.tag}> is too long")
        out[str(child.tag)] = text
    return out


@dataclass(frozen=True)
class Pushed:
    """One message or event pushed to the callback. `external_id` is what a provider retry repeats."""

    to_user: str  # the account's own id (gh_..., the corp id)
    from_user: str  # the customer's openid / userid
    create_time: int
    msg_type: str  # text | image | voice | event | video | location | link ...
    msg_id: str | None = None
    content: str = ""
    pic_url: str = ""
    media_id: str = ""
    recognition: str = ""
    event: str = ""
    event_key: str = ""

    @property
    def external_id(self) -> str:
        if self.msg_id:
            return self.msg_id
        return f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}"  # events carry no MsgId


def pushed_of(fields: dict[str, str]) -> Pushed:
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name):
            raise MalformedXml(f"<{name}> is missing")
    try:
        created = int(fields["CreateTime"])
    except ValueError:
        raise MalformedXml("<CreateTime> is not a number") from None
    return Pushed(fields["ToUserName"], fields["FromUserName"], created, fields["MsgType"].lower(),
                  fields.get("MsgId") or None, fields.get("Content", ""), fields.get("PicUrl", ""),
                  fields.get("MediaId", ""), fields.get("Recognition", ""), fields.get("Event", "").lower(),
                  fields.get("EventKey", ""))


def _cdata(value: str) -> str:
    # "]]>" would end the section early: split it across two sections
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_user: str, from_user: str, create_time: int, text: str) -> str:
    return (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(text)}</Content></xml>")


def encrypted_envelope(*, encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    return (f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt><MsgSignature>{_cdata(msg_signature)}</MsgSignature>"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>")
