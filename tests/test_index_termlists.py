"""Each article's feedback terms, stored by the build, are exactly what feedback read from
its stored text before: the same terms, counts and order, in every language, in merged and
unmerged indexes and after incremental additions and deletions, each under its own docnum;
and an index built before they were stored (schema version 3) gives the same searches."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import Schema

from searchsvc.analysis import STEMMERS, STOPWORDS, UNSTEMMED, analysis_language
from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build, build_index, open_index, termlists
from searchsvc.index.schema import AnalyzedText, make_schema
from searchsvc.index.termlists import FEEDBACK_TERMS_FIELD, WORD_BREAK, feedback_terms, may_expand
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search import RankingConfig, SearchEngine, SearchRequest
from searchsvc.search.feedback import article_terms, term_list, text_terms
from searchsvc.search.postings import read_postings
from searchsvc.search.query import TEXT_FIELDS
from searchsvc.search.serving import ServingIndex
from searchsvc.stopwords import STOPWORDS_BY_LANGUAGE

#: Inflected forms sharing stems, per language (with the stopwords of each, as written).
WORDS = {
    "en": "Ships shipping shipped shipments docks docked docking company's companies well-known",
    "de": "Schiffe Schiff Schiffen Häfen Hafen Hafenarbeiter Regierung Regierungen Straße",
    "fr": "navires navire économie économiques gouvernement gouvernements marchés marché",
    "es": "barcos barco puertos puerto gobierno gobiernos económica económico",
    "it": "navi nave porti porto governo governi economia economico",
    "pt": "navios navio portos porto governo governos económica económico",
    "nl": "schepen schip havens haven regering regeringen",
    "sv": "fartyg fartygen hamnar hamnen regeringen regering",
    "da": "skibe skibet havne havnen regeringen regering",
    "no": "skip skipene havner havnen regjeringen regjering",
    "fi": "laivat laiva satamat satama hallitus hallituksen",
    "hu": "hajók hajó kikötők kikötő kormány kormányok",
    "ro": "navele navă porturile port guvernul guvern",
    "ru": "корабли корабль порты порт правительство правительства",
    "ar": "السفن سفينة الموانئ ميناء الحكومة حكومة المدرسة مدرسه الكِتَاب",
    "id": "kapal-kapal kapal pelabuhan pemerintah pemerintahan perekonomian berlabuh",
}
#: What every text may hold: numbers, acronyms, possessives, apostrophes, hyphens, short
#: words, ligatures, digits of other scripts, marks that are letters, and separators.
COMMON = (
    *("1987 ", "3.5 ", "1,275 ", "U.S. ", "O'Neill's ", "don\u2019t ", "ab ", "ox "),
    *("Zürich-based ", "ﬁnance ", "١٢٣ ", "x² ", "हिन्दी ", "The ", "the ", "a ", "cafe ", "café "),
    *(", ", ".\n", "\n", "-", "  ", "'s ", "... "),
)
#: Languages of the analysis, an undetermined one and ones analysed unstemmed.
LANGUAGES = [*STEMMERS, None, "", "xx", "ja"]


def pieces_of(language: str | None) -> list[str]:
    """Words of ``language`` (English ones where it is analysed unstemmed) and its
    stopwords as written, capitalized too."""
    key = analysis_language(language or None)
    family = {"nb": "no", "nn": "no", "ms": "id", UNSTEMMED: "en"}.get(key, key)
    stopwords = STOPWORDS_BY_LANGUAGE.get(family, sorted(STOPWORDS))
    words = (*WORDS[family].split(), *stopwords, *map(str.title, stopwords))
    return [f"{word} " for word in words]


@st.composite
def article_texts(draw) -> tuple[str, str, str | None]:
    """A title and a body in one language: its words and stopwords, common pieces, and
    now and then any text at all."""
    language = draw(st.sampled_from(LANGUAGES))
    piece = st.sampled_from(pieces_of(language)) | st.sampled_from(COMMON) | st.text(max_size=8)
    title, body = (draw(st.lists(piece, max_size=size).map("".join)) for size in (8, 60))
    return title, body, language


def derived(title: str, body: str, language: str | None) -> tuple[str, list[int]]:
    """What the build stores for an article: its terms from the analysed title and body."""
    plain = make_schema()["title_words"].analyzer
    texts = [AnalyzedText.of(text, plain, language) for text in (title, body)]
    return feedback_terms([text.positions for text in texts], texts[0].language)


def read_from_text(title: str, body: str, language: str | None) -> tuple[str, list[int]]:
    """What feedback reads from the stored text of an index without stored terms."""
    words = text_terms(make_schema()["body"].analyzer, [title, body], language)
    return WORD_BREAK.join(words), list(words.values())


@settings(max_examples=400, deadline=None)
@given(texts=article_texts())
def test_stored_terms_are_those_feedback_reads_from_the_text(texts) -> None:
    assert derived(*texts) == read_from_text(*texts)


@settings(max_examples=60, deadline=None)
@given(articles=st.lists(article_texts(), min_size=1, max_size=6))
def test_stored_terms_are_the_same_when_the_word_memo_empties(articles) -> None:
    """The memo of words, emptied at its limit while articles are indexed, gives each
    article the terms it gives without the limit."""
    expected = [read_from_text(*texts) for texts in articles]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(termlists, "WORD_MEMO_LIMIT", 3)
        assert [derived(*texts) for texts in articles] == expected


def test_stored_terms_leave_out_stopwords_numbers_and_short_words() -> None:
    words, counts = derived(
        "Die Schiffe im Hafen", "Die Schiffe, das Schiff und 1987 Schiffe: ab 3.5 Hafen.", "de"
    )
    # "1987" and "ab" are left out; "3.5" is not a whole number, and is kept as before.
    assert (words.split(WORD_BREAK), counts) == (["schiff", "haf", "3.5"], [4, 2, 1])
    assert all(may_expand(word) for word in words.split(WORD_BREAK))


# --- indexes built, merged and updated ---------------------------------------------------


def story(number: int, rng: random.Random) -> dict:
    """A story in one of the analysis' languages, its title and body drawn from that
    language's words and stopwords and the common pieces."""
    language = list(STEMMERS)[number % len(STEMMERS)]
    pieces = pieces_of(language) + list(COMMON)
    return {
        "id": f"s{number:03d}",
        "title": "".join(rng.choices(pieces, k=rng.randint(0, 8))),
        "body": "".join(rng.choices(pieces, k=rng.randint(1, 80))),
        "date": "2024-05-02",
        "source": "Wire",
        "language": language,
    }


def later_articles(rng: random.Random) -> list[Article]:
    """Replacements of built stories, and new ones of no known language, of one not
    analysed here, or of an analysed one."""
    replaced = [Article(**{**story(n, rng), "date": None}) for n in range(0, 60, 7)]
    added = []
    for number, language in enumerate((None, "xx", "ja", "de", None, "fi") * 3):
        pieces = [*COMMON, *pieces_of(language)]
        title, body = ("".join(rng.choices(pieces, k=size)) for size in (5, 40))
        added.append(Article(id=f"n{number:02d}", title=title, body=body, language=language))
    return replaced + added


def build_stories(root: Path, count: int, *, merged: bool) -> Settings:
    rng = random.Random(count)
    root.mkdir(parents=True, exist_ok=True)
    source = root / "stories.jsonl"
    source.write_text(
        "".join(json.dumps(story(n, rng), ensure_ascii=False) + "\n" for n in range(count)),
        encoding="utf-8",
    )
    built = Settings(
        index_dir=root / "index",
        corpus=(source,),
        build_procs=1,
        segment_postings=1_500,
        merge_min_articles=1 if merged else 10**9,
    )
    build_index(None, built, show_progress=False)
    return built


def stored_and_indexed_terms(index_dir: Path) -> list[tuple[dict, dict[str, int]]]:
    """Every live article's stored record, with its title and body terms counted from the
    index's postings (what its docnum holds, whatever the record says), those that may
    expand a query."""
    serving = ServingIndex(index_dir, RankingConfig())
    try:
        with serving.reading() as reading:
            forward: dict[int, Counter[str]] = {}
            for field in TEXT_FIELDS:
                for term in reading.reader.field_terms(field):
                    postings = read_postings(reading.searcher, field, term)
                    for doc, tf in zip(postings.ids.tolist(), postings.tfs.tolist(), strict=True):
                        if may_expand(term):
                            forward.setdefault(doc, Counter())[term] += int(tf)
            return [
                (reading.stored(doc), dict(forward.get(doc, {})))
                for doc in reading.columns.live.ids.tolist()
            ]
    finally:
        serving.close()


def assert_stored_terms_exact(index_dir: Path) -> int:
    """Each live article's stored terms are what feedback reads from its stored text (in
    order) and what its docnum's postings hold; returns how many articles were checked."""
    articles = stored_and_indexed_terms(index_dir)
    for stored, indexed in articles:
        language = (stored.get("article") or {}).get("language")
        kept = stored[FEEDBACK_TERMS_FIELD]
        assert kept == read_from_text(stored["title"], stored.get("body") or "", language)
        words, counts = kept
        assert dict(zip(term_list((words, counts)), counts, strict=True)) == indexed
    return len(articles)


def segment_count(index_dir: Path) -> int:
    with open_index(index_dir) as opened:
        return len(opened.index._segments())


@pytest.mark.parametrize("merged", [True, False])
def test_stored_terms_of_every_article_are_exact_built_and_updated(tmp_path: Path, merged: bool):
    built = build_stories(tmp_path, 240, merged=merged)
    assert (segment_count(built.index_dir) == 1) is merged
    assert assert_stored_terms_exact(built.index_dir) == 240
    rng = random.Random(7)
    update_articles(built, later_articles(rng))
    delete_articles(built, [f"s{n:03d}" for n in range(3, 240, 5)])
    assert assert_stored_terms_exact(built.index_dir) == 240 + 18 - 48


def test_stored_terms_survive_the_merges_of_many_updates(tmp_path: Path) -> None:
    """Enough update commits that later ones merge the small segments (Whoosh copies each
    article's record and columns into the merged segment, deleted ones left out)."""
    built = build_stories(tmp_path, 60, merged=True)
    rng = random.Random(11)
    for batch in range(10):
        update_articles(
            built, [Article(**{**story(60 + batch * 3 + n, rng), "date": None}) for n in range(3)]
        )
        delete_articles(built, [f"s{batch * 5:03d}"])
    assert segment_count(built.index_dir) < 11
    assert assert_stored_terms_exact(built.index_dir) == 60 + 30 - 10


# --- an index of schema version 3 ----------------------------------------------------


def schema_without_terms() -> Schema:
    schema = make_schema()
    schema.remove(FEEDBACK_TERMS_FIELD)
    return schema


def build_version_3(root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The stories indexed as version 3 did: no field for feedback terms, none stored
    (documents are fitted to the schema they are written to)."""
    with monkeypatch.context() as patch:
        patch.setattr(build, "make_schema", schema_without_terms)
        patch.setattr(build, "SCHEMA_VERSION", 3)
        return build_stories(root, 120, merged=True)


QUERIES = ["schiff", "navires port", "kapal", "economia OR economico", "السفن", "1987 ships"]


def searched(built: Settings) -> list[tuple]:
    """Each query's hits with their scores, feedback on."""
    with SearchEngine(built, ranking=RankingConfig()) as engine:
        return [
            [(hit.id, hit.score) for hit in engine.search(SearchRequest(query=query)).hits]
            for query in QUERIES
        ]


def test_an_index_of_version_3_reads_terms_from_the_text_and_searches_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = build_version_3(tmp_path / "v3", monkeypatch)
    newer = build_stories(tmp_path / "v4", 120, merged=True)
    with open_index(older.index_dir) as opened:
        assert opened.meta["schema_version"] == 3
        assert FEEDBACK_TERMS_FIELD not in opened.schema
    assert searched(older) == searched(newer)
    assert any(hits for hits in searched(newer))
    later = later_articles(random.Random(3))
    for built in (older, newer):
        update_articles(built, later)
    assert searched(older) == searched(newer)
    serving = [ServingIndex(built.index_dir, RankingConfig()) for built in (older, newer)]
    try:
        with serving[0].reading() as old, serving[1].reading() as new:
            for doc in new.columns.live.ids.tolist():
                stored = new.stored(doc)
                other = old.columns.docnum_of(stored["id"])
                assert FEEDBACK_TERMS_FIELD not in old.stored(other)
                found, expected = article_terms(old, other), article_terms(new, doc)
                assert found[0] == expected[0]
                assert found[1].tolist() == expected[1].tolist()
                assert found[1].dtype == expected[1].dtype
    finally:
        for opened in serving:
            opened.close()
