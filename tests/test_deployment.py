"""Docker cannot run here, so the deployment files are read and checked against the project."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from crawlers.run import SPIDERS
from webapp.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
README = (ROOT / "README.md").read_text()


def instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.split(None, 1)[:1] == [name]]


def marketpass_commands(text: str) -> list[list[str]]:
    """Every `marketpass …` invocation in a shell string, as argument lists."""
    return [shlex.split(m) for m in re.findall(r"marketpass ([a-z][^;&|']*)", text)]


def assert_cli_accepts(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)
    if args[0] == "crawl":
        spiders = [a for a in args[1:] if not a.startswith("-")]
        assert spiders and set(spiders) <= set(SPIDERS)


def test_dockerfile_copies_what_exists_and_runs_as_non_root():
    for copy in instructions("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    assert instructions("USER") and instructions("USER")[-1] not in ("root", "0")
    assert any("pybabel" in r and "compile" in r for r in instructions("RUN"))


def test_dockerfile_commands_exist():
    (cmd,) = instructions("CMD")
    assert "gunicorn -c gunicorn.conf.py" in cmd and (ROOT / "gunicorn.conf.py").exists()
    commands = marketpass_commands(cmd)
    assert commands
    for args in commands:
        assert_cli_accepts(args)


def test_settings_named_in_deployment_files_are_documented():
    names = set(re.findall(r"MARKETPASS_[A-Z_]+", DOCKERFILE))
    for service in COMPOSE["services"].values():
        names |= {n for n in service.get("environment", {}) if n.startswith("MARKETPASS_")}
    assert names
    for name in names:
        assert f"`{name}`" in README, f"{name} is not in the README's settings table"


def test_compose_services():
    """Stateless app replicas on one PostgreSQL and one Elasticsearch, a scheduler, an init
    step that loads the snapshot once before the app starts."""
    services = COMPOSE["services"]
    assert {"init", "app", "crawl", "postgres", "es", "redis"} <= set(services)
    for name in ("init", "app", "crawl"):
        env = services[name]["environment"]
        assert services[name]["build"] == "."
        assert env["MARKETPASS_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["MARKETPASS_DATABASE_URL"]
        assert "es:9200" in env["MARKETPASS_SEARCH_URL"]
        assert "volumes" not in services[name]  # nothing of the deployment's state on a host
        for args in marketpass_commands(services[name]["command"]):
            assert_cli_accepts(args)
    app = services["app"]
    assert int(re.search(r"\d+", str(app["deploy"]["replicas"]))[0]) >= 2
    assert app["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert "marketpass" not in app["command"]  # a starting replica loads and rebuilds nothing
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert services["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["volumes"][0].split(":")[0] in COMPOSE["volumes"]


def test_health_checks_mean_something():
    services = COMPOSE["services"]
    # The scheduler has its own check, on the heartbeat its command writes (not the web one).
    crawl = services["crawl"]
    beat = re.search(r"--heartbeat (\S+)", crawl["command"])[1]
    assert beat in " ".join(crawl["healthcheck"]["test"])
    assert services["init"]["healthcheck"] == {"disable": True}
    # A red Elasticsearch cluster still answers HTTP: the check waits for yellow or green.
    assert "wait_for_status=yellow" in " ".join(services["es"]["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_elasticsearch_security_is_on_and_secrets_come_from_the_environment():
    es = COMPOSE["services"]["es"]
    assert re.search(r"elasticsearch:(8|9)\.\d+\.\d+$", es["image"])
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["ELASTIC_PASSWORD"].startswith("${")
    app = COMPOSE["services"]["app"]["environment"]
    assert app["MARKETPASS_SEARCH_PASSWORD"].startswith("${")
    assert app["MARKETPASS_SECRET_KEY"].startswith("${")
    assert "${POSTGRES_PASSWORD" in app["MARKETPASS_DATABASE_URL"]


def test_the_three_node_file():
    cluster = yaml.safe_load((ROOT / "compose.es-cluster.yaml").read_text())["services"]
    nodes = [n for n, s in cluster.items() if "node.name" in s.get("environment", {})]
    assert len(nodes) == 3
    for name in ("init", "app", "crawl"):
        env = cluster[name]["environment"]
        assert sorted(u.split("//")[1].split(":")[0]
                      for u in env["MARKETPASS_SEARCH_URL"].split(",")) == sorted(nodes)
        assert int(env["MARKETPASS_SEARCH_REPLICAS"]) >= 1


def test_the_build_context_leaves_out_what_the_image_does_not_need():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".cache", ".git", "var"} <= set(ignored)
