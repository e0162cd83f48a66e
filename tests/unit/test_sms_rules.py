"""SMS rules without a server: segments and cutting, the opt-out keywords, phone numbers, the generic
webhook's signature, Aliyun's request signature (the published example) and the parsing of every body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from caredesk.channels.calls.speech import Segment
from caredesk.channels.calls.transcript import customer_side
from caredesk.channels.sms.aliyun import AliyunConfig, judge, send_params, signature
from caredesk.channels.sms.errors import InvalidSmsPayload, SmsSignatureRefused
from caredesk.channels.sms.formats import aliyun_receipts, aliyun_uplink, generic_inbound, generic_receipt
from caredesk.channels.sms.signature import check_generic, sign
from caredesk.channels.sms.text import fit_segments, keyword, normalise_phone, sms_length

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_sms_length_counts_gsm_and_ucs2_segments() -> None:
    assert (sms_length("a" * 160).encoding, sms_length("a" * 160).segments) == ("gsm7", 1)
    assert sms_length("a" * 161).segments == 2 and sms_length("a" * 306).segments == 2
    assert sms_length("a" * 307).segments == 3
    assert sms_length("€" * 80).units == 160 and sms_length("€" * 81).segments == 2  # extension chars count twice
    assert (sms_length("您" * 70).encoding, sms_length("您" * 70).segments) == ("ucs2", 1)
    assert sms_length("您" * 71).segments == 2 and sms_length("您" * 134).segments == 2
    assert sms_length("hello 您好").encoding == "ucs2"  # one Chinese character makes the whole text UCS-2


def test_fit_segments_cuts_long_replies_with_an_ellipsis() -> None:
    short = "您的工单已受理。"
    assert fit_segments(short, 1) == short
    cut = fit_segments("您" * 500, 3)
    assert cut.endswith("…") and sms_length(cut).segments == 3 and len(cut) == 3 * 67
    assert sms_length(fit_segments("word " * 400, 2)).segments == 2


@pytest.mark.parametrize("text", ["TD", "td", " Td。", "退订", "STOP", "stop!", "Unsubscribe", "UNSUBSCRIBE\n"])
def test_keyword_opt_out_alone_in_the_message(text: str) -> None:
    assert keyword(text) == "opt_out"


@pytest.mark.parametrize("text", ["TD 我的卡被冻结了", "please stop charging me", "退订了还在收费", "STOPPED"])
def test_keyword_inside_a_sentence_is_an_ordinary_message(text: str) -> None:
    assert keyword(text) is None


def test_keyword_opt_in() -> None:
    assert keyword("START") == keyword("恢复") == keyword("start") == "opt_in"


def test_normalise_phone_forms() -> None:
    assert normalise_phone("13800000000") == normalise_phone("+86 138-0000-0000") == "+8613800000000"
    assert normalise_phone("008613800000000") == normalise_phone("8613800000000") == "+8613800000000"
    assert normalise_phone("+85291234567") == "+85291234567"
    assert normalise_phone("not a phone") is None and normalise_phone("123") is None


def test_generic_signature_accepts_the_right_one_and_refuses_forged_stale_missing() -> None:
    body, secret = b'{"id":"1"}', "s3cret-for-tests"
    good = sign(secret, int(NOW.timestamp()), body)
    check_generic(signature=good, token=None, body=body, secret=secret, shared_token=None, now=NOW, tolerance=300)
    reasons = []
    for header in (sign("other", int(NOW.timestamp()), body), sign(secret, int(NOW.timestamp()) - 301, body),
                   "garbage", None):
        with pytest.raises(SmsSignatureRefused) as refused:
            check_generic(signature=header, token=None, body=body, secret=secret, shared_token=None, now=NOW,
                          tolerance=300)
        reasons.append(refused.value.details["reason"])
    assert reasons == ["mismatch", "stale", "malformed", "missing"]
    with pytest.raises(SmsSignatureRefused):  # the signature of another body
        check_generic(signature=good, token=None, body=b'{"id":"2"}', secret=secret, shared_token=None, now=NOW,
                      tolerance=300)
    check_generic(signature=None, token="tok", body=body, secret=None, shared_token="tok", now=NOW, tolerance=300)
    with pytest.raises(SmsSignatureRefused):
        check_generic(signature=None, token="nope", body=body, secret=None, shared_token="tok", now=NOW,
                      tolerance=300)
    with pytest.raises(SmsSignatureRefused) as unconfigured:
        check_generic(signature=good, token="x", body=body, secret=None, shared_token=None, now=NOW, tolerance=300)
    assert unconfigured.value.details["reason"] == "not_configured"


def test_aliyun_signature_matches_the_published_example() -> None:
    # Aliyun SMS API documentation's worked example of the version 1.0 request signature (GET)
    params = {"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
              "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
              "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
              "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}
    assert signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_send_params_carry_the_text_in_the_template_and_are_signed() -> None:
    config = AliyunConfig("kid", "ksecret", "某银行", "SMS_1", "content")
    params = send_params(config, phone="+8613800000000", text="您好", out_id="d1", now=NOW, nonce="n1")
    assert params["PhoneNumbers"] == "8613800000000" and params["OutId"] == "d1"
    assert json.loads(params["TemplateParam"]) == {"content": "您好"} and params["Timestamp"] == "2026-12-07T02:00:00Z"
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == signature(unsigned, "ksecret")


def test_aliyun_answer_codes() -> None:
    assert judge(200, {"Code": "OK", "BizId": "900"}).biz_id == "900"
    assert judge(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL"}).outcome == "refused"
    assert judge(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"}).outcome == "transient"
    assert judge(200, {"Code": "isp.SYSTEM_ERROR"}).outcome == "transient"
    assert judge(400, {"Code": "SignatureDoesNotMatch"}).outcome == "refused"
    assert judge(502, None).outcome == "transient"


def test_generic_bodies_parse_or_are_refused_with_a_reason() -> None:
    sms = generic_inbound(json.dumps({"from": "13800000000", "to": "95588", "text": "查余额", "id": "g-1",
                                      "received_at": "2026-12-07T10:00:00+08:00"}).encode(), max_chars=100)
    assert (sms.external_id, sms.phone, sms.to, sms.text) == ("generic:g-1", "+8613800000000", "95588", "查余额")
    assert sms.received_at == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    problems = []
    for body in (b"not json", b"[" * 20_000 + b"]" * 20_000, b"[]", b'{"from": "138", "text": "x", "id": "1"}',
                 b'{"from": "13800000000", "id": "1"}',
                 b'{"from": "13800000000", "text": "x", "id": "1", "received_at": "yesterday"}',
                 json.dumps({"from": "13800000000", "text": "x" * 101, "id": "1"}).encode()):
        with pytest.raises(InvalidSmsPayload) as refused:
            generic_inbound(body, max_chars=100)
        problems.append(refused.value.details.get("problem"))
    assert problems == ["not_json", "not_json", "not_object", "not_a_phone", "missing", "time", "too_long"]
    receipt = generic_receipt(b'{"id": "gw-1", "status": "failed", "error": "UNDELIV"}')
    assert (receipt.external_id, receipt.delivered, receipt.error) == ("gw-1", False, "UNDELIV")
    with pytest.raises(InvalidSmsPayload):
        generic_receipt(b'{"id": "gw-1", "status": "read"}')


def test_aliyun_bodies_parse_whole_or_not_at_all() -> None:
    up = aliyun_uplink(json.dumps([{"phone_number": "13800000000", "send_time": "2026-12-07 10:00:00",
                                    "content": "TD", "sign_name": "某银行", "dest_code": "1234",
                                    "sequence_id": 1234567}]).encode(), max_chars=100)
    assert up[0].external_id == "aliyun:1234567" and up[0].received_at == NOW
    reports = aliyun_receipts(json.dumps([
        {"phone_number": "13800000000", "send_time": "2026-12-07 10:00:00", "report_time": "2026-12-07 10:00:05",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900",
         "out_id": "d1"},
        {"phone_number": "13800000000", "success": False, "err_code": "MK:0001", "err_msg": "空号",
         "biz_id": "901"}]).encode())
    assert [(r.external_id, r.delivery_id, r.delivered) for r in reports] == [("900", "d1", True), ("901", None, False)]
    assert reports[1].error == "MK:0001: 空号"
    with pytest.raises(InvalidSmsPayload):  # the second item is bad: the whole batch is refused
        aliyun_uplink(json.dumps([{"phone_number": "13800000000", "content": "hi", "sequence_id": 1},
                                  {"phone_number": "13800000000", "sequence_id": 2}]).encode(), max_chars=100)
    with pytest.raises(InvalidSmsPayload):
        aliyun_receipts(b'[{"biz_id": "1", "success": "yes"}]')


def test_customer_side_joins_the_customer_turns_in_time_order_and_cuts_at_a_turn() -> None:
    segments = (Segment("agent", 0, 900, "您好，请讲"), Segment("customer", 2000, 3000, "我的信用卡被盗刷了"),
                Segment("customer", 1000, 1900, "你好"), Segment("customer", 4000, 5000, "  "))
    side = customer_side(segments, 100)
    assert side is not None and side.text == "你好\n我的信用卡被盗刷了" and side.turns == 2 and not side.truncated
    cut = customer_side(segments, 5)
    assert cut is not None and cut.text == "你好" and cut.truncated
    assert customer_side((Segment("agent", 0, 1, "喂"),), 100) is None


def test_aliyun_config_from_settings_names_every_missing_setting() -> None:
    from caredesk.settings import Settings

    base = dict(environment="test", secret_key="s" * 40, sms_provider="aliyun")
    with pytest.raises(ValueError, match="ALIYUN_ACCESS_KEY_SECRET, CAREDESK_SMS_ALIYUN_TEMPLATE_CODE"):
        AliyunConfig.from_settings(Settings(**base, sms_aliyun_access_key_id="id", sms_aliyun_sign_name="银行"))
    full = Settings(**base, sms_aliyun_access_key_id="id", sms_aliyun_access_key_secret="k",
                    sms_aliyun_sign_name="银行", sms_aliyun_template_code="SMS_1")
    config = AliyunConfig.from_settings(full)
    assert (config.access_key_id, config.sign_name, config.template_code) == ("id", "银行", "SMS_1")
