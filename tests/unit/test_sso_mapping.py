"""Single sign-on's decision, on plain claims: who a verified ID token signs in, and why not."""

from __future__ import annotations

import pytest

from caredesk.accounts.sso import SsoRefused, SsoSignedIn, StaffAccount, build_sso_client, staff_for_claims
from caredesk.settings import Settings

ACCOUNTS = {"agent": StaffAccount("s-agent", active=True), "gone": StaffAccount("s-gone", active=False)}


def decide(claims: dict[str, object], claim: str = "preferred_username") -> SsoSignedIn | SsoRefused:
    return staff_for_claims(claims, claim, ACCOUNTS.get)


def test_staff_for_claims_signs_in_the_active_staff_member_named_by_the_claim() -> None:
    assert decide({"sub": "x", "preferred_username": "agent"}) == SsoSignedIn("s-agent", "agent")
    assert decide({"upn": " agent "}, claim="upn") == SsoSignedIn("s-agent", "agent")  # the configured claim


@pytest.mark.parametrize(("claims", "reason", "username"), [
    ({"preferred_username": "stranger"}, "unknown_user", "stranger"),  # never provisioned
    ({"preferred_username": "AGENT"}, "unknown_user", "AGENT"),  # exact, like the password sign-in
    ({"preferred_username": "gone"}, "inactive_user", "gone"),
    ({"email": "agent@bank.example"}, "no_username", ""),  # the claim is missing
    ({"preferred_username": "  "}, "no_username", ""),
    ({"preferred_username": ["agent"]}, "no_username", ""),  # not a string
])
def test_staff_for_claims_refuses_with_the_reason(claims: dict[str, object], reason: str,
                                                  username: str) -> None:
    outcome = decide(claims)
    assert isinstance(outcome, SsoRefused)
    assert (outcome.reason, outcome.username) == (reason, username)


def test_build_sso_client_is_off_without_an_issuer_and_checks_its_settings() -> None:
    assert build_sso_client(Settings(environment="test")) is None
    with pytest.raises(ValueError, match="CLIENT_ID"):
        build_sso_client(Settings(environment="test", oidc_issuer="https://sso.bank.example/realms/staff"))
    client = build_sso_client(Settings(environment="test", oidc_issuer="https://sso.bank.example/realms/staff",
                                       oidc_client_id="caredesk", base_url="https://caredesk.bank.example/"))
    assert client is not None and client.redirect_uri == "https://caredesk.bank.example/login/sso/callback"
    production = Settings(environment="test", oidc_issuer="http://sso.bank.example",
                          oidc_client_id="caredesk")
    production.environment = "production"  # (real production settings also need keys: not the point here)
    with pytest.raises(ValueError, match="https"):
        build_sso_client(production)
