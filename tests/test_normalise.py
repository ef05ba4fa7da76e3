import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from search.normalise import (
    NormaliseError,
    Symbol,
    country,
    hs_code,
    hs_prefixes,
    ics_code,
    is_wto_member,
    iso_date,
    parse_symbol,
    split_symbols,
    wto_member_name,
)

CSV_PATH = Path(__file__).resolve().parents[1] / "search" / "data" / "wto_members.csv"


def _rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()


# --- symbols ---------------------------------------------------------------------------------

REAL_SYMBOLS = [
    ("G/TBT/N/ARE/378/Rev.1", "AE", "revision"),
    ("G/TBT/N/SAU/1437", "SA", "regular"),
    ("G/TBT/N/BHR/780", "BH", "regular"),
    ("G/TBT/N/KWT/654", "KW", "regular"),
    ("G/TBT/N/OMN/503", "OM", "regular"),
    ("G/TBT/N/QAT/663", "QA", "regular"),
    ("G/TBT/N/YEM/30", "YE", "regular"),
    ("G/TBT/N/TPKM/425/Add.5", "TW", "addendum"),
    ("G/TBT/N/HKG/123", "HK", "regular"),
    ("G/TBT/N/MAC/12", "MO", "regular"),
    ("G/TBT/N/CHN/1712", "CN", "regular"),
    ("G/TBT/N/KOR/1140/Add.1", "KR", "addendum"),
    ("G/TBT/N/JPN/800", "JP", "regular"),
    ("G/TBT/N/USA/2086/Add.1", "US", "addendum"),
    ("G/TBT/N/CAN/700/Rev.1/Add.2", "CA", "addendum"),
    ("G/TBT/N/EU/1033/Add.1/Corr.1", "EU", "corrigendum"),
    ("G/TBT/N/GBR/80", "GB", "regular"),
    ("G/TBT/N/TUR/210", "TR", "regular"),
    ("G/TBT/N/VNM/280", "VN", "regular"),
    ("G/TBT/N/IND/293", "IN", "regular"),
    ("G/TBT/N/BRA/1500", "BR", "regular"),
    ("G/TBT/N/KEN/1500", "KE", "regular"),
    ("G/TBT/N/UKR/300", "UA", "regular"),
    ("G/SPS/N/USA/1043", "US", "regular"),
    ("G/SPS/N/EU/100/Suppl.1", "EU", "supplement"),
]


@pytest.mark.parametrize(("text", "member", "kind"), REAL_SYMBOLS)
def test_real_symbols_round_trip(text, member, kind):
    parsed = parse_symbol(text)
    assert parsed.symbol == text
    assert str(parsed) == text
    assert parsed.member == member
    assert parsed.type == kind
    assert parsed.year is None


def test_tpkm_symbol_is_chinese_taipei():
    parsed = parse_symbol("G/TBT/N/TPKM/425/Add.5")
    assert parsed.area == "TBT"
    assert parsed.member_code == "TPKM"
    assert parsed.member == "TW"
    assert parsed.number == 425
    assert parsed.suffixes == (("Add", 5),)


def test_corrigendum_of_addendum():
    parsed = parse_symbol("G/TBT/N/EU/1033/Add.1/Corr.1")
    assert parsed == Symbol("TBT", "EU", "EU", 1033, (("Add", 1), ("Corr", 1)))
    assert parsed.type == "corrigendum"
    assert parsed.base_symbol == "G/TBT/N/EU/1033"
    assert parsed.parent_symbol == "G/TBT/N/EU/1033/Add.1"
    assert parse_symbol(parsed.parent_symbol).parent_symbol == "G/TBT/N/EU/1033"


def test_base_notification_has_no_parent():
    parsed = parse_symbol("G/TBT/N/SAU/1437")
    assert parsed.type == "regular"
    assert parsed.parent_symbol is None
    assert parsed.base_symbol == "G/TBT/N/SAU/1437"
    assert parsed.suffixes == ()


@pytest.mark.parametrize(
    "text",
    [
        "g/tbt/n/eu/1033/add.1/corr.1",
        "G/TBT/N/ EU/1033 /Add. 1/Corr. 1",
        "  G / TBT / N / EU / 1033 / ADD.1 / CORR.1  ",
        "G/TBT/N/EU/1033/Add 1/Corr 1",
        "G/TBT/N/EU/1033/Add1/Corr1",
        "G/TBT/N/eu/01033/Add.01/Corr.1",
    ],
)
def test_symbol_spelling_variants(text):
    assert parse_symbol(text).symbol == "G/TBT/N/EU/1033/Add.1/Corr.1"


def test_sps_symbol():
    parsed = parse_symbol("g/sps/n/usa/1043/add.2")
    assert parsed.area == "SPS"
    assert parsed.symbol == "G/SPS/N/USA/1043/Add.2"
    assert parsed.base_symbol == "G/SPS/N/USA/1043"


def test_legacy_eu_codes_in_symbols():
    assert parse_symbol("G/TBT/N/EEC/12").member == "EU"
    assert parse_symbol("G/SPS/N/EC/300").member == "EU"
    assert parse_symbol("G/SPS/N/EC/300").symbol == "G/SPS/N/EC/300"


def test_legacy_symbol_with_member():
    parsed = parse_symbol("G/TBT/Notif.96.123", member="Japan")
    assert parsed.member == "JP"
    assert parsed.member_code is None
    assert parsed.number == 123
    assert parsed.year == 1996
    assert parsed.symbol == "G/TBT/Notif.96.123"
    assert parsed.base_symbol == "G/TBT/Notif.96.123"
    assert parsed.type == "regular"


def test_legacy_symbol_variants():
    parsed = parse_symbol("g/tbt/notif. 99.7/Add.1", member="C682")
    assert parsed.member == "SA"
    assert parsed.year == 1999
    assert parsed.symbol == "G/TBT/Notif.99.7/Add.1"
    assert parsed.parent_symbol == "G/TBT/Notif.99.7"
    assert parse_symbol("G/TBT/Notif.00.5", member="US").year == 2000
    assert parse_symbol("G/TBT/Notif.1998.5", member="US").symbol == "G/TBT/Notif.98.5"


def test_legacy_symbol_without_member_is_rejected():
    with pytest.raises(NormaliseError, match=r"G/TBT/Notif\.96\.123"):
        parse_symbol("G/TBT/Notif.96.123")


def test_legacy_symbol_with_unknown_member_is_rejected():
    with pytest.raises(NormaliseError, match="Atlantis"):
        parse_symbol("G/TBT/Notif.96.123", member="Atlantis")


def test_unknown_member_code_is_rejected_naming_the_code():
    with pytest.raises(NormaliseError, match="XYZ") as caught:
        parse_symbol("G/TBT/N/XYZ/1")
    assert "G/TBT/N/XYZ/1" in str(caught.value)


def test_non_member_code_is_rejected():
    # Iran is not a WTO member, so it cannot have issued a notification.
    with pytest.raises(NormaliseError, match="IRN"):
        parse_symbol("G/TBT/N/IRN/1")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "G/TBT/N/EU",
        "G/TBT/N/EU/abc",
        "G/TBT/N/EU/1033/Amd.1",
        "G/TBT/N/EU/1033/Add.",
        "G/TBT/N/EU/1033/",
        "G/XYZ/N/EU/1033",
        "TBT/N/EU/1033",
        "G/TBT/N/1033",
        "G/TBT/Notif.96",
        "G/TBT/N/EU/1033 extra",
        "G/TBT/N/EU/1033, G/TBT/N/SAU/1",
    ],
)
def test_invalid_symbols_are_rejected_quoting_the_input(text):
    with pytest.raises(NormaliseError) as caught:
        parse_symbol(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "G/TBT/N/EU/1033" in message  # the expected shape is shown


def test_non_text_symbol_is_rejected():
    with pytest.raises(NormaliseError):
        parse_symbol(None)  # type: ignore[arg-type]


def test_normalise_error_is_a_value_error():
    assert issubclass(NormaliseError, ValueError)


def test_split_joint_notification():
    text = (
        "G/TBT/N/ARE/703, G/TBT/N/BHR/780; g/tbt/n/kwt/654\n"
        "G/TBT/N/OMN/503 and G/TBT/N/QAT/663 AND G/TBT/N/SAU/1437, G/TBT/N/ARE/703"
    )
    assert split_symbols(text) == [
        "G/TBT/N/ARE/703",
        "G/TBT/N/BHR/780",
        "G/TBT/N/KWT/654",
        "G/TBT/N/OMN/503",
        "G/TBT/N/QAT/663",
        "G/TBT/N/SAU/1437",
    ]


def test_split_keeps_order_and_removes_spelling_duplicates():
    text = "G/TBT/N/EU/1033/Add.1, g/tbt/n/eu/1033/add 1 ; G/TBT/N/ EU/1033"
    assert split_symbols(text) == ["G/TBT/N/EU/1033/Add.1", "G/TBT/N/EU/1033"]


def test_split_space_separated_and_single():
    assert split_symbols("G/TBT/N/ARE/703 G/TBT/N/GTM/12") == [
        "G/TBT/N/ARE/703",
        "G/TBT/N/GTM/12",
    ]
    assert split_symbols("G/TBT/N/SAU/1437") == ["G/TBT/N/SAU/1437"]
    assert split_symbols("") == []
    assert split_symbols(" , ;\n") == []


def test_split_accepts_legacy_symbols():
    assert split_symbols("G/TBT/Notif.96.123; G/TBT/N/USA/1") == [
        "G/TBT/Notif.96.123",
        "G/TBT/N/USA/1",
    ]


def test_split_rejects_a_bad_piece():
    with pytest.raises(NormaliseError, match="G/TBT/N/XYZ/1"):
        split_symbols("G/TBT/N/ARE/703, G/TBT/N/XYZ/1")
    with pytest.raises(NormaliseError, match="nonsense"):
        split_symbols("G/TBT/N/ARE/703, nonsense")


# --- countries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C682", "SA"),
        ("c 682", "SA"),
        ("C048", "BH"),
        ("C158", "TW"),
        ("U918", "EU"),
        ("Bahrain, Kingdom of", "BH"),
        ("Kuwait, the State of", "KW"),
        ("Saudi Arabia, Kingdom of", "SA"),
        ("Chinese Taipei", "TW"),
        ("Chinese Taipei (台澎金马单独关税区)", "TW"),
        ("Taiwan", "TW"),
        ("TPKM", "TW"),
        ("HKG", "HK"),
        ("Hong Kong, China", "HK"),
        ("MAC", "MO"),
        ("SAU", "SA"),
        ("sau", "SA"),
        ("sa", "SA"),
        (" SA ", "SA"),
        ("682", "SA"),
        ("48", "BH"),
        ("United States (美国)", "US"),
        ("United States（美国）", "US"),
        ("united   states", "US"),
        ("USA", "US"),
        ("EU", "EU"),
        ("European Union", "EU"),
        ("European Communities", "EU"),
        # Unions with technical regulations of their own: markets in the knowledge base.
        ("EAEU", "EAEU"),
        ("eaeu", "EAEU"),
        ("Eurasian Economic Union", "EAEU"),
        ("GCC", "GCC"),
        ("Gulf Cooperation Council", "GCC"),
        ("Cooperation Council for the Arab States of the Gulf", "GCC"),
        ("KSA", "SA"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Türkiye", "TR"),
        ("Turkiye", "TR"),
        ("Turkey", "TR"),
        ("Côte d'Ivoire", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Gambia, The", "GM"),
        ("UK", "GB"),
        # Not WTO members, but valid countries through CLDR.
        ("Iran", "IR"),
        ("IRN", "IR"),
        ("Congo - Kinshasa", "CD"),
        ("Curacao", "CW"),  # CLDR spells it "Curaçao": accents must not matter
        ("Reunion", "RE"),
        ("EC", "EC"),  # Ecuador: the old EU symbol code must not leak into country()
    ],
)
def test_country_accepts_every_form(value, expected):
    assert country(value) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "Atlantis", "XX", "ZZ", "EZ", "Eurozone", "C999", "U123", "12345", "美国"]
)
def test_unknown_country_is_rejected_quoting_the_input(value):
    with pytest.raises(NormaliseError) as caught:
        country(value)
    assert repr(value) in str(caught.value)


def test_country_rejects_non_text():
    with pytest.raises(NormaliseError):
        country(682)  # type: ignore[arg-type]


def test_wto_member_name():
    assert wto_member_name("SA") == "Saudi Arabia, Kingdom of"
    assert wto_member_name("TW") == "Chinese Taipei"
    assert wto_member_name("EU") == "European Union"
    assert wto_member_name("tr") == "Türkiye"
    assert wto_member_name("IR") == "Iran"  # CLDR fallback for a non-member
    assert wto_member_name("GCC") == "Gulf Cooperation Council"  # a union, not a member
    with pytest.raises(NormaliseError, match="Atlantis"):
        wto_member_name("Atlantis")


def test_is_wto_member():
    assert is_wto_member("SA")
    assert is_wto_member("EU")
    assert is_wto_member("TW")
    assert is_wto_member("KM")  # Comoros, joined 2024
    assert is_wto_member("TL")  # Timor-Leste, joined 2024
    assert not is_wto_member("IR")
    assert not is_wto_member("DZ")
    assert not is_wto_member("GCC")  # its states notify, each under its own symbol
    assert not is_wto_member("Atlantis")


# --- the member table ------------------------------------------------------------------------


def test_member_table_shape():
    assert len(ROWS) == 166
    assert list(ROWS[0]) == ["code", "symbol_code", "wto_name_en", "alt_names", "eping_id"]
    for column in ("code", "symbol_code", "wto_name_en", "eping_id"):
        values = [row[column] for row in ROWS]
        assert len(set(values)) == len(values), column
        assert all(values), column


def test_member_table_eping_ids_follow_iso_numeric():
    by_code = {row["code"]: row["eping_id"] for row in ROWS}
    assert by_code["SA"] == "C682"
    assert by_code["BH"] == "C048"
    assert by_code["EU"] == "U918"
    assert by_code["TW"] == "C158"
    for row in ROWS:
        if row["code"] != "EU":
            assert country(row["eping_id"][1:]) == row["code"]


@pytest.mark.parametrize("row", ROWS, ids=[row["code"] for row in ROWS])
def test_member_row_round_trips(row):
    code = row["code"]
    assert country(code) == code
    assert country(code.lower()) == code
    assert country(row["wto_name_en"]) == code
    assert country(row["wto_name_en"].upper()) == code
    assert country(row["eping_id"]) == code
    assert country(row["symbol_code"]) == code
    assert wto_member_name(code) == row["wto_name_en"]
    assert is_wto_member(code)
    for alt in filter(None, row["alt_names"].split(";")):
        assert country(alt) == code, alt


# --- HS and ICS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8703.23", "870323"),
        ("8703 23 19", "87032319"),
        ("8703-23-19", "87032319"),
        ("0101.21", "010121"),
        (" 87 ", "87"),
        ("8703231990", "8703231990"),
        ("870", "870"),
        (8703, "8703"),
    ],
)
def test_hs_code(value, expected):
    assert hs_code(value) == expected


@pytest.mark.parametrize(
    "value", ["", "8", "87032319901", "8703.2x", "HS 8703", "87/03", "８７０３", "-", -8703, True]
)
def test_bad_hs_code_is_rejected_quoting_the_input(value):
    with pytest.raises(NormaliseError) as caught:
        hs_code(value)
    assert repr(value) in str(caught.value)


def test_hs_prefixes():
    assert hs_prefixes("87032319") == ("87", "8703", "870323", "87032319")
    assert hs_prefixes("8703.23") == ("87", "8703", "870323")
    assert hs_prefixes("8703231") == ("87", "8703", "870323", "8703231")
    assert hs_prefixes("870") == ("87", "870")
    assert hs_prefixes("87") == ("87",)
    with pytest.raises(NormaliseError):
        hs_prefixes("8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("43", "43"),
        ("43.020", "43.020"),
        ("43.040.10", "43.040.10"),
        ("ICS 43.040.10", "43.040.10"),
        ("ics:43.040", "43.040"),
        (" 43 . 040 . 10 ", "43.040.10"),
    ],
)
def test_ics_code(value, expected):
    assert ics_code(value) == expected


@pytest.mark.parametrize(
    "value", ["", "4", "430", "43.02", "43.0200", "43.040.1", "43.040.100", "43.040.10.5", "ab"]
)
def test_bad_ics_code_is_rejected_quoting_the_input(value):
    with pytest.raises(NormaliseError) as caught:
        ics_code(value)
    assert repr(value) in str(caught.value)


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 6, 2), "2026-06-02"),
        (datetime(2026, 6, 2, 23, 30), "2026-06-02"),
        (datetime(2026, 6, 2, 23, 30, tzinfo=UTC), "2026-06-02"),
        ("2026-06-02", "2026-06-02"),
        ("2026-06-02T00:00:00", "2026-06-02"),
        ("2026-06-02T00:00:00Z", "2026-06-02"),
        ("2026-06-02T23:59:59.123+02:00", "2026-06-02"),
        ("2026-06-02 08:00", "2026-06-02"),
        ("02005-03-21", "2005-03-21"),
        ("2005/03/21", "2005-03-21"),
        ("2005/3/1", "2005-03-01"),
        ("21 March 2005", "2005-03-21"),
        ("1 Sept. 2005", "2005-09-01"),
        ("21 mar 2005", "2005-03-21"),
        ("March 21, 2005", "2005-03-21"),
        ("Dec 1, 2005", "2005-12-01"),
        ("  2026-06-02  ", "2026-06-02"),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_iso_date(value, expected):
    assert iso_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",
        "2026-13-01",
        "12005-03-21",
        "2026-06-02T25:00",
        "2026-06-02Tnoon",
        "21/03/2005",
        "21 Marchember 2005",
        "Smarch 21, 2005",
        "yesterday",
        "2026",
        20260602,
    ],
)
def test_bad_date_is_rejected_quoting_the_input(value):
    with pytest.raises(NormaliseError) as caught:
        iso_date(value)
    assert repr(value) in str(caught.value)
