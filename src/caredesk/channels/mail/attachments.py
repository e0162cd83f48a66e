"""Attachments of inbound mail, kept under the var dir by their SHA-256 (the same file sent twice is kept
once), with the limits of the settings: a file over the size, of a type not allowed, or past the count is not
kept, and the message says so in its metadata. Files are written under a temporary name and renamed, so a
reader never sees half a file; a file whose message is then rolled back stays as an unreferenced blob."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from caredesk.channels.mail.parse import MailPart
from caredesk.settings import Settings

__all__ = ["AttachmentRecord", "attachment_dir", "attachment_path", "keep_attachments"]


@dataclass(frozen=True)
class AttachmentRecord:
    filename: str
    content_type: str
    size: int
    sha256: str
    stored: bool
    refused: str | None = None  # too_large | type_not_allowed | too_many

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def attachment_dir(settings: Settings) -> Path:
    return settings.var_dir / "mail" / "attachments"


def attachment_path(settings: Settings, sha256: str) -> Path:
    return attachment_dir(settings) / sha256[:2] / sha256


def _write(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pending = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pending.write_bytes(data)
    pending.replace(path)


def keep_attachments(settings: Settings, parts: tuple[MailPart, ...]) -> list[AttachmentRecord]:
    allowed = {t.lower() for t in settings.mail_attachment_types}
    records: list[AttachmentRecord] = []
    kept = 0
    for part in parts:
        digest = hashlib.sha256(part.data).hexdigest()
        refused = ("too_large" if len(part.data) > settings.mail_attachment_max_bytes else
                   "type_not_allowed" if part.content_type.lower() not in allowed else
                   "too_many" if kept >= settings.mail_attachment_max_count else None)
        if refused is None:
            _write(attachment_path(settings, digest), part.data)
            kept += 1
        records.append(AttachmentRecord(part.filename, part.content_type, len(part.data), digest,
                                        refused is None, refused))
    return records
