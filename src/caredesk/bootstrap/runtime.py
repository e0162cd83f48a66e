"""The running application's dependencies in one typed object, built by `bootstrap.build_runtime`.

Background tasks run in the same process as the server (embedded) or in `caredesk worker`; either way the
process's runtime is set once at start and read with `current_runtime()`."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from caredesk.accounts.rate_limit import Counter, MemoryCounter
from caredesk.accounts.throttle import AttemptStore, MemoryAttemptStore
from caredesk.alarms.rules import AlarmPolicy
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.channels.outbound import Senders
from caredesk.clock import Clock, Remembered
from caredesk.compliance.outgoing import OutgoingChecker, load_checker
from caredesk.emergency.actions import EmergencyPlan
from caredesk.errors import Unavailable
from caredesk.events import Subscribers
from caredesk.intake.decision import DecisionPolicy
from caredesk.integrations.connectors.client import Connectors
from caredesk.knowledge.queries import load_published, published_signature
from caredesk.knowledge.store import IndexedEntry, KnowledgeStore
from caredesk.notify.email import SmtpSender
from caredesk.notify.live import LiveBus
from caredesk.profiles.sources import SourcesFile, load_sources
from caredesk.settings import Settings
from caredesk.sla.policy import SlaConfig, load_sla_config
from caredesk.storage.unit_of_work import DeferredMarks, UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.workorders.flows import Flow
from caredesk.workorders.presence import Presence

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.text.encoder import Embedder
    from caredesk.triage.pipeline import TriagePipeline

__all__ = ["Runtime", "current_runtime", "set_current_runtime"]

_log = logging.getLogger("caredesk.bootstrap.runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    queue: TaskQueue
    mailer: SmtpSender
    live: LiveBus
    flows: dict[str, Flow]
    emergency: EmergencyPlan
    alarm_strategy: AlarmStrategy
    knowledge: KnowledgeStore = field(default_factory=KnowledgeStore)
    sla: SlaConfig = field(default_factory=load_sla_config)
    presence: Presence = field(default_factory=Presence)
    login_attempts: AttemptStore = field(default_factory=MemoryAttemptStore)  # sign-in failures (throttling)
    rate_counter: Counter = field(default_factory=MemoryCounter)  # request rate limits, read-volume watch
    outgoing: OutgoingChecker = field(default_factory=load_checker)  # compliance rules for every reply
    subscribers: Subscribers = field(default_factory=Subscribers)  # who hears the outbox's events (bootstrap)
    customer_sources: SourcesFile = field(default_factory=load_sources)  # outside sources, CRM import columns
    channels: Senders = field(default_factory=Senders)  # who delivers replies and notices, by channel
    connectors: Connectors = field(default_factory=Connectors.none)  # CRM, orders, logistics (bootstrap/channels.py)
    model_check_seconds: float = 30.0  # how often a process looks for a model promoted by another one
    _pipeline: TriagePipeline | None = None
    _model_checked_at: float = 0.0
    _embedder: Embedder | None = None
    _kb_signature: Remembered[tuple[int, str]] = field(default_factory=Remembered)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_lock: threading.RLock = field(default_factory=threading.RLock)
    _marks: DeferredMarks = field(default_factory=DeferredMarks)  # SQLite: outbox marks for the next writer

    def uow(self) -> UnitOfWork:
        """One action's transaction; on SQLite this process's writers queue for the single write lock."""
        sqlite = self.engine.dialect.name == "sqlite"
        return UnitOfWork(self.session_factory, write_lock=self._write_lock if sqlite else None, clock=self.clock,
                          subscribers=self.subscribers, task_lease=self.settings.outbox_task_lease,
                          marks=self._marks if sqlite else None)

    @property
    def decision_policy(self) -> DecisionPolicy:
        return DecisionPolicy.of(self.settings)

    @property
    def case_zone(self) -> tzinfo:
        """The display time zone: a case number carries the day there."""
        return self.settings.display_timezone

    @property
    def alarm_policy(self) -> AlarmPolicy:
        """The strategy's watch rule, with what the environment overrides."""
        rule, st = self.alarm_strategy.watch, self.settings
        return replace(rule, level=st.alarm_complaint_level or rule.level,
                       threshold=st.alarm_threshold or rule.threshold,
                       window=timedelta(minutes=st.alarm_window_minutes) if st.alarm_window_minutes else rule.window)

    @property
    def triage(self) -> TriagePipeline:
        """Loaded once per process (the model is trained on first use when none exists), then swapped when
        another process promotes a model: the ACTIVE marker is re-read every `model_check_seconds`."""
        pipeline = self._pipeline
        if pipeline is None or time.monotonic() >= self._model_checked_at + self.model_check_seconds:
            pipeline = self._current_pipeline()
        return pipeline

    def _current_pipeline(self) -> TriagePipeline:
        from caredesk.triage.model import TriageModel, active_version, load_active_model
        from caredesk.triage.pipeline import TriagePipeline

        with self._lock:
            self._model_checked_at = time.monotonic()
            current, root = self._pipeline, self.settings.models_path
            if current is None:
                self._pipeline = TriagePipeline(load_active_model(root))
            elif (version := active_version(root)) is not None and version != current.model.version:
                try:
                    model = TriageModel.load(root / "triage" / version)
                except Exception as exc:
                    _log.error("triage model %s could not be loaded, keeping %s: %s", version,
                               current.model.version, exc)
                else:
                    _log.info("triage model %s promoted elsewhere; now answering with it", version)
                    self._pipeline = TriagePipeline(model, current.names)
            assert self._pipeline is not None
            return self._pipeline

    @property
    def triage_loaded(self) -> bool:
        """Whether this process has a triage model in memory (readiness asks; it never loads one)."""
        return self._pipeline is not None

    def set_pipeline(self, pipeline: TriagePipeline) -> None:
        self._pipeline = pipeline

    @property
    def embedder(self) -> Embedder:
        """The sentence encoder for knowledge retrieval: one per process, its weights loaded on first use."""
        if self._embedder is None:
            from caredesk.text.encoder import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def set_embedder(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def knowledge_index(self) -> KnowledgeIndex:
        """The published entries' index, rebuilt when an entry was published or changed (no restart). Reads
        the signature in a short session of its own, so that no caller holds a connection while an index is
        built; call it outside a write transaction (a rebuild stores missing question embeddings)."""
        return self.knowledge.current(self._published_signature(), self._index_entries, embedder=self.embedder)

    def _published_signature(self) -> tuple[int, str]:
        """The signature read at most every `kb_freshness_seconds` (by the runtime's clock): under load every
        message read it, a session and a query each, although entries change a few times a day."""
        now = self.clock.now()

        def read() -> tuple[int, str]:
            with self.session_factory() as session:
                return published_signature(session, now)

        return self._kb_signature.get(now, timedelta(seconds=self.settings.kb_freshness_seconds), read)

    def _index_entries(self) -> list[IndexedEntry]:
        from sqlalchemy.exc import OperationalError

        from caredesk.knowledge.embedding import attach_embeddings, ensure_embeddings

        with self.session_factory() as session:
            entries = load_published(session, self.clock.now())
        with self.session_factory() as own:
            try:
                ensure_embeddings(own, self.embedder)
            except OperationalError as exc:  # e.g. SQLite busy: the index encodes what is missing in memory
                own.rollback()
                _log.warning("knowledge embeddings not stored (%s); encoding in memory", exc.orig)
            return attach_embeddings(own, entries)


_current: Runtime | None = None


def set_current_runtime(rt: Runtime | None) -> None:
    global _current
    _current = rt


def current_runtime() -> Runtime:
    if _current is None:
        raise Unavailable("CareDesk runtime is not started in this process")
    return _current
