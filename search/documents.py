"""Records → index documents: which text is searched, which values filter, facet and sort."""

from __future__ import annotations

from collections.abc import Callable

from search import normalise as norm
from search.analysis import fold
from search.fields import Document
from search.notifications import hs_via_ics


def _join(*parts: object) -> str:
    return "\n".join(str(p) for p in parts if p)


def _hs(codes: list[str]) -> list[str]:
    return sorted({p for code in codes for p in norm.hs_prefixes(code)})


def _sections(codes: list[str]) -> list[str]:
    return sorted({s for code in codes if (s := norm.hs_section(code))})


def _ics(codes: list[str]) -> list[str]:
    """ICS codes with their field and group (43.040.10 → 43, 43.040, 43.040.10)."""
    out = set()
    for code in codes:
        parts = code.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(out)


def _base(record: dict) -> dict[str, list[str]]:
    return {"source": [record["source"]], "language": [record.get("language") or "en"]}


def _curated(record: dict) -> dict[str, list[str]]:
    return {**_base(record), "verified": ["true" if record.get("verified") else "false"]}


def _translations_text(record: dict) -> str:
    return _join(*(v for t in record.get("translations", {}).values() for v in t.values()))


def notification(r: dict) -> Document:
    # A joint notification (the Gulf states notify one measure under seven symbols) is one
    # row of every list: the first of its symbols stands for all, under each member's name
    # (a member filter finds it, a facet counts it for each); the others stay reachable by
    # their symbol and by search terms of their own.
    joint = sorted({r["symbol"], *r.get("joint_symbols", [])})
    first = joint[0] == r["symbol"]
    own = [r["member"]] if r.get("member") else []
    members = sorted({*own, *_members_of(joint)}) if first and len(joint) > 1 else own
    # HS codes from the ICS codes of a notification giving none (search.notifications): the
    # notification HS filter finds it by them ("hs_any"), and its section is counted, as a
    # section facet filters on its chapters. "hs" stays the notifier's own, as other kinds'.
    derived = [d["hs"] for d in hs_via_ics(r)]
    hs = [*r["hs_codes"], *derived]
    return Document(
        id=r["id"],
        kind="notification",
        text=_notification_text(r),
        keywords={
            **_base(r),
            "country": members,
            "countries": sorted({*members, *_members_of(r.get("joint_symbols", []))}),
            "area": [r["area"]],
            "type": [r["type"]],
            "hs": _hs(r["hs_codes"]),
            "hs_via_ics": _hs(derived),
            "hs_any": _hs(hs),
            "section": _sections(hs),
            "ics": _ics(r["ics_codes"]),
            "month": [r["distribution_date"][:7]] if r.get("distribution_date") else [],
            # The facet and filter use ePing's controlled list; free text stays on the record.
            "objectives": sorted({n for o in r.get("objectives", []) for n in norm.objectives(o)}),
            "symbol": [r["symbol"]],
            "base_symbol": [r["base_symbol"]],
            "related": [*r.get("related", []), *r.get("joint_symbols", [])],
            "listed": ["true" if first else "false"],
        },
        dates={"date": r.get("distribution_date"), "deadline": r.get("comment_deadline")},
        title_sort=fold(r.get("title", "")),
        record=r,
    )


def _notification_text(r: dict) -> dict[str, str]:
    return {
        "title": r.get("title", ""),
        "keywords": _join(r["symbol"], r.get("products"), *r["hs_codes"], *r["ics_codes"],
                          *r.get("keywords", [])),
        "body": _join(r.get("description"), r.get("agency"), *r.get("objectives", []),
                      _translations_text(r)),
    }


def _members_of(symbols: list[str]) -> set[str]:
    members = set()
    for s in symbols:
        try:
            members.add(norm.parse_symbol(s).member)
        except norm.NormaliseError:
            continue
    return {m for m in members if m}


def regulation(r: dict) -> Document:
    return Document(
        id=r["id"], kind="regulation",
        text={"title": r["title"], "keywords": _join(r["identifier"], *r["schemes"]), "body": ""},
        keywords={**_curated(r), "country": [r["jurisdiction"]], "hs": _hs(r["hs_codes"]),
                  "status": [r["status"]] if r.get("status") else [], "related": r["schemes"]},
        dates={"date": r.get("in_force") or r.get("adopted")},
        title_sort=fold(r["title"]), record=r,
    )


def scheme(r: dict) -> Document:
    return Document(
        id=r["id"], kind="scheme",
        text={"title": _join(r["name"], r.get("mark")),
              "keywords": _join(*r["keywords"], *r["categories"], r.get("authority")),
              "body": _join(r.get("description"), *r["legal_basis"])},
        keywords={**_curated(r), "country": [r["market"]], "hs": _hs(r["hs_prefixes"]),
                  "mark": [r["mark"]] if r.get("mark") else [], "status": [r["mandatory"]],
                  "type": [r["route"]] if r.get("route") else [], "related": r["regulations"]},
        title_sort=fold(r["name"]), record=r,
    )


def arrangement(r: dict) -> Document:
    parties = sorted({p["country"] for p in r["parties"] if p.get("country")})
    return Document(
        id=r["id"], kind="arrangement",
        text={"title": _join(r["name"], r.get("short_name")), "keywords": _join(*r["sectors"]),
              "body": _join(r.get("effect"), r.get("description"))},
        keywords={**_curated(r), "countries": parties, "type": [r["type"]],
                  "status": [r["status"]] if r.get("status") else []},
        dates={"date": r.get("in_force") or r.get("signed")},
        title_sort=fold(r["name"]), record=r,
    )


def body(r: dict) -> Document:
    return Document(
        id=r["id"], kind="body",
        text={"title": r["name"], "keywords": _join(*r["roles"], *r["categories"]),
              "body": _join(*r["standards"])},
        keywords={**_curated(r), "country": [r["country"]], "type": r["roles"],
                  "related": r["arrangements"], "status": [r["status"]] if r.get("status") else []},
        title_sort=fold(r["name"]), record=r,
    )


def hscode(r: dict) -> Document:
    return Document(
        id=r["id"], kind="hscode",
        text={"title": r["description"], "keywords": _join(r["code"], *r["labels"].values()),
              "body": ""},
        keywords={**_base(r), "hs": list(norm.hs_prefixes(r["code"])),
                  "type": [f"level-{r['level']}"]},
        title_sort=r["code"], record=r,
    )


def product(r: dict) -> Document:
    # Every name in every language is title text, so "充电器" and "chargeur" both find chargers.
    names = [name for lang in sorted(r["names"]) for name in r["names"][lang]]
    first = (r["names"].get("en") or names or [r["id"]])[0]
    return Document(
        id=r["id"], kind="product",
        text={"title": _join(*names), "keywords": _join(*r["hs_codes"], *r["categories"]),
              "body": r.get("description", "")},
        keywords={**_curated(r), "language": sorted(r["names"]) or ["en"],
                  "hs": _hs(r["hs_codes"]), "type": [r["group"]]},
        title_sort=fold(first), record=r,
    )


BUILDERS: dict[str, Callable[[dict], Document]] = {
    "notification": notification, "regulation": regulation, "scheme": scheme,
    "arrangement": arrangement, "body": body, "hscode": hscode, "product": product,
}


def to_document(record: dict) -> Document:
    return BUILDERS[record["kind"]](record)


def text_of(record: dict) -> dict[str, str]:
    """A record's text fields alone (the embedded index derives them again to highlight a
    page of hits instead of storing them); notifications, most hits, without the rest."""
    if record["kind"] == "notification":
        return _notification_text(record)
    return to_document(record).text
