"""What only the Elasticsearch backend has: versioned indices, alias swaps, bulk error reports.

The shared behaviour is in test_search_contract.py, which runs against this backend too.
"""

from __future__ import annotations

import socket
import threading

import pytest

from search.backend import BackendError
from search.es_backend import ElasticsearchBackend, es_terms, mapping
from search.fields import MAPPING_VERSION
from search.query import SearchRequest
from tests.conftest import doc, notification


def indices(backend: ElasticsearchBackend) -> list[str]:
    """The backend's data indices (its meta index of lock and generation left out)."""
    return sorted(backend.client.indices.get(index=f"{backend.alias}-v*"))


def aliased(backend: ElasticsearchBackend) -> list[str]:
    return sorted(backend.client.indices.get_alias(name=backend.alias))


def test_mapping_is_strict_and_versioned(es_backend):
    es_backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    (name,) = aliased(es_backend)
    assert name.startswith(f"{es_backend.alias}-v{MAPPING_VERSION}-")
    live = es_backend.client.indices.get_mapping(index=name)[name]["mappings"]
    assert live["dynamic"] == "strict"
    assert set(live["properties"]) == set(mapping()["mappings"]["properties"])


def test_a_field_outside_the_mapping_is_refused(es_backend):
    es_backend.upsert([])
    with pytest.raises(Exception, match="strict"):
        es_backend.client.index(index=es_backend.alias, id="x", document={"surprise": 1})


def test_rebuild_fills_a_new_index_swaps_the_alias_and_removes_the_old(es_backend):
    es_backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    (before,) = aliased(es_backend)
    es_backend.rebuild(doc(notification(f"G/TBT/N/EU/{i}", title="Cars")) for i in range(2, 5))
    (after,) = aliased(es_backend)
    assert after != before
    assert indices(es_backend) == [after]
    assert es_backend.count() == 3 and es_backend.get("G/TBT/N/EU/1") is None


def test_a_failed_rebuild_leaves_the_alias_and_removes_its_partial_index(es_backend):
    es_backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    before = aliased(es_backend)

    def documents():
        for i in range(2, 3000):
            if i == 2500:
                raise RuntimeError("source went away half-way")
            yield doc(notification(f"G/TBT/N/EU/{i}", title="Cars"))

    with pytest.raises(RuntimeError, match="half-way"):
        es_backend.rebuild(documents())
    assert aliased(es_backend) == before
    assert indices(es_backend) == before
    assert [h.id for h in es_backend.search(SearchRequest(text="toys")).hits] == ["G/TBT/N/EU/1"]


def test_documents_the_cluster_rejects_are_reported_not_swallowed(es_backend):
    good = doc(notification("G/TBT/N/EU/1", title="Toys"))
    bad = doc(notification("G/TBT/N/EU/2", title="Cars"))
    bad.dates["date"] = "2026-13-45"  # not a date: the cluster refuses this one document
    with pytest.raises(BackendError, match=r"1 document\(s\) were not written.*G/TBT/N/EU/2"):
        es_backend.upsert([good, bad])
    assert es_backend.get("G/TBT/N/EU/1") is not None


def test_an_index_of_an_older_mapping_version_is_replaced(es_url):
    old_prefix = f"test-old-{MAPPING_VERSION}"
    client = ElasticsearchBackend(es_url, prefix=old_prefix).client
    stale = f"{old_prefix}-v0-20200101000000000000"
    client.indices.create(index=stale, aliases={old_prefix: {}})
    try:
        backend = ElasticsearchBackend(es_url, prefix=old_prefix)
        assert backend.count() == 0
        (name,) = aliased(backend)
        assert f"-v{MAPPING_VERSION}-" in name
        assert not client.indices.exists(index=stale)
    finally:
        for index in client.indices.get(index=f"{old_prefix}-*"):
            client.indices.delete(index=index)


def test_status_reports_the_cluster(es_backend):
    es_backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
    status = es_backend.status()
    assert status["backend"] == "elasticsearch" and status["counts"] == {"notification": 1}
    assert status["cluster_status"] in ("green", "yellow") and status["cluster"]
    assert status["alias"] == es_backend.alias and status["index"].startswith(es_backend.alias)


def test_unreachable_cluster_is_a_backend_error():
    backend = ElasticsearchBackend("http://127.0.0.1:9", prefix="nowhere")
    backend.client = backend.client.options(max_retries=0, request_timeout=2)
    with pytest.raises(BackendError, match="unreachable|refused"):
        backend.status()


def test_cjk_terms_reach_elasticsearch_whole():
    assert es_terms("锂电池 Électrique 43.020") == "cjkx9502x7535 cjkx7535x6c60 electrique 43.020"


def test_the_site_runs_on_elasticsearch(es_backend):
    from webapp import create_app

    es_backend.upsert([doc(notification("G/TBT/N/EU/1", title="Lithium batteries"))])
    client = create_app({"TESTING": True, "BACKEND": es_backend}).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["backend"] == "elasticsearch"
    found = client.get("/api/v1/search?q=lithium").get_json()
    assert [i["id"] for i in found["items"]] == ["G/TBT/N/EU/1"]
    assert client.get("/records/G/TBT/N/EU/1").status_code == 200


class Forwarder:
    """A TCP relay on a fixed port to the real cluster: the 'network' between app and cluster.

    Stopping it is the cluster going away, starting it again is the cluster coming back.
    ``sent`` holds what the client sent, as it went over the wire.
    """

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target, self.server = port, target, None
        self.open: list[socket.socket] = []
        self.sent = bytearray()

    def start(self) -> None:
        import socketserver

        target, open_sockets, sent = self.target, self.open, self.sent

        class Relay(socketserver.BaseRequestHandler):
            def handle(self):
                upstream = socket.create_connection(target)
                open_sockets.extend([upstream, self.request])
                pipe = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
                pipe.start()
                _pump(self.request, upstream, sent)
                pipe.join(timeout=5)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Relay)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a cluster that went down would."""
        self.server.shutdown()
        self.server.server_close()
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open.clear()


def _pump(source, sink, seen: bytearray | None = None) -> None:
    try:
        while data := source.recv(65536):
            if seen is not None:
                seen.extend(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_pages_answer_503_while_the_cluster_is_down_and_recover_by_themselves(es_url):
    from urllib.parse import urlparse

    from tests.es_cluster import free_port
    from webapp import create_app

    real = urlparse(es_url)
    port = free_port()
    backend = ElasticsearchBackend(f"http://127.0.0.1:{port}", prefix="test-outage")
    backend.client = backend.client.options(request_timeout=5, max_retries=0)
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    relay = Forwarder(port, (real.hostname, real.port))
    try:
        down = client.get("/api/v1/search?q=toys")
        assert down.status_code == 503 and down.get_json()["error"]["message"]
        assert client.get("/healthz").status_code == 503
        assert client.get("/search?q=toys").status_code == 503
        relay.start()
        backend.upsert([doc(notification("G/TBT/N/EU/1", title="Toys"))])
        assert client.get("/api/v1/search?q=toys").get_json()["total"] == 1
        assert client.get("/healthz").get_json()["status"] == "ok"
        relay.stop()
        assert client.get("/api/v1/search?q=toys").status_code == 503
        relay.start()
        assert client.get("/api/v1/search?q=toys").status_code == 200
    finally:
        if relay.server:
            relay.stop()
        real_client = ElasticsearchBackend(es_url, prefix="test-outage").client
        for index in real_client.indices.get(index="test-outage-*"):
            real_client.indices.delete(index=index)
