"""History import (`caredesk import messages`): past customer messages triaged by the real pipeline and stored as
history, so the analytics and the surge detection see a centre's past.

What a row becomes: its customer (by ref; created if new, an existing one is left as it is), a conversation (the
row's `conversation_ref` within that customer, or one per customer, channel and day in the configured time zone
when the file gives none; a later import joins the same conversations), the message with `created_at` =
`received_at`, and its triage row with the decision the policy would have taken then (against today's knowledge
base), the topic and the product. Nothing is started: no reply, work order, emergency meeting, alarm, notice or
e-mail, and no domain event is recorded. The roll-ups count the messages (`add_messages` with `message_facts`);
the audit log gets one entry with the counts.

All or nothing: the rows are triaged first (outside any transaction: CPU only), then everything is written in ONE
transaction; an error or an interruption rolls it all back. A row already imported (same customer_ref,
received_at and text: `message.import_key`) is skipped and counted, so re-running a file imports only what is new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.facts import message_facts
from caredesk.analytics.history_file import HistoryRow
from caredesk.analytics.rollups import add_messages, hour_of
from caredesk.analytics.surge_actions import replay_surges
from caredesk.analytics.surge_scan import scan_params
from caredesk.analytics.thresholds import load_thresholds
from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.compliance.outgoing import OutgoingChecker
from caredesk.ids import new_id
from caredesk.intake.actions import knowledge_matches, triage_row
from caredesk.intake.decision import Decision, DecisionKind, DecisionPolicy, Reason, decide, needs_emergency
from caredesk.settings import Settings
from caredesk.storage.orm import Branch, Conversation, Customer, Message
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.context import PriorTurn, in_context
from caredesk.triage.doc import TriageDoc

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["BATCH", "HistoryImportDeps", "HistoryImportResult", "Progress", "do_import_history"]

BATCH = 64  # texts per encoder call
CHUNK = 500  # rows per IN (...) lookup and per flush
# messages per roll-up upsert: up to ~8 cells each (total, channel, topic, ...) x 11 columns stays under SQLite's
# 32,766 bound parameters even when every message falls in an hour of its own
ROLLUP_CHUNK = 200
HISTORY_TURNS = 10  # earlier messages of the conversation that triage weighs (as intake does)
Progress = Callable[[str, int, int], None]  # (phase: check | triage | save, done, total)


class BatchTriage(Protocol):
    def many(self, texts: Sequence[str]) -> list[TriageDoc]: ...


class HistoryImportDeps(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def triage(self) -> BatchTriage: ...
    @property
    def decision_policy(self) -> DecisionPolicy: ...
    def knowledge_index(self) -> KnowledgeIndex: ...
    @property
    def outgoing(self) -> OutgoingChecker: ...
    def uow(self) -> UnitOfWork: ...


@dataclass(frozen=True)
class HistoryImportResult:
    import_id: str
    rows: int  # in the file
    imported: int
    skipped: int  # imported before (or twice in the file)
    customers_created: int
    conversations_created: int
    start: datetime | None  # the earliest and latest imported received_at
    end: datetime | None
    decisions: dict[str, int] = field(default_factory=dict)  # decision kind -> messages
    with_topic: int = 0
    surges_opened: int = 0  # by the replay of surge detection over the imported period


@dataclass
class _Triaged:
    row: HistoryRow
    doc: TriageDoc
    decision: Decision


T = TypeVar("T")


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _already_imported(deps: HistoryImportDeps, rows: Sequence[HistoryRow]) -> set[str]:
    found: set[str] = set()
    with deps.uow() as uow:
        for part in _chunks([r.key for r in rows]):
            found.update(k for k in uow.session.scalars(select(Message.import_key)
                                                        .where(Message.import_key.in_(part))) if k)
    return found


def _conversation_ref(row: HistoryRow, settings: Settings) -> str:
    if row.conversation_ref:
        return f"ref:{row.conversation_ref}"
    return f"day:{row.channel}:{row.received_at.astimezone(settings.display_timezone).date().isoformat()}"


def _decision(deps: HistoryImportDeps, index: KnowledgeIndex, doc: TriageDoc) -> Decision:
    """What intake would have decided (without a clarification pending, a running meeting or sending anything)."""
    policy = deps.decision_policy
    if needs_emergency(doc, policy):
        return decide(doc, None, policy)
    matches = knowledge_matches(index, doc, deps.settings)
    decision = decide(doc, matches[0] if matches else None, policy, runners_up=matches[1:])
    if decision.kind == DecisionKind.ANSWER and decision.match and not decision.clarify:
        check = deps.outgoing.check(decision.match.answer)
        if check.blocked:
            return Decision(DecisionKind.WORK_ORDER, f"outgoing compliance blocked the reply: {check.reason()}",
                            decision.match, because=(Reason("compliance_blocked", {"rules": check.reason()}),))
    return decision


def _triage(deps: HistoryImportDeps, rows: Sequence[HistoryRow], progress: Progress) -> list[_Triaged]:
    """In time order, in batches; a conversation's earlier rows weigh on the next as in intake."""
    index = deps.knowledge_index()
    turns: dict[tuple[str, str], list[PriorTurn]] = defaultdict(list)
    out: list[_Triaged] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        for row, doc in zip(batch, deps.triage.many([r.text for r in batch]), strict=True):
            key = (row.customer_ref, _conversation_ref(row, deps.settings))
            doc = in_context(doc, turns[key][-HISTORY_TURNS:])
            decision = _decision(deps, index, doc)
            doc.embedding = None  # not kept: thousands of vectors would only fill the memory
            turns[key].append(PriorTurn(doc.label("urgency").label, doc.emotion.label, doc.complaint_level,
                                        tuple(doc.complaint_types)))
            out.append(_Triaged(row, doc, decision))
        progress("triage", min(start + BATCH, len(rows)), len(rows))
    return out


def _customers(s: Session, triaged: Sequence[_Triaged]) -> tuple[dict[str, tuple[str, str | None]], int]:
    """ref -> (customer id, branch code); the new ones created with their first message's time and language."""
    refs = list(dict.fromkeys(t.row.customer_ref for t in triaged))
    known: dict[str, tuple[str, str | None]] = {}
    for part in _chunks(refs):
        for cid, ref, branch in s.execute(select(Customer.id, Customer.ref, Branch.code)
                                          .outerjoin(Branch, Branch.id == Customer.branch_id)
                                          .where(Customer.ref.in_(part))):
            known[ref] = (cid, branch)
    created = 0
    for t in triaged:
        ref = t.row.customer_ref
        if ref not in known:
            customer = Customer(id=new_id(), ref=ref, created_at=t.row.received_at,
                                language=t.doc.language if t.doc.language in {"zh", "en"} else None)
            s.add(customer)
            known[ref] = (customer.id, None)
            created += 1
    s.flush()
    return known, created


def _conversations(s: Session, deps: HistoryImportDeps, triaged: Sequence[_Triaged],
                   customers: dict[str, tuple[str, str | None]]) -> tuple[dict[tuple[str, str], Conversation], int]:
    wanted = {(customers[t.row.customer_ref][0], _conversation_ref(t.row, deps.settings)) for t in triaged}
    found: dict[tuple[str, str], Conversation] = {}
    for part in _chunks(sorted({ref for _, ref in wanted})):
        for conversation in s.scalars(select(Conversation).where(Conversation.import_ref.in_(part))):
            key = (conversation.customer_id, conversation.import_ref or "")
            if key in wanted:
                found[key] = conversation
    created = 0
    for t in triaged:
        key = (customers[t.row.customer_ref][0], _conversation_ref(t.row, deps.settings))
        at = t.row.received_at
        known = found.get(key)
        if known is None:
            known = Conversation(id=new_id(), customer_id=key[0], channel=t.row.channel, status="closed",
                                 import_ref=key[1], created_at=at, last_message_at=at)
            s.add(known)
            found[key] = known
            created += 1
        conversation = known
        conversation.created_at = min(conversation.created_at, at)
        conversation.last_message_at = max(conversation.last_message_at, at)
    s.flush()
    return found, created


def _save(s: Session, deps: HistoryImportDeps, triaged: Sequence[_Triaged], progress: Progress) -> tuple[int, int]:
    customers, customers_created = _customers(s, triaged)
    conversations, conversations_created = _conversations(s, deps, triaged, customers)
    for start in range(0, len(triaged), CHUNK):
        facts = []
        for t in triaged[start:start + CHUNK]:
            customer_id, branch = customers[t.row.customer_ref]
            conversation = conversations[(customer_id, _conversation_ref(t.row, deps.settings))]
            message = Message(id=new_id(), conversation_id=conversation.id, direction="in", author="customer",
                              text=t.row.text, text_masked=t.doc.display or t.doc.masked, language=t.doc.language,
                              created_at=t.row.received_at, import_key=t.row.key)
            triage = triage_row(message, t.doc, t.decision)
            triage.explanation = {**triage.explanation, "history_import": True}  # decided, nothing started
            s.add_all([message, triage])
            facts.append(message_facts(triage, received_at=t.row.received_at, channel=t.row.channel,
                                       branch=branch))
        s.flush()
        for part in range(0, len(facts), ROLLUP_CHUNK):
            add_messages(s, facts[part:part + ROLLUP_CHUNK])
        progress("save", min(start + CHUNK, len(triaged)), len(triaged))
    return customers_created, conversations_created


def do_import_history(deps: HistoryImportDeps, rows: Sequence[HistoryRow], *, name: str, actor: str,
                      progress: Progress | None = None) -> HistoryImportResult:
    """`rows`: a checked file (history_file.read_history_csv). Returns the counts; writes all or nothing."""
    report: Progress = progress or (lambda phase, done, total: None)
    # the surge settings in use, read before anything is written: a broken thresholds file stops the import here
    detection = scan_params(load_thresholds(deps.settings.analytics_thresholds_file).surges.detection)
    done = _already_imported(deps, rows)
    fresh: list[HistoryRow] = []
    for row in sorted(rows, key=lambda r: (r.received_at, r.line)):
        if row.key not in done:
            done.add(row.key)  # a second copy in the same file is skipped too
            fresh.append(row)
    report("check", len(rows), len(rows))
    triaged = _triage(deps, fresh, report)
    import_id = new_id()
    decisions: dict[str, int] = defaultdict(int)
    for t in triaged:
        decisions[t.decision.kind.value] += 1
    start = fresh[0].received_at if fresh else None
    end = fresh[-1].received_at if fresh else None
    with deps.uow() as uow:
        s = uow.session
        customers_created, conversations_created = _save(s, deps, triaged, report)
        result = HistoryImportResult(import_id, len(rows), len(fresh), len(rows) - len(fresh), customers_created,
                                     conversations_created, start, end, dict(decisions),
                                     sum(1 for t in triaged if t.doc.topic))
        record_audit(s, actor=actor, action="history.imported", object_type="history_import", object_id=import_id,
                     now=deps.clock.now(), data={
                         "file": name, "rows": result.rows, "imported": result.imported, "skipped": result.skipped,
                         "customers_created": customers_created, "conversations_created": conversations_created,
                         "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
                         "decisions": result.decisions})
        uow.commit()
    if start is not None and end is not None:
        # Surge detection over the imported hours in time order, as it would have run live: each surge's
        # detected_at is when it would have fired. After the import's commit: it reads the roll-up just written.
        run = replay_surges(deps.uow(), start, hour_of(end) + timedelta(hours=1), params=detection,
                            tz=deps.settings.display_timezone)
        result = replace(result, surges_opened=len(run.opened))
    return result
