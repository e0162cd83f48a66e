"""Staff single sign-on through an OpenID Provider (Keycloak, Azure AD, ADFS...): the authorization-code flow
with PKCE (S256) and a nonce, done by Authlib from the provider's discovery document (token exchange, ID-token
signature against the provider's keys, issuer, audience, nonce, expiry), then one audited decision.

The provider only vouches for who the person is. Its username claim must name an existing, active staff
member: no account is ever created from a sign-in, and roles stay CareDesk's. Every outcome is audited
(`auth.sso_succeeded`, `auth.sso_refused`) with the client address, never a token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from caredesk.accounts.deps import SsoDeps
from caredesk.accounts.login_anomaly import admit_sign_in, login_risk_policy
from caredesk.compliance.audit import record_audit
from caredesk.errors import Unavailable
from caredesk.settings import Settings
from caredesk.storage.orm import Staff

__all__ = ["SSO_CALLBACK_PATH", "RefusalReason", "SsoClient", "SsoOutcome", "SsoRefused", "SsoSignedIn",
           "StaffAccount", "build_sso_client", "do_sso_login", "staff_for_claims"]

log = logging.getLogger(__name__)

SSO_CALLBACK_PATH = "/login/sso/callback"  # the redirect URI to register at the provider: <base_url> + this
SCOPE = "openid profile email"
try:  # Authlib talks through httpx2 when it is installed, else httpx: catch the errors of either
    import httpx2

    _HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    _HTTP_ERRORS = (httpx.HTTPError,)
# Named, typed tuples: mypy joins (*_HTTP_ERRORS, ValueError) written in an except clause to tuple[type, ...]
_DISCOVERY_ERRORS: tuple[type[Exception], ...] = (*_HTTP_ERRORS, ValueError)
_REDIRECT_ERRORS: tuple[type[Exception], ...] = (*_HTTP_ERRORS, RuntimeError)
_EXCHANGE_ERRORS: tuple[type[Exception], ...] = (*_HTTP_ERRORS, ValueError, RuntimeError)

# frozen_now: the sign-in was unusual (a new network, an odd hour) and froze the account
RefusalReason = Literal["provider_error", "invalid_token", "no_username", "unknown_user", "inactive_user",
                        "frozen_now"]


@dataclass(frozen=True)
class StaffAccount:
    """What the sign-in decision needs to know about a staff row."""

    id: str
    active: bool


@dataclass(frozen=True)
class SsoSignedIn:
    staff_id: str
    username: str


@dataclass(frozen=True)
class SsoRefused:
    reason: RefusalReason
    username: str = ""  # as the provider named the person ("" when the flow failed before that)
    detail: str = ""  # for the audit: the protocol error's code or the missing claim, never a token


SsoOutcome = SsoSignedIn | SsoRefused


def staff_for_claims(claims: Mapping[str, Any], username_claim: str,
                     find: Callable[[str], StaffAccount | None]) -> SsoOutcome:
    """The staff member that verified ID-token claims name, or why not. An unknown name is refused rather
    than provisioned: a bank's directory holds many people who must not get into CareDesk by default."""
    value = claims.get(username_claim)
    if not isinstance(value, str) or not value.strip():
        return SsoRefused("no_username", detail=f"the ID token has no {username_claim!r} claim")
    username = value.strip()
    account = find(username)
    if account is None:
        return SsoRefused("unknown_user", username)
    if not account.active:
        return SsoRefused("inactive_user", username)
    return SsoSignedIn(account.id, username)


class SsoClient:
    """The configured provider through Authlib's Starlette client: one per app, so the discovery document and
    the signing keys are fetched once (and the keys again when the provider rotates them)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._app: StarletteOAuth2App = OAuth().register(
            "caredesk_sso", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,  # none: a public client, PKCE alone
            server_metadata_url=f"{self.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "timeout": 10.0})

    @property
    def redirect_uri(self) -> str:
        return self._settings.base_url.rstrip("/") + SSO_CALLBACK_PATH

    async def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self._app.load_server_metadata()
        except _DISCOVERY_ERRORS as exc:
            log.warning("the OpenID Provider's discovery document could not be read: %s", exc)
            raise Unavailable("the identity provider cannot be reached") from None
        if metadata.get("issuer") != self.issuer:  # OpenID Connect Discovery 1.0, section 4.3
            log.error("CAREDESK_OIDC_ISSUER is %r but the provider calls itself %r: they must be identical",
                      self.issuer, metadata.get("issuer"))
            raise Unavailable("the identity provider is misconfigured")
        return metadata

    async def redirect(self, request: Request) -> Response:
        """The redirect to the provider; the state, nonce and PKCE verifier wait in the signed session."""
        await self._metadata()
        try:
            response: Response = await self._app.authorize_redirect(request, self.redirect_uri)
        except _REDIRECT_ERRORS as exc:
            log.warning("single sign-on could not start: %s", exc)
            raise Unavailable("the identity provider cannot be reached") from None
        return response

    async def verified_claims(self, request: Request) -> dict[str, Any] | SsoRefused:
        """The ID token's claims once Authlib has checked the state, exchanged the code (with the PKCE
        verifier) and verified the token; a refusal when any of that fails."""
        try:
            await self._metadata()
        except Unavailable as exc:
            return SsoRefused("provider_error", detail=exc.message)
        # Authlib checks the issuer named in discovery; the audience it leaves to us (OIDC Core 3.1.3.7).
        options = {"iss": {"essential": True, "value": self.issuer},
                   "aud": {"essential": True, "value": self.client_id}}
        try:
            token = await self._app.authorize_access_token(request, claims_options=options)
        except OAuthError as exc:  # the provider's error, a state mismatch, a refused code exchange
            return SsoRefused("provider_error", detail=str(exc.error)[:64])
        except JoseError as exc:  # signature, issuer, audience, nonce, expiry
            return SsoRefused("invalid_token", detail=str(exc)[:200])
        except _EXCHANGE_ERRORS as exc:
            log.warning("single sign-on: the provider could not complete the exchange: %s", exc)
            return SsoRefused("provider_error", detail=type(exc).__name__)
        claims = token.get("userinfo")
        if not claims:
            return SsoRefused("invalid_token", detail="the token response carries no ID token")
        return dict(claims)


def build_sso_client(settings: Settings) -> SsoClient | None:
    """None when single sign-on is off (no issuer configured)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id:
        raise ValueError("CAREDESK_OIDC_CLIENT_ID is required with CAREDESK_OIDC_ISSUER")
    if settings.environment == "production" and not settings.oidc_issuer.startswith("https://"):
        raise ValueError("CAREDESK_OIDC_ISSUER must be an https:// URL in production")
    return SsoClient(settings)


def _find_staff(session: Session, username: str) -> StaffAccount | None:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    return None if staff is None else StaffAccount(staff.id, staff.active)


def do_sso_login(rt: SsoDeps, verified: Mapping[str, Any] | SsoRefused, address: str) -> SsoOutcome:
    """Decides whom verified claims sign in (a refusal from the protocol passes through) and audits the
    outcome either way, in one transaction."""
    now = rt.clock.now()
    with rt.uow() as uow:
        if isinstance(verified, SsoRefused):
            outcome: SsoOutcome = verified
        else:
            outcome = staff_for_claims(verified, rt.settings.oidc_username_claim,
                                       lambda name: _find_staff(uow.session, name))
        if isinstance(outcome, SsoSignedIn):  # judged like a password sign-in: a new network or an odd hour
            admission = admit_sign_in(uow.session, outcome.staff_id, address, method="oidc", now=now,
                                      policy=login_risk_policy(rt.settings))
            if not admission.admitted:
                outcome = SsoRefused("frozen_now" if admission.frozen_now else "inactive_user", outcome.username,
                                     ",".join(admission.risk.codes))
        data: dict[str, Any] = {"username": outcome.username[:64], "address": address, "method": "oidc",
                                "issuer": rt.settings.oidc_issuer}
        if not isinstance(verified, SsoRefused) and isinstance(verified.get("sub"), str):
            data["subject"] = verified["sub"][:255]  # the provider's stable id for the person
        if isinstance(outcome, SsoSignedIn):
            record_audit(uow.session, actor=f"staff:{outcome.staff_id}", action="auth.sso_succeeded",
                         object_type="staff", object_id=outcome.staff_id, data=data, now=now)
        else:
            record_audit(uow.session, actor="anonymous", action="auth.sso_refused", object_type="staff",
                         object_id="", data=data | {"reason": outcome.reason, "detail": outcome.detail},
                         now=now)
        uow.commit()
    return outcome
