"""Two imports that libraries make at start-up and CareDesk never uses, refused for those importers only.

scikit-learn imports pandas when it is installed (sklearn/utils/fixes.py, for an ARFF helper CareDesk never
calls): ~30 MB in every process that triages. jieba imports setuptools' pkg_resources (jieba/_compat.py, to
open its own dictionary): ~15 MB and a scan of every installed distribution. Both fall back when the import
fails (scikit-learn sets `pd = None`; jieba opens its files by path), so the same code runs without them.
Nobody else is refused: statsmodels (the forecasts) imports pandas as before, and once pandas is loaded
scikit-learn sees it in sys.modules like any other caller."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import FrameType, ModuleType

__all__ = ["REFUSED", "install"]

# module -> the one importer it is refused to
REFUSED = {"pandas": "sklearn.utils.fixes", "pkg_resources": "jieba._compat"}


class _RefuseFor(MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        importer = REFUSED.get(fullname)
        if importer is None:
            return None
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:  # the import statement's module is a few importlib frames up
            if frame.f_globals.get("__name__") == importer:
                raise ModuleNotFoundError(f"{fullname} is not loaded for {importer} (caredesk.lean_imports)",
                                          name=fullname)
            frame = frame.f_back
        return None


def install() -> None:
    """Put the finder first on sys.meta_path (once); called when the caredesk package is imported, before
    any of its modules can import scikit-learn or jieba."""
    if not any(isinstance(finder, _RefuseFor) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefuseFor())
