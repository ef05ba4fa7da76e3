"""One record per body: the same body named by two sources (a curated record and an IECEE
listing) or twice in one, told apart by its normalised name and country, and merged with every
role, arrangement, category and source kept."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

# Words of a body's name that say nothing about which body it is.
_NAME_NOISE = re.compile(r"\b(the|of|and|for|ltd|limited|inc|gmbh|co|corp|corporation|"
                         r"company|sa|ag|srl|llc|plc|pvt|private)\b")


def normalised_name(name: str) -> str:
    """A body's name for comparison: folded, without what is in brackets, legal forms or
    punctuation ("CSA Group" and "CSA Group Testing & Certification Inc." stay apart; "UL LLC"
    and "UL, LLC" do not)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\(.*?\)", " ", text)
    text = _NAME_NOISE.sub(" ", re.sub(r"[^a-z0-9]+", " ", text))
    return " ".join(text.split())


def duplicate_bodies(bodies: list[dict]) -> list[str]:
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for body in bodies:
        seen[(normalised_name(body["name"]), body["country"])].append(body["id"])
    return [f"bodies {', '.join(ids)}: one body ({name!r}, {country}) in several records"
            for (name, country), ids in sorted(seen.items()) if len(ids) > 1]




def merge_bodies(bodies: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """The bodies with duplicates merged into one record each (a curated record is the base,
    so its id and facts win), and the ids merged away → the id kept."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for body in bodies:
        groups[(normalised_name(body["name"]), body["country"])].append(body)
    merged, alias = [], {}
    for same in groups.values():
        same.sort(key=lambda b: (b.get("source") != "curated", not b.get("verified"), b["id"]))
        base = dict(same[0])
        for other in same[1:]:
            alias[other["id"]] = base["id"]
            for field in ("roles", "arrangements", "categories", "schemes", "standards"):
                base[field] = list(dict.fromkeys([*base.get(field, []), *other.get(field, [])]))
            known = [c for c in base.get("categories", []) if c != "unknown"]
            base["categories"] = known or base.get("categories", [])
            base["sources"] = [*base.get("sources", []), *other.get("sources", [])]
            base["merged_ids"] = [*base.get("merged_ids", []), other["id"]]
        merged.append(base)
    return merged, alias
