"""The chaos check's clients: a few threads post logical messages (ordinary ones, urgent ones that start an
emergency response, conversations of complaints that raise an alarm), each with an `Idempotency-Key` of its
own, and retry the same key and body after an error status, a timeout or a dropped connection until they get
201/200 or a deadline: what a careful integration does when the service it posts to has a bad minute."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["COMPLAINTS", "URGENT", "Attempt", "Logical", "Traffic", "post_until_accepted", "run_clients"]

# Urgent messages (zh/en) that start an emergency response with meeting notices to the on-call roster.
URGENT = ("我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！",
          "Your online banking system is down, all payments are failing for our whole company",
          "信用卡被人盗刷了三笔境外消费，卡还在我手上，马上帮我冻结",
          "Someone stole my card and is making payments right now, freeze it immediately!")
# One conversation of three regulator threats: the third raises one alarm (its team leads are e-mailed).
COMPLAINTS = ("再不解决我就打12378投诉你们", "我要向金融监管总局举报", "我已经联系了银保监会和媒体")

RETRYABLE = frozenset({408, 409, 425, 429})  # besides 5xx: in progress, rate limited, timed out


@dataclass(frozen=True)
class Attempt:
    at: float  # monotonic time of the answer (or of the failure)
    outcome: str  # the status code, or the transport error's class name


@dataclass
class Logical:
    """One message a customer sent once, however many requests it took."""

    key: str  # the Idempotency-Key of every request for it
    kind: str  # ordinary | emergency | complaint
    customer_ref: str
    text: str
    channel: str
    conversation_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    final: int | None = None  # the last status (201/200 accepted; None: no answer by the deadline)
    message_id: str | None = None
    decision: str | None = None
    alarm_id: str | None = None
    missing_retry_after: int = 0  # 503 answers without Retry-After
    skipped: bool = False  # not sent: the conversation's earlier message was never accepted

    @property
    def accepted(self) -> bool:
        return self.final in (200, 201)


@dataclass
class Traffic:
    messages: list[Logical] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message: Logical) -> Logical:
        with self.lock:
            self.messages.append(message)
        return message

    def outcomes(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """How often each outcome was seen among the attempts answered in [since, until)."""
        with self.lock:
            return Counter(a.outcome for m in self.messages for a in m.attempts if since <= a.at < until)


def post_until_accepted(client: object, message: Logical, give_up_at: float, *, max_wait: float = 4.0) -> None:
    """POST the message, then the same key and body again after anything but an acceptance or a client error,
    with exponential backoff (Retry-After when the server names one, at most `max_wait`)."""
    import httpx

    assert isinstance(client, httpx.Client)
    body: dict[str, object] = {"text": message.text, "channel": message.channel, "customer_ref": message.customer_ref}
    if message.conversation_id is not None:
        body["conversation_id"] = message.conversation_id
    delay = 0.25
    while True:
        wait = delay
        try:
            resp = client.post("/api/v1/messages", json=body, headers={"Idempotency-Key": message.key})
        except httpx.HTTPError as exc:
            message.attempts.append(Attempt(time.monotonic(), type(exc).__name__))
        else:
            message.attempts.append(Attempt(time.monotonic(), str(resp.status_code)))
            message.final = resp.status_code
            if resp.status_code in (200, 201):
                data = resp.json()
                message.message_id, message.conversation_id = data["message_id"], data["conversation_id"]
                message.decision, message.alarm_id = data["decision"]["kind"], data.get("alarm_id")
                return
            if resp.status_code < 500 and resp.status_code not in RETRYABLE:
                return  # a client error: the same request would fail again
            retry_after = resp.headers.get("retry-after")
            if resp.status_code == 503 and retry_after is None:
                message.missing_retry_after += 1
            if retry_after is not None and retry_after.isdigit():
                wait = max(delay, float(retry_after))
        if time.monotonic() + min(wait, max_wait) >= give_up_at:
            return  # `final` keeps the last status answered (None: never one)
        time.sleep(min(wait, max_wait))
        delay = min(delay * 2, max_wait)


def run_clients(url: str, key: str, traffic: Traffic, *, clients: int, load_until: float, give_up_at: float,
                ordinary: list[str], run_tag: str, pause: float = 0.1, timeout: float = 5.0) -> list[threading.Thread]:
    """Start `clients` threads posting until `load_until` (each finishes the message it holds, retrying until
    `give_up_at`). Every fifth logical item is an emergency, every fifth a complaint conversation (three
    messages in order, each one's conversation id from the previous answer), the rest ordinary messages."""
    import httpx

    def client_loop(w: int) -> None:
        rng = random.Random(w)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout) as client:
            i = 0
            while time.monotonic() < load_until:
                ref = f"chaos-{run_tag}-w{w}-{i}"
                channel = rng.choice(("web", "chat", "api", "app", "wechat"))
                if i % 5 == 2:
                    batch = [Logical(str(uuid.uuid4()), "emergency", ref, URGENT[(w + i) % len(URGENT)], channel)]
                elif i % 5 == 4:
                    batch = [Logical(str(uuid.uuid4()), "complaint", ref, text, channel) for text in COMPLAINTS]
                else:
                    batch = [Logical(str(uuid.uuid4()), "ordinary", ref, ordinary[(w * 7919 + i) % len(ordinary)],
                                     channel)]
                conversation_id = None
                for message in batch:
                    traffic.add(message)
                    if batch[0] is not message and conversation_id is None:
                        message.skipped = True  # its conversation never started
                        continue
                    message.conversation_id = conversation_id
                    post_until_accepted(client, message, give_up_at)
                    conversation_id = message.conversation_id if message.accepted else None
                i += 1
                time.sleep(pause)

    threads = [threading.Thread(target=client_loop, args=(w,), daemon=True, name=f"chaos-client-{w}")
               for w in range(clients)]
    for t in threads:
        t.start()
    return threads
