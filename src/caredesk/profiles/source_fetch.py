"""Fetching one customer's data from the outside sources (profiles/sources.py) and storing what they said.

A fetch runs only in a background task (profiles/source_tasks.py), never inside intake or a page: the HTTP call is
made with no transaction open, within the source's timeout, and only the mapped fields are kept. On failure the
fields fetched before are kept and the record says `stale` (it had data) or `failed` (it never had), with a reason
that names the source's fault (timeout, HTTP status, a field of the wrong type) and never a customer's data: the
URL (which carries the customer's reference) and the response body are not repeated in errors or logs."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.profiles.sources import (
    CRM_IMPORT,
    BasicAuth,
    BearerAuth,
    HeaderAuth,
    HttpSource,
    SourcesFile,
    convert_value,
    extract_path,
)
from caredesk.storage.orm import Customer, CustomerSourceRecord
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["MAX_RESPONSE_BYTES", "FetchResult", "SourceFetchDeps", "build_request", "do_store_results",
           "fetch_source", "map_response", "refresh_customer_sources"]

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 1 << 20  # a customer's record is small; a larger answer is a misconfigured URL


class FetchError(Exception):
    """Why a fetch failed, in words safe to store and log (no customer data)."""


@dataclass(frozen=True)
class FetchResult:
    source: str
    fields: dict[str, Any] | None  # the mapped fields; None when the fetch failed
    error: str | None = None


def _env(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise FetchError(f"environment variable {name} is not set")
    return value


def build_request(source: HttpSource, *, customer_ref: str, customer_id: str, environ: Mapping[str, str]
                  ) -> tuple[str, dict[str, str], tuple[str, str] | None]:
    """(URL, headers, basic credentials) for one customer; the placeholders' values are URL-encoded."""
    url = source.url.format(customer_ref=quote(customer_ref, safe=""), customer_id=quote(customer_id, safe=""))
    if source.base_url_env is not None:
        base = _env(environ, source.base_url_env).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise FetchError(f"{source.base_url_env} is not an http:// or https:// address")
        url = base + url
    headers = {"Accept": "application/json", "User-Agent": "CareDesk profile sources"}
    basic = None
    auth = source.auth
    if isinstance(auth, BearerAuth):
        headers["Authorization"] = f"Bearer {_env(environ, auth.token_env)}"
    elif isinstance(auth, BasicAuth):
        basic = (_env(environ, auth.username_env), _env(environ, auth.password_env))
    elif isinstance(auth, HeaderAuth):
        headers[auth.header] = _env(environ, auth.value_env)
    return url, headers, basic


def map_response(source: HttpSource, data: Any) -> dict[str, Any]:
    """The mapped fields of a response, each converted to its type (a missing one is None); everything else in
    the response is dropped here. A field of the wrong type fails the fetch: the source broke its contract."""
    out: dict[str, Any] = {}
    for name, spec in source.fields.items():
        try:
            out[name] = convert_value(extract_path(data, spec.steps), spec.type)
        except ValueError as exc:
            raise FetchError(f"field {name} ({spec.path}): {exc}") from None
    return out


def _read(response: httpx.Response, deadline: float) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise FetchError(f"response larger than {MAX_RESPONSE_BYTES // 1024} KiB")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("deadline")
    return bytes(body)


def fetch_source(source: HttpSource, *, customer_ref: str, customer_id: str,
                 environ: Mapping[str, str] | None = None) -> FetchResult:
    """One GET within the source's timeout (connecting and reading together); never raises."""
    timeout = source.timeout_seconds
    try:
        url, headers, basic = build_request(source, customer_ref=customer_ref, customer_id=customer_id,
                                            environ=os.environ if environ is None else environ)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client, \
                client.stream("GET", url, headers=headers, auth=basic) as response:
            if response.status_code == 404 and source.not_found == "empty":
                return FetchResult(source.name, dict.fromkeys(source.fields))
            if response.status_code != 200:
                redirect = " (redirects are not followed)" if response.is_redirect else ""
                raise FetchError(f"HTTP {response.status_code}{redirect}")
            body = _read(response, deadline)
        try:
            data = json.loads(body)
        except ValueError:
            raise FetchError("the response is not JSON") from None
        return FetchResult(source.name, map_response(source, data))
    except FetchError as exc:
        reason = str(exc)
    except httpx.TimeoutException:
        reason = f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:  # connection refused, DNS, TLS, protocol: the type says which, not the URL
        reason = f"cannot reach the source ({type(exc).__name__})"
    except (httpx.InvalidURL, ValueError) as exc:  # e.g. a base URL variable or a token httpx cannot send
        reason = f"cannot build the request ({type(exc).__name__})"
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
