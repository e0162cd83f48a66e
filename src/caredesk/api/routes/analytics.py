"""Service analytics: the overview of a period (analytics/overview.py; every figure defined in
analytics/metrics.py). Supervisors and administrators only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from caredesk.analytics.overview import OVERVIEW_DIMENSIONS, overview
from caredesk.analytics.period import parse_period
from caredesk.api.query_params import MOMENT_PATTERN
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require

router = APIRouter(tags=["analytics"])

_MOMENT: dict[str, object] = {"pattern": MOMENT_PATTERN}
_ISO = "ISO 8601 date or time; without an offset it is read in the centre's time zone"


class OverviewOut(BaseModel):
    """Figures of the period [from, to). Rates are fractions 0-1, null when there is nothing to divide by."""

    start: datetime = Field(alias="from", description="the period's start, as read (UTC)")
    end: datetime = Field(alias="to", description="the period's end, exclusive (UTC)")
    messages: int = Field(description="customer messages received in the period")
    auto_response_rate: float | None = Field(description="answered from the knowledge base without a person")
    response_failure_rate: float | None = Field(description="the bot tried and could not answer")
    handoff_rate: float | None = Field(description="went to a person (work order or hand-off)")
    first_contact_resolution_rate: float | None = Field(
        description="orders resolved in the period, never reopened, customer not back within 7 days")
    reopen_rate: float | None
    sla_met_rate: float | None = Field(description="orders under an SLA resolved in the period, resolution "
                                                   "target not breached")
    csat_average: float | None = Field(description="mean rating 1-5 of the surveys answered in the period")
    csat_satisfied_share: float | None = Field(description="share of those ratings at 4 or 5")
    backlog: int = Field(description="open work orders now (not resolved or closed)")
    complaints: int
    regulator_complaints: int
    emergencies: int
    by: dict[str, dict[str, int]] = Field(
        description=f"customer messages per value of each dimension: {', '.join(OVERVIEW_DIMENSIONS)}")

    model_config = {"populate_by_name": True}


@router.get("/analytics/overview", response_model=OverviewOut, response_model_by_alias=True)
def get_overview(session: SessionDep, rt: RuntimeDep,
                 _: Annotated[Caller, Depends(require("analytics.read"))],
                 start: Annotated[str, Query(alias="from", max_length=64, description=_ISO, json_schema_extra=_MOMENT)],
                 end: Annotated[str, Query(alias="to", max_length=64, description=_ISO, json_schema_extra=_MOMENT)]
                 ) -> OverviewOut:
    """400 `invalid_input` (details.field from/to) for a time that is not ISO 8601 or a `to` not after `from`;
    422 when either is missing."""
    lo, hi = parse_period(start, end, rt.settings.display_timezone)
    o = overview(session, lo, hi)
    return OverviewOut.model_validate({
        "from": o.start, "to": o.end, "messages": o.messages, "auto_response_rate": o.auto_response_rate,
        "response_failure_rate": o.response_failure_rate, "handoff_rate": o.handoff_rate,
        "first_contact_resolution_rate": o.first_contact_resolution_rate, "reopen_rate": o.reopen_rate,
        "sla_met_rate": o.sla_met_rate, "csat_average": o.csat_average,
        "csat_satisfied_share": o.csat_satisfied_share, "backlog": o.backlog, "complaints": o.complaints,
        "regulator_complaints": o.regulator_complaints, "emergencies": o.emergencies, "by": o.by})
