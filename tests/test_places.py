"""Place names against the real gazetteer: datelines, mentions, keys and display names."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import searchsvc.places.dateline as datelines
from searchsvc.articles.model import Place
from searchsvc.places import find_places, get_gazetteer, resolve_dateline_place

BAKU = "geo:587084"
KEY_SHAPE = re.compile(r"geo:\d+|country:[A-Z]{2}|raw:[^\W_A-Z]+(?:-[^\W_A-Z]+)*")


def keys(places: tuple[Place, ...]) -> list[str]:
    return [place.key for place in places]


def test_baku_resolves_to_baku_azerbaijan() -> None:
    place = resolve_dateline_place("Baku")
    assert place == Place(
        key=BAKU, name="Baku", country="AZ", country_name="Azerbaijan", display="Baku, Azerbaijan"
    )


@pytest.mark.parametrize(
    ("dateline", "key", "display"),
    [
        ("BAKU", BAKU, "Baku, Azerbaijan"),
        ("DHAKA, Bangladesh", "geo:1185241", "Dhaka, Bangladesh"),
        ("NEW YORK", "geo:5128581", "New York City, United States"),
        ("WASHINGTON", "geo:4140963", "Washington, United States"),
        ("LONDON", "geo:2643743", "London, United Kingdom"),
        ("TOKYO", "geo:1850147", "Tokyo, Japan"),
        ("BRUSSELS", "geo:2800866", "Brussels, Belgium"),
        ("KUALA LUMPUR", "geo:1735161", "Kuala Lumpur, Malaysia"),
        ("RIO DE JANEIRO", "geo:3451190", "Rio de Janeiro, Brazil"),
        ("SAO PAULO", "geo:3448439", "São Paulo, Brazil"),
        ("MEXICO CITY", "geo:3530597", "Mexico City, Mexico"),
        ("ST. LOUIS", "geo:4407066", "St. Louis, United States"),
        ("ST LOUIS", "geo:4407066", "St. Louis, United States"),
        ("FT. WORTH", "geo:4691930", "Fort Worth, United States"),
        ("NEW DELHI", "geo:1261481", "New Delhi, India"),
        ("THE HAGUE", "geo:2747373", "The Hague, The Netherlands"),
        ("CALGARY, Alberta", "geo:5913490", "Calgary, Canada"),
        # A city-state or a country as a dateline is the country.
        ("SINGAPORE", "country:SG", "Singapore"),
        ("HONG KONG", "country:HK", "Hong Kong"),
        ("KUWAIT", "country:KW", "Kuwait"),
        ("El Salvador", "country:SV", "El Salvador"),
        # A date the caller left on is ignored.
        ("SALVADOR, Feb 26 -", "geo:3450554", "Salvador, Brazil"),
        ("ARMONK, N.Y., March 2 -", "raw:armonk-ny", "Armonk, N.Y., United States"),
    ],
)
def test_datelines_as_wires_write_them(dateline: str, key: str, display: str) -> None:
    place = resolve_dateline_place(dateline)
    assert place is not None
    assert (place.key, place.display) == (key, display)


@pytest.mark.parametrize(
    ("dateline", "key", "name"),
    [
        ("PEKING", "geo:1816670", "Beijing"),
        ("BOMBAY", "geo:1275339", "Mumbai"),
        ("RANGOON", "geo:1298824", "Yangon"),
        ("LENINGRAD", "geo:498817", "Saint Petersburg"),
        ("WEST BERLIN", "geo:2950159", "Berlin"),
        ("EAST BERLIN", "geo:2950159", "Berlin"),
        ("BONN", "geo:2946447", "Bonn"),
        ("CALCUTTA", "geo:1275004", "Kolkata"),
        ("MADRAS", "geo:1264527", "Chennai"),
        ("SAIGON", "geo:1566083", "Ho Chi Minh City"),
        ("CANTON", "geo:1809858", "Guangzhou"),
        ("WEST GERMANY", "country:DE", "Germany"),
        ("EAST GERMANY", "country:DE", "Germany"),
        ("SOVIET UNION", "country:RU", "Russia"),
        ("USSR", "country:RU", "Russia"),
        ("BURMA", "country:MM", "Myanmar"),
    ],
)
def test_1987_names_are_keyed_to_the_modern_entry(dateline: str, key: str, name: str) -> None:
    place = resolve_dateline_place(dateline)
    assert place is not None
    assert (place.key, place.name) == (key, name)


def test_town_missing_from_gazetteer_is_kept_as_written_with_its_country() -> None:
    place = resolve_dateline_place("ARMONK, N.Y.")
    assert place == Place(
        key="raw:armonk-ny",
        name="Armonk",
        country="US",
        country_name="United States",
        display="Armonk, N.Y., United States",
    )


@pytest.mark.parametrize(
    ("dateline", "country"),
    [
        ("SMALLTOWN, Deutschland", "DE"),
        ("SMALLTOWN, UdSSR", "RU"),
        ("SMALLTOWN, DDR", "DE"),
        ("BERN, Schweiz", "CH"),
        ("SMALLTOWN, Netherlands", "NL"),
        ("SMALLTOWN, Nederland", "NL"),
        ("SMALLTOWN, Österreich", "AT"),
        ("SMALLTOWN, Bundesrepublik Deutschland", "DE"),
        ("SMALLTOWN, Union of Soviet Socialist Republics", "RU"),
        ("SMALLTOWN, Republic of Korea", "KR"),
        ("SMALLTOWN, New Hebrides", "VU"),
        ("GEORGE TOWN, Grand Cayman", "KY"),
    ],
)
def test_foreign_country_names_in_qualifiers_give_the_country(dateline: str, country: str) -> None:
    place = resolve_dateline_place(dateline)
    assert place is not None
    assert place.country == country


@pytest.mark.parametrize(
    ("dateline", "state"),
    [
        ("PORTLAND, Me.", "Maine"),
        ("SPRINGFIELD, Il.", "Illinois"),
        ("BOSTON, MA.", "Massachusetts"),
        ("LEXINGTON, Ken.", "Kentucky"),
        ("WHEELING, W. Va.", "West Virginia"),
        ("DES MOINES, Ia.", "Iowa"),
    ],
)
def test_state_abbreviations_are_us_states_not_country_codes(dateline: str, state: str) -> None:
    """A dateline's "Me." is Maine, not Montenegro's ISO code; "Il." Illinois, not Israel."""
    town = dateline.split(",")[0]
    place = resolve_dateline_place(dateline)
    reference = resolve_dateline_place(f"{town}, {state}")
    assert place is not None and reference is not None
    assert place.country == "US"
    assert place.key == reference.key


def test_unknown_town_without_qualifier_is_kept_without_a_country() -> None:
    place = resolve_dateline_place("XYZZYVILLE")
    assert place is not None
    assert (place.key, place.name, place.country) == ("raw:xyzzyville", "Xyzzyville", None)


def test_us_state_qualifier_picks_the_town_in_that_state() -> None:
    maine = resolve_dateline_place("PORTLAND, Maine")
    oregon = resolve_dateline_place("PORTLAND, Ore.")
    assert maine is not None and oregon is not None
    assert maine.key != oregon.key
    assert maine.country == oregon.country == "US"


@pytest.mark.parametrize("dateline", ["", "   ", " - "])
def test_empty_dateline_has_no_place(dateline: str) -> None:
    assert resolve_dateline_place(dateline) is None


def test_dateline_ambiguity_is_settled_by_the_country_the_story_names() -> None:
    story = "Costa Rica's coffee exports rose, Costa Rica's central bank said."
    plain = resolve_dateline_place("SAN JOSE")
    costa_rica = resolve_dateline_place("SAN JOSE", story)
    assert plain is not None and costa_rica is not None
    assert plain.country == "US"
    assert costa_rica.country == "CR"
    # What the dateline says alone is remembered; each story still settles its own.
    assert resolve_dateline_place("SAN JOSE") == plain
    assert resolve_dateline_place("SAN JOSE", "Nothing about where.") == plain
    assert resolve_dateline_place("SAN JOSE", story) == costa_rica


@pytest.mark.parametrize(
    "mutate",
    [
        lambda rivals: rivals.clear(),
        lambda rivals: rivals.reverse(),
        lambda rivals: rivals.__setitem__(0, rivals[-1]),
        lambda rivals: rivals.__delitem__(slice(1, None)),
    ],
    ids=["clear", "reverse", "replace-first", "drop-rest"],
)
def test_a_caller_cannot_change_what_a_dateline_is_remembered_as(mutate) -> None:
    datelines._read_dateline.cache_clear()
    story = "Costa Rica's coffee exports rose, Costa Rica's central bank said."
    costa_rica = resolve_dateline_place("SAN JOSE", story)
    place, rivals = datelines._read_dateline("SAN JOSE", get_gazetteer())
    assert rivals is not None and len(rivals) > 1
    answer = (place, list(rivals))
    with contextlib.suppress(AttributeError, TypeError):  # an immutable answer refuses
        mutate(rivals)
    place_again, rivals_again = datelines._read_dateline("SAN JOSE", get_gazetteer())
    assert (place_again, list(rivals_again or ())) == answer
    assert resolve_dateline_place("SAN JOSE", story) == costa_rica
    assert costa_rica is not None and costa_rica.country == "CR"


def test_a_passing_mention_does_not_move_a_well_known_dateline() -> None:
    gatt = "GATT talks resumed. The U.S. delegate said the U.S. would not yield."
    geneva = resolve_dateline_place("GENEVA", gatt)
    washington = resolve_dateline_place("WASHINGTON", "Britain and Britain's allies agreed.")
    assert geneva is not None and washington is not None
    assert geneva.display == "Geneva, Switzerland"
    assert washington.display == "Washington, United States"


def test_salvador_in_a_story_about_brazil_is_salvador_bahia() -> None:
    story = "Showers continued in the Bahia cocoa zone, Brazil's main growing area."
    place = resolve_dateline_place("SALVADOR", story)
    assert place is not None
    assert (place.key, place.display) == ("geo:3450554", "Salvador, Brazil")


def test_town_mentions_are_read_in_the_light_of_the_story_country() -> None:
    new_york = resolve_dateline_place("NEW YORK")
    bonn = resolve_dateline_place("BONN")
    american = find_places("The Hanover plant will close.", new_york)
    german = find_places("The Hanover fair opened.", bonn)
    assert [p.country for p in american] == ["US", "US"]
    assert german[1].display == "Hannover, Germany"


def test_georgia_in_an_american_story_is_the_state() -> None:
    atlanta = resolve_dateline_place("ATLANTA")
    places = find_places("The Georgia legislature voted on Tuesday.", atlanta)
    assert keys(places) == [atlanta.key, "country:US"]
    assert keys(find_places("Georgia and Armenia signed a pact.")) == [
        "country:GE",
        "country:AM",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Police said the fire was under control.",
        "Reading the report, analysts were unimpressed.",
        "Male voters were divided.",
        "In March the index rose.",
        "Mobile phones sold well. Nice work, said one trader.",
        "Bath salts. Split decision. Of course. Can it last? May rose 2 pct.",
        "Best efforts were made. Van drivers struck. Orange juice futures fell.",
        "Independence Day sales. Commerce Department figures. Federal Reserve Bank officials.",
        "BAK and IMF officials met. Us too.",
        "Nigel Lawson said so. Lawson said it again. Morgan Stanley and Drexel Burnham agreed.",
        "Officers of British Petroleum Co Plc met.",
        "The bonds pay 10 mln U.S. dlrs and 20 mln Swiss francs.",
        "Latin America and the Middle East. The White House said.",
    ],
)
def test_ordinary_words_names_and_codes_are_not_places(text: str) -> None:
    assert find_places(text) == ()


@pytest.mark.parametrize("run", ["U.S.", "West Germany", "New York", "Bank of Japan"])
def test_the_word_after_a_run_is_read_in_every_story(run: str) -> None:
    """What a run of capitalized words says on its own is remembered from story to story;
    the word after it (money here) is each story's own."""
    named = find_places(f"Officials in {run} met.")
    assert named
    assert find_places(f"The bonds pay 10 mln {run} dlrs.") == ()
    assert find_places(f"Officials in {run} met.") == named


def test_mentions_are_normalized_deduplicated_and_the_dateline_comes_first() -> None:
    baku = resolve_dateline_place("BAKU")
    text = (
        "Azerbaijan's oil output rose, officials in Baku said. Exports to "
        "West Germany and the U.S. grew, and buyers in Sao Paulo and "
        "Rio de Janeiro took more. Azerbaijan expects more."
    )
    assert keys(find_places(text, baku)) == [
        BAKU,
        "country:AZ",
        "country:DE",
        "country:US",
        "geo:3448439",
        "geo:3451190",
    ]


def test_longer_place_names_win_over_their_parts() -> None:
    places = find_places("Talks in New York, Sri Lanka and Papua New Guinea.")
    assert [p.display for p in places] == [
        "New York City, United States",
        "Sri Lanka",
        "Papua New Guinea",
    ]


def test_all_capital_headlines_still_name_places() -> None:
    assert keys(find_places("BAKU OIL OUTPUT RISES IN AZERBAIJAN")) == [BAKU, "country:AZ"]


def test_display_names_carry_the_country() -> None:
    places = find_places("Traders in Baku, Sao Paulo and Japan.")
    assert [p.display for p in places] == ["Baku, Azerbaijan", "São Paulo, Brazil", "Japan"]
    country = places[-1]
    assert country.display == country.name == country.country_name == "Japan"


def test_keys_are_stable_and_well_formed() -> None:
    texts = ["BAKU", "Baku", "baku", " Baku "]
    assert {resolve_dateline_place(t).key for t in texts} == {BAKU}  # type: ignore[union-attr]
    places = find_places("Baku, Japan, U.S.", resolve_dateline_place("ARMONK, N.Y."))
    assert keys(places) == ["raw:armonk-ny", BAKU, "country:JP", "country:US"]
    assert all(KEY_SHAPE.fullmatch(key) for key in keys(places))
    assert keys(places) == keys(
        find_places("Baku, Japan, U.S.", resolve_dateline_place("ARMONK, N.Y."))
    )


def test_repeated_calls_reuse_one_gazetteer() -> None:
    first = get_gazetteer()
    find_places("Baku")
    resolve_dateline_place("LONDON")
    assert get_gazetteer() is first


def test_gazetteer_loads_lazily_once_per_process_even_under_threads() -> None:
    script = textwrap.dedent(
        """
        import threading
        import searchsvc.places as places
        from searchsvc.places import gazetteer

        assert gazetteer._gazetteer is None, "loaded at import"
        seen = []
        threads = [
            threading.Thread(target=lambda: seen.append(id(places.get_gazetteer())))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        places.find_places("Baku")
        assert len(set(seen)) == 1 and id(gazetteer._gazetteer) == seen[0]
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_gives_well_formed_places_or_none(text: str) -> None:
    place = resolve_dateline_place(text, text)
    found = find_places(text, place)
    if place is not None:
        assert found[0] == place
        assert place.name and place.display
    assert len(set(keys(found))) == len(found)
    assert all(KEY_SHAPE.fullmatch(key) for key in keys(found))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["SAN", "JOSE", "N.Y.", "Calif.", "Baku", "ST.", "-", ",", "Feb 26", " "]),
        max_size=6,
    )
)
def test_dateline_like_inputs_resolve_to_well_formed_places(parts: list[str]) -> None:
    place = resolve_dateline_place(", ".join(parts))
    if place is not None:
        assert KEY_SHAPE.fullmatch(place.key)
        assert place.display.startswith(place.name.split(",")[0])


def _mentions_one_run_at_a_time(text: str) -> list[tuple[tuple[str, ...], bool]]:
    """What ``scan_mentions`` finds, the plain way: each run read afresh, the word after it
    found by its own match at the run's end."""
    from searchsvc.places import mentions

    gazetteer = get_gazetteer()
    next_word = re.compile(r"[\s,]*([a-z]+)")
    found_all = []
    for run in re.finditer(mentions._CAPITALIZED_RUN, text):
        following = next_word.match(text, run.end())
        for found, covered, last, _ in mentions._read_run(run.group(), gazetteer):
            if last and following:
                found = mentions._drop_currency_and_speaker(found, covered, following.group(1))
            found_all += [(tuple(c.place.key for c in candidates), covered) for candidates in found]
    return found_all


_MENTION_WORDS = [
    *("U.S.", "West", "Germany", "New", "York", "Bank", "of", "Japan", "Lawson", "Paris"),
    *("Georgia", "The", "Corp", "Rio", "de", "Janeiro", "Sao", "Paulo's", "St.", "Louis"),
    *("said", "dlrs", "francs", "told", "the", "in", "and", "officials", "Moscow", "UK"),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_MENTION_WORDS), st.sampled_from([" ", ", ", ". ", "-", "  ", "\n"])
        ),
        max_size=14,
    )
)
def test_remembered_runs_and_tokens_find_what_reading_each_run_afresh_finds(
    words: list[tuple[str, str]],
) -> None:
    """The memos of runs and tokens, and the word after a run taken by the run pattern's
    lookahead, change nothing: the same mentions as the plain way, the first time a text
    is read and again."""
    from searchsvc.places import mentions

    text = "".join(word + gap for word, gap in words)
    expected = _mentions_one_run_at_a_time(text)
    for _ in range(2):
        found = mentions.scan_mentions(text, get_gazetteer())
        assert [(tuple(c.place.key for c in m.candidates), m.alone) for m in found] == expected
