"""`caredesk profiles train | refresh | validate`: refit the profile model (promoted only when better on the
held-out recent weeks), refresh customers' profiles, check a rules file. Bad input: a message, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from caredesk.errors import CareDeskError

__all__ = ["profiles_app"]

profiles_app = typer.Typer(help="Customer profiles: features, scores, segments, risk.", no_args_is_help=True)


@profiles_app.command("train")
def train(weeks: Annotated[int, typer.Option(help="Weekly cut-offs of history to learn from (8-104)")] = 26,
          holdout_weeks: Annotated[int, typer.Option(help="Newest cut-offs held out for the AUC (1-12)")] = 4,
          refresh: Annotated[bool, typer.Option(help="Refresh every profile when a model is promoted")] = True
          ) -> None:
    """Train a candidate on the stored history; it becomes active only when its escalation-risk AUC on the
    held-out recent weeks beats the active model's. Prints the run as JSON."""
    from caredesk.cli.main import _runtime, fail
    from caredesk.profiles.actions import do_refresh_all
    from caredesk.profiles.training import do_train_profiles

    if not 8 <= weeks <= 104 or not 1 <= holdout_weeks <= 12 or holdout_weeks >= weeks:
        fail("weeks must be 8-104 and holdout-weeks 1-12, fewer than weeks")
    rt = _runtime()
    outcome = do_train_profiles(rt.uow(), rt.settings.models_path, now=rt.clock.now(), trigger="manual",
                                actor="cli", weeks=weeks, holdout_weeks=holdout_weeks)
    refreshed = 0
    if outcome.model is not None and refresh:
        refreshed = do_refresh_all(rt.uow(), now=rt.clock.now(), model=outcome.model)
    typer.echo(json.dumps({"run_id": outcome.run_id, "promoted": outcome.promoted, "reason": outcome.reason,
                           "candidate_version": outcome.candidate_version, "active_version": outcome.active_version,
                           "candidate": outcome.candidate_metrics, "active": outcome.active_metrics,
                           "refreshed": refreshed}, indent=2))


@profiles_app.command("refresh")
def refresh(refs: Annotated[list[str] | None, typer.Argument(help="Customer refs")] = None,
            all_: Annotated[bool, typer.Option("--all", help="Every customer")] = False) -> None:
    """Recompute the profiles of the given customers (by ref), or of every customer with --all."""
    from sqlalchemy import select

    from caredesk.cli.main import _runtime, fail
    from caredesk.profiles.actions import do_refresh_all, do_refresh_profiles
    from caredesk.profiles.model import load_active
    from caredesk.storage.orm import Customer

    if bool(refs) == all_:
        fail("give customer refs or --all (not both)")
    rt = _runtime()
    model = load_active(rt.settings.models_path)
    version = model.version if model else "cold-start rule"
    if all_:
        count = do_refresh_all(rt.uow(), now=rt.clock.now(), model=model)
        typer.echo(f"{count} profiles refreshed ({version})")
        return
    with rt.session_factory() as session:
        found = dict(session.execute(select(Customer.ref, Customer.id).where(Customer.ref.in_(refs or []))).all())
    missing = [r for r in refs or [] if r not in found]
    if missing:
        fail(f"unknown customer ref(s): {', '.join(missing)}")
    results = do_refresh_profiles(rt.uow(), list(found.values()), now=rt.clock.now(), model=model)
    ref_of = {v: k for k, v in found.items()}
    for r in results:
        s = r.score
        typer.echo(f"{ref_of[r.customer_id]}: value {s.value_score:.2f} loyalty {s.loyalty_score:.2f} "
                   f"risk {s.escalation_risk:.2f} segment {s.segment} tags {','.join(s.tags) or '-'} "
                   f"emotion {r.emotion_current}/{r.emotion_trend} ({version})")


@profiles_app.command("validate")
def validate(file: Annotated[Path | None, typer.Argument(help="Rules YAML; the shipped one if omitted")] = None
             ) -> None:
    """Check a features/scores/tags rules file (exit 2 with the first problem)."""
    from caredesk.cli.main import fail
    from caredesk.profiles.features import load_rules

    try:
        rules = load_rules(file)
    except (CareDeskError, OSError) as exc:
        fail(str(getattr(exc, "message", exc)))
    families = {f: sum(1 for r in rules.features if r.family == f) for f in ("interaction", "emotion", "behaviour")}
    typer.echo(f"{file or 'shipped rules'}: {len(rules.features)} features "
               f"({', '.join(f'{k} {v}' for k, v in families.items())}), {len(rules.tags)} tags, "
               f"{rules.segments.clusters} segments")
