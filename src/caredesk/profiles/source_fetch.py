"""Fetching one customer's data from the outside sources (profiles/sources.py) and storing what they said.

A fetch runs only in a background task (profiles/source_tasks.py), never inside intake or a page: the HTTP call is
made with no transaction open, within the source's timeout, and only the mapped fields are kept. On failure the
fields fetched before are kept and the record says `stale` (it had data) or `failed` (it never had), with a reason
that names the source's fault (timeout, HTTP status, a field of the wrong type) and never a customer's data: the
URL (which carries the customer's reference) and the response body are not repeated in errors or logs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.integrations.http_json import (
    MAX_RESPONSE_BYTES,
    HttpJsonError,
    auth_headers,
    failure_reason,
    fill_url,
    map_fields,
    request_json,
)
from caredesk.profiles.sources import CRM_IMPORT, HttpSource, SourcesFile
from caredesk.storage.orm import Customer, CustomerSourceRecord
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["MAX_RESPONSE_BYTES", "FetchError", "FetchResult", "SourceFetchDeps", "build_request",
           "do_store_results", "fetch_source", "map_response", "refresh_customer_sources"]

log = logging.getLogger(__name__)
FetchError = HttpJsonError  # why a fetch failed, in words safe to store and log (no customer data)


@dataclass(frozen=True)
class FetchResult:
    source: str
    fields: dict[str, Any] | None  # the mapped fields; None when the fetch failed
    error: str | None = None


def build_request(source: HttpSource, *, customer_ref: str, customer_id: str, environ: Mapping[str, str]
                  ) -> tuple[str, dict[str, str], tuple[str, str] | None]:
    """(URL, headers, basic credentials) for one customer; the placeholders' values are URL-encoded."""
    url = fill_url(source.url, {"customer_ref": customer_ref, "customer_id": customer_id},
                   base_url_env=source.base_url_env, environ=environ)
    headers, basic = auth_headers(source.auth, environ)
    return url, {"Accept": "application/json", **headers}, basic


def map_response(source: HttpSource, data: Any) -> dict[str, Any]:
    """The mapped fields of a response, each converted to its type; everything else is dropped here."""
    return map_fields(source.fields, data)


def fetch_source(source: HttpSource, *, customer_ref: str, customer_id: str,
                 environ: Mapping[str, str] | None = None) -> FetchResult:
    """One GET within the source's timeout (connecting and reading together); never raises."""
    timeout = source.timeout_seconds
    bodiless = frozenset({404}) if source.not_found == "empty" else frozenset()
    try:
        url, headers, basic = build_request(source, customer_ref=customer_ref, customer_id=customer_id,
                                            environ=os.environ if environ is None else environ)
        answer = request_json("GET", url, headers=headers, basic=basic, timeout=timeout, bodiless=bodiless,
                              user_agent="CareDesk profile sources")
        if answer.status == 404:
            return FetchResult(source.name, dict.fromkeys(source.fields))
        if answer.data is None:
            raise HttpJsonError("the response is not JSON")
        return FetchResult(source.name, map_response(source, answer.data))
    except (HttpJsonError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a token httpx
        # cannot send
        reason = failure_reason(exc, timeout, what="the source")
    log.warning("customer source %s failed: %s", source.name, reason)
    return FetchResult(source.name, None, reason[:500])


def _record(s: Session, customer_id: str, name: str, now: datetime) -> CustomerSourceRecord:
    """The customer's record of the source, created when missing (a concurrent creator wins the insert; then its
    row is read), locked for this transaction."""
    query = (select(CustomerSourceRecord).where(CustomerSourceRecord.customer_id == customer_id,
                                                CustomerSourceRecord.source == name).with_for_update())
    row = s.scalar(query)
    if row is not None:
        return row
    try:
        with s.begin_nested():
            row = CustomerSourceRecord(customer_id=customer_id, source=name, fields={}, status="failed",
                                       updated_at=now)
            s.add(row)
    except IntegrityError:
        row = s.scalar(query.execution_options(populate_existing=True))
        assert row is not None
    return row


def do_store_results(uow: UnitOfWork, customer_id: str, results: Sequence[FetchResult], sources: SourcesFile, *,
                     now: datetime) -> dict[str, str]:
    """Store each source's answer in one transaction; returns source -> status. A good answer replaces the
    fields (ok, cached for the source's ttl); a failed one keeps the earlier fields (stale) or has none (failed)
    and is tried again after the source's retry_seconds. Fields no longer mapped are dropped either way, and so is
    the customer's record of a source no longer in the file."""
    statuses: dict[str, str] = {}
    with uow:
        s = uow.session
        for result in results:
            source = sources.source(result.source)
            if source is None:
                continue
            row = _record(s, customer_id, source.name, now)
            if result.fields is not None:
                row.fields = {k: result.fields.get(k) for k in source.fields}
                row.status, row.error, row.fetched_at = "ok", None, now
                row.expires_at = now + timedelta(seconds=source.ttl_seconds)
            else:
                row.fields = {k: v for k, v in (row.fields or {}).items() if k in source.fields}
                row.status = "stale" if row.fetched_at is not None else "failed"
                row.error = result.error
                row.expires_at = now + timedelta(seconds=source.retry_seconds)
            row.updated_at = now
            statuses[source.name] = row.status
        # a source taken out of the file keeps nothing about the customer (minimisation)
        s.execute(delete(CustomerSourceRecord).where(
            CustomerSourceRecord.customer_id == customer_id,
            CustomerSourceRecord.source.not_in([*(src.name for src in sources.sources), CRM_IMPORT])))
        uow.commit()
    return statuses


class SourceFetchDeps(Protocol):
    clock: Clock

    @property
    def customer_sources(self) -> SourcesFile: ...

    @property
    def session_factory(self) -> Callable[[], Session]: ...

    def uow(self) -> UnitOfWork: ...


def refresh_customer_sources(deps: SourceFetchDeps, customer_id: str, names: Sequence[str] | None = None, *,
                             force: bool = False, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Fetch the customer's due sources (no record yet, or past its expiry; `force`: every one) among `names`
    (None: all enabled) and store the answers; returns source -> status of those fetched. Safe to repeat: a
    source another worker has just refreshed is not due any more."""
    from caredesk.profiles.source_status import due_sources

    config = deps.customer_sources
    with deps.session_factory() as s:
        ref = s.scalar(select(Customer.ref).where(Customer.id == customer_id))
        if ref is None:
            return {}
        due = set(due_sources(s, customer_id, config, now=deps.clock.now())) if not force else None
    wanted = [src for src in config.enabled
              if (due is None or src.name in due) and (names is None or src.name in names)]
    if not wanted:
        return {}

    def fetch(src: HttpSource) -> FetchResult:
        return fetch_source(src, customer_ref=ref, customer_id=customer_id, environ=environ)

    if len(wanted) == 1:
        results = [fetch(wanted[0])]
    else:  # the sources answer side by side: the slowest one's timeout bounds the whole refresh
        with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
            results = list(pool.map(fetch, wanted))
    return do_store_results(deps.uow(), customer_id, results, config, now=deps.clock.now())
