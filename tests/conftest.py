"""Shared fixtures: real backends, real records."""

from __future__ import annotations

import pytest

from search.documents import to_document
from search.records import load_record

# Every backend the contract suite runs against; the Elasticsearch issue adds its own.
BACKENDS = ["sqlite"]


def open_test_backend(name: str, tmp_path):
    if name == "sqlite":
        from search.sqlite_backend import SqliteBackend

        return SqliteBackend(tmp_path / "index.db")
    raise ValueError(name)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """An empty index of each backend kind."""
    b = open_test_backend(request.param, tmp_path)
    yield b
    b.close()


PROVENANCE = {
    "source": "test",
    "source_url": "https://example.org/record",
    "fetched_at": "2026-11-20T00:00:00+00:00",
}


def notification(symbol: str, **fields) -> dict:
    """A valid notification record (through the real schema)."""
    return load_record("notification", {**PROVENANCE, "symbol": symbol, **fields})


def doc(record: dict):
    return to_document(record)
