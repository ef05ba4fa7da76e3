"""A real Elasticsearch for the tests: fetched with Maven, run on loopback, stopped by its PID.

The minimal distribution ``org.elasticsearch.distribution.integ-test-zip:elasticsearch`` comes
from Maven Central, is unpacked under ``.cache/elasticsearch`` (git-ignored) and runs with an
installed JDK on 127.0.0.1, a free port, a small heap and its data in a temporary folder.
Elasticsearch refuses to run as root, so under root (as in CI) it runs as ``nobody``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

ES_VERSION = os.environ.get("MARKETPASS_TEST_ES_VERSION", "8.19.0")
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "elasticsearch"
# Elasticsearch 8.x runs on Java 17 or newer; 9.x needs 21 or newer.
JDK_CANDIDATES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-25-jdk-amd64",
                  "/usr/lib/jvm/default-java")


# The clusters this process started, by URL: a test may freeze its own, never one it was given.
STARTED: dict[str, Cluster] = {}


class Unavailable(RuntimeError):
    """Java, Maven or the distribution is missing: the reason is the message."""


def find_java_home() -> str:
    for candidate in (os.environ.get("ES_JAVA_HOME"), os.environ.get("JAVA_HOME"),
                      *JDK_CANDIDATES):
        if candidate and Path(candidate, "bin", "java").exists():
            return candidate
    java = shutil.which("java")
    if java:
        return str(Path(os.path.realpath(java)).parent.parent)
    raise Unavailable("no Java runtime found (install a JDK 17+ or set ES_JAVA_HOME)")


def distribution() -> Path:
    """The unpacked distribution, fetched with Maven on first use."""
    home = CACHE / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    mvn = shutil.which("mvn")
    if not mvn:
        raise Unavailable("Maven (mvn) is not installed: the test Elasticsearch cannot be fetched")
    CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}:{ES_VERSION}:zip",
         f"-DoutputDirectory={CACHE}", "-Dmdep.stripVersion=false"],
        capture_output=True, text=True, timeout=600, cwd=CACHE,
    )
    archive = CACHE / f"elasticsearch-{ES_VERSION}.zip"
    if result.returncode != 0 or not archive.exists():
        raise Unavailable(f"Maven could not fetch {ARTIFACT}:{ES_VERSION}: "
                          f"{(result.stdout + result.stderr)[-800:]}")
    with zipfile.ZipFile(archive) as z:
        z.extractall(CACHE)
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    archive.unlink()
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    url: str
    process: subprocess.Popen
    workdir: Path

    def freeze(self) -> None:
        """Stop every process of the node (SIGSTOP): a hung node, whose port still accepts
        connections and never answers."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop Elasticsearch by its PID (its whole process group), then remove its data."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(workdir: Path, timeout: float = 180) -> Cluster:
    home, java_home = distribution(), find_java_home()
    conf = _config(home, workdir)
    port = free_port()
    command = [str(home / "bin" / "elasticsearch"),
               "-E", "http.host=127.0.0.1", "-E", f"http.port={port}",
               "-E", "transport.host=127.0.0.1", "-E", f"transport.port={free_port()}",
               "-E", "discovery.type=single-node", "-E", "xpack.security.enabled=false",
               "-E", f"path.data={workdir / 'data'}", "-E", f"path.logs={workdir / 'logs'}",
               "-E", "cluster.routing.allocation.disk.threshold_enabled=false"]
    env = {**os.environ, "ES_JAVA_HOME": java_home, "ES_PATH_CONF": str(conf),
           "ES_JAVA_OPTS": "-Xms512m -Xmx512m", "ES_TMPDIR": str(workdir / "tmp")}
    env.pop("JAVA_HOME", None)
    if os.geteuid() == 0:
        _hand_to_nobody(workdir)
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    log = open(workdir / "stdout.log", "wb")  # noqa: SIM115 - kept open for the process
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log,
                               start_new_session=True)
    cluster = Cluster(f"http://127.0.0.1:{port}", process, workdir)
    _wait(cluster, timeout)
    STARTED[cluster.url] = cluster
    return cluster


def _config(home: Path, workdir: Path) -> Path:
    """A private copy of config/ whose JVM options write only inside the work folder."""
    for sub in ("data", "logs", "tmp"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "config"
    shutil.copytree(home / "config", conf)
    options = (conf / "jvm.options").read_text()
    options = options.replace("logs/gc.log", str(workdir / "logs" / "gc.log"))
    options = options.replace("HeapDumpPath=data", f"HeapDumpPath={workdir / 'data'}")
    options = options.replace("ErrorFile=logs/", f"ErrorFile={workdir / 'logs'}/")
    (conf / "jvm.options").write_text(options)
    return conf


def _hand_to_nobody(workdir: Path) -> None:
    nobody = 65534
    for path in (workdir, *workdir.rglob("*")):
        os.chown(path, nobody, -1)
    # The distribution itself only needs to be readable.
    for path in (CACHE, *CACHE.rglob("*")):
        path.chmod(path.stat().st_mode | 0o005 | (0o050 if path.is_dir() else 0))
    for parent in CACHE.parents:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o001)


def _wait(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{cluster.url}/_cluster/health", timeout=2) as r:
                if json.load(r)["status"] in ("green", "yellow"):
                    return
        except OSError:
            pass
        time.sleep(1)
    tail = (cluster.workdir / "stdout.log").read_text(errors="replace")[-3000:]
    cluster.stop()
    raise RuntimeError(f"Elasticsearch did not become healthy in {timeout:.0f}s:\n{tail}")
