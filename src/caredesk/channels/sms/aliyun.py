"""Aliyun SMS (阿里云短信服务) SendSms: the RPC API's request signature (version 1.0, HMAC-SHA1 over the
canonical query, key = AccessKeySecret + "&") and the meaning of its answer codes.

The text travels as the one variable of an approved template (mainland SMS cannot carry free text): the
operator registers a template such as "${content}" and names it in CAREDESK_SMS_ALIYUN_TEMPLATE_CODE."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from caredesk.settings import Settings

__all__ = ["AliyunAnswer", "AliyunConfig", "judge", "send_params", "signature"]

API_VERSION = "2017-05-25"
# Codes a later attempt may get past: Aliyun's own faults and throttling (per-number limits lift in minutes)
_TRANSIENT = ("isp.", "Throttling", "ServiceUnavailable", "InternalError", "isv.BUSINESS_LIMIT_CONTROL")


@dataclass(frozen=True)
class AliyunConfig:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    template_param: str = "content"
    api_base: str = "https://dysmsapi.aliyuncs.com"
    region: str = "cn-hangzhou"

    @classmethod
    def from_settings(cls, settings: Settings) -> AliyunConfig:
        """The account from CAREDESK_SMS_ALIYUN_*; ValueError naming every one that is missing."""
        needed = {"CAREDESK_SMS_ALIYUN_ACCESS_KEY_ID": settings.sms_aliyun_access_key_id,
                  "CAREDESK_SMS_ALIYUN_ACCESS_KEY_SECRET": settings.sms_aliyun_access_key_secret,
                  "CAREDESK_SMS_ALIYUN_SIGN_NAME": settings.sms_aliyun_sign_name,
                  "CAREDESK_SMS_ALIYUN_TEMPLATE_CODE": settings.sms_aliyun_template_code}
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ValueError(f"CAREDESK_SMS_PROVIDER=aliyun needs {', '.join(missing)}")
        return cls(str(settings.sms_aliyun_access_key_id), str(settings.sms_aliyun_access_key_secret),
                   str(settings.sms_aliyun_sign_name), str(settings.sms_aliyun_template_code),
                   settings.sms_aliyun_template_param, settings.sms_aliyun_api_base)


def _enc(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986 unreserved characters kept, space as %20, UTF-8."""
    return quote(value, safe="-_.~")


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_enc('/')}&{_enc(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_params(config: AliyunConfig, *, phone: str, text: str, out_id: str, now: datetime,
                nonce: str | None = None) -> dict[str, str]:
    """The signed form body of one SendSms. `out_id` (ours) comes back in the delivery report."""
    params = {
        "AccessKeyId": config.access_key_id, "Action": "SendSms", "Format": "JSON", "RegionId": config.region,
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex, "SignatureVersion": "1.0",
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": API_VERSION,
        "PhoneNumbers": phone.removeprefix("+"), "SignName": config.sign_name,
        "TemplateCode": config.template_code, "OutId": out_id,
        "TemplateParam": json.dumps({config.template_param: text}, ensure_ascii=False),
    }
    return params | {"Signature": signature(params, config.access_key_secret)}


@dataclass(frozen=True)
class AliyunAnswer:
    outcome: str  # sent | transient | refused
    biz_id: str | None
    code: str


def judge(status: int, body: object) -> AliyunAnswer:
    """What SendSms's answer means for the delivery (the code only: its message may echo the number)."""
    data = body if isinstance(body, dict) else {}
    code = str(data.get("Code") or f"HTTP {status}")[:80]
    if status < 300 and code == "OK":
        biz = data.get("BizId")
        return AliyunAnswer("sent", str(biz)[:128] if biz else None, code)
    if status >= 500 or status in {408, 429} or code.startswith(_TRANSIENT):
        return AliyunAnswer("transient", None, code)
    return AliyunAnswer("refused", None, code)
