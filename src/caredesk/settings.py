"""Typed settings, read from the environment (prefix CAREDESK_) when the composition root asks for them."""

from __future__ import annotations

from datetime import time, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, IPvAnyNetwork, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_SECRET", "DEFAULT_SECRET_WARNING", "Settings"]

DEFAULT_SECRET = "change-me-development-only"
DEFAULT_SECRET_WARNING = "CAREDESK_SECRET_KEY is the development default; set a long random value"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREDESK_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEFAULT_SECRET
    # Field encryption at rest (AES-256-GCM): {"key id": "base64 of 32 random bytes"} (`caredesk keys generate`)
    # and the id that new writes use. Unset: one key derived from the secret key (development only).
    encryption_keys: dict[str, str] = Field(default_factory=dict)
    encryption_active_key: str | None = None
    database_url: str = "sqlite:///var/caredesk.db"
    # Request handlers run in a thread pool of 40: each may hold one connection at a time.
    database_pool_size: int = 10
    database_max_overflow: int = 30
    redis_url: str | None = None
    var_dir: Path = Path("var")
    base_url: str = "http://127.0.0.1:8000"

    # Background tasks: "embedded" runs a Huey consumer inside the server process; "external" expects
    # `caredesk worker` processes (required with Redis and several API processes).
    tasks_mode: Literal["embedded", "external", "immediate"] = "embedded"

    # Security (README, "Security"): the staff session cookie's lifetime, and sign-in throttling per account and
    # per client address (failures within the window lock for the lockout period).
    session_max_age_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    # Unusual sign-ins (accounts/login_risk.py): from a network the account has not used (IPv4 /24, IPv6 /48)
    # or outside office hours in the centre's time zone (an end before the start wraps past midnight; equal:
    # all day) -> "freeze" the account and alert the administrators, only "alert", or "off". Trusted networks
    # (CIDR; list the office LAN) are never judged; an account's first sign-ins only learn its places.
    login_anomaly_action: Literal["freeze", "alert", "off"] = "freeze"
    login_hours_start: time = time(7)
    login_hours_end: time = time(22)
    login_hours_timezone: ZoneInfo = Field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # The centre's time zone: every time on a page is shown in it (stored times are UTC).
    display_timezone: ZoneInfo = Field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    login_trusted_networks: list[IPvAnyNetwork] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")])  # this machine only
    login_learning_sign_ins: int = Field(default=3, ge=0)
    # Staff single sign-on (OpenID Connect; README, "Security"): an issuer URL turns it on. The ID token's
    # username claim must name an existing, active staff member; no account is created, roles stay CareDesk's.
    oidc_issuer: str = ""  # exactly the provider's `issuer`, e.g. https://sso.bank.example/realms/staff
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # empty: a public client (PKCE only)
    oidc_username_claim: str = "preferred_username"  # compared with Staff.username, exactly
    oidc_button_label: str = ""  # empty: "Sign in with SSO" in the page's language
    # Outgoing replies are checked against these rules (None: the rules shipped in caredesk/compliance).
    outgoing_rules_path: Path | None = None

    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 50_000_000  # knowledge-base files (XLSX/CSV import)
    max_message_chars: int = 5_000
    # Requests per minute per API key or signed-in user (0: no limit); reads of customer records
    # (conversations, reveals) per hour above which the account is frozen and administrators alerted.
    rate_limit_per_minute: int = 3_000  # an integration key posting a contact centre's traffic: 50/s
    record_reads_freeze_per_hour: int = 2_000
    # Retention (days): messages anonymised, idle customers' contact data cleared, in-app notices deleted.
    retention_message_days: int = 1825
    retention_customer_days: int = 1825
    retention_notification_days: int = 90

    # Work orders: SLA policies and business calendars (None: the shipped sla/sla.yaml).
    sla_file: Path | None = None

    # Seed-method decision (DESIGN.md steps 1-4): all of it is configuration.
    emergency_urgency: list[str] = Field(default_factory=lambda: ["urgent"])
    # The emergency gate's calibrated confidence (below it, or without a hard rule, a lead confirms first).
    emergency_min_confidence: float = Field(0.75, ge=0.0, le=1.0)
    kb_threshold: float = 0.55
    # An emergency reply gives the self-help steps of the best knowledge entry at this confidence or above (lower
    # than an answer's bar: the advice stands beside the emergency response, it does not replace it). Measured on the
    # demo knowledge base: the fitting entry 0.17-0.84 for card-fraud and lost-card messages, the best unrelated
    # one 0.02-0.13 for outage, safety and identity-theft messages.
    kb_advice_threshold: float = Field(0.15, ge=0.0, le=1.0)
    kb_widen_below_confidence: float = 0.7  # calibrated: content types said at 0.6-0.7 are wrong a third of the time
    # Above it, a runner-up content type at least this likely is searched too: a content type said at 0.7-0.8 is
    # still wrong a fifth of the time (dev reliability, corpus/README.md).
    kb_runner_up_min_probability: float = Field(0.15, ge=0.0, le=1.0)
    kb_clarify_margin: float = 0.08
    kb_clarify_max_options: int = 3
    # How long a process trusts its last read of the published entries' signature before reading it again: a
    # publish, edit or archive (in any process) answers customers within this many seconds. 0: read it on every
    # message (one query and one session each: ~6% of an intake on SQLite, measured in docs/performance.md).
    kb_freshness_seconds: float = Field(2.0, ge=0.0, le=60.0)
    # How long a process trusts its last finding that no webhook subscription is active (most sites have none):
    # a subscription added in any process receives the events of at most this many seconds later. 0: look on
    # every domain event (a session and a query each: two per intake).
    webhook_freshness_seconds: float = Field(2.0, ge=0.0, le=60.0)
    # The conversation watch's rule is the alarm strategy's `watch:` (strategy.yaml: level 2, threshold 3,
    # earlier contacts of 7 days); these override its level, threshold and message window when set.
    alarm_complaint_level: int | None = Field(None, ge=1, le=4)
    alarm_threshold: int | None = Field(None, ge=1)
    alarm_window_minutes: int | None = Field(None, gt=0)
    # A high-risk order (complaint level 3+, alarmed conversation, emergency) with nobody free goes to the lead on
    # duty at once; one that became high-risk while waiting goes after this many minutes unassigned.
    duty_handoff_after_minutes: int = Field(5, ge=1)
    # Alarm strategy (who is told, channels, quiet hours, escalation): a YAML file; None = the built-in one.
    alarm_strategy_file: Path | None = None
    # Threshold alert rules (analytics/thresholds.py): a YAML file; None = the built-in analytics/thresholds.yaml.
    analytics_thresholds_file: Path | None = None
    # Outside customer sources and the CRM import's extra columns (profiles/sources.py): a YAML file; None = the
    # built-in customers/sources.yaml (its examples are disabled).
    customer_sources_file: Path | None = None
    alarm_webhook_secrets: dict[str, str] = Field(default_factory=dict)  # chat-ops webhook name -> secret
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None

    # Linked emergency response
    meeting_url_pattern: str = "https://meet.jit.si/caredesk-{meeting_id}"
    meeting_provider: Literal["pattern", "webhook"] = "pattern"
    meeting_webhook_url: str | None = None  # the bank's meeting system (webhook provider)
    meeting_webhook_secret: str | None = None
    monitoring_url: str | None = None  # an HTTP JSON monitoring source for the emergency context (else built-in)
    monitoring_token: str | None = None
    incident_sections: list[str] = Field(default_factory=lambda: ["timeline", "cause_and_actions",
                                                                  "review_and_sign_off"])
    meeting_duration_minutes: int = 60

    # Notices (docs/architecture.md, "Delivery guarantee of notices"): a worker's claim on a notice it is sending
    # (longer than one send: SMTP's timeout is 15 s), and how long an outbox row handed to a queued task waits for
    # it before the relay queues the task again (a worker that died). The claim lapses first, so that the task
    # queued again can take it.
    notice_claim_seconds: int = Field(120, ge=1)
    outbox_task_lease_seconds: int = Field(300, ge=2)

    # Outgoing e-mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "CareDesk <caredesk@localhost>"
    # When set, e-mail is written there as .eml files instead of sent over SMTP: the demo's mail catcher
    # (`make run` sets var/mail), so that a site without a mail server still sees every invitation and notice.
    mail_dir: Path | None = None

    model_dir: Path | None = None  # defaults to var_dir / "models"

    # Operators (docs/analytics-ops.md): log lines as text (default) or one JSON object per line; who may read
    # /metrics: "loopback" (this machine only) or "token" (Authorization: Bearer <metrics_token>).
    log_format: Literal["text", "json"] = "text"
    metrics_access: Literal["loopback", "token"] = "loopback"
    metrics_token: str = ""
    # Staffing in the forecast (Erlang C): average handling time of a contact, and the service level to plan for
    # (this share answered within that many seconds).
    forecast_aht_seconds: float = Field(240.0, gt=0)
    forecast_answer_within_seconds: float = Field(60.0, ge=0)
    forecast_service_level: float = Field(0.8, gt=0, lt=1)
    # --- channels/notices ---
    # Proactive notices to the customer's channel (accepted, transferred, resolved): the texts, triggers, quiet
    # window and quiet hours in a YAML file (default: the shipped channels/notices/notices.yaml).
    notices_enabled: bool = True
    notices_file: Path | None = None

    # --- channels.wechat ---
    # The Official Account answered at /channels/wechat (docs/channels-wechat.md); more accounts and WeCom in
    # channels_file (default: the shipped example, nothing enabled; each secret named by its variable there).
    wechat_token: str = ""
    wechat_aes_key: str = ""  # the EncodingAESKey (43 characters); empty: plaintext mode
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    channels_file: Path | None = None
    # A callback older or newer than this is refused (and a nonce seen within it is a replay).
    wechat_timestamp_window_seconds: int = Field(300, ge=30)
    # WeChat waits 5 s for the passive reply: past this budget the callback answers "success" at once and
    # the reply goes through the customer-service message API.
    wechat_reply_budget_seconds: float = Field(4.0, ge=0, le=4.5)
    wechat_max_body_bytes: int = Field(65_536, ge=1024)

    # --- channels/livechat ---
    # The customer's live chat stream (server-sent events): it ends after this long and the browser reconnects
    # (after `retry` milliseconds) from its last event; a comment line every `keepalive` seconds keeps proxies
    # open; the work order's state (queue place, agent) is read again every `state` seconds.
    livechat_stream_seconds: float = Field(300.0, gt=0)
    livechat_retry_ms: int = Field(3000, ge=100)
    livechat_keepalive_seconds: float = Field(15.0, gt=0)
    livechat_state_seconds: float = Field(10.0, gt=0)

    # --- integrations.connectors ---
    # The CRM, order and logistics connectors (integrations/connectors/config.py): a YAML file; None = the built-in
    # integrations/connectors.yaml (its examples are disabled: no connector, today's behaviour).
    connectors_file: Path | None = None
    # How long the bot waits for a live order or parcel status, retries included, before it says "we'll follow
    # up" and opens a work order (the lookup runs before intake's transaction: no lock is held meanwhile).
    connectors_bot_budget_seconds: float = Field(3.0, gt=0, le=10)

    # --- channels.sms ---
    # Customer SMS in and out (docs/channels-sms-calls.md). Inbound on our generic webhook: signed
    # (X-CareDesk-Signature: t=UNIX,v1=HMAC-SHA256 over "t.body") with the secret, or a shared token.
    sms_inbound_secret: str | None = None
    sms_inbound_token: str | None = None
    sms_signature_tolerance_seconds: int = Field(300, ge=10)
    # Replies go by the generic gateway (CAREDESK_SMS_GATEWAY_URL, as alarm SMS) or by Aliyun SMS.
    sms_provider: Literal["generic", "aliyun"] = "generic"
    sms_reply_max_segments: int = Field(5, ge=1, le=10)  # a longer bot reply is cut to fit
    sms_aliyun_access_key_id: str | None = None
    sms_aliyun_access_key_secret: str | None = None
    sms_aliyun_sign_name: str | None = None
    sms_aliyun_template_code: str | None = None  # a template whose only variable carries the text
    sms_aliyun_template_param: str = "content"
    sms_aliyun_api_base: str = "https://dysmsapi.aliyuncs.com"
    sms_aliyun_callback_token: str | None = None  # ?token= in the uplink and receipt push URLs

    # --- channels.calls ---
    # Speech recognition for calls that arrive without a transcript: "package.module:factory" (called with the
    # settings, returns a SpeechEngine); None = transcripts only.
    calls_speech_engine: str | None = None

    # --- integrations.webhooks ---
    # Outgoing event webhooks (docs/integrations-webhooks.md): one request's timeout; how many tries a delivery
    # gets (retryable failures: 5xx, 408, 429, timeouts, refused connections) and how many for other 4xx answers;
    # the backoff's first wait and cap; an endpoint is disabled after this many failures in a row spread over at
    # least this many hours (410 Gone disables at once); refusing receivers on private/loopback addresses is off
    # by default (internal receivers are normal on-premises).
    webhooks_timeout_seconds: float = Field(10.0, gt=0, le=120)
    webhooks_max_attempts: int = Field(10, ge=1, le=50)
    webhooks_client_error_attempts: int = Field(3, ge=1, le=50)
    webhooks_backoff_seconds: int = Field(30, ge=1)
    webhooks_backoff_cap_seconds: int = Field(3600, ge=1)
    webhooks_disable_after_failures: int = Field(20, ge=1)
    webhooks_disable_after_hours: float = Field(24.0, ge=0)
    webhooks_refuse_private_addresses: bool = False
    webhooks_keep_days: int = Field(30, ge=1)  # the delivery log (and the events' encrypted customer text)

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET and self.environment != "test"

    @property
    def models_path(self) -> Path:
        return self.model_dir or self.var_dir / "models"

    @property
    def notice_claim(self) -> timedelta:
        return timedelta(seconds=self.notice_claim_seconds)

    @property
    def outbox_task_lease(self) -> timedelta:
        return timedelta(seconds=self.outbox_task_lease_seconds)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # Elsewhere the default is only a warning, and `caredesk serve` says it once (settings are built by every
        # command, and `make run` runs three of them).
        if self.secret_key == DEFAULT_SECRET and self.environment == "production":
            raise ValueError(DEFAULT_SECRET_WARNING)
        if self.environment == "production" and not self.encryption_keys:
            raise ValueError("CAREDESK_ENCRYPTION_KEYS is required in production (see `caredesk keys generate`)")
        if self.encryption_active_key and self.encryption_active_key not in self.encryption_keys:
            raise ValueError("CAREDESK_ENCRYPTION_ACTIVE_KEY names a key that is not in CAREDESK_ENCRYPTION_KEYS")
        if self.metrics_access == "token" and len(self.metrics_token) < 16:
            raise ValueError("CAREDESK_METRICS_ACCESS=token needs CAREDESK_METRICS_TOKEN of 16 characters or more")
        if self.notice_claim_seconds >= self.outbox_task_lease_seconds:
            raise ValueError("CAREDESK_NOTICE_CLAIM_SECONDS must be shorter than CAREDESK_OUTBOX_TASK_LEASE_SECONDS")
        return self

    # --- channels.mail ---
    # E-mail in (docs/channels-email.md): the IMAP mailbox `caredesk mail watch` reads (IDLE, or a poll every
    # mail_imap_poll_seconds where the server has no IDLE); processed mails are moved to mail_imap_done_folder,
    # mails refused whole (unreadable, too large) to mail_imap_refused_folder, so that nothing is taken twice or lost.
    mail_imap_host: str = ""
    mail_imap_port: int = 993
    mail_imap_ssl: bool = True
    mail_imap_user: str = ""
    mail_imap_password: str = ""
    mail_imap_folder: str = "INBOX"
    mail_imap_done_folder: str = "CareDesk-Done"
    mail_imap_refused_folder: str = "CareDesk-Refused"
    mail_imap_idle_seconds: int = Field(300, ge=5, le=1680)  # re-issue IDLE well within the 29-minute limit
    mail_imap_poll_seconds: int = Field(60, ge=1)
    # One raw message, through POST /channels/email/inbound or from IMAP: larger ones are refused (413 / the
    # refused folder). Attachments over the size, of a type not listed, or past the count are not kept (noted).
    mail_max_message_bytes: int = Field(25_000_000, ge=10_000)
    mail_attachment_max_bytes: int = Field(10_000_000, ge=0)
    mail_attachment_max_count: int = Field(10, ge=0)
    mail_attachment_types: list[str] = Field(default_factory=lambda: [
        "application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "text/plain", "text/csv",
        "application/msword", "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"])
