"""Elasticsearch backend, through the official client (8.x; REST compatibility covers 9.x).

Text analysis happens once, in Python (``search.analysis``), for both backends: Elasticsearch
receives the analysed terms with CJK bigrams spelled in ASCII, so its standard tokenizer keeps
every term whole. The reason is the cluster we can test on: the minimal distribution has no
``analysis-common`` module, hence no ``cjk_width``, ``asciifolding`` or ``cjk_bigram`` filters;
analysing in Python gives the same terms on that cluster and on any full one, and the same terms
as SQLite FTS5, so one contract suite holds for both.

Indexes are named ``<prefix>-v<mapping version>-<timestamp>`` behind the alias ``<prefix>``. A
rebuild fills a new index, moves the alias in one atomic call and then removes the old indices;
a failed rebuild removes its partial index and leaves the alias where it was.

Several app processes and crawls share one cluster, so everything that creates an index or
moves the alias happens under a lock document in ``<prefix>-meta`` (created with
``op_type=create``; a holder that died is taken over when its expiry passes). An index being
filled is registered there too, renewed while it fills: an index of the prefix that is neither
behind the alias nor registered by a live rebuild is a leftover (of a killed rebuild), removed by
the next rebuild and listed by ``status()``. The same meta index holds the generation, a token
replaced by every write, which caches of the index's content compare on each request. Expiries
are wall-clock times: the hosts' clocks must agree to within a small part of the lock's life.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from elasticsearch import (
    ApiError,
    ConflictError,
    Elasticsearch,
    NotFoundError,
    TransportError,
    helpers,
)

from search.analysis import bigrams, is_cjk, raw_tokens, term
from search.backend import BackendError, SearchBackend, add_highlights
from search.fields import (
    DATE_FIELDS,
    KEYWORD_FIELDS,
    KIND_WEIGHTS,
    MAPPING_VERSION,
    TEXT_FIELDS,
    Document,
)
from search.query import Hit, ParsedQuery, Range, SearchRequest, SearchResult, Term, parse_text

CHUNK = 1000
# Seconds a request from a page may take: a hung node must be a 503 well within 5 s.
DEFAULT_TIMEOUT = 3.0
# Bulk writes, index creation, alias moves and refreshes may take longer on a loaded cluster,
# and no reader waits on them.
LONG_TIMEOUT = 120.0
LOCK = "lock"
GENERATION = "generation"


def hosts(url: str) -> list[str]:
    """The nodes of ``MARKETPASS_SEARCH_URL``: one URL or several separated by commas."""
    return [h.strip() for h in url.split(",") if h.strip()]


def connect(url: str, *, timeout: float = DEFAULT_TIMEOUT, api_key: str = "", user: str = "",
            password: str = "", ca_certs: str = "") -> Elasticsearch:
    """A client of one node or several. A refused connection is tried on the next node; a
    timeout is not retried, since on a hung node a retry would double the wait of a page."""
    options: dict = {}
    if api_key:
        options["api_key"] = tuple(api_key.split(":", 1)) if ":" in api_key else api_key
    elif user:
        options["basic_auth"] = (user, password)
    if ca_certs:
        options["ca_certs"] = ca_certs
    return Elasticsearch(hosts(url), request_timeout=timeout, max_retries=2,
                         retry_on_timeout=False, **options)


def es_terms(text: str) -> str:
    """The analysed terms of a text as Elasticsearch's standard tokenizer must see them."""
    out: list[str] = []
    for match in raw_tokens(text):
        token = match.group()
        out.extend(_spell(t) for t in bigrams(token)) if is_cjk(token) else out.append(term(token))
    return " ".join(out)


def _spell(term: str) -> str:
    """A CJK term in ASCII (锂电 → cjkx9502x7535), which no tokenizer splits."""
    return "cjk" + "".join(f"x{ord(c):x}" for c in term)


def _phrase(terms: tuple[str, ...]) -> str:
    return " ".join(_spell(t) if is_cjk(t) else t for t in terms)


def mapping(shards: int = 1, replicas: int = 0) -> dict:
    """The index mapping and settings, built from the shared field model."""
    properties: dict[str, dict] = {"id": {"type": "keyword"}, "title_sort": {"type": "keyword"}}
    properties |= {name: {"type": "text", "analyzer": "mp_terms"} for name in TEXT_FIELDS}
    properties |= {name: {"type": "keyword"} for name in KEYWORD_FIELDS}
    properties |= {name: {"type": "date", "format": "yyyy-MM-dd"} for name in DATE_FIELDS}
    properties |= {"record": {"type": "object", "enabled": False},
                   "text": {"type": "object", "enabled": False}}
    return {
        "settings": {
            # One shard (the default) keeps facet counts exact and scores independent of
            # routing; more shards are for corpora one shard cannot hold.
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            # The default max_result_window (10,000) holds: webapp.params refuses deeper pages.
            "analysis": {"analyzer": {"mp_terms": {"type": "custom", "tokenizer": "standard"}}},
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def meta_mapping(replicas: int = 0) -> dict:
    """The small index of the lock, the rebuilds in progress and the generation."""
    properties = {"owner": {"type": "keyword"}, "expires": {"type": "double"},
                  "index": {"type": "keyword"}, "token": {"type": "keyword"}}
    return {"settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": {"dynamic": "strict", "properties": properties}}


def _source(doc: Document) -> dict:
    source = {name: es_terms(doc.text.get(name, "")) for name in TEXT_FIELDS}
    source |= {name: doc.keyword_values(name) for name in KEYWORD_FIELDS}
    source |= {name: doc.dates.get(name) for name in DATE_FIELDS}
    return source | {"id": doc.id, "title_sort": doc.title_sort, "record": doc.record,
                     "text": doc.text}


def _actions(docs: Iterable[Document]) -> Iterator[dict]:
    return ({"_id": d.id, "_source": _source(d)} for d in docs)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, url: str, prefix: str = "marketpass", client: Elasticsearch | None = None,
                 *, shards: int = 1, replicas: int = 0, lock_seconds: float = 60.0) -> None:
        self.url, self.alias, self.meta = ", ".join(hosts(url)), prefix, f"{prefix}-meta"
        self.client = client or connect(url)
        self.shards, self.replicas, self.lock_seconds = shards, replicas, lock_seconds
        self._pattern = re.compile(rf"{re.escape(prefix)}-v\d+-\d+")
        self._ready = self._meta_ready = False

    @classmethod
    def from_settings(cls, settings) -> ElasticsearchBackend:
        client = connect(settings.search_url, timeout=settings.search_timeout,
                         api_key=settings.search_api_key, user=settings.search_user,
                         password=settings.search_password, ca_certs=settings.search_ca_certs)
        return cls(settings.search_url, prefix=settings.index_prefix, client=client,
                   shards=settings.search_shards, replicas=settings.search_replicas,
                   lock_seconds=settings.search_lock_seconds)

    @property
    def admin(self) -> Elasticsearch:
        """The client for writes and index management, which may take longer than a page."""
        return self.client.options(request_timeout=LONG_TIMEOUT)

    def _call(self, method, **kwargs):
        try:
            return method(**kwargs)
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused {method.__name__}: {exc}") \
                from exc

    # --- the meta index: lock, rebuilds in progress, generation ------------------------------

    def _ensure_meta(self) -> None:
        if self._meta_ready:
            return
        try:
            self.admin.indices.create(index=self.meta, **meta_mapping(self.replicas))
        except ApiError as exc:
            if "resource_already_exists" not in str(exc):
                raise BackendError(f"Elasticsearch at {self.url} refused {self.meta}: {exc}") \
                    from exc
        except TransportError as exc:
            raise BackendError(f"Elasticsearch at {self.url} is unreachable: {exc}") from exc
        self._meta_ready = True

    def _meta_doc(self, doc_id: str) -> dict | None:
        try:
            return self.client.get(index=self.meta, id=doc_id)
        except NotFoundError:
            return None
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused get: {exc}") from exc

    def generation(self) -> str:
        found = self._meta_doc(GENERATION)
        return found["_source"]["token"] if found else "0"

    def _bump(self) -> None:
        """A new generation: caches of the index's content, in every process, are read again."""
        self._ensure_meta()
        self._call(self.admin.index, index=self.meta, id=GENERATION,
                   document={"token": uuid.uuid4().hex})

    def _claim(self, owner: str) -> dict:
        return {"owner": owner, "expires": time.time() + self.lock_seconds}

    def _try_lock(self, owner: str) -> bool:
        try:
            self.admin.create(index=self.meta, id=LOCK, document=self._claim(owner))
            return True
        except ConflictError:
            held = self._meta_doc(LOCK)
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused the lock: {exc}") from exc
        if held is None or held["_source"]["expires"] > time.time():
            return False
        try:  # its holder stopped renewing it: take it over, unless another process just did
            self.admin.index(index=self.meta, id=LOCK, document=self._claim(owner),
                             if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"])
            return True
        except ConflictError:
            return False

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the lock of this prefix's indices and alias. Its holders only create an index or
        move the alias, which take seconds; a dead holder's lock is taken over when it expires."""
        self._ensure_meta()
        owner, deadline = _owner(), time.monotonic() + 2 * self.lock_seconds
        while not self._try_lock(owner):
            if time.monotonic() > deadline:
                raise BackendError(f"the index lock of {self.alias} stays held by another process")
            time.sleep(0.2)
        try:
            yield
        finally:
            self._unlock(owner)

    def _unlock(self, owner: str) -> None:
        """Release the lock if it is still ours. Failing to is no error of the work done under
        it: the lock then expires by itself, and others wait that long."""
        try:
            held = self._meta_doc(LOCK)
            if held and held["_source"]["owner"] == owner:
                self.admin.delete(index=self.meta, id=LOCK, if_seq_no=held["_seq_no"],
                                  if_primary_term=held["_primary_term"])
        except (BackendError, ApiError, TransportError):
            pass

    def _register(self, index: str) -> None:
        """Note (or renew) a rebuild in progress, so that nobody takes its index for a leftover."""
        self._call(self.admin.index, index=self.meta, id=f"build-{index}",
                   document={"index": index, "owner": _owner(),
                             "expires": time.time() + self.lock_seconds})

    def _registered(self, index: str) -> bool:
        return self._meta_doc(f"build-{index}") is not None

    def _unregister(self, *indices: str) -> None:
        for index in indices:
            try:
                self.admin.delete(index=self.meta, id=f"build-{index}")
            except NotFoundError:
                pass
            except (ApiError, TransportError) as exc:
                raise BackendError(f"Elasticsearch at {self.url} refused delete: {exc}") from exc

    def _renewing(self, actions: Iterator[dict], index: str) -> Iterator[dict]:
        due = time.monotonic() + self.lock_seconds / 3
        for action in actions:
            if time.monotonic() > due:
                self._register(index)
                due = time.monotonic() + self.lock_seconds / 3
            yield action

    # --- indices -----------------------------------------------------------------------------

    def _prefixed(self) -> dict[str, bool]:
        """Every index of this prefix, and whether the alias points to it."""
        found = self._call(self.client.indices.get_alias, index=f"{self.alias}-v*")
        return {name: self.alias in info.get("aliases", {}) for name, info in found.items()
                if self._pattern.fullmatch(name)}

    def leftovers(self) -> list[str]:
        """Indices of this prefix neither behind the alias nor being filled by a live rebuild:
        what killed or failed rebuilds left."""
        idle = [name for name, serving in self._prefixed().items() if not serving]
        if not idle:
            return []
        try:
            found = self.client.mget(index=self.meta, ids=[f"build-{i}" for i in idle])["docs"]
        except NotFoundError:  # no meta index: nothing was ever registered
            found = []
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused mget: {exc}") from exc
        live = {d["_source"]["index"] for d in found
                if d.get("found") and d["_source"]["expires"] > time.time()}
        return sorted(set(idle) - live)

    def _remove(self, indices: Iterable[str]) -> None:
        indices = list(indices)
        for index in indices:
            self._call(self.admin.indices.delete, index=index, ignore_unavailable=True)
        self._unregister(*indices)

    def _new_index(self, register: bool = False) -> str:
        """A new empty index; registered first when a rebuild is to fill it, so that no
        status or sweep ever takes it for a leftover."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.alias}-v{MAPPING_VERSION}-{stamp}"
        if register:
            self._register(name)
        self._call(self.admin.indices.create, index=name, **mapping(self.shards, self.replicas))
        return name

    def _indices(self) -> list[str]:
        """Concrete indices the alias points to."""
        try:
            return list(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} is unreachable: {exc}") from exc

    def _current(self, indices: list[str]) -> bool:
        return any(f"-v{MAPPING_VERSION}-" in name for name in indices)

    def _ensure(self) -> None:
        """Create the first index behind the alias; a stale mapping version starts empty. Under
        the lock, so that processes meeting an empty cluster together create one index."""
        if self._ready:
            return
        if not self._current(self._indices()):
            with self._locked():
                if not self._current(self._indices()):
                    self._remove(self._point_alias(self._new_index()))
            self._bump()
        self._ready = True

    def _point_alias(self, new: str) -> list[str]:
        """Point the alias at ``new`` alone, in one atomic call; the indices it left. Called
        under the lock, so that nobody else moves it between the read and the move."""
        old = [name for name in self._indices() if name != new]
        actions = [{"remove": {"index": i, "alias": self.alias}} for i in old]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self._call(self.admin.indices.update_aliases, actions=actions)
        return old

    def _publish(self, new: str) -> list[str]:
        with self._locked():
            if not self._registered(new):
                raise BackendError(f"{new} was taken for a leftover: its rebuild stalled "
                                   f"longer than {self.lock_seconds:g} s")
            old = self._point_alias(new)
        try:
            self._unregister(new)
        except BackendError:
            pass  # the registration expires by itself; the index is behind the alias anyway
        return old

    # --- writes ------------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict], index: str) -> int:
        try:
            ok, errors = helpers.bulk(self.admin, actions, index=index, chunk_size=CHUNK,
                                      raise_on_error=False, raise_on_exception=False)
        except TransportError as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused bulk: {exc}") from exc
        if errors:
            details = "; ".join(str(e) for e in errors[:3])
            raise BackendError(f"{len(errors)} document(s) were not written: {details}")
        return ok

    def upsert(self, docs: Iterable[Document]) -> int:
        self._ensure()
        written = self._bulk(_actions(docs), self.alias)
        self._call(self.admin.indices.refresh, index=self.alias)
        if written:
            self._bump()
        return written

    def delete(self, ids: Iterable[str]) -> int:
        self._ensure()
        removed = 0
        for doc_id in ids:
            try:
                self._call(self.admin.delete, index=self.alias, id=doc_id)
                removed += 1
            except BackendError as exc:
                if not isinstance(exc.__cause__, NotFoundError):
                    raise
        self._call(self.admin.indices.refresh, index=self.alias)
        if removed:
            self._bump()
        return removed

    def rebuild(self, docs: Iterable[Document], size: int | None = None) -> int:
        """Fill a new index, then move the alias to it. Rebuilds may run at the same time (each
        fills its own index); the last to finish holds the alias, the others' indices go."""
        with self._locked():
            self._remove(self.leftovers())
            new = self._new_index(register=True)
        try:
            written = self._bulk(self._renewing(_actions(docs), new), new)
            self._call(self.admin.indices.refresh, index=new)
            old = self._publish(new)
        except BaseException:
            self._remove([new])
            raise
        self._remove(old)
        self._bump()
        self._ready = True
        return written

    # --- reads -------------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict | None:
        self._ensure()
        try:
            found = self.client.get(index=self.alias, id=doc_id, source_includes=["record"])
        except NotFoundError:
            return None
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused get: {exc}") from exc
        return found["_source"]["record"]

    def counts(self) -> dict[str, int]:
        self._ensure()
        body = self._call(self.client.search, index=self.alias, size=0,
                          aggs={"kind": {"terms": {"field": "kind", "size": 100}}})
        return {b["key"]: b["doc_count"] for b in body["aggregations"]["kind"]["buckets"]}

    def status(self) -> dict:
        counts = self.counts()
        health = self._call(self.client.cluster.health)
        return {
            "backend": self.name,
            "location": self.url,
            "alias": self.alias,
            "index": ", ".join(self._indices()),
            "leftover_indices": self.leftovers(),
            "generation": self.generation(),
            "mapping_version": MAPPING_VERSION,
            "cluster": health["cluster_name"],
            "cluster_status": health["status"],
            "counts": counts,
            "total": sum(counts.values()),
        }

    def search(self, request: SearchRequest) -> SearchResult:
        self._ensure()
        parsed = parse_text(request.text)
        body = self._call(
            self.client.search, index=self.alias, query=_query(parsed, request.filters),
            aggs=_aggs(request), sort=_sort(request), from_=request.offset,
            size=request.per_page, track_total_hits=True, source_includes=["record", "text"],
        )
        hits = [Hit(h["_id"], h["_source"]["record"]["kind"], h["_source"]["record"],
                    h.get("_score")) for h in body["hits"]["hits"]]
        if request.highlight:
            add_highlights(hits, [h["_source"]["text"] for h in body["hits"]["hits"]],
                           parsed.terms)
        facets = {name: [(b["key"], b["doc_count"]) for b in agg["buckets"]]
                  for name, agg in body.get("aggregations", {}).items()}
        return SearchResult(body["hits"]["total"]["value"], hits, facets, request.page,
                            request.per_page)


# --- query compilation (pure functions of the request) -----------------------------------------

_FIELDS = [f"{name}^{boost:g}" for name, boost in TEXT_FIELDS.items()]


def _phrase_query(terms: tuple[str, ...]) -> dict:
    return {"multi_match": {"query": _phrase(terms), "type": "phrase", "fields": _FIELDS}}


def _query(parsed: ParsedQuery, filters: Iterable[Term | Range]) -> dict:
    must = [{"bool": {"should": [_phrase_query(p) for p in group], "minimum_should_match": 1}}
            for group in parsed.groups]
    must_not = [_phrase_query(p) for p in parsed.excluded]
    query = {"bool": {"must": must or [{"match_all": {}}], "must_not": must_not,
                      "filter": [_filter(f) for f in filters]}}
    if not must:
        return query
    weights = [{"filter": {"term": {"kind": kind}}, "weight": weight}
               for kind, weight in KIND_WEIGHTS.items()]
    return {"function_score": {"query": query, "functions": weights, "boost_mode": "multiply"}}


def _filter(f: Term | Range) -> dict:
    if isinstance(f, Term):
        return {"terms": {f.field: list(f.values)}}
    bounds = {k: v for k, v in (("gte", f.gte), ("lte", f.lte)) if v}
    return {"range": {f.field: bounds}} if bounds else {"exists": {"field": f.field}}


def _aggs(request: SearchRequest) -> dict:
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {name: {"terms": {"field": name, "size": request.facet_size, "order": order}}
            for name in request.facets}


def _sort(request: SearchRequest) -> list:
    if request.sort == "relevance" and parse_text(request.text).groups:
        # Equally relevant records: newest first, then by id (as the SQLite backend does).
        return [{"_score": "desc"}, {"date": {"order": "desc", "missing": "_last"}},
                {"id": "asc"}]
    sort = "-date" if request.sort == "relevance" else request.sort
    name, order = sort.lstrip("-"), "desc" if sort.startswith("-") else "asc"
    field = "title_sort" if name == "title" else name
    return [{field: {"order": order, "missing": "_last"}}, {"id": "asc"}]
