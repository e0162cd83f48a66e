"""A model promoted by one process (the worker's nightly retrain, `caredesk train`) reaches the others
without a restart: each re-reads the ACTIVE marker; a broken artefact never replaces a working model."""

from __future__ import annotations

import dataclasses

from caredesk.bootstrap.runtime import Runtime
from caredesk.triage.model import activate


def test_a_model_promoted_elsewhere_is_picked_up(runtime: Runtime) -> None:
    runtime.model_check_seconds = 0.0  # look at every call (the default is every 30 s)
    before = runtime.triage.model
    root = runtime.settings.models_path
    promoted = dataclasses.replace(before, version="v-promoted-elsewhere")
    activate(promoted, root)  # as another process does: artefact first, then the marker, atomically

    assert runtime.triage.model.version == "v-promoted-elsewhere"
    assert runtime.triage("我要投诉你们的信用卡年费").labels["problem_type"].label  # and it answers
    names = runtime.triage.names

    broken = root / "triage" / "v-broken"
    broken.mkdir(parents=True)
    (broken / "model.joblib").write_bytes(b"not a model")
    (root / "triage" / "ACTIVE").write_text("v-broken")
    assert runtime.triage.model.version == "v-promoted-elsewhere"  # kept
    assert runtime.triage.names == names


def test_the_marker_is_not_read_on_every_message_by_default(runtime: Runtime) -> None:
    first = runtime.triage.model
    activate(dataclasses.replace(first, version="v-later"), runtime.settings.models_path)
    assert runtime.triage.model is first  # until model_check_seconds have passed
