"""Typed domain events: what an action records for after its commit (a notice to send, a task to run, a live
update). Each event is a frozen dataclass registered under a stable stored name and a version; the outbox
stores `encode(event)` in the action's transaction and the relay rebuilds it with `decode`.

Subscribers (notices, tasks, live updates, webhooks) are wired by the composition root; business modules only
record events and never know who listens."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import TypeAdapter

__all__ = ["DispatchFailed", "DomainEvent", "EventError", "EventRecorder", "RecordedEvents", "Subscribers", "decode",
           "domain_event", "encode", "event_name", "registered_events"]


class EventError(ValueError):
    """A stored event that cannot be rebuilt (unknown name, other version, bad payload)."""


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of every event: ids and labels only, never customer text (rows and logs must not carry it)."""

    event_name: ClassVar[str] = ""
    event_version: ClassVar[int] = 1


E = TypeVar("E", bound=DomainEvent)
_registry: dict[str, type[DomainEvent]] = {}
_adapters: dict[type[DomainEvent], TypeAdapter[Any]] = {}


def domain_event(name: str, version: int = 1) -> Callable[[type[E]], type[E]]:
    """Register a frozen dataclass under its stored name; the name is what rows keep, so it never changes
    (a new shape gets a new version)."""

    def register(cls: type[E]) -> type[E]:
        if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__} must be a frozen dataclass")
        known = _registry.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"event name {name!r} is taken by {known.__qualname__}")
        cls.event_name, cls.event_version = name, version
        _registry[name] = cls
        _adapters[cls] = TypeAdapter(cls)
        return cls

    return register


def event_name(event: DomainEvent) -> str:
    if type(event) not in _adapters:
        raise EventError(f"{type(event).__name__} is not a registered domain event")
    return type(event).event_name


def encode(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """(stored name, JSON-ready payload with the version)."""
    name = event_name(event)
    data = _adapters[type(event)].dump_python(event, mode="json")
    return name, {"v": type(event).event_version, "data": data}


def decode(name: str, payload: dict[str, Any]) -> DomainEvent:
    cls = _registry.get(name)
    if cls is None:
        raise EventError(f"unknown event {name!r}")
    if payload.get("v") != cls.event_version:
        raise EventError(f"event {name!r} stored as version {payload.get('v')!r}, code has {cls.event_version}")
    try:
        event = _adapters[cls].validate_python(payload.get("data"))
    except ValueError as exc:  # pydantic's ValidationError: the field paths, not the values
        raise EventError(f"event {name!r}: payload does not match ({type(exc).__name__})") from None
    assert isinstance(event, DomainEvent)
    return event


class EventRecorder(Protocol):
    """What an action records its events on: the unit of work (or `RecordedEvents` in a unit test)."""

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None: ...


@dataclasses.dataclass
class RecordedEvents:
    """Keeps what was recorded, in order (for callers that run a rule without a unit of work)."""

    events: list[tuple[DomainEvent, datetime | None]] = dataclasses.field(default_factory=list)

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None:
        self.events.append((event, available_at))


def registered_events() -> dict[str, type[DomainEvent]]:
    return dict(_registry)


Handler = Callable[[Any], None]
TaskHandler = Callable[[Any, "int | None"], None]


class Subscribers:
    """Event type -> handlers, filled by the composition root. `dispatch` runs every handler of the event;
    when any fails, it raises after running the others (each handler is idempotent: the relay runs them
    all again).

    A task hand-off (`subscribe_task`) is a handler that gives the event to a queued task together with the
    outbox row's id: the row is done only when that task says so (a task taken off the queue by a worker that
    dies must not leave the event marked done). One per event type, so that one task owns the row."""

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[tuple[str, Handler]]] = {}
        self._tasks: dict[type[DomainEvent], tuple[str, TaskHandler]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None], *, name: str = "") -> None:
        label = name or getattr(handler, "__name__", repr(handler))
        self._handlers.setdefault(event_type, []).append((label, handler))

    def subscribe_task(self, event_type: type[E], handler: Callable[[E, int | None], None], *, name: str = ""
                       ) -> None:
        """`handler(event, outbox_id)` queues the task that finishes the event's outbox row itself."""
        if event_type in self._tasks:
            raise ValueError(f"{event_type.__name__} already hands off to {self._tasks[event_type][0]!r}")
        self._tasks[event_type] = (name or getattr(handler, "__name__", repr(handler)), handler)

    def handlers(self, event_type: type[DomainEvent]) -> list[str]:
        task = self._tasks.get(event_type)
        return [label for label, _ in self._handlers.get(event_type, [])] + ([task[0]] if task else [])

    def hands_off(self, event_type: type[DomainEvent]) -> bool:
        """Whether a queued task, not the dispatch, marks this event's row done."""
        return event_type in self._tasks

    def dispatch(self, event: DomainEvent, outbox_id: int | None = None) -> None:
        failures: list[tuple[str, Exception]] = []
        handlers: list[tuple[str, Handler]] = list(self._handlers.get(type(event), []))
        task = self._tasks.get(type(event))
        if task is not None:
            label, hand_off = task
            handlers.append((label, lambda e: hand_off(e, outbox_id)))
        for label, handler in handlers:
            try:
                handler(event)
            except Exception as exc:
                failures.append((label, exc))
        if failures:
            raise DispatchFailed(failures)


class DispatchFailed(Exception):
    """One or more subscribers failed; the row stays for the relay."""

    def __init__(self, failures: list[tuple[str, Exception]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{label}: {type(exc).__name__}: {str(exc)[:200]}" for label, exc in failures))
