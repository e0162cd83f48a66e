"""Triage components registered under versioned names; the pipeline is built from a list of names.

A component is a callable `(doc) -> doc`, declares what it reads and writes, and may need a trained
model (`needs_model`). Old names keep their behaviour: a change of behaviour gets a new `.vN`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from caredesk.errors import InvalidInput
from caredesk.triage.doc import TriageDoc

__all__ = ["ComponentSpec", "component", "get_component", "registered"]

Step = Callable[[TriageDoc], TriageDoc]


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    factory: Callable[..., Step]
    reads: tuple[str, ...]
    writes: tuple[str, ...]


_REGISTRY: dict[str, ComponentSpec] = {}


def component(name: str, *, reads: tuple[str, ...],
              writes: tuple[str, ...]) -> Callable[[Callable[..., Step]], Callable[..., Step]]:
    def register(factory: Callable[..., Step]) -> Callable[..., Step]:
        _REGISTRY[name] = ComponentSpec(name, factory, reads, writes)
        return factory

    return register


def get_component(name: str) -> ComponentSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidInput(f"unknown triage component {name!r}", known=sorted(_REGISTRY)) from None


def registered() -> list[str]:
    return sorted(_REGISTRY)
