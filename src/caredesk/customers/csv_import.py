"""`caredesk customers import FILE.csv`: customers from a CRM export, created or updated by their reference.

The header is `customer_ref,name,phone,email,tier,branch` plus the extra columns customers/sources.yaml maps under
`crm_import` (stored as the customer's `crm_import` source record: only those fields). Every row is checked first
(the contact fields by the same cleaners as the customer API, tiers against customers/tiers.py, branches against
the branch codes CareDesk knows); any bad row lists every problem (line, column, reason: never the value) and
nothing is imported. The whole import is one transaction. An empty customer cell leaves the stored value as it is
(a CRM export that lacks a phone does not erase the one CareDesk has); the extra columns are what the CRM says
now, so an empty one is stored as no value. The file may be UTF-8 (with or without a BOM) or GBK / GB18030, as
Chinese CRMs export it: detected, or named with `--encoding`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.customers.profile import ProfileUpdate, check_profile_update
from caredesk.errors import InvalidFile, InvalidInput
from caredesk.ids import new_id
from caredesk.intake.actions import CUSTOMER_REF_PATTERN
from caredesk.knowledge.importing import RowError
from caredesk.profiles.sources import CRM_IMPORT, CrmImport, convert_value
from caredesk.storage.orm import Branch, Customer, CustomerSourceRecord
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.text.csv_text import csv_rows, decode_csv

__all__ = ["COLUMNS", "CustomerRow", "CustomersFile", "ImportResult", "do_import_customers",
           "read_customers_csv"]

COLUMNS = ("customer_ref", "name", "phone", "email", "tier", "branch")
_PROFILE_FIELDS = ("name", "phone", "email", "tier", "branch")
_REF = re.compile(CUSTOMER_REF_PATTERN)
_CHUNK = 500
_UPDATES: dict[str, Callable[[str], ProfileUpdate]] = {
    "name": lambda v: ProfileUpdate(name=v), "phone": lambda v: ProfileUpdate(phone=v),
    "email": lambda v: ProfileUpdate(email=v), "tier": lambda v: ProfileUpdate(tier=v)}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CustomerRow:
    line: int
    customer_ref: str
    profile: dict[str, str]  # field -> stored form, only the cells given (name, phone, email, tier, branch code)
    crm_fields: dict[str, Any] | None  # the mapped extra columns (None: the file has none)


@dataclass(frozen=True)
class CustomersFile:
    rows: list[CustomerRow]
    encoding: str  # the one the file was read with
    columns: list[str]  # the header, as read


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    rows: int
    created: int
    updated: int
    unchanged: int
    crm_records: int  # customers whose crm_import record was written
    encoding: str


def _header_errors(header: list[str], extra: CrmImport) -> list[RowError]:
    errors = [RowError(1, name, "missing column") for name in COLUMNS if name not in header]
    known = set(COLUMNS) | set(extra.columns if extra.enabled else ())
    errors += [RowError(1, name or f"#{i + 1}", "unknown column (not mapped under crm_import in sources.yaml)")
               for i, name in enumerate(header) if name not in known]
    errors += [RowError(1, name, "column given twice") for name in sorted({h for h in header if header.count(h) > 1})]
    return errors


def _profile(line: int, cells: dict[str, str]) -> tuple[dict[str, str], list[RowError]]:
    out: dict[str, str] = {}
    errors = []
    for name in _PROFILE_FIELDS:
        value = cells.get(name, "")
        if not value:
            continue
        if name == "branch":
            out[name] = value  # a code; checked against the database by the import
            continue
        try:
            cleaned = check_profile_update(_UPDATES[name](value))
        except InvalidInput as exc:
            errors.append(RowError(line, name, exc.message))
        else:
            stored = cleaned.get(name)
            if stored is not None:
                out[name] = stored
    return out, errors


def _crm(line: int, cells: dict[str, str], extra: CrmImport) -> tuple[dict[str, Any], list[RowError]]:
    out: dict[str, Any] = {}
    errors = []
    for column, spec in extra.columns.items():
        if column not in cells:
            continue
        try:
            out[spec.field] = convert_value(cells[column], spec.type, separator=spec.separator)
        except ValueError as exc:
            errors.append(RowError(line, column, f"{exc} ({spec.type})"))
    return out, errors


def read_customers_csv(data: bytes, extra: CrmImport, *, name: str, encoding: str = "auto") -> CustomersFile:
    """Every row, checked (but for branch codes, which need the database); any bad row raises InvalidFile
    listing all of them (`errors`: line, column, reason)."""
    text, used = decode_csv(data, encoding, name=name)
    header, rows = csv_rows(text)
    errors = _header_errors(header, extra)
    if errors:
        raise InvalidFile(f"{name}: bad header; nothing imported", errors=[e.to_json() for e in errors])
    has_crm = extra.enabled and any(h in extra.columns for h in header)
    out: list[CustomerRow] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            errors.append(RowError(line, "", f"{len(raw)} cells, the header has {len(header)}"))
            continue
        cells = {h: c.strip() for h, c in zip(header, raw, strict=True)}
        ref = cells["customer_ref"]
        row_errors: list[RowError] = []
        if not ref:
            row_errors.append(RowError(line, "customer_ref", "empty"))
        elif not _REF.match(ref):
            row_errors.append(RowError(line, "customer_ref", "must be 1-128 letters, digits or ._:@- (starting "
                                                             "with a letter or digit)"))
        elif ref in seen:
            row_errors.append(RowError(line, "customer_ref", f"the same customer as line {seen[ref]}"))
        else:
            seen[ref] = line
        profile, problems = _profile(line, cells)
        crm, crm_problems = _crm(line, cells, extra) if has_crm else ({}, [])
        row_errors += problems + crm_problems
        if row_errors:
            errors += row_errors
        else:
            out.append(CustomerRow(line, ref, profile, crm if has_crm else None))
    if errors:
        bad = len({e.line for e in errors})
        raise InvalidFile(f"{name}: {bad} bad row(s); nothing imported", errors=[e.to_json() for e in errors])
    if not out:
        raise InvalidFile(f"{name}: no rows to import", errors=[])
    return CustomersFile(out, used, header)


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    crm: int = 0
    changed_fields: set[str] = field(default_factory=set)


def _branches(s: Session, rows: Sequence[CustomerRow], name: str) -> dict[str, str]:
    """code -> branch id for the codes the file uses; an unknown code fails the import (every row listed)."""
    codes = sorted({r.profile["branch"] for r in rows if "branch" in r.profile})
    known = {code: bid for code, bid in s.execute(select(Branch.code, Branch.id).where(Branch.code.in_(codes)))} \
        if codes else {}
    errors = [RowError(r.line, "branch", "no branch with this code") for r in rows
              if "branch" in r.profile and r.profile["branch"] not in known]
    if errors:
        raise InvalidFile(f"{name}: {len(errors)} bad row(s); nothing imported", errors=[e.to_json() for e in errors])
    return known


def _apply(customer: Customer, row: CustomerRow, branches: dict[str, str]) -> list[str]:
    changed = []
    for name, value in row.profile.items():
        attr, target = ("branch_id", branches[value]) if name == "branch" else (name, value)
        if getattr(customer, attr) != target:
            setattr(customer, attr, target)  # the phone's and e-mail's lookup hashes follow (Customer's validator)
            changed.append(name)
    return changed


def _crm_records(s: Session, customer_ids: list[str]) -> dict[str, CustomerSourceRecord]:
    out: dict[str, CustomerSourceRecord] = {}
    for start in range(0, len(customer_ids), _CHUNK):
        part = customer_ids[start:start + _CHUNK]
        for rec in s.scalars(select(CustomerSourceRecord).where(CustomerSourceRecord.source == CRM_IMPORT,
                                                                CustomerSourceRecord.customer_id.in_(part))):
            out[rec.customer_id] = rec
    return out


def do_import_customers(uow: UnitOfWork, parsed: CustomersFile, *, name: str, actor: str, now: datetime,
                        progress: Progress | None = None) -> ImportResult:
    """Create or update every row's customer and its crm_import record in one transaction; one audit entry
    names the file, the counts and the fields changed (never a value)."""
    report: Progress = progress or (lambda phase, done, total: None)
    rows = parsed.rows
    counts = _Counts()
    import_id = new_id()
    with uow:
        s = uow.session
        branches = _branches(s, rows, name)
        known: dict[str, Customer] = {}
        refs = [r.customer_ref for r in rows]
        for start in range(0, len(refs), _CHUNK):
            for customer in s.scalars(select(Customer).where(Customer.ref.in_(refs[start:start + _CHUNK]))):
                known[customer.ref] = customer
        report("check", len(rows), len(rows))
        records = _crm_records(s, [c.id for c in known.values()])
        for done, row in enumerate(rows, start=1):
            found = known.get(row.customer_ref)
            if found is None:
                customer = Customer(id=new_id(), ref=row.customer_ref, tier="standard", created_at=now)
                s.add(customer)
                counts.changed_fields.update(_apply(customer, row, branches))
                counts.created += 1
            else:
                customer = found
                changed = _apply(customer, row, branches)
                counts.changed_fields.update(changed)
                counts.updated += bool(changed)
                counts.unchanged += not changed
            if row.crm_fields is not None:
                record = records.get(customer.id)
                if record is None:
                    record = CustomerSourceRecord(customer_id=customer.id, source=CRM_IMPORT)
                    s.add(record)
                    records[customer.id] = record
                record.fields, record.status, record.error = dict(row.crm_fields), "ok", None
                record.fetched_at, record.expires_at, record.updated_at = now, None, now
                counts.crm += 1
            if done % _CHUNK == 0:
                s.flush()
                report("save", done, len(rows))
        s.flush()
        report("save", len(rows), len(rows))
        result = ImportResult(import_id, len(rows), counts.created, counts.updated, counts.unchanged, counts.crm,
                              parsed.encoding)
        record_audit(s, actor=actor, action="customers.imported", object_type="customer_import", object_id=import_id,
                     now=now, data={"file": name, "rows": result.rows, "created": result.created,
                                    "updated": result.updated, "unchanged": result.unchanged,
                                    "crm_records": result.crm_records, "columns": parsed.columns,
                                    "fields_changed": sorted(counts.changed_fields), "encoding": parsed.encoding})
        uow.commit()
    return result
