"""The scope model evaluated: classes, listed products, attribute conditions with three values,
exclusions, dates and one act absorbing another. Schemes here are small records in the curated
format, loaded through the record schema, so the rules are tested on the shape the data has."""

from __future__ import annotations

from datetime import date

import pytest

from search.attributes import Attributes
from search.matcher import Knowledge, describe, requirements
from search.records import load_record
from search.scope import Product, evaluate, verdict

ON = date(2026, 12, 3)
SOURCE = [{"url": "https://eur-lex.europa.eu/eli/dir/2014/35/oj"}]


def scheme(id_: str, **fields) -> dict:
    data = {"id": id_, "market": "EU", "name": id_, "mandatory": "mandatory", "source": "curated",
            "source_url": SOURCE[0]["url"], "fetched_at": "2026-12-03", "sources": SOURCE,
            **fields}
    return load_record("scheme", data)


LVD = scheme("eu-lvd", classes=["electrical equipment"],
             conditions=[{"voltage_ac": [50, 1000]}, {"voltage_dc": [75, 1500]}])
RED = scheme("eu-red", classes=["radio equipment"], absorbs=["eu-lvd", "eu-emc"])
EMC = scheme("eu-emc", classes=["electrical equipment"])
LABEL = scheme("eu-label-fridges", listed_only=True, keywords=["refrigerator"],
               classes=["household appliance"], hs_prefixes=["8418"])
MACHINERY = scheme("eu-md", classes=["machinery"], applies_until="2027-01-19",
                   exclusions={"classes": ["household appliance"]})
MACHINERY_REG = scheme("eu-mr", classes=["machinery"], applies_from="2027-01-20",
                       exclusions={"classes": ["household appliance"]})
TOYS = scheme("eu-toys", classes=["toy"], conditions=[{"children": True}])


def product(classes=(), words=(), codes=(), maybe=None, **attrs) -> Product:
    return Product(list(codes), set(words), set(classes), maybe or {}, set(), set(),
                   Attributes(**attrs))


def test_voltage_limits_decide_with_three_values():
    mains = product({"electrical equipment"}, voltage_ac=(230, 230), voltage_dc=())
    usb = product({"electrical equipment"}, voltage_ac=(), voltage_dc=(5, 20))
    unknown = product({"electrical equipment"})
    assert verdict(LVD, mains, ON).status == "applies"
    assert verdict(LVD, usb, ON).status == "not"
    v = verdict(LVD, unknown, ON)
    assert v.status == "conditional" and set(v.questions) == {"voltage_ac", "voltage_dc"}


def test_a_high_dc_voltage_is_enough():
    assert verdict(LVD, product({"electrical equipment"}, voltage_ac=(), voltage_dc=(400, 800)),
                   ON).status == "applies"


def test_listed_only_acts_ignore_classes():
    kettle = product({"household appliance"}, words={"kettle"}, codes=["851671"])
    fridge = product({"household appliance"}, words={"refrigerator"}, codes=["841821"])
    assert verdict(LABEL, kettle, ON).status == "out"
    assert verdict(LABEL, fridge, ON).status == "applies"


def test_exclusions_take_the_product_out():
    hair_dryer = product({"household appliance", "machinery"})
    assert verdict(MACHINERY, hair_dryer, ON).status == "excluded"
    assert verdict(MACHINERY, product({"machinery"}), ON).status == "applies"


def test_a_product_exclusion_holds_for_that_product_not_for_a_code_that_may_be_it():
    batteries = scheme("jp-li-ion", listed_only=True, hs_prefixes=["850760"],
                       exclusions={"products": ["product-power-station"]})
    station = Product(["850760"], set(), set(), {}, set(), {"product-power-station"},
                      Attributes())
    any_850760 = Product(["850760"], set(), set(), {}, set(),
                         {"product-power-station", "product-power-bank"}, Attributes())
    assert verdict(batteries, station, ON).status == "excluded"
    assert verdict(batteries, any_850760, ON).status == "applies"


def test_dates_put_later_acts_under_upcoming_and_drop_ended_ones():
    lathe = product({"machinery"})
    assert verdict(MACHINERY_REG, lathe, ON).status == "upcoming"
    later = date(2027, 2, 1)
    assert verdict(MACHINERY_REG, lathe, later).status == "applies"
    assert verdict(MACHINERY, lathe, later).status == "ended"


def test_a_class_that_depends_on_an_unknown_attribute_makes_it_conditional():
    toy = product({"toy"}, maybe={"electrical equipment": "power"}, children=True)
    v = verdict(EMC, toy, ON)
    assert v.status == "conditional" and v.questions == ["power"]
    assert verdict(TOYS, toy, ON).status == "applies"
    assert verdict(TOYS, product({"toy"}, children=False), ON).status == "not"


@pytest.mark.parametrize("conditions, attrs, expected", [
    ([{"radio": True}], {"radio": True}, True),
    ([{"radio": True}], {"radio": False}, False),
    ([{"radio": True}], {}, None),
    ([{"power": ["mains"]}], {"power": frozenset({"battery"})}, False),
    ([{"power": ["mains"], "children": True}], {"power": frozenset({"mains"})}, None),
    ([{"battery": True}, {"radio": True}], {"battery": False, "radio": True}, True),
    ([], {}, True),
])
def test_alternatives_of_attribute_tests(conditions, attrs, expected):
    assert evaluate(conditions, Attributes(**attrs))[0] is expected


def _kb(*schemes) -> Knowledge:
    return Knowledge(list(schemes))


def test_the_specific_act_absorbs_the_general_ones_when_it_applies():
    kb = _kb(LVD, RED, EMC)
    router = product({"electrical equipment", "radio equipment"}, radio=True,
                     voltage_ac=(230, 230), voltage_dc=())
    found = requirements(kb, "EU", router, ON)
    assert [r["scheme"]["id"] for r in found["requirements"]] == ["eu-red"]
    assert found["requirements"][0]["includes"] == ["eu-emc", "eu-lvd"]
    assert {a["scheme"]["id"] for a in found["absorbed"]} == {"eu-lvd", "eu-emc"}


def test_an_act_that_only_may_apply_leaves_the_general_ones_with_a_note():
    kb = _kb(LVD, RED, EMC)
    speaker = product({"electrical equipment"}, maybe={"radio equipment": "radio"},
                      voltage_ac=(230, 230), voltage_dc=())
    found = requirements(kb, "EU", speaker, ON)
    by_id = {r["scheme"]["id"]: r for r in found["requirements"]}
    assert by_id["eu-red"]["status"] == "conditional" and by_id["eu-red"]["if"] == ["radio"]
    assert by_id["eu-lvd"]["status"] == "applies"
    assert by_id["eu-lvd"]["unless"] == {"scheme": "eu-red", "if": ["radio"]}


def test_union_members_get_the_unions_requirements():
    kb = _kb(EMC)
    found = requirements(kb, "DE", product({"electrical equipment"}), ON)
    assert [r["inherited_from"] for r in found["requirements"]] == ["EU"]


def test_unstated_radio_is_assumed_absent_only_where_radios_are_rare():
    kettle = {"id": "p-kettle", "group": "household appliances", "names": {"en": ["kettle"]}}
    speaker = {"id": "p-speaker", "group": "IT and audio-video equipment",
               "names": {"en": ["speaker"]}}
    described, assumptions = describe([kettle], "kettle", [])
    assert described.attributes.radio is False and assumptions[0]["attribute"] == "radio"
    smart, _ = describe([kettle], "smart kettle", [])
    assert smart.attributes.radio is None and "radio equipment" in smart.maybe_classes
    spoken, _ = describe([speaker], "speaker", [])
    assert spoken.attributes.radio is None and "radio equipment" in spoken.maybe_classes
