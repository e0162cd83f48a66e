"""Built-in triage components. Importing this package registers them."""

from caredesk.triage.components import classify, entities, language, lexicon_rules, normalise, pii, segment, topics

__all__ = ["classify", "entities", "language", "lexicon_rules", "normalise", "pii", "segment", "topics"]
