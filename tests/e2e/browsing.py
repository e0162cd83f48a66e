"""Shared by the browser tests: Chromium's flags and screenshots on demand (CAREDESK_TEST_SHOTS=/some/dir)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM_ARGS", "shot"]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def shot(page: Any, name: str) -> None:
    if folder := os.environ.get("CAREDESK_TEST_SHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
