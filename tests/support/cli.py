"""The `caredesk` command as a user runs it: a real subprocess of this interpreter, with an environment that
holds only the settings the test names (so the developer's own CAREDESK_* variables never leak into a test)."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["caredesk", "cli_env"]


def cli_env(**settings: str) -> dict[str, str]:
    """This process's environment without any CAREDESK_* variable, plus `settings` as CAREDESK_<NAME>:
    `cli_env(database_url=url, environment="test")` sets CAREDESK_DATABASE_URL and CAREDESK_ENVIRONMENT. The
    rest (PATH, HOME, ...) is kept: the subprocess needs it to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREDESK_")}
    env.update({f"CAREDESK_{name.upper()}": value for name, value in settings.items()})
    return env


def caredesk(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `caredesk ARGS` in `env` and wait for it. Output is captured as text for the test to read; a non-zero
    exit is returned, not raised, since the exit code is often what a test checks. `python -m` with this
    interpreter runs the code under test, not whatever `caredesk` is first on PATH."""
    return subprocess.run([sys.executable, "-m", "caredesk.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
