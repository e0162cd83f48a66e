"""The test OpenID Provider (tests/support/oidc_provider.py) is only worth as much as its own checks: these
show it refuses what a real provider refuses, so the SSO tests that pass through it prove something."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.oidc_provider import OidcProvider, serve_provider

CALLBACK = "http://127.0.0.1:9/cb"


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with serve_provider(OidcProvider(redirect_uris={CALLBACK})) as p:
        yield p


def authorize(client: httpx.Client, provider: OidcProvider, **changes: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": CALLBACK,
              "scope": "openid", "state": "s", "code_challenge": "A" * 43, "code_challenge_method": "S256"}
    return client.get(f"{provider.issuer}/authorize", params=params | changes)


def redeem(client: httpx.Client, provider: OidcProvider, code: str, verifier: str,
           secret: str | None = None) -> httpx.Response:
    credentials = (provider.client_id, secret or provider.client_secret)
    return client.post(f"{provider.issuer}/token", auth=credentials,
                       data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                             "redirect_uri": CALLBACK})


def test_provider_refuses_a_wrong_pkce_verifier_and_a_reused_code(provider: OidcProvider) -> None:
    with httpx.Client(timeout=15) as client:
        code = httpx.URL(authorize(client, provider).headers["location"]).params["code"]
        r = redeem(client, provider, code, "B" * 43)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
        assert "PKCE" in provider.refusals[-1]
        assert redeem(client, provider, code, "B" * 43).json()["error"] == "invalid_grant"  # used up


def test_provider_refuses_a_wrong_client_secret_and_an_unregistered_redirect(provider: OidcProvider) -> None:
    with httpx.Client(timeout=15) as client:
        code = httpx.URL(authorize(client, provider).headers["location"]).params["code"]
        r = redeem(client, provider, code, "B" * 43, secret="wrong")
        assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
        r = authorize(client, provider, redirect_uri="http://evil.example/cb")
        assert r.status_code == 400 and "location" not in r.headers
        r = authorize(client, provider, code_challenge_method="plain")
        assert httpx.URL(r.headers["location"]).params["error"] == "invalid_request"
