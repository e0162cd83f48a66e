"""The triage pipeline, assembled from registered component names (configuration, not code)."""

from __future__ import annotations

from collections.abc import Sequence
from inspect import signature

from caredesk.errors import InvalidInput
from caredesk.triage import components  # noqa: F401  (registers the built-in components)
from caredesk.triage.doc import TriageDoc
from caredesk.triage.model import TriageModel
from caredesk.triage.registry import Step, get_component

__all__ = ["CLASSIFY", "DEFAULT_PIPELINE", "TriagePipeline"]

DEFAULT_PIPELINE = (
    "caredesk.normalise.v1",
    "caredesk.language.v1",
    "caredesk.pii.v1",
    "caredesk.segment.v1",
    "caredesk.entities.v1",
    "caredesk.classify.v2",
    "caredesk.lexicon_rules.v2",
    "caredesk.topics.v1",
)


CLASSIFY = "caredesk.classify.v2"  # the step whose encoder call `many` makes once per batch


class TriagePipeline:
    def __init__(self, model: TriageModel, names: Sequence[str] = DEFAULT_PIPELINE) -> None:
        self.model = model
        self.names = tuple(names)
        self._check(self.names)
        self._steps: list[Step] = []
        for name in self.names:
            factory = get_component(name).factory
            self._steps.append(factory(model) if "model" in signature(factory).parameters else factory())

    @staticmethod
    def _check(names: Sequence[str]) -> None:
        """Every field a step reads must be written by an earlier step (or be the input text)."""
        written = {"text"}
        for name in names:
            spec = get_component(name)
            missing = set(spec.reads) - written
            if missing:
                raise InvalidInput(f"triage component {name} reads {sorted(missing)} that no earlier step writes")
            written |= set(spec.writes)

    def __call__(self, text: str) -> TriageDoc:
        doc = TriageDoc(text=text)
        for step in self._steps:
            doc = step(doc)
        return doc

    def many(self, texts: Sequence[str]) -> list[TriageDoc]:
        """A batch (history import): the same docs as calling the pipeline on each text, with the sentence
        encoder called once for the batch instead of once per text (its cost dominates)."""
        if CLASSIFY not in self.names:
            return [self(text) for text in texts]
        from caredesk.triage.components.classify import assign

        split = self.names.index(CLASSIFY)
        docs = []
        for text in texts:
            doc = TriageDoc(text=text)
            for step in self._steps[:split]:
                doc = step(doc)
            docs.append(doc)
        if not docs:
            return []
        embeddings = self.model.vectors.encode([d.masked for d in docs])
        out = []
        for doc, embedding in zip(docs, embeddings, strict=True):
            doc = assign(doc, self.model, self.model.predict(doc.masked, embedding=embedding), embedding)
            for step in self._steps[split + 1:]:
                doc = step(doc)
            out.append(doc)
        return out
