"""Raw e-mails as real mail programs write them (Outlook, Foxmail, Gmail, QQ Mail), built byte by byte so that
the charsets, transfer encodings and header encodings are exactly what arrives, not what Python would write."""

from __future__ import annotations

import base64

__all__ = ["attachment", "encoded_word", "raw_mail"]


def _codec(charset: str) -> str:
    return "gb18030" if charset.lower() in ("gb2312", "gbk") else charset


def encoded_word(text: str, charset: str) -> str:
    """RFC 2047 encoded word (base64), in `charset`."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(_codec(charset))).decode()}?="


def raw_mail(*, body: str | bytes = "你好，我的信用卡被盗刷了，请帮我冻结。", charset: str = "utf-8",
             subject: str = "信用卡被盗刷", sender: str = "张三 <zhang.san@customer.example>",
             message_id: str | None = "<m1@customer.example>", headers: dict[str, str] | None = None,
             content_type: str = "text/plain", cte: str = "base64", extra_parts: list[bytes] | None = None) -> bytes:
    """A mail whose body is `body` encoded in `charset` (bytes are sent as they are, for lying labels)."""
    data = body if isinstance(body, bytes) else body.encode(_codec(charset))
    encoded = base64.encodebytes(data) if cte == "base64" else data
    lines = [f"From: {sender}", "To: service@demo-bank.example", f"Subject: {subject}",
             "Date: Mon, 07 Dec 2026 10:00:00 +0800", "MIME-Version: 1.0"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    part = (f"Content-Type: {content_type}; charset=\"{charset}\"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            ).encode() + encoded
    if not extra_parts:
        return ("\r\n".join(lines) + "\r\n").encode() + part
    boundary = b"==caredesk-test-boundary=="
    out = ("\r\n".join(lines) + "\r\n").encode()
    out += b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
    for p in [part, *extra_parts]:
        out += b"--" + boundary + b"\r\n" + p + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def attachment(name: str, content_type: str, data: bytes) -> bytes:
    return (f"Content-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; "
            f"filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(data)
