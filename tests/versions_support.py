"""Support for the tests of copies of one story (no tests live here).

One agency story about a dockworkers' strike in Valparaiso, as the agency sent it and as
three other versions: an outlet's copy under its own headline with its boilerplate, an
update with a rewritten lede and a new paragraph, and a shortened copy. Beside them,
stories that must stay apart: another story on the same strike, one from the same port
on another subject, and one on copper from the same country.
"""

from __future__ import annotations

import datetime as dt

from searchsvc.articles.model import Article

LEDE = (
    "Dockworkers at the port of Valparaiso walked off the job on Tuesday, halting copper "
    "shipments from Chile's central coast for the second time this year."
)
MIDDLE = (
    "The union representing about 2,000 stevedores said the strike would last until the "
    "port operator agreed to restore night shift bonuses that were cut in March. Trucks "
    "loaded with copper cathodes queued along the coastal highway as cranes stood idle, "
    "and two bulk carriers waiting to load anchored outside the breakwater.\n\n"
    "The port operator said in a statement that it regretted the stoppage and had offered "
    "to resume talks on Thursday under the supervision of the labour ministry. A spokesman "
    "declined to say how many tonnes of copper were delayed.\n\n"
    "Traders in London said the stoppage added to worries about supply from Chile, the "
    "world's largest copper producer, where mines have already struggled with drought and "
    "falling ore grades. Copper prices rose one percent on the news."
)
UPDATE = (
    "Late on Tuesday the labour ministry called both sides to a meeting in Santiago on "
    "Wednesday morning, and union leaders said they would attend but keep the picket lines."
)
BOILERPLATE = "Reporting by the Andes Wire newsroom; editing by the Pacific Herald desk."

STRIKE_STORY = {
    "id": "strike-agency",
    "title": "Valparaiso dockworkers strike, halting copper shipments",
    "body": f"{LEDE}\n\n{MIDDLE}",
    "date": "2024-05-14",
    "source": "Andes Wire",
    "place": "Valparaiso",
}

COPIES = [
    {
        **STRIKE_STORY,
        "id": "strike-outlet",
        "title": "Copper exports stall as Chilean port workers walk out",
        "body": f"{LEDE}\n\n{MIDDLE}\n\n{BOILERPLATE}",
        "source": "Pacific Herald",
    },
    {
        **STRIKE_STORY,
        "id": "strike-update",
        "title": "UPDATE 1-Valparaiso dockworkers strike; ministry calls talks",
        "body": (
            "Stevedores in Valparaiso stopped work on Tuesday, and copper shipments from "
            f"central Chile were halted for a second time this year.\n\n{MIDDLE}\n\n{UPDATE}"
        ),
        "date": "2024-05-15",
    },
    {
        **STRIKE_STORY,
        "id": "strike-short",
        "title": "Valparaiso port strike halts copper",
        "body": f"{LEDE}\n\n{MIDDLE.split(chr(10) * 2)[0]}",
        "source": "Coastal Times",
    },
]

STRIKE_IDS = [STRIKE_STORY["id"], *(copy["id"] for copy in COPIES)]

DIFFERENT_STORIES = [
    {
        "id": "strike-other",
        "title": "Chilean port strike enters its third day",
        "body": (
            "A walkout by stevedores in Valparaiso entered its third day on Thursday after "
            "talks with the port operator broke down over shift pay. Exporters of fruit and "
            "copper said containers were piling up at inland depots, and shipping lines "
            "began diverting vessels to San Antonio further south. The union said its members "
            "would vote on the operator's latest offer over the weekend."
        ),
        "date": "2024-05-16",
        "source": "Andes Wire",
        "place": "Valparaiso",
    },
    {
        "id": "port-festival",
        "title": "Valparaiso celebrates its harbour with a sea festival",
        "body": (
            "Thousands of visitors crowded the waterfront of Valparaiso on Sunday for the "
            "annual sea festival, with rowing races, navy ships open to the public and "
            "fireworks over the bay. The mayor said the port city hoped to draw more cruise "
            "passengers next season."
        ),
        "date": "2024-05-19",
        "source": "Coastal Times",
        "place": "Valparaiso",
    },
    {
        "id": "copper-output",
        "title": "Chile copper output falls as ore grades decline",
        "body": (
            "Copper production in Chile fell four percent in April from a year earlier, the "
            "national statistics institute said, as older mines processed lower grade ore and "
            "drought limited water for concentrators in the north."
        ),
        "date": "2024-05-30",
        "source": "Andes Wire",
        "place": "Santiago",
    },
]


def versions_articles() -> list[dict[str, str]]:
    """The strike story, its three other versions and the stories that must stay apart."""
    return [STRIKE_STORY, *COPIES, *DIFFERENT_STORIES]


def as_article(record: dict[str, str]) -> Article:
    """A record of this module as the article a build reads from it."""
    return Article(
        id=record["id"],
        title=record["title"],
        body=record["body"],
        date=dt.date.fromisoformat(record["date"]),
        source=record["source"],
    )
