"""The SMS senders of customer messages (replies, notices, surveys): the generic gateway that alarm SMS use
(notify/sms.py) or Aliyun SMS. A text longer than the configured number of segments is cut to fit."""

from __future__ import annotations

import logging

from caredesk.channels.outbound import Outgoing, SendRefused, Sent
from caredesk.channels.sms.aliyun import AliyunConfig, judge, send_params
from caredesk.channels.sms.text import fit_segments, sms_length
from caredesk.clock import Clock
from caredesk.compliance.masking import mask_value
from caredesk.notify.sms import SmsError, SmsGateway, SmsRefused, post

__all__ = ["AliyunSmsSender", "GatewaySmsSender"]

log = logging.getLogger(__name__)


def _prepared(out: Outgoing, max_segments: int) -> tuple[str, str]:
    if not out.address:
        raise SendRefused("the conversation has no phone number")
    text = fit_segments(out.text, max_segments)
    length = sms_length(text)
    log.info("sms out to %s: %s, %d %s units, %d segment(s)%s", mask_value("phone", out.address), out.kind,
             length.units, length.encoding, length.segments, " (cut)" if text != out.text else "")
    return out.address, text


class GatewaySmsSender:
    """The bank's generic gateway (CAREDESK_SMS_GATEWAY_URL): the delivery id as `ref`, its `id` kept for
    the receipts."""

    def __init__(self, gateway: SmsGateway, *, max_segments: int) -> None:
        self.gateway, self.max_segments = gateway, max_segments

    def send(self, out: Outgoing) -> Sent:
        phone, text = _prepared(out, self.max_segments)
        try:
            return Sent(self.gateway.deliver(phone, text, out.delivery_id))
        except SmsRefused as exc:
            raise SendRefused(str(exc)) from exc


class AliyunSmsSender:
    def __init__(self, config: AliyunConfig, clock: Clock, *, max_segments: int, timeout: float = 10.0) -> None:
        self.config, self.clock, self.max_segments, self.timeout = config, clock, max_segments, timeout

    def send(self, out: Outgoing) -> Sent:
        phone, text = _prepared(out, self.max_segments)
        params = send_params(self.config, phone=phone, text=text, out_id=out.delivery_id, now=self.clock.now())
        response = post(self.config.api_base.rstrip("/") + "/", data=params, timeout=self.timeout)
        try:
            body: object = response.json()
        except ValueError:
            body = None
        answer = judge(response.status_code, body)
        if answer.outcome == "transient":
            raise SmsError(f"Aliyun SMS: {answer.code}")
        if answer.outcome == "refused":
            raise SendRefused(f"Aliyun SMS refused the message: {answer.code}")
        return Sent(answer.biz_id)
