"""Threshold alerts: every few minutes, each rule's figure is computed with the overview's sums and metric
definitions and judged (analytics/thresholds.py judge); a breach or a recovery is told once, in-app to the
rule's roles, and by e-mail, SMS and chat-ops webhook through the notice path shared with surges
(analytics/notices.py). The alarm strategy's quiet hours apply as they do to alarms (alarms/quiet.py): a notice
over a held channel waits in the outbox until they end (in-app notices are never held)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import QuietHours
from caredesk.analytics import metrics
from caredesk.analytics.notices import COCKPIT_LINK, Notice, queue_notices
from caredesk.analytics.order_figures import backlog
from caredesk.analytics.order_hours import order_sums
from caredesk.analytics.overview import message_sums
from caredesk.analytics.thresholds import Judgement, Rule, RuleState, judge
from caredesk.storage.orm import ThresholdState
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["COCKPIT_LINK", "CheckRun", "Figure", "do_check_thresholds", "figures", "window_of"]

RATES = frozenset({"response_failure_rate", "auto_response_rate", "handoff_rate", "first_contact_resolution_rate",
                   "reopen_rate", "sla_met_rate", "csat_satisfied_share"})


@dataclass(frozen=True, slots=True)
class Figure:
    value: float | None
    volume: int  # the count behind the figure (messages, resolved orders, surveys, open orders)


@dataclass
class CheckRun:
    breached: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)


def window_of(window: str, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, now): the last hour, or since midnight in the centre's time zone."""
    if window == "last_hour":
        return now - timedelta(hours=1), now
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC), now


def figures(session: Session, start: datetime, end: datetime) -> dict[str, Figure]:
    """Every metric a rule may name over [start, end), through the same definitions as the overview."""
    t = message_sums(session, start, end, dimensions=()).totals
    o = order_sums(session, start, end)
    survey = metrics.csat_from_sums(o.rating_sum, o.surveys, o.satisfied)
    n = t["messages"]
    return {
        "response_failure_rate": Figure(metrics.response_failure_rate(t), n),
        "auto_response_rate": Figure(metrics.auto_response_rate(t), n),
        "handoff_rate": Figure(metrics.handoff_rate(t), n),
        "first_contact_resolution_rate": Figure(metrics.first_contact_resolution_rate(o.resolved, o.first_contact),
                                                o.resolved),
        "reopen_rate": Figure(metrics.reopen_rate(o.resolved, o.reopened), o.resolved),
        "sla_met_rate": Figure(metrics.sla_met_rate(o.with_sla, o.breached), o.with_sla),
        "csat_average": Figure(survey.average, o.surveys),
        "csat_satisfied_share": Figure(survey.satisfied_share, o.surveys),
    }


def _shown(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric in RATES:
        return f"{value * 100:.1f}%"
    return f"{value:g}" if metric == "backlog" else f"{value:.2f}"


_WINDOW_WORDS = {"last_hour": ("最近一小时", "over the last hour"), "today": ("今日", "today"), "now": ("当前", "now")}
_COMPARE_WORDS = {"above": ("高于", "above"), "below": ("低于", "below")}


def notice_text(rule: Rule, kind: Judgement, value: float | None) -> tuple[str, str]:
    """(title, body) in Chinese and English: the figure, the threshold and the window."""
    zh_w, en_w = _WINDOW_WORDS[rule.window]
    zh_c, en_c = _COMPARE_WORDS[rule.comparison]
    figure, limit = _shown(rule.metric, value), _shown(rule.metric, float(rule.value))
    if kind is Judgement.BREACH:
        title = f"阈值告警 / Threshold breached: {rule.name} {figure} ({en_c} {limit})"
        body = (f"{zh_w} {rule.metric} = {figure}，{zh_c}阈值 {limit}。\n"
                f"{rule.metric} {en_w} is {figure}, {en_c} the threshold of {limit}.")
    else:
        title = f"阈值恢复 / Threshold recovered: {rule.name} {figure}"
        body = (f"{zh_w} {rule.metric} = {figure}，已恢复（阈值 {limit}）。\n"
                f"{rule.metric} {en_w} is back at {figure} (threshold {limit}).")
    return title[:300], body


def _tell(session: Session, rule: Rule, kind: Judgement, value: float | None, now: datetime,
          quiet: QuietHours | None) -> None:
    """In-app notices now; one notice row per e-mail, SMS and chat-ops room, sent after the commit (or, over
    a channel the quiet hours hold, when they end)."""
    title, body = notice_text(rule, kind, value)
    queue_notices(session, Notice(rule.name, kind.value, f"threshold_{kind.value}", title, body, value,
                                  float(rule.value)),
                  channels=rule.channels, recipients=[str(r) for r in rule.recipients], webhooks=rule.webhooks,
                  now=now, quiet=quiet)


def do_check_thresholds(uow: UnitOfWork, *, now: datetime, rules: list[Rule], tz: tzinfo = UTC,
                        quiet: QuietHours | None = None) -> CheckRun:
    """Judge every rule at `now` and tell each change once (held channels after `quiet` hours). Running it
    again with the same figures tells nothing: the rule's state row (locked while judged) already says
    breached, or ok."""
    run = CheckRun()
    with uow:
        s = uow.session
        states = {st.rule: st for st in s.scalars(select(ThresholdState).with_for_update())}
        by_window: dict[str, dict[str, Figure]] = {}
        for rule in rules:
            if rule.window == "now":
                open_now = backlog(s)
                figure = Figure(float(open_now), open_now)
            else:
                if rule.window not in by_window:
                    by_window[rule.window] = figures(s, *window_of(rule.window, now, tz))
                figure = by_window[rule.window][rule.metric]
            run.figures[rule.name] = figure
            row = states.get(rule.name)
            if row is None:
                row = ThresholdState(rule=rule.name, state=RuleState.OK.value, since=now, last_checked_at=now)
                s.add(row)
            verdict = judge(rule, figure.value, figure.volume, RuleState(row.state))
            row.last_value, row.last_checked_at = figure.value, now
            if verdict is Judgement.NONE:
                continue
            row.state = (RuleState.BREACHED if verdict is Judgement.BREACH else RuleState.OK).value
            row.since = row.notified_at = now
            (run.breached if verdict is Judgement.BREACH else run.recovered).append(rule.name)
            _tell(s, rule, verdict, figure.value, now, quiet)
        uow.commit()
    return run
