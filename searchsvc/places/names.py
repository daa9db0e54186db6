"""Hand-kept name tables that no gazetteer gets right for 1980s and 1990s news.

The gazetteer knows today's world; wire copy from 1987 says "West Germany",
"Peking" and "ARMONK, N.Y.". These tables bridge the two. Every historic name is
keyed to the *modern* gazetteer entry that holds it today (see docs/places.md):
the facet key must be stable across builds, and a modern key is the only one a
user can also reach by today's name.

Tables are written as ``name CODE`` entries separated by ``;`` to keep them
short enough to read; :func:`_table` turns them into dicts at import.
"""

from __future__ import annotations


def _table(text: str) -> dict[str, str]:
    """``"west germany DE; burma MM"`` → ``{"west germany": "DE", "burma": "MM"}``."""
    pairs = (entry.strip().rsplit(" ", 1) for entry in text.replace("\n", ";").split(";"))
    return {name: value for name, value in (p for p in pairs if len(p) == 2)}


#: Country names and common forms that newswires use, to ISO 3166 alpha-2. They
#: rank above any city of the same name ("Kuwait" is the country). Historic
#: states map to the modern state that holds their capital.
COUNTRY_ALIASES: dict[str, str] = _table("""
    america US; united states US; united states of america US; the united states US
    us US; usa US; britain GB; great britain GB; uk GB; england GB; scotland GB
    wales GB; northern ireland GB; holland NL; the netherlands NL; west germany DE
    east germany DE; federal republic of germany DE; german democratic republic DE
    gdr DE; frg DE; soviet union RU; ussr RU; russia RU; yugoslavia RS
    czechoslovakia CZ; czech republic CZ; burma MM; zaire CD; congo CG
    ivory coast CI; cote divoire CI; south korea KR; korea KR; north korea KP
    kampuchea KH; cambodia KH; rhodesia ZW; ceylon LK; persia IR; siam TH
    dahomey BJ; upper volta BF; macau MO; vatican city VA; holy see VA; uae AE
    united arab emirates AE; emirates AE; north yemen YE; south yemen YE
    western samoa WS; swaziland SZ; east timor TL; trinidad TT; tobago TT
    the gambia GM; the philippines PH; peoples republic of china CN
    mainland china CN; republic of china TW; palestine PS; bosnia BA; macedonia MK
    the bahamas BS; new zealand NZ
""")

#: Adjectives of nationality: a story about "Japanese exporters" is about Japan.
#: Ranked below cities, so they never hide a town of the same spelling.
NATIONALITIES: dict[str, str] = _table("""
    american US; british GB; english GB; scottish GB; welsh GB; japanese JP
    german DE; west german DE; east german DE; soviet RU; russian RU; french FR
    italian IT; spanish ES; portuguese PT; dutch NL; belgian BE; swiss CH
    austrian AT; swedish SE; norwegian NO; danish DK; finnish FI; irish IE
    greek GR; turkish TR; polish PL; hungarian HU; romanian RO; bulgarian BG
    yugoslav RS; czechoslovak CZ; chinese CN; taiwanese TW; korean KR
    south korean KR; north korean KP; indian IN; pakistani PK; indonesian ID
    malaysian MY; thai TH; philippine PH; filipino PH; vietnamese VN
    australian AU; canadian CA; mexican MX; brazilian BR; argentine AR
    argentinian AR; chilean CL; peruvian PE; colombian CO; venezuelan VE
    ecuadorean EC; ecuadorian EC; bolivian BO; uruguayan UY; paraguayan PY
    cuban CU; nicaraguan NI; salvadorean SV; salvadoran SV; egyptian EG
    israeli IL; iranian IR; iraqi IQ; saudi SA; kuwaiti KW; syrian SY
    lebanese LB; jordanian JO; libyan LY; algerian DZ; moroccan MA; tunisian TN
    nigerian NG; kenyan KE; zambian ZM; zimbabwean ZW; south african ZA
    ethiopian ET; ghanaian GH; sudanese SD; bangladeshi BD; sri lankan LK
    icelandic IS
""")

#: City names the gazetteer's alternate names miss or give to a bigger city.
#: Values are geonameids. "United Nations" datelines are filed from its New
#: York headquarters.
CITY_ALIASES: dict[str, int] = {
    alias: int(geonameid)
    for alias, geonameid in _table("""
        west berlin 2950159; east berlin 2950159; new york 5128581
        washington dc 4140963; the hague 2747373; new delhi 1261481
        united nations 5128581
    """).items()
}

#: United States: 1980s wire abbreviations and postal codes, to postal codes.
US_STATES: dict[str, str] = _table("""
    ala AL; alaska AK; ariz AZ; ark AR; calif CA; cal CA; colo CO; conn CT; del DE
    dc DC; fla FL; ga GA; hawaii HI; idaho ID; ill IL; ind IN; iowa IA; kan KS
    kans KS; ky KY; la LA; maine ME; md MD; mass MA; mich MI; minn MN; miss MS
    mo MO; mont MT; neb NE; nebr NE; nev NV; nh NH; nj NJ; nm NM; ny NY; nc NC
    nd ND; ohio OH; okla OK; ore OR; oreg OR; pa PA; penn PA; ri RI; sc SC; sd SD
    tenn TN; tex TX; texas TX; utah UT; vt VT; va VA; wash WA; wva WV; wis WI
    wisc WI; wyo WY; me ME; il IL; ma MA; ok OK; ia IA; ken KY; dela DE; w va WV
""")

#: Abbreviated Canadian provinces and Australian states as datelines write them.
PROVINCES: dict[str, str] = _table("""
    alta CA; bc CA; man CA; nb CA; nfld CA; ns CA; ont CA; pei CA; que CA
    sask CA; nsw AU; qld AU
""")

#: Regions whose mention is a mention of their country, besides the US states
#: (which come from the gazetteer). "Victoria" is left out: more often a city or
#: a person. Washington state is reached only by that longer name.
REGIONS: dict[str, str] = _table("""
    Washington state US; District of Columbia US; Alberta CA; British Columbia CA
    Manitoba CA; New Brunswick CA; Newfoundland CA; Nova Scotia CA; Ontario CA
    Prince Edward Island CA; Quebec CA; Saskatchewan CA; Yukon CA
    New South Wales AU; Queensland AU; South Australia AU; Western Australia AU
    Tasmania AU; Northern Territory AU
""")

#: US states that are not read as regions: the city of the same name wins.
CITY_NAMED_STATES = frozenset({"Washington"})

#: Phrases read whole in running text and then ignored, so that their words do
#: not turn into places: "White House" is an alternate name of Casablanca,
#: "Latin America" would otherwise be America, "Asia" a town in the Philippines.
NOT_PLACES: tuple[str, ...] = tuple(
    phrase.strip()
    for phrase in """
    White House; Wall Street; Latin America; South America; North America
    Central America; Middle East; Near East; Far East; Persian Gulf; Gulf
    European Community; Western Europe; Eastern Europe; Europe; Asia; Southeast Asia
    South East Asia; Africa; North Africa; West Africa; East Africa; Southern Africa
    Pacific; Atlantic; Caribbean; Scandinavia; Common Market; Third World; North Sea
    Commonwealth; Latin; Arab; Gulf Cooperation Council; Asia Pacific; Pacific Basin
    Pacific Rim; Eastern Bloc; East Bloc; Soviet Bloc
    """.replace("\n", ";").split(";")
    if phrase.strip()
)
