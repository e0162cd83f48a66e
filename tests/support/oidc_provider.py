"""A small OpenID Provider for the tests, served for real by uvicorn on a free port: discovery, the signing
keys (JWKS), an authorization endpoint that approves one configured user at once, and a token endpoint that
checks the client secret, the single-use code, the redirect URI and the PKCE verifier (S256) before it signs
an RS256 ID token (iss, sub, aud, exp, iat, nonce, at_hash and the username claim).

Set `misbehave` to make it issue what a broken or hostile provider would (a wrong nonce, audience or issuer,
a bad signature, an expired token, a denial), so the tests can show that CareDesk refuses it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote_plus, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.serving import uvicorn_in_thread

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime
    from tests.conftest import LiveServer

__all__ = ["Misbehaviour", "OidcProvider", "serve_caredesk_with_sso", "serve_provider"]

Misbehaviour = Literal["wrong_nonce", "no_nonce", "wrong_audience", "wrong_issuer", "bad_signature",
                       "expired", "deny"]
CODE_SECONDS = 60
TOKEN_SECONDS = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


@dataclass
class Grant:
    """What an authorization code stands for until it is redeemed (once)."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    username: str
    expires_at: float


@dataclass
class OidcProvider:
    client_id: str = "caredesk-web"
    client_secret: str = "test-client-secret-" + "s" * 16
    username: str = "agent"  # the person who "signs in" at the provider
    username_claim: str = "preferred_username"
    redirect_uris: set[str] = field(default_factory=set)
    misbehave: Misbehaviour | None = None
    issuer: str = ""  # http://127.0.0.1:<port>, set by serve_provider
    key: RSAKey = field(default_factory=lambda: _signing_key("test-key-1"))
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every token handed out (tests check none leaks)
    refusals: list[str] = field(default_factory=list)  # why the provider said no, for failure messages
    _codes: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- endpoints ---------------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ])

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", self.username_claim, "email"],
        })

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorize_requests.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return self._refuse_page("unknown client_id")
        if redirect_uri not in self.redirect_uris:  # never redirect to an unregistered address
            return self._refuse_page(f"redirect_uri not registered: {redirect_uri}")
        state = query.get("state")
        if query.get("response_type") != "code":
            return self._back(redirect_uri, state, error="unsupported_response_type")
        if "openid" not in query.get("scope", "").split():
            return self._back(redirect_uri, state, error="invalid_scope")
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
            self.refusals.append("PKCE S256 challenge missing")
            return self._back(redirect_uri, state, error="invalid_request")
        if self.misbehave == "deny":
            return self._back(redirect_uri, state, error="access_denied")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = Grant(self.client_id, redirect_uri, query["code_challenge"],
                                      query.get("nonce"), self.username, time.time() + CODE_SECONDS)
        return self._back(redirect_uri, state, code=code)

    async def token(self, request: Request) -> JSONResponse:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        self.token_requests.append(form)
        client_id, secret = self._client_credentials(request, form)
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return self._token_error("invalid_client", status=401)
        if form.get("grant_type") != "authorization_code":
            return self._token_error("unsupported_grant_type")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use, whatever happens next
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            return self._token_error("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._token_error("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or _b64url(hashlib.sha256(verifier.encode()).digest()) != \
                grant.code_challenge:
            return self._token_error("invalid_grant", "PKCE verifier does not match the challenge")
        access_token = secrets.token_urlsafe(32)
        id_token = self._id_token(grant, access_token)
        self.issued += [access_token, id_token]
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                "scope": "openid profile email", "id_token": id_token}
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- the ID token --------------------------------------------------------------------------------------
    def _id_token(self, grant: Grant, access_token: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": f"sub-{grant.username}", "aud": self.client_id, "azp": self.client_id,
            "iat": now, "exp": now + TOKEN_SECONDS, "auth_time": now,
            "at_hash": _b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
            self.username_claim: grant.username, "email": f"{grant.username}@demo-bank.example",
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        key = self.key
        match self.misbehave:
            case "wrong_nonce":
                claims["nonce"] = "not-the-nonce-" + secrets.token_urlsafe(8)
            case "no_nonce":
                claims.pop("nonce", None)
            case "wrong_audience":  # issued to another application (azp still names ours)
                claims["aud"] = "another-application"
            case "wrong_issuer":
                claims["iss"] = "https://evil.example/realms/staff"
            case "expired":
                claims |= {"iat": now - 3600, "exp": now - 1800, "auth_time": now - 3600}
            case "bad_signature":  # the published key id, signed with a key the provider never published
                key = _signing_key(self.key.kid or "test-key-1")
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    # --- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
        """client_secret_basic (RFC 6749 2.3.1: each part form-urlencoded) or client_secret_post."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return "", ""
            return unquote_plus(user), unquote_plus(password)
        return form.get("client_id", ""), form.get("client_secret", "")

    def _back(self, redirect_uri: str, state: str | None, **params: str) -> RedirectResponse:
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)

    def _refuse_page(self, why: str) -> PlainTextResponse:
        self.refusals.append(why)
        return PlainTextResponse(why, status_code=400)

    def _token_error(self, error: str, description: str = "", *, status: int = 400) -> JSONResponse:
        self.refusals.append(f"{error}: {description}")
        body = {"error": error} | ({"error_description": description} if description else {})
        headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)


@contextmanager
def serve_provider(provider: OidcProvider) -> Iterator[OidcProvider]:
    """The provider on http://127.0.0.1:<free port> for the duration of the block."""
    from tests.conftest import free_port

    port = free_port()
    provider.issuer = f"http://127.0.0.1:{port}"
    with uvicorn_in_thread(provider.app(), port, "the test OpenID Provider", log_config=None,
                           log_level="warning", lifespan="off"):
        yield provider


def serve_caredesk_with_sso(rt: Runtime, provider: OidcProvider, **settings: Any) -> Iterator[LiveServer]:
    """CareDesk on a real port with single sign-on through `provider` (already serving), its callback
    registered there as a bank's administrator would."""
    from tests.conftest import serve_in_thread

    values = {"oidc_issuer": provider.issuer, "oidc_client_id": provider.client_id,
              "oidc_client_secret": provider.client_secret} | settings
    for name, value in values.items():
        setattr(rt.settings, name, value)
    servers = serve_in_thread(rt)
    server = next(servers)
    provider.redirect_uris.add(f"{server.url}/login/sso/callback")
    try:
        yield server
    finally:
        next(servers, None)
