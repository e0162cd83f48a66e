"""The knowledge-base pages for staff: the entry list (search, filters, paging), an entry with its workflow
moves, version history, diff between two versions and rollback, and the edit form. Reading needs
`knowledge.read`; every change is an htmx POST that calls one knowledge action and needs `knowledge.write`
(approve and reject also `knowledge.review`, as in the API). An action's refusal (a move the workflow does
not allow, the four-eyes rule, invalid content) is shown in place as a 400 fragment, never a 500."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caredesk.accounts.roles import can
from caredesk.errors import CareDeskError, Forbidden, InvalidInput, NotFound
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.knowledge.actions import content_of, do_move, do_rollback, do_save_entry
from caredesk.knowledge.model import EntryDraft, EntryStatus, Move, normalise_category
from caredesk.knowledge.queries import get_entry
from caredesk.storage.orm import KnowledgeEntry, Staff
from caredesk.web.i18n import Translator
from caredesk.web.knowledge_queries import (
    EntryFilter,
    categories,
    diff_view,
    entry_view,
    search_entries,
    web_actor,
)
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may, ui_language

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Reader = Annotated[Staff, staff_who_may("knowledge.read")]
Writer = Annotated[Staff, staff_who_may("knowledge.write")]
_BASE = "/workbench/knowledge"
_NOTICE_TARGET = {"HX-Retarget": "#kb-notice", "HX-Reswap": "innerHTML"}
_REVIEW_MOVES = {Move.APPROVE, Move.REJECT}


def _refused(request: Request, exc: CareDeskError, staff: Staff) -> HTMLResponse:
    """An action's refusal as a readable notice. 400 because base.html's htmx config swaps 400s in place
    (and only those) among the error statuses; the stable code travels in a header for scripts and tests."""
    return render(request, "_knowledge_notice.html", {"error": refusal(request, exc), "notice": None}, status=400,
                  staff=staff, headers=_NOTICE_TARGET | {"X-CareDesk-Error": exc.code})


def _entry_panel(request: Request, session: Session, entry_id: str, staff: Staff, notice: str
                 ) -> HTMLResponse:
    session.expire_all()  # the action wrote through its own unit of work
    view = entry_view(session, entry_id, staff)
    context = {"view": view, "notice": notice, "diff": None}
    return render(request, "_knowledge_entry.html", context, staff=staff)


@router.get(_BASE, response_class=HTMLResponse)
def knowledge_list(request: Request, session: SessionDep, rt: RuntimeDep, staff: Reader,
                   q: Annotated[str, Query(max_length=200)] = "",
                   status: Annotated[str, Query(max_length=16)] = "",
                   category: Annotated[str, Query(max_length=128)] = "",
                   cursor: Annotated[str | None, Query(max_length=100)] = None) -> HTMLResponse:
    f = EntryFilter(q, status if status in {s.value for s in EntryStatus} else "", category, cursor or None)
    try:
        page = search_entries(session, f)
    except InvalidInput:  # a mangled cursor in a bookmarked link: start from the first page
        f = EntryFilter(f.text, f.status, f.category)
        page = search_entries(session, f)
    query = {k: v for k, v in (("q", f.text), ("status", f.status), ("category", f.category)) if v}
    next_url = f"{_BASE}?{urlencode(query | {'cursor': page.next_cursor})}" if page.next_cursor else None
    # Beside the literal matches, the published entries closest in meaning ("reset password", "盗刷" found
    # nothing literally): the same retrieval that answers customers.
    meaning = rt.knowledge_index().search(f.text.strip(), limit=5) if f.text.strip() and not f.cursor else []
    context: dict[str, Any] = {"page": page, "filters": f, "next_url": next_url, "meaning": meaning,
                               "first_url": f"{_BASE}?{urlencode(query)}" if f.cursor else None}
    vary = {"Vary": "HX-Request"}
    if is_htmx(request):  # the results only: the filter form stays as the person left it
        return render(request, "_knowledge_results.html", context, staff=staff, headers=vary)
    context |= {"statuses": [s.value for s in EntryStatus], "categories": categories(session)}
    return render(request, "knowledge_list.html", context, staff=staff, headers=vary)


@router.get(_BASE + "/{entry_id}", response_class=HTMLResponse)
def knowledge_entry(entry_id: str, request: Request, session: SessionDep, staff: Reader) -> HTMLResponse:
    view = entry_view(session, entry_id, staff)
    return render(request, "knowledge_entry.html", {"view": view, "notice": None, "diff": None}, staff=staff)


@router.get(_BASE + "/{entry_id}/diff", response_class=HTMLResponse)
def knowledge_diff(entry_id: str, request: Request, session: SessionDep, staff: Reader,
                   from_version: Annotated[int, Query(alias="from", ge=1)] = 1,
                   to_version: Annotated[int, Query(alias="to", ge=1)] = 1) -> HTMLResponse:
    """The fragment for the entry page's compare form; without htmx, the entry page with the diff open."""
    diff = diff_view(session, entry_id, from_version, to_version)
    if is_htmx(request):
        return render(request, "_knowledge_diff.html", {"diff": diff}, staff=staff)
    view = entry_view(session, entry_id, staff)
    return render(request, "knowledge_entry.html", {"view": view, "notice": None, "diff": diff}, staff=staff)


@router.post(_BASE + "/{entry_id}/moves/{name}", response_class=HTMLResponse)
def knowledge_move(entry_id: str, name: str, request: Request, rt: RuntimeDep, session: SessionDep,
                   staff: Writer, reason: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    t = Translator(ui_language(request))
    if name not in {m.value for m in Move}:
        raise NotFound("no such workflow move", move=name)
    move = Move(name)
    try:
        if move in _REVIEW_MOVES and not can(staff.role, "knowledge.review"):
            raise Forbidden(f"role {staff.role} may not knowledge.review")
        entry = do_move(rt.uow(), entry_id, move, actor=web_actor(staff), role=staff.role, now=rt.clock.now(),
                        reason=reason)
    except CareDeskError as exc:
        return _refused(request, exc, staff)
    done = f"kb.done.{move.value}"  # one key per move: i18n_keys lists them
    notice = t(done, version=entry.version)
    return _entry_panel(request, session, entry_id, staff, notice)


@router.post(_BASE + "/{entry_id}/rollback", response_class=HTMLResponse)
def knowledge_rollback(entry_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Writer,
                       version: Annotated[str, Form(max_length=12)] = "") -> HTMLResponse:
    t = Translator(ui_language(request))
    before = get_entry(session, entry_id).version
    try:
        if not version.isdigit():
            raise InvalidInput("choose the version to roll back to", field="version")
        entry = do_rollback(rt.uow(), entry_id, int(version), actor=web_actor(staff), role=staff.role,
                            now=rt.clock.now())
    except CareDeskError as exc:
        return _refused(request, exc, staff)
    if entry.version == before:
        notice = t("kb.done.rollback_same", version=version)
    else:
        notice = t("kb.done.rollback", version=version, new=entry.version, status=t.label(entry.status))
    return _entry_panel(request, session, entry_id, staff, notice)


@router.get(_BASE + "/{entry_id}/edit", response_class=HTMLResponse)
def knowledge_edit_form(entry_id: str, request: Request, session: SessionDep, staff: Writer) -> HTMLResponse:
    return render(request, "knowledge_edit.html", {"entry": get_entry(session, entry_id)}, staff=staff)


def _edited(current: KnowledgeEntry, question: str, similar: str, answer: str, category: str) -> EntryDraft:
    """The current content with the form's fields replaced; the rest (types, variants, validity, owner)
    is kept, as the API's partial update does."""
    kept = content_of(current)
    return EntryDraft(
        key=current.key, language=current.language, question=question.strip(), answer=answer.strip(),
        content_type=kept["content_type"], problem_type=kept["problem_type"],
        category=normalise_category(category),
        similar_questions=tuple(line.strip() for line in similar.splitlines() if line.strip()),
        answer_variants=kept["answer_variants"], valid_from=kept["valid_from"],
        valid_until=kept["valid_until"],
        owner=kept["owner_id"])


@router.post(_BASE + "/{entry_id}/edit", response_class=HTMLResponse)
def knowledge_edit(entry_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Writer,
                   question: Annotated[str, Form(max_length=2000)] = "",
                   similar_questions: Annotated[str, Form(max_length=50_000)] = "",
                   answer: Annotated[str, Form(max_length=20_000)] = "",
                   category: Annotated[str, Form(max_length=256)] = "") -> Response:
    """Saves a new version (see the edit rule in knowledge/model.py), then sends the browser to the entry."""
    current = get_entry(session, entry_id)
    try:
        draft = _edited(current, question, similar_questions, answer, category)
        do_save_entry(rt.uow(), draft, actor=web_actor(staff), role=staff.role, now=rt.clock.now())
    except CareDeskError as exc:
        return _refused(request, exc, staff)
    if not is_htmx(request):
        return RedirectResponse(f"{_BASE}/{entry_id}", status_code=303)
    return Response(status_code=200, headers={"HX-Redirect": f"{_BASE}/{entry_id}"})
