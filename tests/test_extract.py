"""Codes written in free text, as members write them."""

import pytest

from crawlers.extract import hs_codes_in_text, ics_codes_in_text


@pytest.mark.parametrize(("text", "codes"), [
    ("HS Code: from 870310 to 870390", ["8703"]),           # a range: its common heading
    ("8700", ["8700"]),                                     # the whole field is a code
    ("HS 8504.40, 8507.60 and 8544", ["850440", "850760", "8544"]),
    ("Passenger cars (HS code 8703) registered after 2020, 25 pages", ["8703"]),
    ("H.S. 0401 to 0406", ["0401", "0406"]),                # no common heading: both ends
    ("Toys; tariff lines 9503.00.10", ["95030010"]),
    ("HS: 8516.10; 8516.21 - 8516.29", ["851610", "851621", "851629"]),
    ("Regulation 2019 on 300 products", []),                 # numbers without an HS marker
    ("Road vehicles in general (ICS code(s): 43.020)", []),
    ("", []),
    (None, []),
])
def test_hs_codes_in_text(text, codes):
    assert hs_codes_in_text(text) == codes


def test_ics_codes_in_text():
    assert ics_codes_in_text("Road vehicles in general (ICS code(s): 43.020)",
                             "ICS 43.040.10, 43.040.20 and 13.220", None) == [
        "43.020", "43.040.10", "43.040.20", "13.220"]
    assert ics_codes_in_text("Regulation 43.020 of 2019") == []
