"""Issue 14, "nothing lost": the chaos check's short form (about a minute and a half) as the test suite runs it.

`caredesk serve --workers 2` and two `caredesk worker` processes on a temporary PostgreSQL schema, a private
redis-server and an SMTP server, under load from clients that send every message with an `Idempotency-Key`
and retry it after an error or no answer. While they post: one API worker and one task worker are killed with
SIGKILL (the task worker is replaced), every PostgreSQL connection of the schema is terminated, Redis is
stopped for ten seconds and comes back empty. Afterwards:

- every message that got a 201 is stored, triaged and decided, and every logical message got one in the end
  (`chaos_lost_messages` = 0);
- no logical message is stored twice, and none has two work orders or two meetings; no customer has two
  alarms (`chaos_duplicate_effects` = 0);
- every due notice (meeting invitations, alarm e-mails, SLA and duty hand-off e-mails) is sent
  (`chaos_unsent_notices` = 0); a notice e-mailed twice is only counted (`chaos_duplicate_emails`);
- an outage is answered 503 with Retry-After, never 500.

It depends on the intake's `Idempotency-Key` (a retried request must not store the message again) and on
notice tasks that stay in the outbox until they finish (a task lost with Redis or with a killed worker must
be queued again). Skipped, like every PostgreSQL test, when PostgreSQL does not answer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caredesk.bench.chaos import PLANS, REDIS_SERVER, run_chaos
from caredesk.triage.model import TriageModel, activate
from tests.conftest import POSTGRES_URL, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.chaos]


@pytest.fixture
def reachable_postgres() -> str:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: not available here
        unavailable("postgres", str(exc).splitlines()[0])
    if shutil.which(REDIS_SERVER) is None:
        unavailable("redis", f"{REDIS_SERVER} not found (the check starts a private one)")
    return POSTGRES_URL


def test_nothing_is_lost_or_duplicated_when_processes_and_services_fail(
        reachable_postgres: str, tmp_path: Path, triage_model: TriageModel) -> None:
    activate(triage_model, tmp_path / "models")  # spares the server the first-run training
    result = run_chaos(PLANS["short"], postgres_url=reachable_postgres, label="short",
                       extra_env={"CAREDESK_MODEL_DIR": str(tmp_path / "models")}, keep_logs=tmp_path / "logs")
    figures, notes = result.figures, result.notes
    report = "\n".join(f"{k}: {v}" for k, v in sorted({**figures, **notes}.items()))
    report += f"\nprocess logs: {tmp_path / 'logs'}"
    # the check ran for real: messages of every kind were accepted and notices were due
    assert figures["chaos_messages"] >= 20, report
    assert {m.kind for m in result.logicals if m.accepted} == {"ordinary", "emergency", "complaint"}, report
    assert figures["chaos_notices"] > 0, report
    assert figures["chaos_lost_messages"] == 0, report
    assert figures["chaos_duplicate_effects"] == 0, report
    assert figures["chaos_unsent_notices"] == 0, report
    assert figures["chaos_http_500"] == 0, report
    assert figures["chaos_503_without_retry_after"] == 0, report
    assert not result.failures, report
