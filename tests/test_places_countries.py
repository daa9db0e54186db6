"""The country-name fallback of datelines: names in other languages and forms, to ISO codes."""

from __future__ import annotations

import pytest

from searchsvc.places.dateline import load_country_names


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Deutschland", "DE"),
        ("Nederland", "NL"),
        ("España", "ES"),
        ("ESPANA", "ES"),
        ("Suisse", "CH"),
        ("Brasil", "BR"),
        ("Turkey", "TR"),
        ("Union of Soviet Socialist Republics", "RU"),
        ("Czechoslovakia", "CZ"),
        ("Zaire", "CD"),
        ("Southern Rhodesia", "ZW"),
        ("Upper Volta", "BF"),
        ("Norfolk", "GB"),
    ],
)
def test_names_in_other_languages_and_withdrawn_states_give_todays_country(
    name: str, code: str
) -> None:
    assert load_country_names()(name) == code


@pytest.mark.parametrize("name", ["ME", "Il.", "MA", "Louisville", "Virgin Islands", "", "---"])
def test_codes_towns_and_names_two_countries_share_give_nothing(name: str) -> None:
    """A two-letter form is a state's code in a dateline; "Virgin Islands" is two
    territories: no guess."""
    assert load_country_names()(name) is None
