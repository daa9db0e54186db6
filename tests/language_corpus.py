"""A small archive in several languages, written for the language tests.

English, Indonesian and Arabic stories on the same few events (a remembrance, oil
prices, a port), one in Swahili (a language the analysis does not stem), and one list
of exchange rates with no language at all (too few letters for a detector to guess).
Every record but the last declares its language, as a JSON Lines source may.
"""

from __future__ import annotations

import json
from pathlib import Path

LANGUAGE_ARTICLES: list[dict[str, str]] = [
    {
        "id": "en-remembrance",
        "language": "en",
        "source": "mina",
        "date": "2024-02-26",
        "title": "Baku remembers the Khojaly victims",
        "body": "Thousands walked through Baku on Monday to remember the victims of Khojaly. "
        "Wreaths were laid at the memorial as the city fell silent at noon.",
    },
    {
        "id": "en-oil",
        "language": "en",
        "source": "reuters",
        "date": "2024-03-04",
        "title": "Oil prices climb as supply tightens",
        "body": "Crude oil prices rose for a third day as producers kept output low. "
        "Traders said stocks at the port of Rotterdam had fallen sharply.",
    },
    {
        "id": "en-port",
        "language": "en",
        "source": "reuters",
        "date": "2024-03-11",
        "title": "Port workers end strike",
        "body": "Dock workers at the port returned on Tuesday after a week-long strike "
        "over pay. Ships that waited offshore began to unload their cargo.",
    },
    {
        "id": "id-peringatan",
        "language": "id",
        "source": "antara",
        "date": "2024-02-26",
        "title": "Warga Baku memperingati tragedi Khojaly",
        "body": "Ribuan warga Baku memperingati para korban tragedi Khojaly pada hari Senin. "
        "Karangan bunga diletakkan di monumen peringatan ketika kota itu hening.",
    },
    {
        "id": "id-minyak",
        "language": "id",
        "source": "antara",
        "date": "2024-03-05",
        "title": "Harga minyak naik karena pasokan menipis",
        "body": "Harga minyak mentah naik selama tiga hari berturut-turut karena produsen "
        "menahan produksi. Para pedagang mengatakan persediaan di pelabuhan berkurang.",
    },
    {
        "id": "id-pelabuhan",
        "language": "id",
        "source": "antara",
        "date": "2024-03-12",
        "title": "Pekerja pelabuhan mengakhiri pemogokan",
        "body": "Para pekerja pelabuhan kembali bekerja pada hari Selasa setelah mogok "
        "selama sepekan menuntut kenaikan upah. Kapal-kapal mulai membongkar muatan.",
    },
    {
        "id": "ar-dhikra",
        "language": "ar",
        "source": "mina",
        "date": "2024-02-26",
        "title": "باكو تحيي ذكرى ضحايا خوجالي",
        "body": "سار آلاف المواطنين في شوارع باكو يوم الاثنين لإحياء ذكرى ضحايا خوجالي. "
        "ووضعت أكاليل الزهور عند النصب التذكاري بينما ساد الصمت في المدينة.",
    },
    {
        "id": "ar-naft",
        "language": "ar",
        "source": "mina",
        "date": "2024-03-06",
        "title": "أسعار النفط ترتفع مع تراجع الإمدادات",
        "body": "ارتفعت أسعار النفط الخام لليوم الثالث على التوالي بعد أن أبقى المنتجون "
        "الإنتاج منخفضا. وقال التجار إن المخزونات في الميناء تراجعت بشدة.",
    },
    {
        "id": "ar-mina",
        "language": "ar",
        "source": "reuters",
        "date": "2024-03-13",
        "title": "عمال الميناء ينهون إضرابهم",
        "body": "عاد عمال الميناء إلى العمل يوم الثلاثاء بعد إضراب استمر أسبوعا للمطالبة "
        "بزيادة الأجور. وبدأت السفن التي انتظرت في البحر تفريغ حمولتها.",
    },
    {
        "id": "sw-bandari",
        "language": "sw",
        "source": "reuters",
        "date": "2024-03-14",
        "title": "Wafanyakazi wa bandari wamaliza mgomo",
        "body": "Wafanyakazi wa bandari walirudi kazini siku ya Jumanne baada ya mgomo wa "
        "wiki moja kuhusu mishahara. Meli zilianza kupakua mizigo yao.",
    },
    {
        "id": "rates",
        "source": "reuters",
        "date": "2024-03-15",
        "title": "1.0842 / 1.2650",
        "body": "EUR 1.0842 GBP 1.2650 JPY 150.12 IDR 15640 AZN 1.70",
    },
]

#: Ids by declared language ("" for the record without one).
IDS_BY_LANGUAGE: dict[str, set[str]] = {}
for _record in LANGUAGE_ARTICLES:
    IDS_BY_LANGUAGE.setdefault(_record.get("language", ""), set()).add(_record["id"])


def write_language_corpus(directory: Path) -> Path:
    """The articles as one JSON Lines file in ``directory``; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "languages.jsonl"
    lines = (json.dumps(record, ensure_ascii=False) for record in LANGUAGE_ARTICLES)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
