"""The customer's own words of a reply: the quoted history below them (">" lines, "On ... wrote:", Outlook's
"-----Original Message-----" and "From:/Sent:" blocks, Chinese clients' "-----原始邮件-----" and "发件人:" blocks)
is cut off, so that triage reads what is new and the conversation does not repeat itself."""

from __future__ import annotations

import re

__all__ = ["strip_quoted"]

_SEPARATORS = [
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|Original Message|Forwarded message|转发邮件|转发的邮件|回复的原邮件)"
               r"\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{8,}\s*$"),  # Outlook's rule above the quoted header block
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*在\s*.{0,200}(写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^\s*.{0,200}\d{4}.{0,100}(写道|寫道)\s*[:：]\s*$"),
]
# A header block of the quoted mail: "From:" / "发件人:" followed within a few lines by a date or subject line.
_HEADER_START = re.compile(r"^\s*\*?(From|发件人|發件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|发送时间|日期|时间|收件人|主题|主旨|寄件日期)\s*\*?\s*[:：]",
                          re.IGNORECASE)


def _cut_at(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _SEPARATORS):
            return i
        if i + 1 < len(lines) and lines[i].strip().startswith("On ") and lines[i + 1].strip().endswith("wrote:"):
            return i  # "On <date>, <name>" wrapped onto two lines
        if _HEADER_START.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 4]):
            return i
    return len(lines)


def strip_quoted(text: str) -> str:
    """`text` without the quoted history; the text as it is when nothing of it would be left (a forward)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line for line in lines[:_cut_at(lines)] if not line.lstrip().startswith(">")]
    cut = "\n".join(kept).strip()
    return cut or text.strip()
