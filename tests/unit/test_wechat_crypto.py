"""The WeChat message crypto against WeChat's own published sample (the WXBizMsgCrypt samples of the Official
Account and WeCom documentation: token "QDG6eK", the EncodingAESKey and app id below), and the XML reader
against hostile bodies."""

from __future__ import annotations

import base64

import pytest

from caredesk.channels.wechat.crypto import BadFrame, MessageCrypto, signature, signature_matches
from caredesk.channels.wechat.xml_messages import MalformedXml, fields_of, pushed_of, text_reply

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APP_ID = "wx5823bf96d3bd56c7"
# the sample's URL verification (GET): msg_signature, timestamp, nonce, echostr -> "1616140317555161061"
VERIFY = ("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
          "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")
# the sample's pushed message (POST /cgi-bin/wxpush?msg_signature=...&timestamp=1409659813&nonce=1372623149)
PUSH_SIGNATURE, PUSH_TIMESTAMP, PUSH_NONCE = "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149"
PUSH_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax"
    "5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGH"
    "BZZIs2pDBS8R07+qN+E7Q==")


def test_crypto_published_url_verification_vector() -> None:
    sig, timestamp, nonce, echostr = VERIFY
    assert signature_matches(sig, TOKEN, timestamp, nonce, echostr)
    assert MessageCrypto(AES_KEY, APP_ID).decrypt(echostr) == ("1616140317555161061", APP_ID)


def test_crypto_published_message_vector() -> None:
    assert signature(TOKEN, PUSH_TIMESTAMP, PUSH_NONCE, PUSH_ENCRYPT) == PUSH_SIGNATURE
    message, receive_id = MessageCrypto(AES_KEY, APP_ID).decrypt(PUSH_ENCRYPT)
    assert receive_id == APP_ID
    pushed = pushed_of(fields_of(message))
    assert (pushed.to_user, pushed.from_user, pushed.msg_type, pushed.content, pushed.msg_id) == (
        APP_ID, "mycreate", "text", "hello", "4561255354251345929")


def test_crypto_signature_refuses_any_change() -> None:
    sig, timestamp, nonce, echostr = VERIFY
    assert not signature_matches(sig, TOKEN, timestamp, str(int(nonce) + 1), echostr)
    assert not signature_matches(sig, "QDG6eL", timestamp, nonce, echostr)
    assert not signature_matches("", TOKEN, timestamp, nonce, echostr)
    assert not signature_matches("签名", TOKEN, timestamp, nonce, echostr)


def test_crypto_round_trip_counts_bytes_not_characters() -> None:
    # the sample's reply names a sender with Chinese in it: the length field is in UTF-8 bytes
    crypto = MessageCrypto(AES_KEY, APP_ID)
    xml = text_reply(to_user="mycreate", from_user="wx582测试一下中文的情况，消息长度是按字节来算的396d3bd56c7",
                     create_time=1348831860, text="this is a test")
    encrypted = crypto.encrypt(xml)
    assert len(base64.b64decode(encrypted)) % 32 == 0  # PKCS#7 to WeChat's 32-byte blocks
    assert crypto.decrypt(encrypted) == (xml, APP_ID)
    for size in range(0, 70):  # every padding length, a whole extra block included
        assert crypto.decrypt(crypto.encrypt("x" * size)) == ("x" * size, APP_ID)


def test_crypto_refuses_tampered_or_foreign_frames() -> None:
    crypto = MessageCrypto(AES_KEY, APP_ID)
    raw = bytearray(base64.b64decode(crypto.encrypt("hello")))
    raw[-1] ^= 0x55  # the last block's padding no longer checks out
    with pytest.raises(BadFrame):
        crypto.decrypt(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(BadFrame):
        crypto.decrypt("not base64 !!")
    with pytest.raises(BadFrame):
        crypto.decrypt(base64.b64encode(b"short").decode())
    other = MessageCrypto("a" * 43, APP_ID)
    with pytest.raises(BadFrame):
        other.decrypt(crypto.encrypt("hello"))
    with pytest.raises(ValueError):
        MessageCrypto("too-short", APP_ID)


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Content>&lol3;</Content></xml>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
            b'<xml><Content>&ext;</Content></xml>')


@pytest.mark.parametrize("body", [b"", b"<xml><Content>unclosed</xml>", b"plain text", b"<notxml/>", BOMB,
                                  EXTERNAL, b'<!DOCTYPE xml><xml/>', b"<xml><A>" + b"x" * 30_000 + b"</A></xml>"])
def test_xml_refuses_malformed_and_hostile_bodies(body: bytes) -> None:
    with pytest.raises(MalformedXml):
        fields_of(body)


def test_xml_reply_keeps_cdata_terminators_inside() -> None:
    xml = text_reply(to_user="o1", from_user="gh", create_time=1, text="a]]>b<c>&")
    assert fields_of(xml)["Content"] == "a]]>b<c>&"
