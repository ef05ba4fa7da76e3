"""Reading what a product is from how buyers describe it, in the six languages: radio and its
negation, voltages with their units, batteries, children, power source."""

from __future__ import annotations

import pytest

from search.attributes import (
    Attributes,
    english_terms,
    from_record,
    read,
    read_radio,
    read_voltages,
    settle,
)


@pytest.mark.parametrize("text", [
    "Wi-Fi smart plug", "Bluetooth speaker", "wireless earbuds", "router with WLAN",
    "无线鼠标", "带蓝牙的音箱", "WiFi摄像头", "enceinte sans fil", "écouteurs Bluetooth",
    "altavoz inalámbrico", "auriculares Bluetooth", "беспроводные наушники",
    "колонка с блютуз", "радиоуправляемая машинка", "سماعة لاسلكية", "مكبر صوت بلوتوث",
    "toy car, radio-controlled", "GPS tracker", "NFC reader", "4G LTE router",
    "bluetooth-enabled scale", "audífonos sin cables", "fone de ouvido sem fio",
    "ワイヤレスイヤホン", "Bluetooth対応スピーカー", "مكنسة روبوت بتحكم عبر تطبيق واي فاي، بطارية",
    "درون، جهاز تحكم 2.4 غيغاهرتز", "baby monitor 2.4GHz", "gate remote 433MHz",
])
def test_radio_words_make_a_radio_device(text):
    assert read_radio(text) is True


@pytest.mark.parametrize("text", [
    "power bank, no radio", "kettle without Wi-Fi", "speaker (no Bluetooth, no Wi-Fi)",
    "wired headphones", "Bluetooth: no", "non-wireless keyboard", "无无线功能的电水壶",
    "不带蓝牙", "没有WiFi的路由器", "cargador sin Bluetooth", "lámpara sin wifi",
    "chargeur sans Bluetooth", "lampe sans Wi-Fi", "чайник без Wi-Fi",
    "наушники без Bluetooth", "колонка без радиомодуля", "مكواة بدون بلوتوث",
    "شاحن بدون واي فاي", "without any wireless connectivity",
    "fritadeira elétrica sem óleo, sem Wi-Fi", "Wasserkocher ohne WLAN",
    "モバイルバッテリー 10000mAh、ワイヤレス充電なし", "ワイヤレス充電非対応の充電器",
])
def test_negated_radio_words_say_it_has_none(text):
    assert read_radio(text) is False


@pytest.mark.parametrize("text", ["electric kettle 2200 W", "LED bulb E27", "toaster",
                                  "radiator heater", "cordless drill 18 V"])
def test_no_radio_word_leaves_radio_unknown(text):
    assert read_radio(text) is None


def test_a_negation_does_not_reach_past_the_clause():
    # "no batteries" says nothing of the Bluetooth that follows the comma.
    assert read_radio("no batteries, Bluetooth 5.0") is True
    assert read("no batteries, Bluetooth 5.0").battery is False


@pytest.mark.parametrize("text, ac, dc", [
    ("electric kettle, 2200 W, 230 V AC", (230, 230), None),
    ("power bank 5–20 V DC", None, (5, 20)),
    ("wall wart 5V 2A", None, (5, 5)),
    ("100-240V~ 50/60Hz input, 5V 2A output", (100, 240), (5, 5)),
    ("AC 220V", (220, 220), None),
    ("DC 12V", None, (12, 12)),
    ("电水壶 220V", (220, 220), None),
    ("交流220伏", (220, 220), None),
    ("чайник 220 В", (220, 220), None),
    ("cafetera 120 V CA", (120, 120), None),
    ("lampe 12 V CC", None, (12, 12)),
    ("غلاية 230 فولت", (230, 230), None),
    ("e-bike battery 36V", None, (36, 36)),
    ("inverter 48 VDC input", None, (48, 48)),
    ("2200 W heater", None, None),
])
def test_rated_voltages_with_their_units(text, ac, dc):
    found_ac, found_dc, _said = read_voltages(text)
    assert found_ac == ac and found_dc == dc


def test_a_power_bank_as_a_buyer_describes_it():
    attrs = settle(read("power bank (lithium-ion, 10,000 mAh, USB-C, 5–20 V DC, no radio)"))
    assert (attrs.radio, attrs.battery, attrs.lithium) == (False, True, True)
    assert attrs.power == frozenset({"battery"})
    assert attrs.voltage_dc == (5, 20) and attrs.voltage_ac == ()  # known: no AC rating


@pytest.mark.parametrize("text", ["toy for children", "juguete para niños", "jouet pour enfants",
                                  "детская игрушка", "儿童玩具", "لعبة للأطفال"])
def test_children(text):
    assert read(text).children is True


def test_not_for_children():
    assert read("LED string lights, for adults, not a toy").children is False


def test_unpowered_products_have_no_electrical_attributes():
    attrs = settle(read("wooden toy, no batteries"))
    assert attrs.power == frozenset({"none"}) and attrs.radio is False
    assert attrs.battery is False and attrs.voltage_ac == ()


def test_what_is_stated_wins_over_words_and_nature():
    nature = from_record({"battery": True, "power": ["battery"]}, "product-x")
    described = read("speaker, Bluetooth")
    stated = Attributes(radio=False, said={"radio": "form"})
    attrs = stated.over(described.over(nature))
    assert attrs.radio is False and attrs.said["radio"] == "form"
    assert attrs.battery is True and attrs.said["battery"] == "product-x"


def test_mains_products_have_no_dc_rating_and_battery_ones_no_ac():
    assert settle(Attributes(power=frozenset({"mains"}))).voltage_dc == ()
    assert settle(Attributes(power=frozenset({"battery"}))).voltage_ac == ()
    assert settle(Attributes()).voltage_ac is None


@pytest.mark.parametrize("text", ["发光魔法棒玩具,3节AAA电池,无电机", "遥控车 4节AA电池",
                                  "pilot with 2 AAA batteries"])
def test_counted_batteries_in_any_script(text):
    assert read(text).battery is True


@pytest.mark.parametrize("text", ["Bloques de construcción de madera para bebés", "jouet en bois",
                                  "木制积木", "деревянный конструктор", "لعبة خشبية"])
def test_wooden_products_are_not_electric(text):
    assert read(text).power == frozenset({"none"})


@pytest.mark.parametrize("text, term", [
    ("Bloques de construcción de madera para bebés", "baby"), ("积木 婴儿", "baby"),
    ("مكعبات بناء خشبية للرضع", "baby"), ("Mando a distancia, 1 pila de botón CR2032", "coin cell"),
    ("пульт, батарейка-таблетка CR2032", "coin cell"), ("万能遥控器,纽扣电池", "coin cell"),
    ("发光魔法棒玩具", "light-up"), ("baguette lumineuse", "light-up"),
])
def test_keyword_terms_said_in_other_languages(text, term):
    assert term in english_terms(text)


def test_a_negated_term_is_not_said():
    assert "coin cell" not in english_terms("télécommande sans pile bouton")
