"""Names people read for kinds, record fields and coded values, and the title of a record.

Fields without a label here are still shown, under their name made readable, so a new field
appears on record pages before anyone writes a label for it.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from search.records import PROVENANCE

KIND_LABELS = {
    "notification": _l("TBT notifications"),
    "regulation": _l("Technical regulations"),
    "scheme": _l("Certification schemes"),
    "arrangement": _l("Mutual recognition arrangements"),
    "body": _l("Conformity assessment bodies"),
    "hscode": _l("HS codes"),
    "product": _l("Products"),
}

KIND_NAMES = {
    "notification": _l("Notification"),
    "regulation": _l("Regulation"),
    "scheme": _l("Certification scheme"),
    "arrangement": _l("Arrangement"),
    "body": _l("Body"),
    "hscode": _l("HS code"),
    "product": _l("Product"),
}

FACET_LABELS = {"kind": _l("Type of record"), "country": _l("Country or member")}


def kind_count(kind: str, n: int) -> str:
    """"3 certification schemes", with the plural form of the reader's language."""
    counters = {
        "notification": lambda: ngettext("%(num)d notification", "%(num)d notifications", n),
        "regulation": lambda: ngettext("%(num)d regulation", "%(num)d regulations", n),
        "scheme": lambda: ngettext(
            "%(num)d certification scheme", "%(num)d certification schemes", n
        ),
        "arrangement": lambda: ngettext(
            "%(num)d recognition arrangement", "%(num)d recognition arrangements", n
        ),
        "body": lambda: ngettext(
            "%(num)d conformity assessment body", "%(num)d conformity assessment bodies", n
        ),
        "hscode": lambda: ngettext("%(num)d HS code", "%(num)d HS codes", n),
        "product": lambda: ngettext("%(num)d product", "%(num)d products", n),
    }
    return counters[kind]() if kind in counters else f"{n} {kind}"


FIELD_LABELS = {
    "id": _l("Identifier"),
    "source": _l("Source"),
    "source_url": _l("Source address"),
    "fetched_at": _l("Retrieved"),
    "content_hash": _l("Content hash"),
    "language": _l("Language"),
    "note": _l("Note"),
    "symbol": _l("Document symbol"),
    "area": _l("Agreement"),
    "member": _l("Notifying member"),
    "member_name": _l("Member (WTO name)"),
    "type": _l("Type"),
    "base_symbol": _l("Original notification"),
    "parent_symbol": _l("Notification amended"),
    "distribution_date": _l("Date of distribution"),
    "comment_deadline": _l("Final date for comments"),
    "adoption_date": _l("Proposed date of adoption"),
    "entry_into_force_date": _l("Proposed date of entry into force"),
    "adoption_text": _l("Adoption (as notified)"),
    "entry_into_force_text": _l("Entry into force (as notified)"),
    "title": _l("Title"),
    "description": _l("Description"),
    "products": _l("Products covered"),
    "hs_codes": _l("HS codes"),
    "ics_codes": _l("ICS codes"),
    "objectives": _l("Objectives"),
    "keywords": _l("Keywords"),
    "agency": _l("Responsible agency"),
    "links": _l("Documents"),
    "related": _l("Related notifications"),
    "joint_symbols": _l("Joint notifications"),
    "translations": _l("Translations"),
    "external_id": _l("External identifier"),
    "jurisdiction": _l("Jurisdiction"),
    "identifier": _l("Official identifier"),
    "schemes": _l("Schemes"),
    "categories": _l("Product categories"),
    "status": _l("Status"),
    "adopted": _l("Adopted"),
    "in_force": _l("In force since"),
    "market": _l("Market"),
    "name": _l("Name"),
    "short_name": _l("Short name"),
    "mark": _l("Conformity mark"),
    "authority": _l("Authority"),
    "legal_basis": _l("Legal basis"),
    "mandatory": _l("Mandatory or voluntary"),
    "route": _l("Conformity assessment route"),
    "hs_prefixes": _l("HS codes covered"),
    "cb_accepted": _l("CB test certificates accepted"),
    "accepts": _l("Accepts"),
    "in_country_testing": _l("In-country testing"),
    "local_representative": _l("Local representative"),
    "validity": _l("Validity"),
    "lead_time": _l("Lead time"),
    "regulations": _l("Regulations"),
    "parties": _l("Parties"),
    "sectors": _l("Sectors"),
    "effect": _l("Effect"),
    "signed": _l("Signed"),
    "country": _l("Country"),
    "roles": _l("Roles"),
    "standards": _l("Standards"),
    "arrangements": _l("Arrangements"),
    "code": _l("Code"),
    "level": _l("Level (digits)"),
    "section": _l("Section"),
    "parent": _l("Heading"),
    "edition": _l("Edition"),
    "labels": _l("Names in other languages"),
    "sources": _l("Sources"),
    "verified": _l("Verified against a source"),
    "verified_on": _l("Verified on"),
    "url": _l("Address"),
    "label": _l("Label"),
    "supports": _l("Supports"),
    "phase": _l("Phase"),
    "role": _l("Role"),
    "since": _l("Since"),
    "until": _l("Until"),
    "joined": _l("Joined"),
    "product_groups": _l("Product groups"),
    "cb_note": _l("Conditions for CB test certificates"),
    "changes": _l("Recent changes"),
    "unverified_fields": _l("Fields no source confirmed"),
    "date": _l("Date"),
    "summary": _l("Summary"),
    "group": _l("Product group"),
    "names": _l("Names"),
    "bodies": _l("Bodies"),
    "scope": _l("Scope (HS codes, categories, keywords)"),
    "classes": _l("Product classes covered"),
    "listed_only": _l("Only the products it lists"),
    "conditions": _l("Conditions on the product"),
    "exclusions": _l("Exclusions"),
    "applies_from": _l("Applies from"),
    "applies_until": _l("Applies until"),
    "superseded_by": _l("Replaced by"),
    "absorbs": _l("Includes the requirements of"),
    "steps": _l("What to do"),
    "read_at": _l("Read from a copy at"),
    "publisher": _l("Publisher"),
    "publisher_kind": _l("Kind of publisher"),
    "quote": _l("Quote"),
    "translation": _l("Translation"),
    "attributes": _l("What every such product is"),
    "field": _l("Field"),
    "repealed_on": _l("Repealed on"),
    "ncb": _l("National Certification Body"),
    "accreditation": _l("Accreditation"),
}

PRODUCT_GROUP_LABELS = {
    "electrical_safety": _l("Electrical safety"),
    "emc": _l("Electromagnetic compatibility"),
    "radio_telecom": _l("Radio and telecommunications"),
    "toys": _l("Toys"),
    "machinery": _l("Machinery"),
    "energy_efficiency": _l("Energy efficiency"),
    "medical_devices": _l("Medical devices"),
    "batteries": _l("Batteries"),
    "hazardous_substances": _l("Hazardous substances"),
    "e_waste": _l("Electrical and electronic waste"),
    "general_safety": _l("General product safety"),
    "other": _l("Other products"),
}
# What an exporter does for a requirement, in the order it is done.
STEP_LABELS = {
    "test": _l("Test"), "declare": _l("Declare conformity"), "certify": _l("Get certified"),
    "mark": _l("Mark the product"), "label": _l("Label the product"),
    "register": _l("Register"), "representative": _l("Appoint a local representative"),
    "report": _l("Report"),
}
# The questions that settle a conditional requirement, one per product attribute.
ATTRIBUTE_QUESTIONS = {
    "radio": _l("Does it have a radio (Wi-Fi, Bluetooth, mobile network, NFC, remote control)?"),
    "power": _l("Does it work on electricity (mains, battery or an external supply)?"),
    "voltage_ac": _l("Is it rated for mains or other AC voltage (50–1000 V)?"),
    "voltage_dc": _l("Is it rated for a DC voltage of 75 V or more?"),
    "battery": _l("Does it contain a battery?"),
    "lithium": _l("Is its battery lithium-based?"),
    "children": _l("Is it designed or intended for children under 14 to play with?"),
    "professional": _l("Is it for professional use only?"),
}
ATTRIBUTE_NAMES = {
    "radio": _l("radio"), "power": _l("power source"), "voltage_ac": _l("AC voltage"),
    "voltage_dc": _l("DC voltage"), "battery": _l("battery"), "lithium": _l("lithium battery"),
    "children": _l("for children"), "professional": _l("professional use"),
}
# The figures /indicators sets beside the real world's (search.agencies.FIGURES).
FIGURE_LABELS = {
    "markets": _l("Markets with schemes"),
    "iecee_member_countries": _l("IECEE CB Scheme member countries"),
    "ncbs": _l("IECEE National Certification Bodies (NCBs)"),
    "cbtls": _l("IECEE CB Testing Laboratories (CBTLs)"),
    "ncbs_with_categories": _l("NCBs whose accepted categories are known"),
    "cn_bilateral": _l("China's bilateral cooperation arrangements with foreign partners"),
    "cn_iec_bodies": _l("Chinese bodies in IEC conformity assessment systems"),
    "iaf_mla_economies": _l("Economies with an IAF MLA signatory"),
    "ilac_mra_economies": _l("Economies with an ILAC MRA signatory"),
}
# IECEE CB Scheme product categories (search/data/iecee_categories.csv and the categories the
# records name), as the IECEE names them in English.
IECEE_CATEGORY_LABELS = {
    "BATT": _l("Batteries"),
    "CABL": _l("Cables and cords"),
    "CAP": _l("Capacitors as components"),
    "CONT": _l("Switches and automatic controls for electrical household appliances"),
    "E3": _l("Energy efficiency"),
    "EMC": _l("Electromagnetic compatibility"),
    "HOUS": _l("Household and similar equipment"),
    "HSTS": _l("Hazardous substances"),
    "INST": _l("Installation accessories and connection devices"),
    "LITE": _l("Lighting"),
    "MEAS": _l("Measuring instruments"),
    "MED": _l("Electrical equipment for medical use"),
    "MISC": _l("Miscellaneous"),
    "OFF": _l("IT and office equipment"),
    "POW": _l("Low voltage, high power switching equipment"),
    "PROT": _l("Installation protective equipment"),
    "PV": _l("Photovoltaics"),
    "SAFE": _l("Safety transformers and similar equipment"),
    "TOOL": _l("Portable tools"),
    "TRON": _l("Electronics, entertainment"),
}
# What is known of a member country and a category in the IECEE matrix
# (search.agencies.category_state).
CATEGORY_STATES = {
    "yes": _l("Accepted"),
    "not_listed": _l("Not among the known categories"),
    "unknown": _l("NCB known, its categories not known"),
    "no_ncb": _l("Member, no NCB in our data"),
}
# The groups the coverage matrix is arranged by (search.agencies.GROUPS); unions are named as
# countries are (webapp.i18n.country_name).
GROUP_LABELS = {"ASEAN": _l("ASEAN"), "RCEP": _l("RCEP"), "BRI": _l("Belt and Road")}
POWER_LABELS = {"mains": _l("mains"), "dc": _l("external DC or USB supply"),
                "battery": _l("battery"), "none": _l("not electric")}

# The HS sections' titles (search/data/hs_sections.csv, HS 2022), for people in their language.
HS_SECTION_LABELS = {
    "I": _l('Live animals; animal products'),
    "II": _l('Vegetable products'),
    "III": _l('Animal or vegetable fats and oils and their cleavage products; prepared edible fats;'
        ' animal or vegetable waxes'),
    "IV": _l('Prepared foodstuffs; beverages, spirits and vinegar; tobacco and manufactured '
        'tobacco substitutes'),
    "V": _l('Mineral products'),
    "VI": _l('Products of the chemical or allied industries'),
    "VII": _l('Plastics and articles thereof; rubber and articles thereof'),
    "VIII": _l('Raw hides and skins, leather, furskins and articles thereof; saddlery and harness; '
        'travel goods, handbags and similar containers; articles of animal gut (other than '
        'silk-worm gut)'),
    "IX": _l('Wood and articles of wood; wood charcoal; cork and articles of cork; manufactures of'
        ' straw, of esparto or of other plaiting materials; basketware and wickerwork'),
    "X": _l('Pulp of wood or of other fibrous cellulosic material; recovered (waste and scrap) '
        'paper or paperboard; paper and paperboard and articles thereof'),
    "XI": _l('Textiles and textile articles'),
    "XII": _l('Footwear, headgear, umbrellas, sun umbrellas, walking-sticks, seat-sticks, whips, '
        'riding-crops and parts thereof; prepared feathers and articles made therewith; '
        'artificial flowers; articles of human hair'),
    "XIII": _l('Articles of stone, plaster, cement, asbestos, mica or similar materials; ceramic '
        'products; glass and glassware'),
    "XIV": _l('Natural or cultured pearls, precious or semi-precious stones, precious metals, '
        'metals clad with precious metal and articles thereof; imitation jewellery; coin'),
    "XV": _l('Base metals and articles of base metal'),
    "XVI": _l('Machinery and mechanical appliances; electrical equipment; parts thereof; sound '
        'recorders and reproducers, television image and sound recorders and reproducers, and'
        ' parts and accessories of such articles'),
    "XVII": _l('Vehicles, aircraft, vessels and associated transport equipment'),
    "XVIII": _l('Optical, photographic, cinematographic, measuring, checking, precision, '
        'medical or surgical instruments and apparatus; clocks and watches; musical '
        'instruments; parts and accessories thereof'),
    "XIX": _l('Arms and ammunition; parts and accessories thereof'),
    "XX": _l('Miscellaneous manufactured articles'),
    "XXI": _l("Works of art, collectors' pieces and antiques"),
}


VALUE_LABELS = {
    "type": {
        "regular": _l("Regular notification"),
        "revision": _l("Revision"),
        "addendum": _l("Addendum"),
        "corrigendum": _l("Corrigendum"),
        "supplement": _l("Supplement"),
        "multilateral": _l("Multilateral"),
        "regional": _l("Regional"),
        "bilateral": _l("Bilateral"),
        "fta-chapter": _l("Free trade agreement chapter"),
        "peer": _l("Peer evaluation scheme"),
    },
    "mandatory": {
        "mandatory": _l("Mandatory"),
        "voluntary": _l("Voluntary"),
        "none": _l("No such scheme in this market"),
        "unknown": _l("Not known"),
    },
    "product_groups": PRODUCT_GROUP_LABELS,
    "section": HS_SECTION_LABELS,
    # A scheme's mark when it has none, or no source says which.
    "mark": {"none": _l("No mark"), "unknown": _l("Not known")},
    # ePing's controlled list of objectives (search/data/objectives.json).
    "objectives": {
        "Protection of human health or safety": _l("Protection of human health or safety"),
        "Protection of animal or plant life or health":
            _l("Protection of animal or plant life or health"),
        "Protection of the environment": _l("Protection of the environment"),
        "Prevention of deceptive practices and consumer protection":
            _l("Prevention of deceptive practices and consumer protection"),
        "Consumer information, labelling": _l("Consumer information, labelling"),
        "Quality requirements": _l("Quality requirements"),
        "Harmonization": _l("Harmonization"),
        "National security requirements": _l("National security requirements"),
        "Reducing trade barriers and facilitating trade":
            _l("Reducing trade barriers and facilitating trade"),
        "Cost saving and productivity enhancement":
            _l("Cost saving and productivity enhancement"),
        "Food safety": _l("Food safety"),
        "Animal health": _l("Animal health"),
        "Plant protection": _l("Plant protection"),
        "Protect humans from animal/plant pest or disease":
            _l("Protect humans from animal/plant pest or disease"),
        "Protect territory from other damage from pests":
            _l("Protect territory from other damage from pests"),
    },
    "roles": {
        "member_body": _l("IECEE member body"),
        "ncb": _l("National Certification Body (NCB)"),
        "cbtl": _l("CB Testing Laboratory (CBTL)"),
        "iecex_cb": _l("IECEx Certification Body"),
        "iecex_extl": _l("IECEx Testing Laboratory"),
        "accreditation_body": _l("Accreditation body"),
        "iaf_mla_signatory": _l("IAF MLA signatory"),
        "ilac_mra_signatory": _l("ILAC MRA signatory"),
        "designated_cab": _l("Conformity assessment body designated under an MRA"),
        "notified_body": _l("Notified body"),
        "authority": _l("Authority"),
    },
    "cb_accepted": {
        "yes": _l("Yes"), "no": _l("No"), "partly": _l("Partly"), "unknown": _l("Not known"),
    },
    "step": STEP_LABELS,
    "attribute": ATTRIBUTE_NAMES,
    "power": POWER_LABELS,
    "publisher_kind": {
        "authority": _l("the authority"), "legislation": _l("the legislation"),
        "scheme_owner": _l("the scheme owner"), "recognised_body": _l("a recognised body"),
        "consultancy": _l("a consultancy or test laboratory"),
        "trade_association": _l("a trade association"), "press": _l("the press"),
        "academic": _l("an academic source"), "other": _l("another source"),
    },
}

# Fields holding country codes (shown with their CLDR name) and ids of other records (linked).
COUNTRY_FIELDS = frozenset({"member", "market", "jurisdiction", "country"})
LANGUAGE_FIELDS = frozenset({"language"})
ID_FIELDS = frozenset(
    {"related", "joint_symbols", "base_symbol", "parent_symbol", "regulations", "arrangements",
     "schemes", "accepts", "bodies", "absorbs", "superseded_by", "ncb", "products"}
)


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    if re.fullmatch(r"[a-z]{2}", str(name)):  # the language keys of names and translations
        from webapp.i18n import language_name

        return language_name(name)
    return re.sub(r"[_\-]+", " ", str(name)).strip().capitalize()


def value_labels(field: str, values: list[str]) -> str:
    """Coded values in words, joined ("ncb", "cbtl" → "National Certification Body …")."""
    return ", ".join(value_label(field, v) or v for v in values)


def objective_label(text: str) -> str:
    """A notification's objective as written, in the reader's language where it stands for
    names of ePing's controlled list; free text as it is."""
    from search.normalise import objectives

    names = objectives(text)
    return ", ".join(value_label("objectives", n) or n for n in names) if names else text


# An arrangement's status, as the curated files word its usual values (search.recognition reads
# the same words to tell whether results travel through it).
STATUS_LABELS = {
    "in force": _l("in force"), "signed": _l("signed"), "superseded": _l("superseded"),
    "policy": _l("policy framework"), "suspended": _l("suspended"), "unknown": _l("Not known"),
    "signed (cooperation)": _l("signed (cooperation only)"),
    "in force (cooperation)": _l("in force (cooperation only)"),
}


def status_label(status: str | None) -> tuple[str, str]:
    """An arrangement's status in the reader's language where it is one of the usual values,
    with what the source adds after it ("(per press reports)", "; administered since …")
    kept as written, apart: (label, the rest)."""
    if not status:
        return "", ""
    if status in STATUS_LABELS:
        return str(STATUS_LABELS[status]), ""
    head = re.match(r"[^(;]*", status).group(0).strip()
    if head in STATUS_LABELS:
        return str(STATUS_LABELS[head]), status[len(head):].strip()
    return "", status


def mark_label(mark: str | None) -> str:
    """A scheme's mark for people: "none" and "unknown" in words; an editorial note after
    "none" ("none (registered notification)") kept in brackets."""
    if not mark:
        return ""
    head, _sep, rest = mark.partition(" (")
    label = value_label("mark", head)
    return f"{label} ({rest}" if label and rest else label or mark


def value_label(field: str, value: object) -> str | None:
    """The label of a coded value, or None when the value is free text."""
    label = VALUE_LABELS.get(field, {}).get(value) if isinstance(value, str) else None
    return str(label) if label is not None else None


def category_label(code: str) -> str:
    """An IECEE category's name in the reader's language (the code where none is known)."""
    return str(IECEE_CATEGORY_LABELS.get(code, code))


def group_label(group: str | None) -> str:
    """A group of countries by name; no group is the markets of none of them."""
    if not group:
        return str(_l("Other markets"))
    if group in GROUP_LABELS:
        return str(GROUP_LABELS[group])
    from webapp.i18n import country_name

    return country_name(group)


def attribute_name(name: str) -> str:
    return str(ATTRIBUTE_NAMES.get(name, name))


def attribute_question(name: str) -> str:
    return str(ATTRIBUTE_QUESTIONS.get(name, name))


def attribute_value(name: str, value: object) -> str:
    """A product attribute as read: yes/no, power sources, a voltage range, or none."""
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if name == "power" and isinstance(value, list):
        return ", ".join(str(POWER_LABELS.get(v, v)) for v in value)
    if isinstance(value, list):
        if not value:
            return str(_l("none"))
        low, high = value
        return f"{low:g} V" if low == high else f"{low:g}–{high:g} V"
    return str(value)


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


def record_title(record: dict) -> str:
    """What a record is called: its title, name or (HS codes) code and description."""
    if record.get("kind") == "hscode":
        return f"{record.get('code', '')} {record.get('description', '')}".strip()
    if record.get("kind") == "product" and record.get("names", {}).get("en"):
        return record["names"]["en"][0]
    return record.get("title") or record.get("name") or record.get("description") or record["id"]


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


# Fields every record of a family shares; they come after what makes the record itself.
TRAILING_FIELDS = ("sources", "verified", "language", "note")


# Facts of a scheme shown even when empty: a gap must read "not known", not vanish.
SCHEME_FACTS = ("mark", "authority", "legal_basis", "mandatory", "route", "hs_prefixes",
                "categories", "keywords", "cb_accepted", "cb_note", "in_country_testing",
                "local_representative", "validity", "lead_time")
_SCOPE = ("hs_prefixes", "categories", "keywords")


def record_fields(record: dict) -> list[tuple[str, object]]:
    """The record's own fields in stored order, shared fields last; id, kind and provenance
    are shown apart, and a pointer to the record itself (an original notification's base
    symbol) is left out. A scheme shows each of its facts, known or not."""
    skip = {"id", "kind", *PROVENANCE}
    always = SCHEME_FACTS if record.get("kind") == "scheme" else ()
    fields = [
        (k, v) for k, v in record.items()
        if k not in skip and (k in always or not _is_empty(v))
        and not (k in ID_FIELDS and v == record["id"])
    ]
    return sorted(fields, key=lambda kv: kv[0] in TRAILING_FIELDS)


def fact_state(record: dict, field: str) -> str | None:
    """"unknown" for a scheme fact nobody filled in; "unverified" for a fact of a verified
    record that its sources did not confirm (an unverified record says so once, above)."""
    if record.get("kind") != "scheme" or field not in SCHEME_FACTS:
        return None
    value = record.get(field)
    if _is_empty(value) or (isinstance(value, str) and value.lower().startswith("unknown")):
        return "unknown"
    unconfirmed = set(record.get("unverified_fields", []))
    if record.get("verified") and (field in unconfirmed
                                   or (field in _SCOPE and "scope" in unconfirmed)):
        return "unverified"
    return None
