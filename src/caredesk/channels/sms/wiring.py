"""What the composition root (bootstrap.py, through channels/wiring.py) takes from this package: its tasks,
its event subscribers, its senders by channel and its HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.channels.sms.routes import router

if TYPE_CHECKING:
    from caredesk.channels.outbound import ChannelSender
    from caredesk.runtime import Runtime
    from caredesk.settings import Settings
    from caredesk.tasks.app import TaskQueue

__all__ = ["register_tasks", "router", "senders", "subscribe"]


def register_tasks(queue: TaskQueue) -> None:
    """Queue names are stored with queued tasks: never rename one."""


def subscribe(rt: Runtime) -> None:
    """Handlers of domain events (each idempotent: the relay may deliver an event again)."""


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """The customer SMS sender: Aliyun when chosen (all its settings needed), else the generic gateway when
    CAREDESK_SMS_GATEWAY_URL is set, else none (SMS conversations keep their replies unsent)."""
    from caredesk.channels.sms.aliyun import AliyunConfig
    from caredesk.channels.sms.senders import AliyunSmsSender, GatewaySmsSender
    from caredesk.clock import SystemClock
    from caredesk.notify.sms import SmsGateway

    segments = settings.sms_reply_max_segments
    if settings.sms_provider == "aliyun":
        needed = {"CAREDESK_SMS_ALIYUN_ACCESS_KEY_ID": settings.sms_aliyun_access_key_id,
                  "CAREDESK_SMS_ALIYUN_ACCESS_KEY_SECRET": settings.sms_aliyun_access_key_secret,
                  "CAREDESK_SMS_ALIYUN_SIGN_NAME": settings.sms_aliyun_sign_name,
                  "CAREDESK_SMS_ALIYUN_TEMPLATE_CODE": settings.sms_aliyun_template_code}
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ValueError(f"CAREDESK_SMS_PROVIDER=aliyun needs {', '.join(missing)}")
        config = AliyunConfig(str(settings.sms_aliyun_access_key_id), str(settings.sms_aliyun_access_key_secret),
                              str(settings.sms_aliyun_sign_name), str(settings.sms_aliyun_template_code),
                              settings.sms_aliyun_template_param, settings.sms_aliyun_api_base)
        return {"sms": AliyunSmsSender(config, SystemClock(), max_segments=segments)}
    if settings.sms_gateway_url:
        return {"sms": GatewaySmsSender(SmsGateway(settings.sms_gateway_url, settings.sms_gateway_token),
                                        max_segments=segments)}
    return {}
