"""Configuration files as pydantic models, validated in one place: the YAML is parsed keeping each node's line,
a strict model checks it, and the first mistake becomes one InvalidConfig naming file, line and field path
(`sla.yaml:14: policies[2].targets.resolution: ...`), so whoever edits a file can fix it without the code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from caredesk.errors import InvalidConfig

__all__ = ["BadField", "ConfigModel", "Loc", "Name", "OneOrMany", "TimeZoneName", "Word", "config_path",
           "every_error", "load_config", "located", "one_or_many", "parse_yaml", "validate_config"]

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base of every configuration model: an unknown key is a typo to report, never something to ignore."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def one_or_many(value: object) -> object:
    """Lets a list be written as its only item (`urgency: urgent` for `urgency: [urgent]`)."""
    return [value] if isinstance(value, str) else value


def _number_as_word(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value  # 12378, a hotline


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


Name = Annotated[str, Field(min_length=1)]
TimeZoneName = Annotated[str, AfterValidator(_zone)]  # an IANA zone that this machine's tzdata knows
OneOrMany = Annotated[list[str], BeforeValidator(one_or_many)]
Word = Annotated[str, Field(min_length=1), BeforeValidator(_number_as_word)]  # a lexicon entry; 12378 unquoted too


class BadField(Exception):
    """Raised by a root model's validator for a rule across fields (a name that must refer to another entry);
    `loc` is counted from the file's root. Not a ValueError, so pydantic lets it through with its location."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def config_path(loc: Sequence[str | int]) -> str:
    """`("policies", 2, "targets")` -> `policies[2].targets`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree (which keeps the lines); a syntax error is an InvalidConfig at its line.
    libyaml's parser when PyYAML has it (ten times faster: every process start and demo load reads these)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InvalidConfig(file, mark.line + 1 if mark else None, "", f"not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise InvalidConfig(file, None, "", f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _resolved(data: Any, loc: Loc, missing_ok: bool) -> Loc:
    """The part of pydantic's `loc` that names keys and items of the file: union tags (`list[str]`,
    `function-after[...]`) and `[key]` markers are dropped; a missing key is kept as the last part."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, Mapping) and str(part) in data:
            part, data = str(part), data[str(part)]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif missing_ok and i == len(loc) - 1 and isinstance(data, Mapping):
            out.append(part)
            break
        else:
            continue
        out.append(part)
    return tuple(out)


def _line(node: yaml.Node | None, path: Loc) -> int | None:
    """The line of the deepest node on `path` (a key's own line for a mapping entry)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _reason(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def validate_config(model: type[M], data: Any, file: str, node: yaml.Node | None = None) -> M:
    """`data` checked by `model`; `node` (from parse_yaml) adds line numbers to the error."""
    data = {} if data is None else data  # an empty file: every required key is missing
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [(_resolved(data, tuple(e["loc"]), e["type"] == "missing"), e["msg"]) for e in exc.errors()]
        path, message = max(errors, key=lambda e: len(e[0]))  # through a union, the branch that got furthest
    except BadField as exc:
        path, message = _resolved(data, exc.loc, True), exc.message
    raise InvalidConfig(file, _line(node, path), config_path(path), _reason(message)) from None


def located(file: str, data: Any, node: yaml.Node | None, loc: Loc, message: str, *, missing_ok: bool = True
            ) -> InvalidConfig:
    """One mistake at `loc` (counted from the file's root) as an InvalidConfig with its line and field path."""
    path = _resolved(data, loc, missing_ok)
    return InvalidConfig(file, _line(node, path), config_path(path), _reason(message))


def every_error(model: type[BaseModel], part: Any, file: str, data: Any, node: yaml.Node | None, at: Loc = ()
                ) -> list[InvalidConfig]:
    """Every field `model` refuses in `part` (the item of the file at `at`), one per field path (of a union's
    branches, the first), for a checker that reports all its mistakes at once. A refusal of the whole item
    (a cross-field validator) is left to the caller, which knows the field to blame."""
    try:
        model.model_validate(part)
    except ValidationError as exc:
        out: dict[str, InvalidConfig] = {}
        for e in exc.errors():
            if e["loc"]:
                found = located(file, data, node, at + tuple(e["loc"]), e["msg"], missing_ok=e["type"] == "missing")
                out.setdefault(found.path, found)
        return list(out.values())
    return []


def load_config(model: type[M], source: Path | Traversable, file: str | None = None) -> M:
    """A configuration file read, parsed and validated; `file` is the name used in errors (default: the path)."""
    file = file or str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(file, None, "", f"cannot read the file: {exc}") from None
    data, node = parse_yaml(text, file)
    return validate_config(model, data, file, node)
