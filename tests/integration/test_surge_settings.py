"""Surge detection as the thresholds file's `surges.detection` sets it, on SQLite and PostgreSQL: the quarter-hour
task judges only the dimensions named and with the file's thresholds; a trial (`try_surges`, what `caredesk
analytics try-surges` runs) finds what a replay would store, storing and telling nothing; the history import
replays with the file's settings and refuses a broken file before writing anything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caredesk.analytics.history_file import HistoryRow, read_history_csv
from caredesk.analytics.history_import import do_import_history
from caredesk.analytics.surge_actions import do_detect_surges, replay_surges, try_surges
from caredesk.analytics.surge_scan import ScanParams, scan_params
from caredesk.analytics.surge_tasks import detect_surges
from caredesk.analytics.thresholds import SurgeDetection
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.errors import InvalidConfig
from caredesk.storage.orm import Message, Notification, Surge
from caredesk.tasks.context import set_task_context
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings
from tests.support.surges import (
    DETECT_AT,
    HOUR,
    RISE_HOURS,
    RISE_START,
    SHANGHAI,
    TEXTS,
    add_rise_messages,
    seed_history,
    seed_rising_topic,
)

RULES = """rules:
  - {name: backlog_high, metric: backlog, comparison: above, value: 50, window: now, channels: [in_app],
     recipients: [team_lead]}
surges:
  channels: [in_app]
  recipients: [team_lead]
"""


@contextmanager
def _runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, detection: str
             ) -> Iterator[Runtime]:
    """A runtime whose thresholds file has the given `detection:` lines (indented under surges)."""
    rules = tmp_path / "thresholds.yaml"
    rules.write_text(RULES + ("  detection:\n" + detection if detection else ""), encoding="utf-8")
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, analytics_thresholds_file=rules))
    rt.set_pipeline(pipeline)
    try:
        yield rt
    finally:
        _clean(rt)
        rt.engine.dispose()


def _run_task(rt: Runtime) -> int:
    rt.clock = FrozenClock(DETECT_AT)
    set_task_context(rt)
    try:
        return detect_surges()
    finally:
        set_task_context(None)


def _surges(rt: Runtime) -> list[tuple[str, str]]:
    with rt.session_factory() as s:
        return sorted((row.dimension, row.value) for row in s.scalars(select(Surge)))


@pytest.mark.parametrize(("detection", "topic_opens"), [
    ("", True),  # the shipped settings: the topic's rise opens its surge
    ("    dimensions: [content_type, channel]\n", False),  # topics are not judged
    ("    min_count: 100\n", False),  # no window holds 100 messages
])
def test_the_task_detects_as_the_thresholds_file_says(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                      pipeline: TriagePipeline, detection: str,
                                                      topic_opens: bool) -> None:
    with _runtime(db_url, tmp_path, mailbox, pipeline, detection) as rt:
        seed_rising_topic(rt)
        opened = _run_task(rt)
        surges = _surges(rt)
        assert (("topic", "card_fee") in surges) is topic_opens
        assert opened == len(surges)
        if "dimensions" in detection:
            assert {d for d, _ in surges} <= {"content_type", "channel"}
        if "min_count" in detection:
            assert surges == []


def test_a_trial_finds_what_a_replay_stores_and_stores_nothing(runtime: Runtime) -> None:
    rt = runtime
    seed_rising_topic(rt, per_hour=20)
    start, end = RISE_START - 24 * HOUR, RISE_START + 8 * HOUR
    with rt.session_factory() as s:
        tried = try_surges(s, start, end, params=scan_params(SurgeDetection()), tz=SHANGHAI)
        stricter = try_surges(s, start, end, params=scan_params(SurgeDetection(min_count=100)), tz=SHANGHAI)
        topics_only = try_surges(s, start, end, params=scan_params(SurgeDetection(dimensions=["topic"])),
                                 tz=SHANGHAI)
    assert _surges(rt) == []  # nothing stored
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 0  # nobody told
    fee = next(t for t in tried if (t.dimension, t.value) == ("topic", "card_fee"))
    assert RISE_START < fee.detected_at <= RISE_START + RISE_HOURS * HOUR
    assert fee.observed >= 20 and fee.expected < fee.observed / 4
    assert fee.status == "resolved"  # three quiet hours after the rise, within the period
    assert stricter == []
    assert [(t.dimension, t.value) for t in topics_only] == [("topic", "card_fee")]
    # the web channel rose by the topic's messages: on the topic's report, not a surge of its own, in both
    assert ("channel", "web") not in {(t.dimension, t.value) for t in tried}
    assert any(r["value"] == "web" for r in fee.report["also_raised"])

    replayed = replay_surges(rt.uow(), start, end, params=scan_params(SurgeDetection()), tz=SHANGHAI)
    with rt.session_factory() as s:
        stored = {(row.dimension, row.value): row for row in s.scalars(select(Surge))}
    assert len(replayed.opened) == len(tried)
    assert {(t.dimension, t.value): (t.detected_at, t.window_start, t.observed, t.status) for t in tried} == {
        k: (row.detected_at, row.window_start, row.observed, row.status) for k, row in stored.items()}


def _history_csv(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    lines = ["received_at,text,channel,customer_ref"]
    for i in range(12):
        at = (DETECT_AT - timedelta(minutes=5 * i + 10)).astimezone(SHANGHAI)
        lines.append(f"{at.isoformat()},信用卡年费重复扣款了{i},web,IMP-{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _history_rows(tmp_path: Path) -> list[HistoryRow]:
    return read_history_csv(_history_csv(tmp_path), name="history.csv", zone=SHANGHAI, now=DETECT_AT, max_chars=2000)


def test_the_import_refuses_a_broken_detection_setting_before_writing(db_url: str, tmp_path: Path,
                                                                      mailbox: Mailbox,
                                                                      pipeline: TriagePipeline) -> None:
    with _runtime(db_url, tmp_path, mailbox, pipeline, "    alpha: 0\n") as rt:
        rows = _history_rows(tmp_path)
        with pytest.raises(InvalidConfig, match=r"surges\.detection\.alpha"):
            do_import_history(rt, rows, name="history.csv", actor="test")
        with rt.session_factory() as s:
            assert s.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize(("detection", "topic_opens"), [("", True), ("    dimensions: [channel]\n", False)])
def test_the_import_replays_with_the_files_settings(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                    pipeline: TriagePipeline, detection: str,
                                                    topic_opens: bool) -> None:
    """The same seeded history and an imported hour of the rise: the import's replay opens the topic's surge
    with the shipped settings, and none when the file judges channels only."""
    with _runtime(db_url, tmp_path, mailbox, pipeline, detection) as rt:
        seed_rising_topic(rt)
        rows = _history_rows(tmp_path)
        result = do_import_history(rt, rows, name="history.csv", actor="test")
        assert result.imported == 12 and result.surges_opened == len(_surges(rt))
        assert (("topic", "card_fee") in _surges(rt)) is topic_opens
        if not topic_opens:
            assert {d for d, _ in _surges(rt)} <= {"channel"}


@pytest.mark.parametrize(("customers", "busiest_once", "opens"), [
    (1, 1, False),  # one customer's 24 messages in two hours: a conversation, not a surge
    (2, 1, False),  # two customers' 12 each: the busiest counted once, 13 against about 3 expected
    (3, 1, True),  # three customers' 8 each: 17
    (3, 3, False),
    (1, 0, True),  # a centre that wants every burst: busiest_customers_once 0
])
def test_a_surge_must_hold_with_its_busiest_customer_counted_once(runtime: Runtime, customers: int,
                                                                  busiest_once: int, opens: bool) -> None:
    rt = runtime
    seed_history(rt)
    add_rise_messages(rt, ref="burst", per_hour=12, texts=TEXTS, customers=customers)
    run = do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI, params=ScanParams(busiest_once=busiest_once))
    assert (("topic", "card_fee") in _surges(rt)) is opens
    assert (("topic", "card_fee") in run.few_customers) is not opens
