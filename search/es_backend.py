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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from search.analysis import bigrams, is_cjk, raw_tokens, term
from search.backend import BackendError, SearchBackend, add_highlights
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, MAPPING_VERSION, TEXT_FIELDS, Document
from search.query import Hit, ParsedQuery, Range, SearchRequest, SearchResult, Term, parse_text

MAX_RESULT_WINDOW = 1_000_000
CHUNK = 1000


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


def mapping() -> dict:
    """The index mapping and settings, built from the shared field model."""
    properties: dict[str, dict] = {"id": {"type": "keyword"}, "title_sort": {"type": "keyword"}}
    properties |= {name: {"type": "text", "analyzer": "mp_terms"} for name in TEXT_FIELDS}
    properties |= {name: {"type": "keyword"} for name in KEYWORD_FIELDS}
    properties |= {name: {"type": "date", "format": "yyyy-MM-dd"} for name in DATE_FIELDS}
    properties |= {"record": {"type": "object", "enabled": False},
                   "text": {"type": "object", "enabled": False}}
    return {
        "settings": {
            # One shard: exact facet counts and scores that do not depend on routing.
            "number_of_shards": 1,
            "number_of_replicas": 0,
            "max_result_window": MAX_RESULT_WINDOW,
            "analysis": {"analyzer": {"mp_terms": {"type": "custom", "tokenizer": "standard"}}},
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def _source(doc: Document) -> dict:
    source = {name: es_terms(doc.text.get(name, "")) for name in TEXT_FIELDS}
    source |= {name: doc.keyword_values(name) for name in KEYWORD_FIELDS}
    source |= {name: doc.dates.get(name) for name in DATE_FIELDS}
    return source | {"id": doc.id, "title_sort": doc.title_sort, "record": doc.record,
                     "text": doc.text}


def _actions(docs: Iterable[Document]) -> Iterator[dict]:
    return ({"_id": d.id, "_source": _source(d)} for d in docs)


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, url: str, prefix: str = "marketpass", client: Elasticsearch | None = None):
        self.url, self.alias = url, prefix
        self.client = client or Elasticsearch(url, request_timeout=60, retry_on_timeout=True)
        self._ready = False

    # --- indices -----------------------------------------------------------------------------

    def _new_index(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.alias}-v{MAPPING_VERSION}-{stamp}"
        self._call(self.client.indices.create, index=name, **mapping())
        return name

    def _indices(self) -> list[str]:
        """Concrete indices the alias points to."""
        try:
            return list(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []
        except TransportError as exc:
            raise BackendError(f"Elasticsearch at {self.url} is unreachable: {exc}") from exc

    def _ensure(self) -> None:
        """Create the first index behind the alias; a stale mapping version starts empty."""
        if self._ready:
            return
        current = self._indices()
        if not any(f"-v{MAPPING_VERSION}-" in name for name in current):
            self._swap(self._new_index(), current)
        self._ready = True

    def _swap(self, new: str, old: list[str]) -> None:
        actions = [{"remove": {"index": i, "alias": self.alias}} for i in old]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self._call(self.client.indices.update_aliases, actions=actions)
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)

    def _call(self, method, **kwargs):
        try:
            return method(**kwargs)
        except (ApiError, TransportError) as exc:
            raise BackendError(f"Elasticsearch at {self.url} refused {method.__name__}: {exc}") \
                from exc

    # --- writes ------------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict], index: str) -> int:
        ok, errors = helpers.bulk(self.client, actions, index=index, chunk_size=CHUNK,
                                  raise_on_error=False, raise_on_exception=False)
        if errors:
            details = "; ".join(str(e) for e in errors[:3])
            raise BackendError(f"{len(errors)} document(s) were not written: {details}")
        return ok

    def upsert(self, docs: Iterable[Document]) -> int:
        self._ensure()
        written = self._bulk(_actions(docs), self.alias)
        self._call(self.client.indices.refresh, index=self.alias)
        return written

    def delete(self, ids: Iterable[str]) -> int:
        self._ensure()
        removed = 0
        for doc_id in ids:
            try:
                self._call(self.client.delete, index=self.alias, id=doc_id)
                removed += 1
            except BackendError as exc:
                if not isinstance(exc.__cause__, NotFoundError):
                    raise
        self._call(self.client.indices.refresh, index=self.alias)
        return removed

    def rebuild(self, docs: Iterable[Document]) -> int:
        old = self._indices()
        new = self._new_index()
        try:
            written = self._bulk(_actions(docs), new)
            self._call(self.client.indices.refresh, index=new)
        except BaseException:
            self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        self._swap(new, old)
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
    return {"bool": {"must": must or [{"match_all": {}}], "must_not": must_not,
                     "filter": [_filter(f) for f in filters]}}


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
