"""The nightly retraining: a candidate that scores better on the held-out part is promoted, a worse one is
refused, and every run is recorded. Made deterministic by corrupting labels (each label rotated to the next
of its set), which gives a model that is wrong on purpose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.learning.correction_actions import do_correct_label
from caredesk.learning.retrain import do_retrain, split_holdout
from caredesk.learning.tasks import retrain_nightly
from caredesk.storage.orm import AuditEntry, Message, TrainingRun
from caredesk.triage.examples import Example, merge_examples
from caredesk.triage.labels import HEADS
from caredesk.triage.model import TriageModel, activate, active_version, read_corpus, seed_corpus_path
from caredesk.triage.training import train_examples

# Training dominates the time; the database paths are covered on both backends by test_label_corrections.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _rotate(labels: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for head, label in labels.items():
        if head not in HEADS:  # only the seed axes are turned wrong; the other heads keep their labels
            out[head] = label
            continue
        values = [m.value for m in HEADS[head]]
        out[head] = values[(values.index(label) + 1) % len(values)]
    return out


def _corrupted(examples: Sequence[Example]) -> list[Example]:
    return [Example(e.text, _rotate(e.labels), e.weight, e.corrected) for e in examples]


def _wrong_trainer(examples: Sequence[Example]) -> TriageModel:
    return train_examples(_corrupted(examples), holdout=0)


def test_retrain_nightly_promotes_a_better_model(runtime: Runtime) -> None:
    root = runtime.settings.models_path
    seed = merge_examples(read_corpus(seed_corpus_path())[::5], [])  # wrong on purpose: a fifth of it will do
    bad = train_examples(_corrupted(seed), holdout=0)
    activate(bad, root)
    message_id = do_receive_message(runtime, IncomingMessage("网银转账一直提示系统繁忙", "web", "c-rt")).message_id
    with runtime.session_factory() as s:
        said = s.get(Message, message_id).triage.problem_type
    new = "suggestion" if said != "suggestion" else "consultation"
    do_correct_label(runtime.uow(), message_id, "problem_type", new, actor="staff:x", staff_id=None,
                     now=runtime.clock.now())
    assert "triage.retrain" in runtime.queue.names

    runtime.clock = FrozenClock(runtime.clock.now())
    result = retrain_nightly()
    assert retrain_nightly() == {"skipped": "another worker retrains this minute"}  # a second worker's scheduler

    assert result["promoted"] is True and result["active_version"] == bad.version
    assert result["n_corrections"] == 1
    assert active_version(root) == result["candidate_version"] != bad.version
    assert runtime.triage.model.version == result["candidate_version"]  # this process switched at once
    with runtime.session_factory() as s:
        run = s.scalars(select(TrainingRun)).one()
        assert run.promoted and run.trigger == "nightly" and run.n_corrections == 1
        assert run.candidate_metrics["n_holdout"] > 100
        cand = run.candidate_metrics["heads"]["urgency"]["macro_f1"]
        assert cand > run.active_metrics["heads"]["urgency"]["macro_f1"] + 0.3
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "triage.retrain")).one()
        assert audit.data["promoted"] is True and audit.object_id == run.candidate_version


def test_retrain_refuses_a_worse_candidate_and_keeps_the_active_model(runtime: Runtime) -> None:
    root = runtime.settings.models_path
    rows = read_corpus(seed_corpus_path())[::4]  # a quarter of the corpus: both trainings are the test's cost
    train, _held = split_holdout(merge_examples(rows, []))
    good = train_examples(train, holdout=0)
    activate(good, root)

    outcome = do_retrain(runtime.uow(), root, now=runtime.clock.now(), trigger="manual", seed_rows=rows,
                         trainer=_wrong_trainer)

    assert not outcome.promoted and outcome.model is None
    assert "not better" in outcome.decision.reason
    assert active_version(root) == good.version
    assert not (root / "triage" / outcome.candidate_version).exists()  # a refused candidate is not kept
    with runtime.session_factory() as s:
        run = s.scalars(select(TrainingRun)).one()
        assert not run.promoted and run.active_version == good.version and run.trigger == "manual"
        assert run.reason == outcome.decision.reason
