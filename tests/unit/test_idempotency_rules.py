"""Idempotency-Key rules: which keys are valid, what counts as the same request body, when a key expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.errors import InvalidIdempotencyKey
from caredesk.intake.idempotency import (
    KEY_LIFETIME,
    IdempotentRequest,
    check_idempotency_key,
    expiry_cutoff,
    request_hash,
)


@pytest.mark.parametrize("key", ["a", "0", "3f2b6c1e-9d4a-4e8b-a1c2-7f00aa55ee11", "order 42/retry#1", "~" * 255,
                                 "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"])
def test_idempotency_key_accepts_printable_ascii_up_to_255(key: str) -> None:
    assert check_idempotency_key(key) == key


@pytest.mark.parametrize(("key", "why"), [("", "empty"), ("x" * 256, "longer than 255"), ("clé", "printable ASCII"),
                                          ("键", "printable ASCII"), ("a\tb", "printable ASCII"),
                                          ("a\x7f", "printable ASCII"), (" lead", "either end"),
                                          ("trail ", "either end"), (" ", "either end")])
def test_idempotency_key_refuses_empty_long_and_unprintable(key: str, why: str) -> None:
    with pytest.raises(InvalidIdempotencyKey, match=why) as refused:
        check_idempotency_key(key)
    assert refused.value.code == "invalid_idempotency_key" and refused.value.status == 400


def test_request_hash_is_canonical_json() -> None:
    a = request_hash({"text": "卡丢了", "channel": "web", "conversation_id": None})
    assert a == request_hash({"conversation_id": None, "channel": "web", "text": "卡丢了"})  # key order
    assert a != request_hash({"text": "卡丢了", "channel": "app", "conversation_id": None})
    assert a != request_hash({"text": "卡丢了", "channel": "web"})  # callers pass the defaults filled in
    assert len(a) == 64 and int(a, 16) >= 0


def test_request_of_checks_the_key_and_hashes_the_body() -> None:
    req = IdempotentRequest.of("api_key:k1", "k-1", {"text": "hi"})
    assert req == IdempotentRequest("api_key:k1", "k-1", request_hash({"text": "hi"}))
    with pytest.raises(InvalidIdempotencyKey):
        IdempotentRequest.of("api_key:k1", "", {"text": "hi"})


def test_keys_expire_after_24_hours() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert timedelta(hours=24) == KEY_LIFETIME
    assert expiry_cutoff(now) == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
