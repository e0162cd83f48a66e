"""The cursor pattern published in the OpenAPI schema is exactly what paginate() accepts: every cursor it
makes matches, and a one-character change matches only when the result still decodes to an id."""

from __future__ import annotations

import base64
import random
import re

import pytest

from caredesk.errors import InvalidInput
from caredesk.ids import is_id, new_id
from caredesk.storage.pagination import CURSOR_PATTERN, _decode

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _cursor(entry_id: str) -> str:
    return base64.urlsafe_b64encode(entry_id.encode()).decode().rstrip("=")


def _accepted(cursor: str) -> bool:
    try:
        _decode(cursor)
    except InvalidInput:
        return False
    return True


def _decodes_to_an_id(cursor: str) -> bool:
    """Independently of the pattern: canonical unpadded base64url of 32 lowercase hex characters."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        return False
    return re.fullmatch(rb"[0-9a-f]{32}", raw) is not None and _cursor(raw.decode()) == cursor


def test_every_cursor_paginate_makes_matches_the_pattern() -> None:
    pattern = re.compile(CURSOR_PATTERN)
    for entry_id in [new_id() for _ in range(500)] + ["0" * 32, "f" * 32, "0123456789abcdef" * 2]:
        assert pattern.match(_cursor(entry_id)) and _decode(_cursor(entry_id)) == entry_id
    assert pattern.match("")  # an empty cursor is the first page


@pytest.mark.parametrize("seed", range(5))
def test_the_pattern_matches_exactly_the_cursors_that_decode_to_an_id(seed: int) -> None:
    pattern, rng = re.compile(CURSOR_PATTERN), random.Random(seed)
    for _ in range(40):
        cursor = _cursor(new_id())
        position = rng.randrange(len(cursor))
        for char in ALPHABET:
            changed = cursor[:position] + char + cursor[position + 1:]
            assert bool(pattern.match(changed)) == _decodes_to_an_id(changed) == _accepted(changed), changed


# Fixed ids: parameters built at collection must be the same in every xdist worker.
_AN_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("cursor", ["!!!", "bogus", _cursor(_AN_ID) + "!", _cursor(_AN_ID)[:-1], "A" * 43])
def test_other_strings_are_refused(cursor: str) -> None:
    assert not re.match(CURSOR_PATTERN, cursor) and not _accepted(cursor)


def test_new_id_increases_strictly_within_a_millisecond() -> None:
    ids = [new_id() for _ in range(2000)]  # thousands fall in the same millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(is_id(i) for i in ids)
