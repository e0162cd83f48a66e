"""Every configuration file CareDesk would load, checked in one go, so a bad edit shows before a deploy
rather than when the server starts (`caredesk config validate`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

from caredesk.alarms.strategy import load_strategy
from caredesk.analytics.thresholds import load_thresholds
from caredesk.compliance.outgoing import default_rules_path, load_rules
from caredesk.config_files import load_config
from caredesk.demo.loader import load_org_file
from caredesk.demo.org_file import OrgFile
from caredesk.emergency.topics import load_topics
from caredesk.errors import InvalidConfig
from caredesk.integrations.connectors.config import load_connectors
from caredesk.profiles.sources import load_sources
from caredesk.settings import Settings
from caredesk.sla.policy import load_sla_config
from caredesk.triage.lexicon_files import LEXICON_FILES, lexicon_label, read_lexicon
from caredesk.workorders.flows import FlowSpec, load_flow_file
from caredesk.workorders.skills import load_skill_lexicon

__all__ = ["ConfigCheck", "check_all", "files_in", "files_in_use"]

Loader = Callable[[], object]

# File names a configuration directory may hold, with the loader each is read by in production.
_BY_NAME: dict[str, Callable[[Path], object]] = {
    "sla.yaml": load_sla_config,
    "strategy.yaml": load_strategy,
    "outgoing_rules.yaml": load_rules,
    "skills.yaml": load_skill_lexicon,
    "bank.yaml": lambda path: load_config(OrgFile, path),
    "topics.yaml": load_topics,
    "thresholds.yaml": load_thresholds,
    "sources.yaml": load_sources,
    "connectors.yaml": load_connectors,
}


@dataclass(frozen=True)
class ConfigCheck:
    file: str
    error: InvalidConfig | None  # None: the file is valid


def _builtin_flows() -> list[tuple[str, Loader]]:
    folder = resources.files("caredesk.workorders").joinpath("flows")
    items = sorted((item for item in folder.iterdir() if item.name.endswith(".yaml")), key=lambda i: i.name)
    return [(f"flows/{item.name}", partial(load_config, FlowSpec, item, f"flows/{item.name}"))
            for item in items]


def _triage_lexicons() -> list[tuple[str, Loader]]:
    """No setting replaces the lexicons: only the shipped ones are in use."""
    return [(lexicon_label(name), partial(read_lexicon, model, name)) for name, model in LEXICON_FILES.items()]


def files_in_use(settings: Settings) -> list[tuple[str, Loader]]:
    """The shipped files, then the files the settings put in their place."""
    checks: list[tuple[str, Loader]] = [
        ("sla.yaml", load_sla_config), *_builtin_flows(), ("strategy.yaml", load_strategy),
        ("skills.yaml", load_skill_lexicon),
        ("outgoing_rules.yaml", lambda: load_rules(default_rules_path(), "outgoing_rules.yaml")),
        ("emergency/topics.yaml", load_topics), *_triage_lexicons(), ("demo/bank.yaml", load_org_file),
        ("analytics/thresholds.yaml", load_thresholds), ("customers/sources.yaml", load_sources),
        ("integrations/connectors.yaml", load_connectors)]
    for path, load in ((settings.sla_file, load_sla_config), (settings.alarm_strategy_file, load_strategy),
                       (settings.outgoing_rules_path, load_rules),
                       (settings.analytics_thresholds_file, load_thresholds),
                       (settings.customer_sources_file, load_sources),
                       (settings.connectors_file, load_connectors)):
        if path is not None:
            checks.append((str(path), partial(load, path)))
    return checks


def files_in(directory: Path) -> list[tuple[str, Loader]]:
    """The configuration files a directory holds, known by name (flows/*.yaml are processing flows)."""
    checks: list[tuple[str, Loader]] = [(str(directory / name), partial(load, directory / name))
                                        for name, load in _BY_NAME.items() if (directory / name).is_file()]
    checks += [(str(path), partial(load_flow_file, path))
               for path in sorted((directory / "flows").glob("*.yaml"))]
    return checks


def check_all(checks: list[tuple[str, Loader]]) -> list[ConfigCheck]:
    out = []
    for file, load in checks:
        try:
            load()
        except InvalidConfig as exc:
            out.append(ConfigCheck(file, exc))
        else:
            out.append(ConfigCheck(file, None))
    return out
