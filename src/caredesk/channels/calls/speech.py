"""Speech recognition is pluggable and none is shipped: a bank runs its own engine (on premises, for privacy).
An engine turns a recording's reference into transcript segments; CAREDESK_CALLS_SPEECH_ENGINE names a
factory ("package.module:factory", called with the settings) that is imported on first use."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from caredesk.errors import InvalidInput, Unavailable
from caredesk.settings import Settings

__all__ = ["Segment", "SpeechEngine", "SpeechEngineUnavailable", "TranscriptRequired", "speech_engine"]


@dataclass(frozen=True)
class Segment:
    speaker: Literal["customer", "agent"]
    start_ms: int
    end_ms: int
    text: str


class SpeechEngine(Protocol):
    def transcribe(self, recording_ref: str, *, language: str | None) -> Sequence[Segment]:
        """The call's turns in order. An OSError is a transient failure (the client may post again)."""
        ...


class TranscriptRequired(InvalidInput):
    """A call without segments while no speech engine is configured (400)."""

    code = "transcript_required"


class SpeechEngineUnavailable(Unavailable):
    """The configured engine cannot be loaded or failed on this recording (503: post the call again)."""

    code = "speech_engine_unavailable"


_loaded: dict[str, SpeechEngine] = {}
_lock = threading.Lock()


def _factory(path: str) -> Callable[[Settings], SpeechEngine]:
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SpeechEngineUnavailable(f"CAREDESK_CALLS_SPEECH_ENGINE={path!r} cannot be loaded: "
                                      f"{type(exc).__name__}: {exc}") from exc
    if not callable(found):
        raise SpeechEngineUnavailable(f"CAREDESK_CALLS_SPEECH_ENGINE={path!r} is not callable")
    return cast(Callable[[Settings], SpeechEngine], found)


def speech_engine(settings: Settings) -> SpeechEngine:
    """The configured engine (built once per process); TranscriptRequired when there is none."""
    path = settings.calls_speech_engine
    if not path:
        raise TranscriptRequired("the call has no transcript segments and no speech engine is configured "
                                 "(CAREDESK_CALLS_SPEECH_ENGINE): send `segments`", field="segments")
    with _lock:
        if path not in _loaded:
            engine = _factory(path)(settings)
            if not callable(getattr(engine, "transcribe", None)):
                raise SpeechEngineUnavailable(f"CAREDESK_CALLS_SPEECH_ENGINE={path!r} gave no transcribe()")
            _loaded[path] = engine
        return _loaded[path]
