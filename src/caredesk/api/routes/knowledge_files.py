"""Knowledge-base import (CSV/XLSX upload, with a dry run) and export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from caredesk.errors import InvalidFile
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.knowledge.actions import do_import_file
from caredesk.knowledge.exporting import export_bytes

router = APIRouter(tags=["knowledge"])
Reader = Annotated[Caller, Depends(require("knowledge.read"))]
Writer = Annotated[Caller, Depends(require("knowledge.write"))]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.post("/knowledge/import")
def import_file(
    rt: RuntimeDep,
    caller: Writer,
    file: Annotated[UploadFile, File(description=".csv or .xlsx")],
    dry_run: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """All rows or none: a file with any bad row answers 400 `invalid_file` with `details.errors` =
    [{line, column, reason}] (the header is line 1) and imports nothing. A dry run reports the same and the
    counts the import would have, and writes nothing."""
    data = file.file.read()
    if not data:
        raise InvalidFile("the uploaded file is empty", errors=[])
    result = do_import_file(
        rt.uow(),
        data,
        name=file.filename or "upload",
        actor=caller.actor,
        role=caller.role,
        now=rt.clock.now(),
        dry_run=dry_run,
    )
    r = result.report
    return {
        "dry_run": dry_run,
        "rows": result.rows,
        "entries": result.entries,
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
    }


@router.get("/knowledge/export", response_class=Response,
            responses={200: {"description": "The knowledge base as a file",
                             "content": {"text/csv": {"schema": {"type": "string"}},
                                         MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def export_file(
    session: SessionDep, _: Reader, format: Annotated[Literal["csv", "xlsx"], Query()] = "csv"
) -> Response:
    """Every entry with the importer's columns: importing the file again changes nothing."""
    return Response(
        export_bytes(session, format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="knowledge.{format}"'},
    )
