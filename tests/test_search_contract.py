"""The search contract: what every backend must do, run against each real backend."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from search.query import QueryError, Range, SearchRequest, Term
from tests.conftest import doc, notification

MEMBERS = ["USA", "EU", "CHN", "KEN", "SAU", "BRA"]


def corpus(n: int = 60) -> list[dict]:
    """Varied notifications: members, areas, dates, HS codes, addenda."""
    records = []
    for i in range(n):
        member = MEMBERS[i % len(MEMBERS)]
        area = "SPS" if i % 5 == 0 else "TBT"
        suffix = "/Add.1" if i % 4 == 0 else ""
        records.append(notification(
            f"G/{area}/N/{member}/{100 + i}{suffix}",
            title=f"Regulation {i} on {'toys' if i % 3 == 0 else 'lithium batteries'}",
            description="Safety requirements" + (" for chargers" if i % 2 else ""),
            distribution_date=f"2025-{1 + i % 12:02d}-{1 + i % 27:02d}",
            comment_deadline=None if i % 7 == 0 else f"2026-{1 + i % 12:02d}-15",
            hs_codes=["850760"] if i % 3 else ["950300"],
        ))
    return records


@pytest.fixture
def filled(backend):
    records = corpus()
    backend.upsert(doc(r) for r in records)
    return backend, records


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


# --- writes and reads ---------------------------------------------------------------------------

def test_upserting_the_same_record_twice_leaves_one(backend):
    record = notification("G/TBT/N/EU/1033", title="Machinery")
    backend.upsert([doc(record)])
    backend.upsert([doc(record)])
    assert backend.count() == 1
    assert backend.search(SearchRequest(text="machinery")).total == 1


def test_upsert_replaces_the_content(backend):
    backend.upsert([doc(notification("G/TBT/N/EU/1033", title="Machinery"))])
    backend.upsert([doc(notification("G/TBT/N/EU/1033", title="Cosmetics"))])
    assert backend.search(SearchRequest(text="machinery")).total == 0
    assert ids(backend.search(SearchRequest(text="cosmetics"))) == ["G/TBT/N/EU/1033"]
    assert backend.get("G/TBT/N/EU/1033")["title"] == "Cosmetics"


def test_records_come_back_exactly_as_written(backend):
    """Every kind of value, key order included, whatever shapes records take and whether
    they arrive in a fresh index (rebuild) or one already holding others (upsert)."""
    plain = notification("G/TBT/N/EU/1", title="Toys")
    rich = notification("G/TBT/N/EU/2", title="Éléments 锂电池 «quoted» \"x\"",
                        translations={"fr": {"title": "Jouets"}}, hs_codes=["850760"])
    odd = {**notification("G/TBT/N/EU/3", title="Odd"), "extra": {"nested": [1, 2.5, None]}}
    reordered = dict(reversed(list(notification("G/TBT/N/EU/4", title="Reordered").items())))
    backend.rebuild([doc(plain), doc(rich)])
    backend.upsert([doc(odd), doc(reordered)])
    for record in (plain, rich, odd, reordered):
        got = backend.get(record["id"])
        assert got == record and list(got) == list(record)
    hit = backend.search(SearchRequest(text="reordered")).hits[0]
    assert hit.record == reordered and list(hit.record) == list(reordered)


def test_get_count_and_delete(filled):
    backend, records = filled
    assert backend.count() == len(records)
    assert backend.counts() == {"notification": len(records)}
    first = records[0]
    assert backend.get(first["id"]) == first
    assert backend.get("G/TBT/N/XX/0") is None
    assert backend.delete([first["id"], "no-such-id"]) == 1
    assert backend.get(first["id"]) is None
    assert backend.count() == len(records) - 1
    assert first["id"] not in ids(backend.search(SearchRequest(per_page=200)))


def test_rebuild_replaces_everything(filled):
    backend, _ = filled
    fresh = [notification("G/TBT/N/JPN/1", title="Refrigerators")]
    assert backend.rebuild(doc(r) for r in fresh) == 1
    assert backend.count() == 1
    assert ids(backend.search(SearchRequest(text="refrigerators"))) == ["G/TBT/N/JPN/1"]


def test_rebuild_while_readers_query_never_shows_an_empty_or_partial_index(filled):
    backend, old = filled
    new = corpus(150)
    seen: Counter[int] = Counter()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read():
        try:
            while not stop.is_set():
                request = SearchRequest(text="regulation", facets=("country",))
                seen[backend.search(request).total] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for _ in range(3):
        backend.rebuild(doc(r) for r in new)
        backend.rebuild(doc(r) for r in old)
    backend.rebuild(doc(r) for r in new)
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert set(seen) <= {len(old), len(new)}
    assert sum(seen.values()) > 0
    assert backend.search(SearchRequest(text="regulation")).total == len(new)


# --- text analysis ------------------------------------------------------------------------------

@pytest.fixture
def multilingual(backend):
    records = [
        notification("G/TBT/N/CHN/1", title="锂电池充电器安全要求",
                     description="本标准规定了充电器的要求"),
        notification("G/TBT/N/CHN/2", title="电动自行车用锂离子电池", description="安全技术规范"),
        notification("G/TBT/N/EU/3", title="Matériel électrique",
                     description="Équipements ÉLECTRIQUES basse tension"),
        notification("G/TBT/N/JPN/4", title="ＵＳＢ chargers", description="Full-width Latin"),
        notification("G/TBT/N/USA/5", title="Toys", description="Children's products"),
    ]
    backend.upsert(doc(r) for r in records)
    return backend


@pytest.mark.parametrize(("query", "expected"), [
    ("锂电池", ["G/TBT/N/CHN/1"]),
    ("电池", ["G/TBT/N/CHN/1", "G/TBT/N/CHN/2"]),
    ("充电器", ["G/TBT/N/CHN/1"]),
    ("锂离子电池", ["G/TBT/N/CHN/2"]),
    ("electrique", ["G/TBT/N/EU/3"]),
    ("ÉLECTRIQUE", ["G/TBT/N/EU/3"]),
    ("equipements", ["G/TBT/N/EU/3"]),
    ("usb", ["G/TBT/N/JPN/4"]),
    ("ＵＳＢ", ["G/TBT/N/JPN/4"]),
    ("children's", ["G/TBT/N/USA/5"]),
])
def test_cjk_bigrams_and_folding(multilingual, query, expected):
    assert sorted(ids(multilingual.search(SearchRequest(text=query)))) == expected


@pytest.mark.parametrize("pair", [("vehicle", "vehicles"), ("battery", "batteries"),
                                  ("toy", "toys"), ("charger", "chargers")])
def test_singular_and_plural_find_the_same(backend, pair):
    backend.upsert(doc(r) for r in [
        notification("G/TBT/N/ARE/1", title="Motor vehicles", description="Lithium batteries"),
        notification("G/TBT/N/ARE/2", title="Vehicle safety", description="A battery charger"),
        notification("G/TBT/N/USA/3", title="Toys and chargers", description="Toy"),
        notification("G/TBT/N/USA/4", title="Glass", description="Bus shelters"),
    ])
    one, many = (ids(backend.search(SearchRequest(text=word))) for word in pair)
    assert one and sorted(one) == sorted(many)
    hit = backend.search(SearchRequest(text=pair[1])).hits[0]
    assert "<mark>" in " ".join(f for fs in hit.highlights.values() for f in fs)


def test_a_chinese_query_without_chinese_records_finds_nothing(backend):
    backend.upsert([doc(notification("G/TBT/N/USA/5", title="Toys"))])
    assert backend.search(SearchRequest(text="玩具安全")).total == 0


def test_highlights_mark_matches_in_the_original_script(multilingual):
    hit = multilingual.search(SearchRequest(text="锂电池")).hits[0]
    assert "<mark>锂电池</mark>" in hit.highlights["title"][0]
    hit = multilingual.search(SearchRequest(text="electrique")).hits[0]
    assert "<mark>électrique</mark>" in hit.highlights["title"][0]


def test_highlights_escape_html(backend):
    backend.upsert([doc(notification("G/TBT/N/USA/9", title="<script>x</script> toys"))])
    fragment = backend.search(SearchRequest(text="toys")).hits[0].highlights["title"][0]
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment


# --- query syntax -------------------------------------------------------------------------------

def test_phrase_exclusion_and_or(filled):
    backend, records = filled
    def count(text):
        return backend.search(SearchRequest(text=text)).total
    batteries = sum("lithium batteries" in r["title"] for r in records)
    chargers = sum("chargers" in r["description"] for r in records)
    toys = sum("toys" in r["title"] for r in records)
    assert count('"lithium batteries"') == batteries
    assert count('"batteries lithium"') == 0
    assert count("lithium -chargers") == sum(
        "lithium" in r["title"] and "chargers" not in r["description"] for r in records)
    assert count("toys OR lithium") == len(records)
    assert count("toys chargers") == sum(
        "toys" in r["title"] and "chargers" in r["description"] for r in records)
    assert 0 < toys < len(records) and 0 < chargers < len(records)


def test_symbol_text_finds_the_notification(filled):
    backend, records = filled
    target = records[7]["symbol"]
    assert ids(backend.search(SearchRequest(text=target)))[0] == target


def test_title_matches_outrank_body_matches(backend):
    backend.upsert([
        doc(notification("G/TBT/N/USA/1", title="General provisions", description="refrigerators")),
        doc(notification("G/TBT/N/USA/2", title="Refrigerators", description="General provisions")),
    ])
    assert ids(backend.search(SearchRequest(text="refrigerators"))) == [
        "G/TBT/N/USA/2", "G/TBT/N/USA/1"]


HOSTILE = ["", " ", "NEAR(", "NEAR(a b", "*", '"', '""', '"unbalanced', "-", "--", "OR", "AND",
           "NOT", "a OR", "OR a", '{"a": 1}', "title:toys", "^", "(", ")", "'", "a*", "\\", "%",
           "_", "\x00", "toys\u200b", "👍", "G/TBT/N/", "-toys", "- toys", "x" * 1000]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_gives_results_not_errors(filled, text):
    backend, _ = filled
    result = backend.search(SearchRequest(text=text, facets=("country",)))
    assert result.total >= 0 and len(result.hits) <= 20


def test_overlong_text_is_a_clear_query_error():
    with pytest.raises(QueryError, match="longer than"):
        SearchRequest(text="x" * 10_000)


@pytest.mark.parametrize("kwargs", [
    {"sort": "price"}, {"page": 0}, {"per_page": 0}, {"per_page": 10_000},
    {"facets": ("nope",)}, {"filters": (Term("nope", ("x",)),)},
    {"filters": (Range("date", gte="June 2025"),)}, {"filters": (Range("title"),)},
    {"filters": (Term("country", ()),)},
])
def test_bad_requests_are_query_errors(kwargs):
    with pytest.raises(QueryError):
        SearchRequest(**kwargs)


# --- filters, facets, sorting, paging -----------------------------------------------------------

def expected_facets(records, field_of, keep):
    counts = Counter(v for r in records if keep(r) for v in field_of(r))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def test_facet_counts_are_exact(filled):
    backend, records = filled
    def keep(r):
        return ("lithium" in r["title"] and r["area"] == "TBT"
                and r["distribution_date"] >= "2025-03-01")
    result = backend.search(SearchRequest(
        text="lithium", facets=("country", "type", "hs"),
        filters=(Term("area", ("TBT",)), Range("date", gte="2025-03-01")),
    ))
    assert result.total == sum(map(keep, records))
    assert result.facets["country"] == expected_facets(records, lambda r: [r["member"]], keep)
    assert result.facets["type"] == expected_facets(records, lambda r: [r["type"]], keep)
    hs = expected_facets(records, lambda r: ["85", "8507", "850760"] if r["hs_codes"] == [
        "850760"] else ["95", "9503", "950300"], keep)
    assert result.facets["hs"] == hs


def test_term_filters_take_any_of_their_values(filled):
    backend, records = filled
    result = backend.search(SearchRequest(filters=(Term("country", ("US", "KE")),), per_page=200))
    assert sorted(ids(result)) == sorted(r["id"] for r in records if r["member"] in ("US", "KE"))


def test_hs_prefix_filter(filled):
    backend, records = filled
    for prefix in ("85", "8507", "850760"):
        result = backend.search(SearchRequest(filters=(Term("hs", (prefix,)),), per_page=200))
        assert result.total == sum(r["hs_codes"] == ["850760"] for r in records)


def test_date_range_is_inclusive_and_skips_missing_dates(filled):
    backend, records = filled
    result = backend.search(SearchRequest(
        filters=(Range("deadline", gte="2026-03-15", lte="2026-05-15"),), per_page=200))
    expected = [r["id"] for r in records
                if r["comment_deadline"] and "2026-03-15" <= r["comment_deadline"] <= "2026-05-15"]
    assert sorted(ids(result)) == sorted(expected)


def test_facets_size_limit(filled):
    backend, _ = filled
    result = backend.search(SearchRequest(facets=("country",), facet_size=2))
    assert len(result.facets["country"]) == 2


@pytest.mark.parametrize("sort", ["date", "-date", "deadline", "-deadline", "title", "-title"])
def test_sorting_puts_missing_values_last_and_breaks_ties_by_id(filled, sort):
    backend, records = filled
    field = {"date": "distribution_date", "deadline": "comment_deadline"}.get(sort.lstrip("-"))
    got = ids(backend.search(SearchRequest(sort=sort, per_page=200)))
    assert sorted(got) == sorted(r["id"] for r in records)
    if field:
        values = [backend.get(i)[field] for i in got]
        present = [v for v in values if v]
        assert values[: len(present)] == present  # missing last
        assert present == sorted(present, reverse=sort.startswith("-"))


def test_deep_pages_are_stable_and_complete(backend):
    # Many ties: the same date and the same text, so only the tie-breaker orders them.
    records = [notification(f"G/TBT/N/USA/{i}", title="Same title", distribution_date="2025-01-01")
               for i in range(1, 251)]
    backend.upsert(doc(r) for r in records)
    for sort, text in (("-date", ""), ("relevance", "same"), ("title", "")):
        pages = [ids(backend.search(SearchRequest(text=text, sort=sort, page=p, per_page=7)))
                 for p in range(1, 38)]
        flat = [i for page in pages for i in page]
        assert len(flat) == len(set(flat)) == 250
        again = ids(backend.search(SearchRequest(text=text, sort=sort, page=30, per_page=7)))
        assert again == pages[29]
    assert backend.search(SearchRequest(page=100, per_page=7)).hits == []


def test_relevance_without_text_is_newest_first(filled):
    backend, records = filled
    got = ids(backend.search(SearchRequest(per_page=5)))
    newest = sorted(records, key=lambda r: (r["distribution_date"], r["id"]), reverse=True)
    assert backend.get(got[0])["distribution_date"] == newest[0]["distribution_date"]


def test_a_second_connection_sees_writes(filled, tmp_path):
    backend, records = filled
    other_thread_result = []
    new = notification("G/TBT/N/KOR/1", title="Vacuum cleaners")
    backend.upsert([doc(new)])
    thread = threading.Thread(
        target=lambda: other_thread_result.append(backend.search(SearchRequest(text="vacuum"))))
    thread.start()
    thread.join()
    assert ids(other_thread_result[0]) == ["G/TBT/N/KOR/1"]


def test_opening_an_sqlite_index_writes_nothing(tmp_path):
    """Every command opens the file: were opening a write, each would bump the generation
    and make every serving worker reload its columns."""
    from search.sqlite_backend import SqliteBackend

    path = tmp_path / "index.db"
    first = SqliteBackend(path)
    first.upsert([doc(notification("G/TBT/N/EU/1033", title="Machinery"))])
    generation = first.status()["generation"]
    for _ in range(3):
        assert SqliteBackend(path).status()["generation"] == generation
    first.upsert([doc(notification("G/TBT/N/EU/1034", title="Toys"))])
    assert SqliteBackend(path).status()["generation"] == generation + 1
