"""Two CareDesk app instances sharing one database and one Redis: the customer's chat stream is served by one,
the agent replies in the other, and the reply crosses to the stream through Redis pub/sub (what two API
processes behind a load balancer do). The chat's events never go out on the workbench's live channel."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TYPE_CHECKING

import pytest
import redis
from sqlalchemy import select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import set_current_runtime
from caredesk.channels.livechat.sender import chat_bus
from caredesk.notify.live import CHANNEL as WORKBENCH_CHANNEL
from caredesk.storage.orm import WorkOrder
from caredesk.tasks.context import set_task_context
from caredesk.workorders.replies import do_reply
from tests.conftest import make_settings, serve_in_thread
from tests.integration.test_livechat_stream import HANDOFF, customer, say
from tests.support.sse import SseStream

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from caredesk.bootstrap.runtime import Runtime
    from caredesk.triage.pipeline import TriagePipeline
    from tests.conftest import Mailbox

pytestmark = pytest.mark.redis


@pytest.fixture
def two_instances(demo_runtime: Runtime, redis_url: str, tmp_path: Path, mailbox: Mailbox,
                  pipeline: TriagePipeline) -> Iterator[tuple[Runtime, Runtime]]:
    """(the instance the agent works in, the instance serving the customer's stream); tasks run in the first."""
    db_url = demo_runtime.settings.database_url
    replier = build_runtime(make_settings(db_url, tmp_path / "a", mailbox, redis_url=redis_url))
    streamer = build_runtime(make_settings(db_url, tmp_path / "b", mailbox, redis_url=redis_url,
                                           livechat_keepalive_seconds=0.5), make_current=False)
    for rt in (replier, streamer):
        rt.set_pipeline(pipeline)
    yield replier, streamer
    for rt in (replier, streamer):
        bus = chat_bus(rt.channels)
        assert bus is not None
        bus.close()
        rt.live.close()
        rt.engine.dispose()
    set_current_runtime(demo_runtime)  # the fixture's runtime is the current one again
    set_task_context(demo_runtime)


def test_livechat_reply_crosses_instances_through_redis(two_instances: tuple[Runtime, Runtime], redis_url: str
                                                        ) -> None:
    replier, streamer = two_instances
    workbench_events: list[dict[str, object]] = []
    listening = threading.Event()
    stop = threading.Event()

    def watch_workbench_channel() -> None:
        pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(WORKBENCH_CHANNEL)
        pubsub.get_message(timeout=1.0)
        listening.set()
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                workbench_events.append(json.loads(message["data"]))
        pubsub.close()

    watcher = threading.Thread(target=watch_workbench_channel, daemon=True)
    watcher.start()
    assert listening.wait(5)
    text = "来自另一个实例的回复：请提供您的卡号后四位"
    with contextlib.contextmanager(serve_in_thread)(streamer) as server, \
            contextlib.closing(customer(server)) as chat:
        say(chat, HANDOFF)
        with replier.session_factory() as s:
            order = s.scalar(select(WorkOrder).where(WorkOrder.channel == "chat").order_by(WorkOrder.id.desc()))
            assert order is not None
            order_id = order.id
        with SseStream(chat, "/chat/events") as stream:
            stream.next_event(type="state")
            outcome = do_reply(replier, order_id, text=text, actor="staff:agent", now=replier.clock.now())
            event = stream.next_event(type="message")
            assert event.id == outcome.message_id and text in event.data["html"]
    stop.set()
    watcher.join(5)
    # the workbench heard that the order changed (ids only) and nothing of the chat: no text, no chat events
    assert any(e.get("type") == "work_order" for e in workbench_events)
    assert text not in json.dumps(workbench_events, ensure_ascii=False)
    assert outcome.message_id not in json.dumps(workbench_events)
