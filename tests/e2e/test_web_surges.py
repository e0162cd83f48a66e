"""The surge pages through the real app (TestClient; SQLite and PostgreSQL), with a surge detected over seeded
history: the cockpit links to the active surges; the list filters by status and dimension (zh and en); the report
shows the figures, the chart's series as the server computed them, masked samples, phrases and clusters; a team
lead acknowledges and resolves with the page's forms (CSRF; audited; a second acknowledge is refused on the page),
an auditor reads without buttons, an agent gets 403, a form without the CSRF token is refused."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.analytics.surge_actions import do_detect_surges
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Surge
from tests.support.surges import DETECT_AT, HOUR, PHONE, RISE_START, SHANGHAI, seed_rising_topic
from tests.support.web_session import csrf_token, submit_sign_in

EN = {"Accept-Language": "en"}


@pytest.fixture
def surge_id(demo_runtime: Runtime) -> str:
    seed_rising_topic(demo_runtime)
    do_detect_surges(demo_runtime.uow(), now=DETECT_AT, tz=SHANGHAI)
    with demo_runtime.session_factory() as s:
        surge = s.scalar(select(Surge).where(Surge.dimension == "topic", Surge.value == "card_fee"))
        assert surge is not None
        return surge.id


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def _chart(page: str) -> dict[str, object]:
    found = re.search(r"id=\"chart-surge\"[^>]*data-chart='([^']*)'", page)
    assert found, "no surge chart on the page"
    return dict(json.loads(html.unescape(found.group(1))))


def test_surge_pages_list_report_and_lifecycle(demo_runtime: Runtime, web: TestClient, surge_id: str) -> None:
    submit_sign_in(web, "lead")
    cockpit = web.get("/analytics", headers=EN)
    assert cockpit.status_code == 200 and 'href="/analytics/surges"' in cockpit.text
    assert re.search(r"id=\"cockpit-surges\".*surges active", cockpit.text)

    listed = web.get("/analytics/surges", headers=EN)
    assert listed.status_code == 200 and f'href="/analytics/surges/{surge_id}"' in listed.text
    assert "Topic: card_fee" in listed.text
    assert surge_id not in web.get("/analytics/surges?status=resolved", headers=EN).text
    assert surge_id not in web.get("/analytics/surges?dimension=channel", headers=EN).text
    assert surge_id in web.get("/analytics/surges?dimension=topic&status=open", headers=EN).text
    bad = web.get("/analytics/surges?status=sleeping", headers=EN)
    assert bad.status_code == 400 and "status is one of" in bad.text
    zh = web.get("/analytics/surges?lang=zh")
    assert "突增" in zh.text and "主题：card_fee" in zh.text and "待处理" in zh.text

    page = web.get(f"/analytics/surges/{surge_id}?lang=en")  # the page language is remembered: back to English
    assert page.status_code == 200
    assert 'id="fig-observed"' in page.text and ">24<" in page.text
    assert "2026-03-02 10:00" in page.text  # since, in the centre's time zone
    with demo_runtime.session_factory() as s:
        surge = s.get(Surge, surge_id)
        assert surge is not None
        series = surge.report["series"]
    chart = _chart(page.text)
    drawn = chart["series"]
    assert isinstance(drawn, list)
    assert drawn[0]["data"] == [h["observed"] for h in series]
    assert drawn[1]["data"] == [h["expected"] for h in series] and drawn[1]["dashed"] is True
    assert PHONE not in page.text and "年费被扣了两次，电话138****5678" in page.text  # the sample, masked
    assert 'id="surge-clusters"' in page.text and "Cluster 1" in page.text
    assert "年费" in page.text and "web: 24" in page.text
    assert web.get("/analytics/surges/nope", headers=EN).status_code == 404

    token = csrf_token(web, f"/analytics/surges/{surge_id}")
    refused = web.post(f"/analytics/surges/{surge_id}/acknowledge", data={})
    assert refused.status_code == 403
    acked = web.post(f"/analytics/surges/{surge_id}/acknowledge", data={"csrf_token": token})
    assert acked.status_code == 303 and acked.headers["location"] == f"/analytics/surges/{surge_id}"
    after = web.get(f"/analytics/surges/{surge_id}", headers=EN)
    assert 'data-status="acknowledged"' in after.text and 'id="surge-acknowledge"' not in after.text
    again = web.post(f"/analytics/surges/{surge_id}/acknowledge", data={"csrf_token": token}, headers=EN)
    assert again.status_code == 409 and 'id="surge-error"' in again.text
    resolved = web.post(f"/analytics/surges/{surge_id}/resolve", data={"csrf_token": token})
    assert resolved.status_code == 303
    final = web.get(f"/analytics/surges/{surge_id}", headers=EN)
    assert 'data-status="resolved"' in final.text and 'id="surge-actions"' not in final.text
    with demo_runtime.session_factory() as s:
        actions = {a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.object_id == surge_id))}
    assert {"surge.acknowledged", "surge.resolved"} <= actions


def test_surge_pages_by_role(web: TestClient, surge_id: str) -> None:
    submit_sign_in(web, "jiang.tao")  # auditor: reads surges, handles none, no dashboards
    page = web.get(f"/analytics/surges/{surge_id}", headers=EN)
    assert page.status_code == 200 and 'id="surge-actions"' not in page.text
    assert 'id="tab-cockpit"' not in page.text and 'id="tab-surges"' in page.text
    token = csrf_token(web, f"/analytics/surges/{surge_id}")
    assert web.post(f"/analytics/surges/{surge_id}/acknowledge", data={"csrf_token": token}).status_code == 403
    web.post("/logout", data={"csrf_token": token})
    assert web.get("/analytics/surges").status_code == 303  # a visitor: to the sign-in page
    submit_sign_in(web, "agent")
    assert web.get("/analytics/surges").status_code == 403
    assert web.get(f"/analytics/surges/{surge_id}").status_code == 403


def test_surge_report_lists_the_series_it_also_raised(demo_runtime: Runtime, web: TestClient) -> None:
    seed_rising_topic(demo_runtime, per_hour=20)
    do_detect_surges(demo_runtime.uow(), now=DETECT_AT, tz=SHANGHAI)
    with demo_runtime.session_factory() as s:
        surges = s.scalars(select(Surge)).all()
    assert [(x.dimension, x.value) for x in surges] == [("topic", "card_fee")]
    submit_sign_in(web, "lead")
    for lang, series, help_text in (("en", "Channel: web", "without its excess"), ("zh", "渠道：web", "扣除")):
        page = web.get(f"/analytics/surges/{surges[0].id}?lang={lang}")
        section = re.search(r'id="surge-also-raised".*?</section>', page.text, re.S)
        assert section is not None
        rows = re.findall(r'<tr class="raised"><td>([^<]*)</td><td class="rate">(\d+)</td>', section.group(0))
        assert [(name, int(n) >= 30) for name, n in rows] == [(series, True)] and help_text in section.group(0)


def test_surge_reports_link_a_channel_surge_to_the_topic_that_explains_it(demo_runtime: Runtime,
                                                                         web: TestClient) -> None:
    seed_rising_topic(demo_runtime, per_hour=20)
    with demo_runtime.uow() as uow:  # the web channel crossed an hour before the topic
        uow.session.add(Surge(dimension="channel", value="web", window_start=RISE_START,
                              window_end=RISE_START + HOUR, detected_at=RISE_START + HOUR, observed=20,
                              expected=3.0, status="open", report={}))
        uow.commit()
    do_detect_surges(demo_runtime.uow(), now=DETECT_AT, tz=SHANGHAI)
    with demo_runtime.session_factory() as s:
        ids = {(x.dimension, x.value): x.id for x in s.scalars(select(Surge))}
    submit_sign_in(web, "lead")
    channel = web.get(f"/analytics/surges/{ids[('channel', 'web')]}?lang=en").text
    cause = re.search(r'id="surge-explained-by">(.*?)</p>', channel, re.S)
    assert cause and f'href="/analytics/surges/{ids[("topic", "card_fee")]}"' in cause.group(1)
    assert "Topic: card_fee" in cause.group(1)
    topic = web.get(f"/analytics/surges/{ids[('topic', 'card_fee')]}?lang=zh").text
    section = re.search(r'id="surge-also-raised".*?</section>', topic, re.S)
    assert section and f'<a href="/analytics/surges/{ids[("channel", "web")]}">渠道：web</a>' in section.group(0)
    assert 'id="surge-explained-by"' not in topic
