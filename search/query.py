"""The backend-neutral search request and result, and the parsing of query text.

Queries are plain data: pages and API views build a ``SearchRequest``; each backend compiles it
(to an FTS5 ``MATCH`` plus column filters, or to an Elasticsearch bool query). Query text is
never passed through to a backend's own syntax, so hostile input cannot break a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search.analysis import bigrams, is_cjk, raw_tokens, term
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, SORTS

MAX_TEXT_LENGTH = 1000
MAX_CLAUSES = 32
MAX_PER_PAGE = 200
MAX_FACET_SIZE = 500
MAX_VALUES = 100


class QueryError(ValueError):
    """A request that cannot be answered as asked; views turn it into a 400."""


@dataclass(frozen=True)
class Term:
    """Keep records whose keyword field has any of the values."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """Keep records whose date field lies within the bounds (inclusive, ISO dates)."""

    field: str
    gte: str | None = None
    lte: str | None = None


Filter = Term | Range


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    filters: tuple[Filter, ...] = ()
    facets: tuple[str, ...] = ()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facet_size: int = 50
    highlight: bool = True

    def __post_init__(self) -> None:
        validate(self)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class Hit:
    id: str
    kind: str
    record: dict
    score: float | None = None
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    page: int = 1
    per_page: int = 20


def validate(request: SearchRequest) -> None:
    if len(request.text) > MAX_TEXT_LENGTH:
        raise QueryError(f"query text is longer than {MAX_TEXT_LENGTH} characters")
    if request.sort not in SORTS:
        raise QueryError(f"unknown sort {request.sort!r}; expected one of {', '.join(SORTS)}")
    if not 1 <= request.per_page <= MAX_PER_PAGE:
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if request.page < 1:
        raise QueryError("page must be 1 or more")
    if not 1 <= request.facet_size <= MAX_FACET_SIZE:
        raise QueryError(f"facet_size must be between 1 and {MAX_FACET_SIZE}")
    for name in request.facets:
        _check_field(name, KEYWORD_FIELDS, "facet")
    for f in request.filters:
        _validate_filter(f)


def _check_field(name: str, allowed: tuple[str, ...], what: str) -> None:
    if name not in allowed:
        raise QueryError(f"unknown {what} field {name!r}")


def _validate_filter(f: Filter) -> None:
    if isinstance(f, Term):
        _check_field(f.field, KEYWORD_FIELDS, "filter")
        if not f.values or len(f.values) > MAX_VALUES:
            raise QueryError(f"filter {f.field!r} needs between 1 and {MAX_VALUES} values")
    elif isinstance(f, Range):
        _check_field(f.field, DATE_FIELDS, "date filter")
        for bound in (f.gte, f.lte):
            if bound is not None and not _ISO_DATE.fullmatch(bound):
                raise QueryError(f"date {bound!r} is not in the form YYYY-MM-DD")
    else:
        raise QueryError(f"unsupported filter {f!r}")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- query text -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedQuery:
    """Groups are ANDed; the phrases inside a group are ORed; excluded phrases remove matches.

    A phrase is a tuple of terms that must appear in order; a single word is a one-term phrase,
    a CJK word is the phrase of its bigrams.
    """

    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()
    excluded: tuple[tuple[str, ...], ...] = ()

    @property
    def terms(self) -> set[str]:
        return {t for group in self.groups for phrase in group for t in phrase}


# A quoted phrase (closing quote optional), or a run of non-space characters.
_CHUNK = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_text(text: str) -> ParsedQuery:
    """Words are required, ``"a b"`` is a phrase, ``-word`` excludes, ``a OR b`` allows either.

    Everything else (brackets, stars, colons, stray quotes) is treated as plain text.
    """
    groups: list[list[tuple[str, ...]]] = []
    excluded: list[tuple[str, ...]] = []
    pending_or = False
    for match in _CHUNK.finditer(text):
        negate, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare == "OR":
            pending_or = bool(groups)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negate, bare = "-", bare[1:]
        phrases = _phrases(quoted if quoted is not None else bare)
        if negate:
            excluded.extend(phrases)
        elif phrases and pending_or:
            groups[-1].extend(phrases[:1])
            groups.extend([p] for p in phrases[1:])
        else:
            groups.extend([p] for p in phrases)
        pending_or = False
    groups = groups[:MAX_CLAUSES]
    return ParsedQuery(tuple(tuple(g) for g in groups), tuple(excluded[:MAX_CLAUSES]))


def _phrases(chunk: str) -> list[tuple[str, ...]]:
    """A chunk (a quoted phrase, or a run of characters without spaces such as
    ``G/TBT/N/EU/1033`` or ``lithium-ion``) is one phrase: its terms must appear in order."""
    joined = tuple(t for m in raw_tokens(chunk) for t in _word_terms(m.group()))
    return [joined] if joined else []


def _word_terms(token: str) -> tuple[str, ...]:
    return tuple(bigrams(token)) if is_cjk(token) else (term(token),)
