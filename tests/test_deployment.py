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
    services = COMPOSE["services"]
    assert {"app", "crawl", "es"} <= set(services)
    for name in ("app", "crawl"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["MARKETPASS_SEARCH_URL"] == "http://es:9200"
        volume, target = services[name]["volumes"][0].split(":")
        assert volume in COMPOSE["volumes"]
        assert re.search(rf"MARKETPASS_DB={re.escape(target)}/", DOCKERFILE)
    for args in marketpass_commands(services["crawl"]["command"]):
        assert_cli_accepts(args)
    image = services["es"]["image"]
    assert re.search(r"elasticsearch:(8|9)\.\d+\.\d+$", image)
    assert services["es"]["volumes"][0].split(":")[0] in COMPOSE["volumes"]
    assert services["es"]["environment"]["discovery.type"] == "single-node"
