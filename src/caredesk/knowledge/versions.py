"""Differences between two versions of an entry (pure), field by field: a unified diff (difflib) for text,
added/removed items for lists, per-channel changes for the answer variants, before/after for the rest."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["CONTENT_FIELDS", "FieldChange", "diff_contents"]

TEXT_FIELDS = ("question", "answer")
LIST_FIELDS = ("similar_questions",)
VALUE_FIELDS = ("status", "category", "content_type", "problem_type", "valid_from", "valid_until", "owner_id")
CONTENT_FIELDS = (*TEXT_FIELDS, *LIST_FIELDS, "answer_variants", *VALUE_FIELDS)


@dataclass(frozen=True)
class FieldChange:
    field: str
    kind: str  # text | list | value
    diff: str = ""  # unified diff (text)
    added: tuple[str, ...] = ()  # list items (list)
    removed: tuple[str, ...] = ()
    before: Any = None  # (value, and text fields for a compact view)
    after: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "kind": self.kind}
        if self.kind == "text":
            out.update(diff=self.diff, before=self.before, after=self.after)
        elif self.kind == "list":
            out.update(added=list(self.added), removed=list(self.removed))
        else:
            out.update(before=_plain(self.before), after=_plain(self.after))
        return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _text(field: str, before: str, after: str, labels: tuple[str, str]) -> FieldChange:
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=f"{field}@{labels[0]}",
        tofile=f"{field}@{labels[1]}",
        lineterm="",
    )
    return FieldChange(field, "text", diff="\n".join(lines), before=before, after=after)


def _list(field: str, before: list[str], after: list[str]) -> FieldChange:
    old, new = set(before), set(after)
    return FieldChange(
        field,
        "list",
        added=tuple(x for x in after if x not in old),
        removed=tuple(x for x in before if x not in new),
    )


def diff_contents(
    a: Mapping[str, Any], b: Mapping[str, Any], labels: tuple[str, str] = ("a", "b")
) -> list[FieldChange]:
    """The changes from `a` to `b`; fields that are equal are left out. `labels` name the two sides in the
    unified diff headers (e.g. the version numbers)."""
    changes: list[FieldChange] = []
    for name in TEXT_FIELDS:
        if (a.get(name) or "") != (b.get(name) or ""):
            changes.append(_text(name, a.get(name) or "", b.get(name) or "", labels))
    for name in LIST_FIELDS:
        before, after = list(a.get(name) or []), list(b.get(name) or [])
        if before != after:
            change = _list(name, before, after)
            # Same items in another order is still a change worth showing.
            changes.append(
                change
                if change.added or change.removed
                else FieldChange(name, "value", before=before, after=after)
            )
    va: Mapping[str, str] = a.get("answer_variants") or {}
    vb: Mapping[str, str] = b.get("answer_variants") or {}
    for channel in sorted(set(va) | set(vb)):
        if va.get(channel, "") != vb.get(channel, ""):
            changes.append(
                _text(f"answer_variants.{channel}", va.get(channel, ""), vb.get(channel, ""), labels)
            )
    for name in VALUE_FIELDS:
        if a.get(name) != b.get(name):
            changes.append(FieldChange(name, "value", before=a.get(name), after=b.get(name)))
    return changes
