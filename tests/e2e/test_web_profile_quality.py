"""Administrators see the profile model's quality: its training runs (held-out AUC on the recent weeks,
promoted or not) and CSAT by segment, in Chinese and English; other roles may not see the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.profiles.actions import do_refresh_all
from caredesk.profiles.generated import generate_history
from caredesk.profiles.model import load_active
from caredesk.profiles.training import do_train_profiles
from tests.support.web_session import submit_sign_in

PAGE = "/workbench/profiles/quality"


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def test_profile_quality_page_shows_runs_and_csat_by_segment(web: TestClient, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    submit_sign_in(web, "admin")
    empty = web.get(f"{PAGE}?lang=en")
    assert empty.status_code == 200 and 'id="no-runs"' in empty.text and "cold-start rule" in empty.text
    now = rt.clock.now()
    with rt.uow() as uow:
        generate_history(uow.session, customers=120, now=now, seed=5)
        uow.commit()
    outcome = do_train_profiles(rt.uow(), rt.settings.models_path, now=now)
    do_refresh_all(rt.uow(), now=now, model=load_active(rt.settings.models_path))
    page = web.get(f"{PAGE}?lang=en")
    assert page.status_code == 200 and 'id="training-runs"' in page.text
    auc = outcome.candidate_metrics["auc_recent"]
    assert auc is not None and f"{auc:.3f}" in page.text
    assert outcome.candidate_version in page.text and 'class="run promoted"' in page.text
    assert 'id="segment-csat"' in page.text and "generated, not real" in page.text
    model = load_active(rt.settings.models_path)
    assert model is not None and any(f'id="segment-{name}"' in page.text for name in model.segment_names)
    zh = web.get(f"{PAGE}?lang=zh")
    assert "画像模型质量" in zh.text and "各客群满意度" in zh.text


@pytest.mark.parametrize("username", ["agent", "lead", "jiang.tao"])
def test_profile_quality_page_is_for_administrators(web: TestClient, username: str) -> None:
    submit_sign_in(web, username)
    assert web.get(PAGE).status_code == 403
