"""Reading inbound mail: charsets of Chinese mail programs, HTML, quoted history, automatic mail, hostile input."""

from __future__ import annotations

import pytest

from caredesk.channels.mail.html_text import html_to_text
from caredesk.channels.mail.parse import parse_mail
from caredesk.channels.mail.quoting import strip_quoted
from caredesk.channels.mail.thread import clean_subject, reply_subject
from caredesk.errors import InvalidEmail
from tests.support.mails import attachment, encoded_word, raw_mail

GBK_ONLY = "镕"  # in GBK (and GB18030) but not in GB2312: what "GB2312" mail really carries


@pytest.mark.parametrize("charset", ["utf-8", "gb2312", "gbk", "gb18030", "big5"])
def test_parse_mail_decodes_chinese_bodies_and_rfc2047_subjects(charset: str) -> None:
    text = "我的信用卡被盗刷，请冻结" if charset != "big5" else "我的信用卡被盜刷，請凍結"
    mail = parse_mail(raw_mail(body=text, charset=charset, subject=encoded_word("盗刷投诉", charset)
                               if charset != "big5" else encoded_word("盜刷投訴", charset)))
    assert mail.text == text
    assert mail.subject in ("盗刷投诉", "盜刷投訴")
    assert mail.sender == "zhang.san@customer.example" and mail.sender_name == "张三"
    assert mail.header_id == "<m1@customer.example>" and not mail.notes


def test_parse_mail_reads_gb2312_labelled_gbk_text_as_gb18030() -> None:
    body = f"朱{GBK_ONLY}基先生的账户".encode("gbk")
    mail = parse_mail(raw_mail(body=body, charset="gb2312", subject=encoded_word(f"关于{GBK_ONLY}", "gb2312")))
    assert mail.text == f"朱{GBK_ONLY}基先生的账户" and mail.subject == f"关于{GBK_ONLY}"
    assert not mail.notes  # not a guess: GB2312 is read as GB18030 by rule


def test_parse_mail_notes_a_wrong_label_and_reads_what_the_bytes_are() -> None:
    mail = parse_mail(raw_mail(body="转账失败".encode("gb18030"), charset="utf-8"))
    assert mail.text == "转账失败"
    assert mail.notes == ("labelled utf-8 but read as gb18030",)


def test_parse_mail_refuses_an_unknown_charset_unless_the_bytes_are_utf8() -> None:
    with pytest.raises(InvalidEmail) as refused:
        parse_mail(raw_mail(body="转账失败".encode("gb18030"), charset="x-klingon"))
    assert refused.value.details["problem"] == "unknown_charset"
    read = parse_mail(raw_mail(body="转账失败".encode(), charset="x-klingon"))
    assert read.text == "转账失败" and "unknown charset" in read.notes[0]


def test_parse_mail_turns_html_into_text_without_scripts_styles_or_quotes() -> None:
    html = ("<html><head><style>p{color:red}</style><title>t</title></head><body><p>您好，</p>"
            "<div>我的订单&nbsp;123456 <b>还没到</b>。<br>谢谢</div><script>alert('x')</script>"
            "<blockquote>之前的邮件内容</blockquote><div class=\"gmail_quote\">On Mon wrote: old</div></body></html>")
    mail = parse_mail(raw_mail(body=html, content_type="text/html"))
    assert mail.text == "您好，\n\n我的订单 123456 还没到。\n谢谢"


def test_html_to_text_survives_unclosed_and_nested_tags() -> None:
    assert html_to_text("<div><p>一<p>二<span>三</div>四") == "一\n二三\n四"


@pytest.mark.parametrize("history", [
    "On Mon, 7 Dec 2026 at 10:00, Bank <service@demo-bank.example> wrote:\n> old",
    "在 2026年12月7日 10:00，客服 <service@demo-bank.example> 写道：\nold text",
    "-----原始邮件-----\n发件人: service@demo-bank.example\n发送时间: 2026年12月7日\n主题: Re: 投诉",
    "发件人: 客服中心\n发送时间: 2026-12-07 10:00\n收件人: 张三\n主题: 回复：投诉",
    "________________________________\nFrom: Service <service@demo-bank.example>\nSent: Monday",
    "-----Original Message-----\nFrom: Service\nSent: Monday\nSubject: Re",
])
def test_strip_quoted_keeps_only_the_new_text(history: str) -> None:
    assert strip_quoted(f"还是没有到账，请尽快处理。\n\n{history}\n更多旧内容") == "还是没有到账，请尽快处理。"


def test_strip_quoted_drops_quoted_lines_and_keeps_answers_between_them() -> None:
    assert strip_quoted("已经处理了吗？\n> 您好\n> 上一封邮件") == "已经处理了吗？"
    assert strip_quoted("> 卡号是多少？\n尾号 1234\n> 何时办理？\n明天") == "尾号 1234\n明天"


def test_strip_quoted_keeps_a_mail_that_is_all_quote() -> None:
    assert strip_quoted("> 只有引用") == "> 只有引用"


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto-Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
    ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "auto-submitted: auto-generated"),
    ({"X-Autoreply": "yes"}, "x-autoreply"),
    ({"Precedence": "bulk"}, "precedence: bulk"),
    ({"Return-Path": "<>"}, "empty return path"),
])
def test_parse_mail_recognises_automatic_mail(headers: dict[str, str], reason: str) -> None:
    assert parse_mail(raw_mail(headers=headers)).automatic == reason


def test_auto_submitted_no_is_a_person() -> None:
    assert parse_mail(raw_mail(headers={"Auto-Submitted": "no"})).automatic is None


def test_parse_mail_recognises_bounces() -> None:
    daemon = parse_mail(raw_mail(sender="Mail Delivery System <MAILER-DAEMON@mx.example>"))
    assert daemon.automatic == "mailer daemon"
    report = (b"From: postmaster@mx.example\r\nTo: service@demo-bank.example\r\nSubject: Undelivered\r\n"
              b"Message-ID: <dsn1@mx.example>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
              b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed\r\n--b\r\n"
              b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n")
    assert parse_mail(report).automatic in ("report: delivery-status", "mailer daemon")


def test_parse_mail_header_injection_in_the_subject_stays_one_line() -> None:
    hostile = "=?utf-8?Q?=E6=8A=95=E8=AF=89=0D=0ABcc:_all@evil.example=0D=0A=0D=0Abody?="
    mail = parse_mail(raw_mail(subject=hostile))
    assert "\n" not in mail.subject and "\r" not in mail.subject
    subject = reply_subject(mail.subject, "C20261207-0001", language="zh")
    assert subject == "Re: 投诉 Bcc: all@evil.example body [C20261207-0001]"


def test_reply_subject_drops_prefixes_and_earlier_case_tags() -> None:
    assert clean_subject("回复：RE: Fwd: 盗刷 [C20261207-0001]") == "盗刷"
    assert reply_subject("", None, language="en") == "Re: Your message"


@pytest.mark.parametrize(("raw", "problem"), [
    (b"", "malformed"),
    (b"\x00\x01\x02 not a mail at all", "malformed"),
    (b"Subject: no sender\r\n\r\nbody", "no_sender"),
    (b"From: two@a.example, three@b.example\r\nSubject: x\r\n\r\nbody", "no_sender"),
    (b"From: not-an-address\r\nSubject: x\r\n\r\nbody", "no_sender"),
])
def test_parse_mail_refuses_what_is_not_a_readable_mail(raw: bytes, problem: str) -> None:
    with pytest.raises(InvalidEmail) as refused:
        parse_mail(raw)
    assert refused.value.details["problem"] == problem


def test_parse_mail_survives_broken_mime_and_keeps_attachments() -> None:
    broken = (b"From: a@customer.example\r\nSubject: broken\r\nMessage-ID: <b@c>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n--never-closed\r\n"
              b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"5oiR55qE6LSm5oi3!!!not base64")
    mail = parse_mail(broken)
    assert mail.sender == "a@customer.example"  # read as far as it goes; no exception escapes
    with_file = parse_mail(raw_mail(extra_parts=[attachment("账单.pdf", "application/pdf", b"%PDF-1.4 x")]))
    assert [(p.filename, p.content_type, p.data) for p in with_file.parts] == [
        ("账单.pdf", "application/pdf", b"%PDF-1.4 x")]


def test_parse_mail_without_message_id_gets_a_digest_of_its_bytes() -> None:
    raw = raw_mail(message_id=None)
    assert parse_mail(raw).header_id == parse_mail(raw).header_id
    assert parse_mail(raw).header_id.startswith("sha256:")
    assert parse_mail(raw_mail(message_id=None, body="另一封")).header_id != parse_mail(raw).header_id


def test_parse_mail_threading_headers() -> None:
    mail = parse_mail(raw_mail(headers={"In-Reply-To": "<reply-abc@demo-bank.example>",
                                        "References": "<a@x> <b@y>\r\n <reply-abc@demo-bank.example>"}))
    assert mail.in_reply_to == "<reply-abc@demo-bank.example>"
    assert mail.references == ("<a@x>", "<b@y>", "<reply-abc@demo-bank.example>")
