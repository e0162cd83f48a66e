"""Surges end to end on SQLite and PostgreSQL: three weeks of roll-up history (add_messages), then real customer
messages of one topic rising in two hours; detection opens one surge with its report, the API lists it since a
moment and drives its lifecycle; a replay over the period finds it at the quarter hour it would have fired
live."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.analytics.surge_actions import DetectionRun, do_detect_surges, replay_surges
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import Notification, Staff, Surge
from tests.conftest import create_key
from tests.support.surges import HOUR, RISE_HOURS, RISE_START, SHANGHAI, add_rise_messages, seed_rising_topic


def _seed(rt: Runtime, *, per_hour: int = 12) -> None:
    """A team lead and an agent; 21 days of two topics at about 1.5 an hour by day and 0.2 by night (Shanghai), on
    the web channel; then `per_hour` real messages an hour about a double-charged annual fee for two hours."""
    with rt.uow() as uow:
        for role in ("team_lead", "agent"):
            uow.session.add(Staff(username=f"surge-{role}", display_name=role, email=f"{role}@example.com", role=role))
        uow.commit()
    seed_rising_topic(rt, ref="surge-e2e", per_hour=per_hour)


def _client(rt: Runtime, role: str) -> TestClient:
    client = TestClient(create_app(rt, start_consumer=False), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return client


def test_surge_detected_listed_and_handled_through_the_api(runtime: Runtime) -> None:
    rt = runtime
    _seed(rt)
    run = do_detect_surges(rt.uow(), now=RISE_START + RISE_HOURS * HOUR + timedelta(minutes=5), tz=SHANGHAI)
    again = do_detect_surges(rt.uow(), now=RISE_START + RISE_HOURS * HOUR + timedelta(minutes=6), tz=SHANGHAI)
    assert len(run.opened) >= 1 and again.opened == []  # the same hour judged twice opens nothing more
    with rt.session_factory() as s:  # told once, supervisors only
        told = s.execute(select(Staff.role, Notification.title).join(Notification, Notification.staff_id == Staff.id)
                         .where(Notification.kind == "surge_opened")).all()
    assert {r for r, _ in told} == {"team_lead"} and len(told) == len(run.opened)
    assert any("topic card_fee" in title for _, title in told)

    lead = _client(rt, "team_lead")
    since = (RISE_START - HOUR).astimezone(SHANGHAI).replace(tzinfo=None).isoformat()  # local, no offset
    body = lead.get("/api/v1/analytics/surges", params={"since": since}).json()
    items: dict[tuple[str, str], dict[str, Any]] = {(i["dimension"], i["value"]): i for i in body["items"]}
    assert ("topic", "loans") not in items
    surge = items[("topic", "card_fee")]
    assert surge["status"] == "open"
    assert datetime.fromisoformat(surge["detected_at"]) == RISE_START + RISE_HOURS * HOUR
    assert surge["detected_at"].endswith(("Z", "+00:00"))
    assert datetime.fromisoformat(surge["window_start"]) >= RISE_START
    assert datetime.fromisoformat(surge["window_end"]) == RISE_START + RISE_HOURS * HOUR
    assert surge["observed"] >= 24 and 0 < surge["expected"] < 6
    assert surge["summary"]["ratio"] > 4
    assert 1 <= len(surge["samples"]) <= 5 and all("13812345678" not in t for t in surge["samples"])
    phrases = {p["phrase"] for p in surge["phrases"]}
    assert phrases & {"年费", "扣款", "charged twice", "annual fee"}
    assert surge["channels"] == {"web": 24}
    assert surge["series"][-1]["observed"] >= 12
    later = lead.get("/api/v1/analytics/surges", params={"since": "2026-03-02T12:05:00+08:00"}).json()
    assert later["items"] == []
    assert lead.get("/api/v1/analytics/surges", params={"since": "yesterday"}).json()["code"] == "invalid_input"

    assert _client(rt, "agent").post(f"/api/v1/analytics/surges/{surge['id']}/acknowledge").status_code == 403
    acked = lead.post(f"/api/v1/analytics/surges/{surge['id']}/acknowledge")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    twice = lead.post(f"/api/v1/analytics/surges/{surge['id']}/acknowledge")
    assert twice.status_code == 409 and twice.json()["code"] == "conflict"
    assert lead.post(f"/api/v1/analytics/surges/{surge['id']}/resolve").json()["status"] == "resolved"
    assert lead.post(f"/api/v1/analytics/surges/{surge['id']}/resolve").status_code == 409
    missing = lead.post("/api/v1/analytics/surges/nope/resolve")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_replay_finds_the_surge_at_the_quarter_hour_it_would_have_fired(runtime: Runtime) -> None:
    rt = runtime
    _seed(rt)
    run = replay_surges(rt.uow(), RISE_START - 2 * 24 * HOUR, RISE_START + 12 * HOUR, tz=SHANGHAI)
    assert run.hours == 2 * 24 + 12
    with rt.session_factory() as s:
        surges = list(s.scalars(select(Surge).where(Surge.dimension == "topic")))
    assert [(x.value, x.status) for x in surges] == [("card_fee", "resolved")]  # quiet for hours after
    # judged every quarter hour: fired within the rise's two hours, at the end of a quarter
    assert RISE_START < surges[0].detected_at <= RISE_START + 2 * HOUR and surges[0].detected_at.minute % 15 == 0
    assert surges[0].window_end == RISE_START + RISE_HOURS * HOUR  # the hours after, quiet, do not extend it
    assert surges[0].resolved_at == RISE_START + (RISE_HOURS + 3) * HOUR
    with rt.session_factory() as s:  # a replay of history tells nobody
        assert s.scalars(select(Notification).where(Notification.kind == "surge_opened")).all() == []


def test_live_detection_fires_within_the_hour_at_a_quarter_hour(runtime: Runtime) -> None:
    """Judged every quarter hour: the rise is seen at a quarter past its first hour, not at the next hour's end;
    each quarter judged once (a second run for it opens nothing), and the next quarter extends the window."""
    rt = runtime
    _seed(rt)
    before = do_detect_surges(rt.uow(), now=RISE_START + timedelta(minutes=17), tz=SHANGHAI)
    assert before.opened == []  # a quarter hour of the rise is not yet enough
    opened_at = None
    for minutes in (32, 47, 62, 77, 92, 107):
        run = do_detect_surges(rt.uow(), now=RISE_START + timedelta(minutes=minutes), tz=SHANGHAI)
        if run.opened:
            opened_at = minutes
            break
    assert opened_at is not None and opened_at <= 107
    assert do_detect_surges(rt.uow(), now=RISE_START + timedelta(minutes=opened_at + 1), tz=SHANGHAI).opened == []
    with rt.session_factory() as s:
        surge = s.scalars(select(Surge).where(Surge.dimension == "topic", Surge.value == "card_fee")).one()
    assert surge.detected_at == RISE_START + timedelta(minutes=opened_at - 2)  # the end of the judged quarter
    assert surge.window_end == surge.detected_at and surge.window_start >= RISE_START
    assert surge.observed == int((surge.window_end - surge.window_start) / timedelta(minutes=5))
    later = do_detect_surges(rt.uow(), now=RISE_START + timedelta(minutes=opened_at + 15), tz=SHANGHAI)
    with rt.session_factory() as s:
        grown = s.get(Surge, surge.id)
    assert grown is not None and later.extended == [surge.id]
    assert grown.window_end == surge.window_end + timedelta(minutes=15) and grown.observed == surge.observed + 3
    assert sum(grown.report["expected_by_hour"].values()) == pytest.approx(grown.expected, abs=0.01)



def _detect(rt: Runtime) -> tuple[DetectionRun, dict[tuple[str, str], Surge]]:
    run = do_detect_surges(rt.uow(), now=RISE_START + RISE_HOURS * HOUR + timedelta(minutes=5), tz=SHANGHAI)
    with rt.session_factory() as s:
        return run, {(x.dimension, x.value): x for x in s.scalars(select(Surge))}


def test_a_topic_surge_accounts_for_the_rise_it_causes_in_its_channel(runtime: Runtime) -> None:
    """20 fee messages an hour, all on the web channel, lift the channel well above its usual (about 3 an hour):
    one surge (the topic's) with the channel on its report, not a second surge and a second notice."""
    rt = runtime
    _seed(rt, per_hour=20)
    run, surges = _detect(rt)
    assert set(surges) == {("topic", "card_fee")} and len(run.opened) == 1
    surge = surges[("topic", "card_fee")]
    assert (surge.id, "channel", "web") in run.explained
    body = _client(rt, "team_lead").get("/api/v1/analytics/surges").json()
    raised = {(r["dimension"], r["value"]): r for r in body["items"][0]["also_raised"]}
    web = raised[("channel", "web")]
    assert web["observed"] >= 30 and web["observed"] > 4 * web["expected"]
    assert web["without_surge"] < web["expected"] + 6  # the fee topic's excess taken out: about the usual
    assert web["first_at"] == web["last_at"] == (RISE_START + RISE_HOURS * HOUR).isoformat()


def test_an_aggregate_rising_beyond_the_topic_surge_is_a_surge_of_its_own(runtime: Runtime) -> None:
    """As above, and the web channel also gets 18 messages an hour without a topic: taking the fee topic's
    excess out leaves the channel well above its usual, so it opens its own surge."""
    rt = runtime
    _seed(rt, per_hour=20)
    add_rise_messages(rt, ref="surge-e2e-outage", per_hour=18, texts=["网页打不开"], topic=None,
                      content_type="system", problem_type="consultation", emotion="neutral", minute=1)
    run, surges = _detect(rt)
    assert {("topic", "card_fee"), ("channel", "web")} <= set(surges)
    assert not any(d == "channel" for _, d, _ in run.explained)
    assert surges[("channel", "web")].observed >= 76


def _open_web_channel_surge(rt: Runtime, *, observed: int) -> None:
    """The web channel's surge, open since the rise's first hour (it crossed before the topic)."""
    with rt.uow() as uow:
        uow.session.add(Surge(dimension="channel", value="web", window_start=RISE_START,
                              window_end=RISE_START + HOUR, detected_at=RISE_START + HOUR, observed=observed,
                              expected=3.0, status="open", report={}))
        uow.commit()


def test_a_channel_surge_already_open_does_not_swallow_the_topic_that_explains_it(runtime: Runtime) -> None:
    """The web channel crossed first (open since the first hour); the fee topic crossing later is the cause
    and opens its own surge: only a more specific dimension accounts for a less specific one. The two are
    linked: the channel's surge stays open (it was told), and each report names the other."""
    rt = runtime
    _seed(rt, per_hour=20)
    _open_web_channel_surge(rt, observed=20)
    run, surges = _detect(rt)
    topic, channel = surges[("topic", "card_fee")], surges[("channel", "web")]
    assert topic.id in run.opened and run.explained == [(topic.id, "channel", "web")]
    assert channel.status == "open" and channel.id in run.extended
    body = {i["id"]: i for i in _client(rt, "team_lead").get("/api/v1/analytics/surges").json()["items"]}
    assert body[channel.id]["explained_by"]["surge_id"] == topic.id
    (raised,) = body[topic.id]["also_raised"]
    assert (raised["dimension"], raised["value"], raised["surge_id"]) == ("channel", "web", channel.id)
    assert body[topic.id]["explained_by"] is None


def test_an_open_channel_surge_of_its_own_is_not_linked_to_a_topic(runtime: Runtime) -> None:
    """The web channel's surge is open and its rise is more than the fee topic's (18 messages an hour without a
    topic besides): when the topic opens, the channel is not put down to it."""
    rt = runtime
    _seed(rt, per_hour=20)
    add_rise_messages(rt, ref="surge-e2e-outage", per_hour=18, texts=["网页打不开"], topic=None,
                      content_type="system", problem_type="consultation", emotion="neutral", minute=1)
    _open_web_channel_surge(rt, observed=38)
    run, surges = _detect(rt)
    assert surges[("topic", "card_fee")].id in run.opened and run.explained == []
    assert "explained_by" not in surges[("channel", "web")].report
