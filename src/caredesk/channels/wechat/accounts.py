"""Which WeChat Official Accounts and WeCom customer-service accounts CareDesk answers: one Official Account
from the CAREDESK_WECHAT_* environment variables (named "default"), more of both from the `wechat:` and
`wecom:` sections of channels.yaml. The file names each secret by its environment variable, never the
secret itself; everything is checked at start, with the file, line and field of a mistake."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, HttpUrl

from caredesk.channels.wechat.crypto import MessageCrypto
from caredesk.config_files import ConfigModel, located, parse_yaml, validate_config
from caredesk.errors import InvalidConfig
from caredesk.settings import Settings

__all__ = ["DEFAULT_ACCOUNT", "Account", "ChannelAccounts", "example_file", "load_accounts"]

DEFAULT_ACCOUNT = "default"  # the Official Account of the CAREDESK_WECHAT_* variables
WECHAT_API = "https://api.weixin.qq.com"
WECOM_API = "https://qyapi.weixin.qq.com"
AccountName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]
AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")


@dataclass(frozen=True)
class Account:
    kind: Literal["wechat", "wecom"]
    name: str  # in the callback URL of WeCom and in customer refs: wechat:<name>:<openid>
    app_id: str  # the Official Account's app id, the WeCom corp id: the receive id in encrypted frames
    token: str = field(repr=False)
    aes_key: str | None = field(repr=False)  # None: plaintext mode (Official Accounts only)
    secret: str | None = field(repr=False)  # for the access token; None: receive only, replies are not sent
    api_base: str
    open_kfid: str | None = None  # WeCom: the customer-service account (kf) that answers
    welcome: str | None = None  # the answer to a new follower

    @cached_property
    def crypto(self) -> MessageCrypto | None:
        return MessageCrypto(self.aes_key, self.app_id) if self.aes_key else None


@dataclass(frozen=True)
class ChannelAccounts:
    wechat: Mapping[str, Account]
    wecom: Mapping[str, Account]


class _WeChatEntry(ConfigModel):
    name: AccountName
    enabled: bool = True
    app_id: str = Field(min_length=1)
    token_env: EnvName
    aes_key_env: EnvName | None = None
    app_secret_env: EnvName | None = None
    api_base: HttpUrl | None = None
    welcome: str | None = None


class _WeComEntry(ConfigModel):
    name: AccountName
    enabled: bool = True
    corp_id: str = Field(min_length=1)
    open_kfid: str = Field(min_length=1)
    token_env: EnvName
    aes_key_env: EnvName  # WeCom callbacks are always encrypted
    secret_env: EnvName | None = None
    api_base: HttpUrl | None = None


class _ChannelsFile(ConfigModel):
    # other channel packages read their own sections of the same file
    model_config = ConfigDict(extra="ignore", frozen=True)
    wechat: list[_WeChatEntry] = Field(default_factory=list)
    wecom: list[_WeComEntry] = Field(default_factory=list)


def example_file() -> Path:
    return Path(str(files("caredesk.channels.wechat") / "channels.example.yaml"))


def _secret(env: Mapping[str, str], name: str | None, where: tuple[str | int, ...],
            ctx: tuple[str, Any, yaml.Node | None],
            *, aes: bool = False) -> str | None:
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise located(*ctx, where, f"the environment variable {name} is not set")
    if aes and not AES_KEY.match(value):
        raise located(*ctx, where, f"{name} is not an EncodingAESKey (43 letters, digits, + or /)")
    return value


def _base(url: HttpUrl | None, default: str) -> str:
    return str(url).rstrip("/") if url is not None else default


def _from_env(settings: Settings) -> Account | None:
    if not settings.wechat_token:
        return None
    if not settings.wechat_app_id:
        raise InvalidConfig("environment", None, "CAREDESK_WECHAT_APP_ID",
                            "is required with CAREDESK_WECHAT_TOKEN")
    if settings.wechat_aes_key and not AES_KEY.match(settings.wechat_aes_key):
        raise InvalidConfig("environment", None, "CAREDESK_WECHAT_AES_KEY",
                            "is not an EncodingAESKey (43 letters, digits, + or /)")
    return Account("wechat", DEFAULT_ACCOUNT, settings.wechat_app_id, settings.wechat_token,
                   settings.wechat_aes_key or None, settings.wechat_app_secret or None,
                   settings.wechat_api_base.rstrip("/"))


def load_accounts(settings: Settings, env: Mapping[str, str] | None = None) -> ChannelAccounts:
    """Every enabled account; InvalidConfig at the first mistake (a missing secret variable included)."""
    env = os.environ if env is None else env
    path = settings.channels_file or example_file()
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(file, None, "", f"cannot read the file: {exc}") from None
    data, node = parse_yaml(text, file)
    parsed = validate_config(_ChannelsFile, data, file, node)
    ctx = (file, data, node)
    wechat: dict[str, Account] = {}
    wecom: dict[str, Account] = {}
    default = _from_env(settings)
    if default is not None:
        wechat[default.name] = default
    for i, w in enumerate(parsed.wechat):
        if w.name in wechat:
            raise located(*ctx, ("wechat", i, "name"), f"the account {w.name!r} is defined twice"
                          + (" (\"default\" is the one of CAREDESK_WECHAT_*)" if w.name == DEFAULT_ACCOUNT else ""))
        if not w.enabled:
            continue
        wechat[w.name] = Account("wechat", w.name, w.app_id,
                                 _secret(env, w.token_env, ("wechat", i, "token_env"), ctx) or "",
                                 _secret(env, w.aes_key_env, ("wechat", i, "aes_key_env"), ctx, aes=True),
                                 _secret(env, w.app_secret_env, ("wechat", i, "app_secret_env"), ctx),
                                 _base(w.api_base, settings.wechat_api_base.rstrip("/")), welcome=w.welcome)
    for i, c in enumerate(parsed.wecom):
        if c.name in wecom:
            raise located(*ctx, ("wecom", i, "name"), f"the account {c.name!r} is defined twice")
        if not c.enabled:
            continue
        wecom[c.name] = Account("wecom", c.name, c.corp_id,
                                _secret(env, c.token_env, ("wecom", i, "token_env"), ctx) or "",
                                _secret(env, c.aes_key_env, ("wecom", i, "aes_key_env"), ctx, aes=True),
                                _secret(env, c.secret_env, ("wecom", i, "secret_env"), ctx),
                                _base(c.api_base, WECOM_API), open_kfid=c.open_kfid)
    return ChannelAccounts(wechat, wecom)
