"""The category tree (pure): categories are `/` paths (`cards/credit`); the tree is built from the counts of
entries per path and status, each node carrying its own counts and the totals of its subtree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CategoryNode", "build_category_tree"]


@dataclass
class CategoryNode:
    name: str
    path: str
    count: int = 0  # entries filed directly here
    total: int = 0  # entries here and below
    published: int = 0  # published entries here and below
    children: dict[str, CategoryNode] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "count": self.count,
            "total": self.total,
            "published": self.published,
            "children": [c.to_json() for _, c in sorted(self.children.items())],
        }


def build_category_tree(counts: Iterable[tuple[str, str, int]]) -> CategoryNode:
    """`counts` holds (category path, status, number of entries). The root has path "" and also counts the
    uncategorised entries (category "") directly."""
    root = CategoryNode(name="", path="")
    for path, status, n in counts:
        node = root
        node.total += n
        node.published += n if status == "published" else 0
        parts = [p for p in path.split("/") if p]
        for depth, part in enumerate(parts):
            node = node.children.setdefault(part, CategoryNode(name=part, path="/".join(parts[: depth + 1])))
            node.total += n
            node.published += n if status == "published" else 0
        node.count += n
    return root
