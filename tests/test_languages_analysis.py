"""Analysis per language, end to end: articles in Indonesian, Arabic, English and
Turkish (a language without a stemmer here) built into one index, searched by query."""

# Turkish is written with the dotless i on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.stem.snowball import SnowballStemmer

from searchsvc.analysis import (
    ANALYSIS_VERSION,
    STEMMERS,
    STOPWORDS,
    CachedStemFilter,
    analysis_config,
    analysis_language,
    fold_word,
    make_analyzer,
    stemmer_for,
    stopwords_for,
)
from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.search import QueryError, SearchEngine, SearchRequest
from searchsvc.search.engine import proximity_terms
from searchsvc.search.languages import query_analysis
from searchsvc.search.query import QueryAnalysis, parse_query

#: Written for these tests.
ARTICLES = [
    {
        "id": "id1",
        "language": "id",
        "title": "Azerbaijan memperingati tragedi Khojaly",
        "body": "Warga Azerbaijan memperingati pembantaian Khojaly di Baku pada hari Senin. "
        "Ribuan orang berkumpul untuk mengenang para korban, dan pemerintah "
        "mengeluarkan pernyataan resmi.",
        "date": "2024-02-26",
    },
    {
        "id": "id2",
        "language": "id",
        "title": "Tim SAR terus mencari korban banjir",
        "body": "Petugas gabungan mencari warga yang hilang setelah banjir melanda pinggiran "
        "kota. Pencarian dilanjutkan dengan perahu karet.",
        "date": "2024-03-02",
    },
    {
        "id": "id3",
        "language": "id",
        "title": "Bank of America membuka kantor baru",
        "body": "Bank of America meresmikan kantor cabang baru untuk melayani nasabah "
        "perusahaan di kawasan bisnis.",
        "date": "2024-03-05",
    },
    {
        "id": "ar1",
        "language": "ar",
        "title": "أذربيجان تحيي ذكرى مذبحة خوجالي",
        "body": "أحيت أذربيجان يوم الاثنين الذكرى السنوية لمذبحة خوجالي، وتجمع الآلاف في "
        "العاصمة لتكريم الضحايا.",
        "date": "2024-02-26",
    },
    {
        "id": "ar2",
        "language": "ar",
        "title": "افتتاح المَكْتَبَة الوطنية الجديدة",
        "body": "افتتح وزير الثقافة المكتبة الجديدة صباح اليوم، وتضم المكتبة آلاف الكُتُب "
        "والمخطوطات النادرة.",
        "date": "2024-03-01",
    },
    {
        "id": "en1",
        "language": "en",
        "title": "Dental caries rising among children",
        "body": "Dentists report that caries is increasing among schoolchildren, and a new "
        "study calls for more checks at school.",
        "date": "2024-03-03",
    },
    {
        "id": "en2",
        "language": "en",
        "title": "Dan Brown publishes a new novel",
        "body": "The author Dan Brown announced a new thriller on Monday, his first in years.",
        "date": "2024-03-04",
    },
    {
        "id": "en3",
        "language": "en",
        "title": "Azerbaijan commemorates Khojaly massacre",
        "body": "Azerbaijan marked the anniversary of the massacres at Khojaly on Monday.",
        "date": "2024-02-26",
    },
    {
        "id": "tr1",
        "language": "tr",
        "title": "Hocalı katliamı anıldı",
        "body": "Azerbaycan'da Hocalı katliamının yıl dönümünde kurbanlar anıldı. Tören "
        "yeni anma tesis önünde yapıldı.",
        "date": "2024-02-26",
    },
    {
        # Too little text for its language to be detected: no language.
        "id": "u1",
        "title": "Flood",
        "body": "Flood, 5 March.",
        "date": "2024-03-05",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("languages")
    source = root / "articles.jsonl"
    source.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in ARTICLES) + "\n")
    settings = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        yield engine


def ids(engine: SearchEngine, query: str, **options) -> list[str]:
    request = SearchRequest(query=query, per_page=50, **options)
    return [hit.id for hit in engine.search(request).hits]


# --- analysis on its own ---------------------------------------------------------------


def test_arabic_diacritics_tatweel_and_letter_variants_fold() -> None:
    assert fold_word("الكِتَابُ") == fold_word("الكتاب") == "الكتاب"
    assert fold_word("كتـــاب") == "كتاب"  # tatweel
    assert {fold_word(w) for w in ("أحمد", "إحمد", "آحمد", "ٱحمد")} == {"احمد"}
    assert fold_word("مستشفى") == "مستشفي"
    assert fold_word("مدرسة") == "مدرسه"


def test_the_tokenizer_keeps_combining_marks_inside_words() -> None:
    plain = make_analyzer(stem=False)
    assert plain.surface_words("الكِتَابُ الجديد") == ["الكتاب", "الجديد"]
    assert plain.surface_words("हिन्दी समाचार") == ["हिन्दी", "समाचार"]
    assert plain.surface_words("Zürich's U.S. office") == ["zurich", "us", "office"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("id", ("memperingati", "peringatan", "diperingati")),
        ("ms", ("memperingati", "peringatan")),
        ("ar", ("مدرسه", "المدرسه", "والمدرسه")),
        ("en", ("massacre", "massacres")),
        ("de", ("häuser", "hauser")),
    ],
)
def test_forms_of_one_word_share_a_stem(language: str, words: tuple[str, ...]) -> None:
    stem = stemmer_for(language)
    assert len({stem(fold_word(word)) for word in words}) == 1


@settings(max_examples=200, deadline=None)
@given(number=st.text(st.sampled_from("0123456789"), min_size=1, max_size=12))
@pytest.mark.parametrize("language", sorted(set(STEMMERS.values()) - {"indonesian"}))
def test_numbers_are_stemmed_as_snowball_stems_them(language: str, number: str) -> None:
    """Numbers skip the Snowball stemmers, which leave them as they are anyway."""
    stem = CachedStemFilter(language).stem
    assert stem(number) == SnowballStemmer(language).stem(number) == number
    assert stem(number + "s") == SnowballStemmer(language).stem(number + "s")


def test_unknown_and_unsupported_languages() -> None:
    assert analysis_language(None) == "en"  # not known: as every article was analysed
    assert analysis_language("tr") == ""
    assert stopwords_for("tr") == frozenset()
    assert stemmer_for("tr")("katliamı") == "katliamı"
    # the key of the unstemmed languages is a key too: no stopwords, no stemming
    assert analysis_language("") == ""
    assert stopwords_for("") == frozenset()
    assert stemmer_for("")("tesis") == "tesis"
    assert stopwords_for("en") is STOPWORDS


def test_stopword_lists_are_normalized_like_indexed_words() -> None:
    for language in ("ar", "de", "fr", "id", "ru", "es"):
        words = stopwords_for(language)
        assert words and all(fold_word(word) == word for word in words)
    assert "الي" in stopwords_for("ar")  # written "إلى"
    assert "tidak" not in stopwords_for("id")  # negation stays searchable


def test_the_configuration_records_every_language() -> None:
    config = analysis_config()
    assert config["version"] == ANALYSIS_VERSION
    assert config["languages"]["id"]["stemmer"] == "pysastrawi(indonesian)"
    assert config["languages"]["ar"]["stemmer"] == "nltk.SnowballStemmer(arabic)"
    assert config["stemmer"] == "nltk.SnowballStemmer(english)"


# --- searching one index of many languages ---------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Indonesian: forms of one root meet
        ("memperingati", ["id1"]),
        ("peringatan khojaly", ["id1", "en3"]),
        ("pencarian", ["id2"]),
        ("mencari korban", ["id2", "id1"]),
        # Arabic: with or without the article ال, with or without vowel marks
        ("مكتبة", ["ar2"]),
        ("المكتبة", ["ar2"]),
        ("الْمَكْتَبَةُ", ["ar2"]),
        ("مذبحة خوجالي", ["ar1"]),
        ("ذكرى", ["ar1"]),
        # English as before, and articles without a language are read as English
        ("massacre", ["en3"]),
        ("flood", ["u1"]),
        # Turkish has no stemmer here: folded words match, other forms do not
        ("hocali", ["tr1"]),
        ("katliamı", ["tr1"]),
        ("katliam", []),
        ("tesis", ["tr1"]),
        ("tesi", []),  # what English stemming would have made of "tesis"
        # English "caries" stems to "cari", the root of Indonesian "mencari": no match there
        ("caries", ["en1"]),
        # a stopword of one language stays in another's phrase
        ('"bank of america"', ["id3"]),
        ('"dan brown"', ["en2"]),
        # a word that is a stopword in any of the query's languages is dropped
        ("dan", []),
    ],
)
def test_query_finds(engine: SearchEngine, query: str, expected: list[str]) -> None:
    assert ids(engine, query) == expected


def test_lang_reads_the_query_in_the_languages_given(engine: SearchEngine) -> None:
    assert ids(engine, "peringatan", lang=("id",)) == ["id1"]
    assert ids(engine, "peringatan", lang=("en",)) == []
    assert ids(engine, "caries", lang=("id",)) == []
    assert ids(engine, "dan brown", lang=("en",)) == ["en2"]


def test_an_english_index_parses_as_before(engine: SearchEngine) -> None:
    plain, stemmed = make_analyzer(stem=False), make_analyzer(stem=True)
    before = QueryAnalysis(plain.surface_words, stemmed.stemmer.stem)
    for text in ('massacres of "bank of america" khojaly~ massac*', "the U.S.-Soviet talks"):
        expected = parse_query(text, before, max_length=1000, max_terms=64)
        assert engine.parse(text, ("en",)) == expected


def test_a_word_read_in_several_languages_counts_once(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="peringatan khojaly"))
    assert result.all_words_total == 1
    assert result.total == 2


def test_hits_say_their_language_and_direction(engine: SearchEngine) -> None:
    hits = {hit.id: hit for hit in engine.search(SearchRequest(query="khojaly خوجالي")).hits}
    assert (hits["ar1"].language, hits["ar1"].dir) == ("ar", "rtl")
    assert (hits["id1"].language, hits["id1"].dir) == ("id", "ltr")
    assert engine.search(SearchRequest(query="flood")).hits[0].language is None


def test_highlights_mark_the_words_as_written(engine: SearchEngine) -> None:
    (hit,) = engine.search(SearchRequest(query="peringatan")).hits
    assert "<mark>memperingati</mark>" in hit.title
    assert "<mark>memperingati</mark>" in hit.snippet
    (hit,) = engine.search(SearchRequest(query="مكتبة")).hits
    assert "<mark>المَكْتَبَة</mark>" in hit.title
    assert hit.snippet.count("<mark>المكتبة</mark>") == 2


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("memperingti", "memperingati"), ("Memperingatti khojaly", "Memperingati khojaly")],
)
def test_an_indonesian_typo_gets_a_suggestion(engine: SearchEngine, typed: str, meant: str):
    assert engine.search(SearchRequest(query=typed)).suggestion == meant


def test_an_arabic_typo_gets_a_suggestion(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="المكبتة"))
    assert result.hits == []
    assert result.suggestion == "المكتبه"  # the word as the index holds it (folded)


def test_related_stories_read_the_article_in_its_language(engine: SearchEngine) -> None:
    related = [hit.id for hit in engine.related("id2")]
    assert "en1" not in related  # "mencari" and "caries" share a spelling, not a meaning


def test_the_index_stores_the_language(engine: SearchEngine) -> None:
    article = engine.article("ar1")
    assert article.title.startswith("أذربيجان")
    assert article.language == "ar"
    assert engine.article("u1").language is None
    hits = engine.search(SearchRequest(query="hocali")).hits
    assert [hit.language for hit in hits] == ["tr"]


def test_words_read_in_several_languages_keep_the_proximity_bonus(engine: SearchEngine) -> None:
    every = ("", "ar", "en", "id")  # the index's languages, Turkish unstemmed
    words = proximity_terms(list(engine.parse("peringatan khojaly", every).clauses))
    assert [{term.text for term in word} for word in words] == [
        {"peringatan", "ingat"},
        {"khojali", "khojaly"},
    ]
    assert proximity_terms(list(engine.parse("peringatan khojaly", ("en",)).clauses)) == [
        (term,) for term in engine.parse("peringatan khojaly", ("en",)).clauses
    ]


def test_another_form_of_an_indonesian_root_is_no_typo(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="pencari"))
    assert [hit.id for hit in result.hits] == ["id2"]  # "mencari": the same root
    assert result.suggestion is None


def test_the_api_takes_lang_comma_separated_or_repeated(client) -> None:
    plain = client.get("/api/search?q=harbour").get_json()
    queries = ("lang=en", "lang=en,id", "lang=en&lang=id", "lang=en-GB,id_ID")
    for query in (f"q=harbour&{params}" for params in queries):
        body = client.get(f"/api/search?{query}").get_json()
        assert [hit["id"] for hit in body["hits"]] == [hit["id"] for hit in plain["hits"]]
    assert {hit["dir"] for hit in plain["hits"]} == {"ltr"}
    response = client.get("/api/search?q=harbour&lang=e1")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "lang"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('ab ك ِ ـ "*~-()ıé')), max_size=30))
def test_any_text_parses_in_several_languages(text: str) -> None:
    plain = make_analyzer(stem=False)
    analysis = query_analysis(plain, ("", "ar", "en", "id"))
    with contextlib.suppress(QueryError):  # a message saying what to change is fine
        parse_query(text, analysis, max_length=1000, max_terms=64)


# --- languages a query is read in by default -------------------------------------------


def _english_archive_with_strays(tmp_path) -> Settings:
    """151 English stories, one price table declared German and one Arabic story."""
    records = [
        {
            "id": f"en{n:03d}",
            "language": "en",
            "title": f"Port of Rotterdam handles cargo shipment {n}",
            "body": f"The port reported shipment number {n} of grain, and traders said "
            "the harbour would stay open over the holiday.",
        }
        for n in range(150)
    ]
    records.append(
        {
            "id": "en-film",
            "language": "en",
            "title": "Die Hard sequel filmed at the port",
            "body": "A crew filmed scenes of the Die Hard sequel on the quays.",
        }
    )
    records.append(
        {
            "id": "stray-de",
            "language": "de",
            "title": "Die Hard cargo rates",
            "body": "Die Hard freight rates 12.5 13.0 14.25 per tonne, shipment figures.",
        }
    )
    records.append({**ARTICLES[4], "id": "ar-minority"})
    source = tmp_path / "articles.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    settings = Settings(index_dir=tmp_path / "index", corpus=(source,), build_procs=1)
    build_index(None, settings, show_progress=False)
    return settings


def test_a_language_with_few_articles_does_not_change_english_queries(tmp_path) -> None:
    """One article in German among 151 English ones: "die" (a German stopword) stays in
    an English query, so the phrase still needs it; German is read when asked for."""
    with SearchEngine(_english_archive_with_strays(tmp_path)) as engine:
        assert ids(engine, '"die hard"') == ["en-film"]
        assert ids(engine, "rates", lang=("de",)) == ["stray-de"]


def test_a_query_in_a_minority_script_is_read_in_that_language(tmp_path) -> None:
    with SearchEngine(_english_archive_with_strays(tmp_path)) as engine:
        assert ids(engine, "مكتبة") == ["ar-minority"]
        assert ids(engine, "المكتبات") == ["ar-minority"]
