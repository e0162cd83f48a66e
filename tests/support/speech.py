"""A speech engine for the calls tests (CAREDESK_CALLS_SPEECH_ENGINE=tests.support.speech:engine): the
recognition itself is the bank's; CareDesk's part is loading the engine and taking its segments in."""

from __future__ import annotations

from collections.abc import Sequence

from caredesk.channels.calls.speech import Segment
from caredesk.settings import Settings

TRANSCRIPTS: dict[str, tuple[Segment, ...]] = {
    "rec://calls/2001.wav": (Segment("agent", 0, 1500, "您好，这里是客服中心，请问有什么可以帮您？"),
                             Segment("customer", 1800, 6000, "我想问一下信用卡账单怎么查询")),
}


class RecordingsEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def transcribe(self, recording_ref: str, *, language: str | None) -> Sequence[Segment]:
        if recording_ref not in TRANSCRIPTS:
            raise OSError(f"recording {recording_ref} not found")
        return TRANSCRIPTS[recording_ref]


def engine(settings: Settings) -> RecordingsEngine:
    return RecordingsEngine(settings)
