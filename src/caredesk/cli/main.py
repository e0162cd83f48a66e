"""The `caredesk` command. Each command parses its options, calls one function and prints the result.
Bad input ends with a one-line message on stderr and exit code 2."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from caredesk.cli.alarms import alarms_app
from caredesk.cli.analytics import analytics_app
from caredesk.cli.audit import audit_app
from caredesk.cli.config import config_app
from caredesk.cli.connectors import connectors_app
from caredesk.cli.customers import customers_app
from caredesk.cli.evaluate import eval_command
from caredesk.cli.forecast import forecast_command
from caredesk.cli.imports import import_app
from caredesk.cli.mail import mail_app
from caredesk.cli.outbox import outbox_app
from caredesk.cli.profiles import profiles_app
from caredesk.cli.staff import staff_app
from caredesk.errors import CareDeskError
from caredesk.settings import DEFAULT_SECRET_WARNING

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime

app = typer.Typer(help="CareDesk: customer service and complaint handling.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrations.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge base.", no_args_is_help=True)
flow_app = typer.Typer(help="Work-order processing flows.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(kb_app, name="kb")
app.add_typer(flow_app, name="flow")
app.add_typer(alarms_app, name="alarms")
app.command("eval")(eval_command)
app.command("forecast")(forecast_command)
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="Encryption keys for customer data at rest.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
app.add_typer(config_app, name="config")
app.add_typer(outbox_app, name="outbox")
app.add_typer(analytics_app, name="analytics")
app.add_typer(import_app, name="import")
app.add_typer(customers_app, name="customers")
app.add_typer(profiles_app, name="profiles")
app.add_typer(connectors_app, name="connectors")
app.add_typer(mail_app, name="mail")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _runtime() -> Runtime:
    from pydantic import ValidationError

    from caredesk.bootstrap import build_runtime
    from caredesk.settings import Settings

    try:
        return build_runtime(Settings())
    except ValidationError as exc:
        fail(f"configuration: {exc.errors()[0]['msg']}")


def _details(exc: CareDeskError) -> str:
    lines = [exc.message]
    for err in exc.details.get("errors", []) if isinstance(exc.details.get("errors"), list) else []:
        lines.append(f"  line {err['line']}, column {err['column']}: {err['reason']}")
    return "\n".join(lines)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database schema to the newest revision."""
    from caredesk.storage.migrate import upgrade

    rt = _runtime()
    upgrade(rt.engine, revision)
    typer.echo(f"database at {revision}: {rt.engine.url.render_as_string(hide_password=True)}")


@app.command()
def demo() -> None:
    """Load the demo bank (organisation, on-call roster, bilingual knowledge base). Safe to run again."""
    from caredesk.demo.loader import DEMO_PASSWORD, do_load_demo

    rt = _runtime()
    report = do_load_demo(rt.uow(), rt.clock)
    typer.echo(f"demo data: {report.staff} staff, {report.knowledge_total} knowledge entries "
               f"({report.knowledge_created} new). Demo logins: admin / agent / lead, password {DEMO_PASSWORD}")
    from caredesk.profiles.demo_profiles import do_load_demo_profiles

    made = do_load_demo_profiles(rt.uow(), rt.settings.models_path, now=rt.clock.now())
    if made.customers:
        typer.echo(f"demo profiles: {made.customers} customers with generated history ({made.messages} messages), "
                   f"{made.refreshed} profiles, model {'promoted' if made.promoted else 'not promoted'} "
                   f"(held-out AUC {made.auc_recent})")


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Option(help="Who uses the key")],
                  role: Annotated[str, typer.Option(help="Role the key acts with")] = "agent") -> None:
    """Create an API key. Only the key is printed on stdout (it is shown once, stored hashed)."""
    from caredesk.accounts.credentials import do_create_api_key

    rt = _runtime()
    try:
        with rt.uow() as uow:
            _, secret = do_create_api_key(uow.session, name=name, role=role, now=rt.clock.now())
            uow.commit()
    except CareDeskError as exc:
        fail(exc.message)
    typer.echo(secret)


def _map_encoder_table(rt: Runtime) -> None:
    """Long-running processes read the sentence encoder's 65 MB table from a file mapping under var/cache
    (shared by every process, see text/encoder.map_table) instead of each holding its own copy."""
    from caredesk.text.encoder import set_table_dir

    set_table_dir(rt.settings.var_dir / "cache")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="API processes (more than 1: gunicorn, tasks on Redis)")] = 1,
          ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM): serve HTTPS")] = None,
          ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None) -> None:
    """Start the web server (API, web UI and, in the embedded default, background tasks)."""
    import uvicorn

    if (ssl_certfile is None) != (ssl_keyfile is None):
        fail("--ssl-certfile and --ssl-keyfile go together")
    for tls_file in (ssl_certfile, ssl_keyfile):
        if tls_file is not None and not tls_file.is_file():
            fail(f"{tls_file} is not a file")
    scheme = "https" if ssl_certfile else "http"

    from caredesk.http.app import create_app
    from caredesk.observability.logs import configure_logging
    from caredesk.observability.metrics import enable_multiprocess

    if workers < 1:
        fail("--workers must be at least 1")
    from caredesk.cli.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before the request threads exist (forked workers inherit it)
    rt = _runtime()
    if workers > 1 and rt.settings.tasks_mode == "embedded":
        fail("several API processes need a shared task queue: set CAREDESK_REDIS_URL and "
             "CAREDESK_TASKS_MODE=external, and run `caredesk worker` beside them")
    # Load (or first-run train) the model and run it once, which loads jieba's dictionary and the sentence
    # encoder; build the knowledge index: no first request waits, and with --workers the forked processes
    # share all of it instead of each loading its own copy. Then hand the freed heap back.
    from caredesk.cli.memory import release_free_memory, train_apart

    _map_encoder_table(rt)
    train_apart(rt.settings.models_path)  # a first start trains in a child: its leftovers stay there
    rt.triage("您好，我的银行卡无法登录 hello")
    rt.knowledge_index()

    release_free_memory()
    json_logs = rt.settings.log_format == "json"
    configure_logging(rt.settings.log_format)
    # The embedded consumer's "executing sla_sweep" every minute would drown the request log; failures
    # still show (warnings and errors). `caredesk worker` keeps the task log.
    logging.getLogger("huey").setLevel(logging.WARNING)
    if workers > 1:  # /metrics sums the worker processes' values from files here (emptied now: a new run)
        enable_multiprocess(rt.settings.var_dir / "prometheus")
    if rt.settings.uses_default_secret:  # said here once: this is the process whose sessions the key signs
        typer.echo(f"Warning: {DEFAULT_SECRET_WARNING}", err=True)
    typer.echo(f"CareDesk is running at {scheme}://{host}:{port}/  (customer chat at /chat; demo staff login: "
               f"agent / caredesk-demo, the others in the README; API docs at /docs)")
    mail = rt.settings
    typer.echo(f"E-mail is written to {mail.mail_dir}/ as .eml files (CAREDESK_MAIL_DIR; unset it and set "
               f"CAREDESK_SMTP_HOST to send)" if mail.mail_dir else
               f"E-mail goes to the SMTP server at {mail.smtp_host}:{mail.smtp_port}")
    sys.stdout.flush()
    if workers > 1:
        from caredesk.cli.processes import serve_processes

        serve_processes(create_app(rt), rt.engine, host=host, port=port, workers=workers,
                        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, json_logs=json_logs)
        return
    # Open workbench event streams must not hold a shutdown for long. In JSON mode uvicorn keeps the root
    # logger's format, and the request middleware writes the access lines (with request id and route).
    uvicorn.run(create_app(rt), host=host, port=port, log_level="info", timeout_graceful_shutdown=5,
                log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG, access_log=not json_logs,
                ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
                ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)


@app.command()
def worker(threads: int = 2,
           metrics_port: Annotated[int | None, typer.Option(
               help="Serve this worker's metrics (task failures) on 127.0.0.1:PORT/metrics")] = None) -> None:
    """Run a background worker (needed when CAREDESK_TASKS_MODE=external, e.g. with Redis)."""
    from huey.consumer import Consumer

    from caredesk.observability.logs import configure_logging
    from caredesk.observability.metrics import metrics

    rt = _runtime()
    _map_encoder_table(rt)
    configure_logging(rt.settings.log_format)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        if not 0 < metrics_port < 65536:
            fail("--metrics-port must be between 1 and 65535")
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics().registry)  # this machine only
    Consumer(rt.queue.huey, workers=threads, worker_type="thread").run()


@app.command()
def triage(text: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Triage one message: labels, confidences, explanation and the decision it would get."""
    from caredesk.triage.preview import preview

    rt = _runtime()
    try:
        result = preview(rt, text)
    except CareDeskError as exc:
        fail(exc.message)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    typer.echo(f"language: {result['language']}    masked: {result['masked']}")
    for head in ("content_type", "problem_type", "urgency"):
        h = result[head]
        typer.echo(f"{head:>13}: {h['label']:<17} {h['confidence']:.2f}   because {', '.join(h['reasons'][:4])}")
    typer.echo(f"      emotion: {result['emotion']}    complaint level: {result['complaint_level']} "
               f"{result['complaint_types']}")
    d = result["decision"]
    typer.echo(f"     decision: {d['kind']} ({d['reason']})")
    if d.get("answer"):
        typer.echo(f"       answer: {d['answer']}")


@app.command()
def train(data: Annotated[list[Path] | None, typer.Option("--data", help="Extra labelled CSV files")] = None) -> None:
    """Train the triage heads from the shipped seed corpus (plus --data files and the agents' label
    corrections stored in the database) and make them active."""
    from caredesk.learning.training_data import stored_corrections
    from caredesk.triage.model import activate, read_corpus, seed_corpus_path
    from caredesk.triage.training import train_model

    rt = _runtime()
    try:
        rows = read_corpus(seed_corpus_path())
        for path in data or []:
            rows.extend(read_corpus(path))
    except CareDeskError as exc:
        fail(exc.message)
    corrections, problem = stored_corrections(rt.session_factory)
    if problem:
        typer.echo(f"warning: label corrections not read ({problem})", err=True)
    typer.echo(f"training on {len(rows)} messages and {len(corrections)} label corrections…", err=True)
    model = train_model(rows, corrections=corrections)
    activate(model, rt.settings.models_path)
    typer.echo(json.dumps({"version": model.version, **model.metrics}, indent=2))


@kb_app.command("import")
def kb_import(file: Path,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count only")] = False
              ) -> None:
    """Import a knowledge-base CSV or XLSX file in one transaction. A file with any bad row imports nothing
    and lists every bad row (line, column, reason) on stderr, exit code 2. A progress bar shows on stderr
    when it is a terminal; stdout gets only the summary line."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from caredesk.knowledge.actions import do_import_file

    rt = _runtime()
    console = Console(stderr=True)
    labels = {"check": "checking rows", "save": "saving entries"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = do_import_file(rt.uow(), file, name=str(file), actor="cli", role="admin",
                                    now=rt.clock.now(), dry_run=dry_run, progress=progress)
        except CareDeskError as exc:
            bar.stop()
            fail(_details(exc))
    r = result.report
    counts = f"{r.created} created, {r.updated} updated, {r.unchanged} unchanged"
    if dry_run:
        typer.echo(f"{file}: {result.entries} entries, no errors "
                   f"(dry run, nothing imported: would be {counts})")
    else:
        typer.echo(f"{file}: {counts}")


@kb_app.command("export")
def kb_export(file: Path) -> None:
    """Export every entry to FILE (.csv or .xlsx, by its extension) with the columns the importer reads."""
    from caredesk.knowledge.exporting import export_file

    rt = _runtime()
    try:
        with rt.session_factory() as session:
            count = export_file(session, file)
    except CareDeskError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    typer.echo(f"{file}: {count} entries exported")


@kb_app.command("suggest")
def kb_suggest(days: Annotated[int, typer.Option(help="Look back this many days")] = 1,
               min_size: Annotated[int, typer.Option(help="Smallest cluster (conversations)")] = 3,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Cluster recent questions the bot could not answer into suggested entries, then list the open ones."""
    from sqlalchemy import select

    from caredesk.knowledge.tasks import generate_suggestions
    from caredesk.storage.orm import KnowledgeSuggestion

    rt = _runtime()
    try:
        report = generate_suggestions(rt, days=days, min_size=min_size, actor="cli")
    except CareDeskError as exc:
        fail(exc.message)
    with rt.session_factory() as session:
        rows = list(session.scalars(select(KnowledgeSuggestion).where(KnowledgeSuggestion.status == "open")
                                    .order_by(KnowledgeSuggestion.size.desc(), KnowledgeSuggestion.id)))
        if as_json:
            typer.echo(json.dumps({"created": report.created, "updated": report.updated,
                                   "questions": report.questions,
                                   "open": [{"id": s.id, "kind": s.kind, "entry_id": s.entry_id,
                                             "size": s.size, "language": s.language, "questions": s.questions}
                                            for s in rows]},
                                  ensure_ascii=False, indent=2))
            return
        typer.echo(f"{report.questions} unanswered questions; {report.created} new, {report.updated} grown; "
                   f"{len(rows)} open suggestion(s)")
        for s in rows:
            target = f" -> entry {s.entry_id}" if s.entry_id else ""
            typer.echo(f"  {s.id}  {s.kind}{target}  x{s.size}  {' | '.join(s.questions[:3])}")


@flow_app.command("validate")
def flow_validate(files: list[Path]) -> None:
    """Check processing-flow files; prints each flow's steps or the first error."""
    from caredesk.workorders.flows import load_flow_file

    for path in files:
        try:
            flow = load_flow_file(path)
        except CareDeskError as exc:
            fail(exc.message)
        typer.echo(f"{path}: {flow.name} v{flow.version}: {' -> '.join(s.name for s in flow.steps)}")


@flow_app.command("validate-sla")
def sla_validate(file: Path) -> None:
    """Check an SLA file (policies and business calendars); prints each policy or the first error."""
    from caredesk.sla.policy import load_sla_config

    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        config = load_sla_config(file)
    except CareDeskError as exc:
        fail(exc.message)
    for policy in config.policies:
        targets = ", ".join(f"{t.value} {m:g} min" for t, m in policy.targets.items())
        typer.echo(f"{policy.name}: {targets} on {policy.calendar.name}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random AES-256 key (base64) for CAREDESK_ENCRYPTION_KEYS."""
    import base64
    import os

    typer.echo(base64.b64encode(os.urandom(32)).decode("ascii"))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt stored customer data with the active key (also encrypts rows written before encryption)."""
    from caredesk.compliance.crypto import current_keyring
    from caredesk.compliance.key_rotation import rotate_keys

    rt = _runtime()
    report = rotate_keys(rt.engine, current_keyring())
    typer.echo(f"re-encrypted {report.messages} messages and {report.customers} customers "
               f"with key {report.active_key}")


if __name__ == "__main__":
    app()
