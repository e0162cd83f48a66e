"""The WeChat and WeCom HTTP APIs CareDesk calls: the access token (fetched once, shared by the workers,
refreshed before it expires or when the API says it is no longer valid), the Official Account's
customer-service message (`/cgi-bin/message/custom/send`) and WeCom customer service (`/cgi-bin/kf/send_msg`,
`/cgi-bin/kf/sync_msg`). A transient failure is an OSError (the delivery task retries it); a refusal that
no retry will change is SendRefused."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import httpx

from caredesk.channels.outbound import SendRefused
from caredesk.channels.wechat.accounts import Account
from caredesk.channels.wechat.shared_state import SharedState

__all__ = ["TOKEN_INVALID", "TRANSIENT", "ApiClient"]

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # the token is stale or was replaced: fetch a new one
TRANSIENT = frozenset({-1, 45009, 45011, 45033})  # system busy, call-frequency limits: later works
REFRESH_MARGIN = 300.0  # a token is renewed this many seconds before WeChat says it expires
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
_SECRET_IN_URL = re.compile(r"((?:corp)?secret|access_token)=[^&\s\"']+")


class _RedactSecrets(logging.Filter):
    """httpx logs each request's URL; the token API takes the app secret, and every call its token, in the
    query string: those never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = _SECRET_IN_URL.sub(r"\1=***", record.getMessage()), None
        return True


logging.getLogger("httpx").addFilter(_RedactSecrets())


class ApiClient:
    """One account's API. Tokens live in the shared state under the account's app id, so that the workers
    of a site share one (WeChat retires the previous token when a new one is fetched)."""

    def __init__(self, account: Account, state: SharedState, client: httpx.Client | None = None) -> None:
        self.account = account
        self._state = state
        self._http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self._lock = threading.Lock()  # one fetch at a time in this process

    @property
    def _token_key(self) -> str:
        return f"token:{self.account.kind}:{self.account.app_id}"

    def _get_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.account.api_base + path
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{self.account.kind} API {path}: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ConnectionError(f"{self.account.kind} API {path}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise SendRefused(f"{self.account.kind} API {path}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ConnectionError(f"{self.account.kind} API {path}: not JSON") from None
        if not isinstance(body, dict):
            raise ConnectionError(f"{self.account.kind} API {path}: not a JSON object")
        return body

    def token(self, *, fresh: bool = False) -> str:
        if not fresh:
            cached = self._state.get(self._token_key)
            if cached:
                return cached
        if not self.account.secret:
            raise SendRefused(f"{self.account.kind} account {self.account.name!r} has no app secret: "
                              "replies cannot be sent")
        with self._lock:
            if not fresh:
                cached = self._state.get(self._token_key)
                if cached:
                    return cached
            if self.account.kind == "wechat":
                body = self._get_json("GET", "/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self.account.app_id, "secret": self.account.secret})
            else:
                body = self._get_json("GET", "/cgi-bin/gettoken", params={
                    "corpid": self.account.app_id, "corpsecret": self.account.secret})
            code = int(body.get("errcode") or 0)
            token, expires = body.get("access_token"), body.get("expires_in")
            if code or not isinstance(token, str) or not token:
                log.warning("wechat: access token refused for account %s: errcode %s", self.account.name, code)
                if code in TRANSIENT:
                    raise ConnectionError(f"access token: errcode {code} (busy)")
                raise SendRefused(f"access token refused: errcode {code} {str(body.get('errmsg', ''))[:100]}")
            ttl = max(60.0, float(expires if isinstance(expires, int | float) else 7200) - REFRESH_MARGIN)
            self._state.put(self._token_key, token, ttl)
            log.info("wechat: new access token for account %s (valid %d s)", self.account.name, int(ttl))
            return token

    def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the access token; a token the API calls invalid is fetched again once."""
        for attempt in (1, 2):
            token = self.token(fresh=attempt == 2)
            body = self._get_json("POST", path, params={"access_token": token}, json=payload)
            code = int(body.get("errcode") or 0)
            if code in TOKEN_INVALID and attempt == 1:
                self._state.drop(self._token_key)
                continue
            if code == 0:
                return body
            log.warning("wechat: %s refused by account %s: errcode %s", path, self.account.name, code)
            if code in TRANSIENT or code in TOKEN_INVALID:
                raise ConnectionError(f"{path}: errcode {code} (try again later)")
            raise SendRefused(f"{path}: errcode {code} {str(body.get('errmsg', ''))[:200]}")
        raise AssertionError("unreachable")

    def send_text(self, to: str, text: str, *, msgid: str) -> str | None:
        """The message to the customer; the provider's message id when it gives one (WeCom)."""
        if self.account.kind == "wechat":
            self.call("/cgi-bin/message/custom/send", {"touser": to, "msgtype": "text", "text": {"content": text}})
            return None
        body = self.call("/cgi-bin/kf/send_msg", {"touser": to, "open_kfid": self.account.open_kfid,
                                                  "msgid": msgid, "msgtype": "text", "text": {"content": text}})
        found = body.get("msgid")
        return str(found) if found else msgid

    def sync_messages(self, *, callback_token: str, cursor: str | None) -> dict[str, Any]:
        """One page of WeCom customer-service messages after `cursor` (the callback only says there are some)."""
        payload: dict[str, Any] = {"token": callback_token, "limit": 1000, "open_kfid": self.account.open_kfid}
        if cursor:
            payload["cursor"] = cursor
        return self.call("/cgi-bin/kf/sync_msg", payload)

    def close(self) -> None:
        self._http.close()
