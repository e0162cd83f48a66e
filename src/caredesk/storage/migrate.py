"""Running Alembic from code: `caredesk db upgrade`, the tests and the demo all use this."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

__all__ = ["alembic_config", "downgrade", "upgrade"]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("caredesk.storage").joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


_MIGRATION_LOCK = 727002  # beside the audit chain's 727001


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    """On SQLite a batch migration copies a table and drops the old one; with foreign keys enforced the drop
    fails as soon as another table's rows refer to it. So they are off while migrating (a pragma that only
    takes effect outside a transaction: before the first write), checked whole afterwards, and on again."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Replicas started together each run `caredesk db upgrade`: the first migrates, the others
                    # wait here and then find the schema at its revision.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                cfg.attributes["connection"] = connection
                step(cfg)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migration left {len(broken)} row(s) referring to missing rows, "
                                       f"first in table {broken[0][0]}")
        finally:
            if sqlite:  # after the commit or rollback, so that it takes effect: the pool reuses the connection
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
