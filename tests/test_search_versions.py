"""Copies of one story: signatures, grouping, collapsed result lists, incremental updates
and the HTTP answers, over a real index of the articles in ``versions_support``."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from test_web_support import assert_documented, build_fixture_index, fixture_articles
from versions_support import COPIES, DIFFERENT_STORIES, STRIKE_IDS, STRIKE_STORY, as_article
from versions_support import versions_articles as strike_articles

from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.cli import main
from searchsvc.config import ConfigError, Settings
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.index.versions import (
    BAND_BYTES,
    RUN_ROWS,
    SIGNATURE_ARTICLES,
    SIGNATURE_BYTES,
    candidate_pairs,
    encoded_runs,
    estimated_similarity,
    group_signatures,
    linked_groups,
    shingles,
    signature,
    signatures,
    word_runs,
)
from searchsvc.opensearch.copies import stories_of
from searchsvc.search import SearchEngine, SearchRequest, copy_pairs
from searchsvc.search.collapse import signature_matrix
from searchsvc.search.columns import VarBytes
from searchsvc.web import close_app, create_app

DEFAULT_THRESHOLD = Settings.from_env(environ={}).versions_threshold


def similarity(first: dict, second: dict) -> float:
    a = np.frombuffer(signature(first["title"], first["body"]), dtype=np.uint8)
    b = np.frombuffer(signature(second["title"], second["body"]), dtype=np.uint8)
    return float(estimated_similarity(np.array([np.count_nonzero(a == b)]))[0])


@pytest.mark.parametrize("copy", COPIES, ids=lambda copy: copy["id"])
def test_each_version_resembles_the_agency_story(copy):
    assert similarity(STRIKE_STORY, copy) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("first", "second"),
    [(story, other) for story in [STRIKE_STORY, *COPIES] for other in DIFFERENT_STORIES]
    + list(itertools.combinations(DIFFERENT_STORIES, 2)),
    ids=lambda article: article["id"],
)
def test_different_stories_on_the_same_topic_and_places_stay_apart(first, second):
    assert similarity(first, second) < 0.2


def datasketch_signature(title: str, body: str) -> bytes:
    """The signature as datasketch's own MinHash computes it: the reference."""
    found = shingles(f"{title}\n{body}")
    if not found:
        return b""
    minhash = MinHash(
        num_perm=SIGNATURE_BYTES, seed=20261129, hashfunc=zlib.crc32, scheme="affine32"
    )
    minhash.update_batch(sorted(found))
    return (minhash.hashvalues & 0xFF).astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("title", "body"),
    [(article["title"], article["body"]) for article in [STRIKE_STORY, *COPIES, *DIFFERENT_STORIES]]
    + [
        ("", "  ...  "),
        ("Short", "two words"),
        ("Zürich", "Ça va — São Paulo 東京 news, news, news, news, news, news."),
        ("Repeated", "the same three words the same three words the same three words"),
        # ASCII texts are split as bytes: underscores, digits and punctuation as in str
        ("snake_case HEADLINE", "v2.0 of ABC_def: 1,275 mln\tdlrs\n\nO'Neill's U.S. unit"),
        ("Four", "words in all"),
    ],
)
def test_signatures_are_datasketchs_minhash_byte_for_byte(title, body):
    assert signature(title, body) == datasketch_signature(title, body)


#: Texts with words (some ASCII, some not) and without, for signatures made together.
article_texts = st.tuples(
    st.sampled_from(["", "Copper strike", "Zürich talks", "..."]),
    st.lists(
        st.sampled_from(["copper", "mine", "São", "Paulo", "strike", "-", "ends"]), max_size=9
    ).map(" ".join),
)


@hypothesis_settings(max_examples=25, deadline=None)  # each example is two runs of articles
@given(
    st.lists(article_texts, min_size=SIGNATURE_ARTICLES - 1, max_size=2 * SIGNATURE_ARTICLES + 1)
)
def test_signatures_made_together_are_each_articles_own(texts):
    """Runs of articles share one NumPy array; each still gets datasketch's signature of
    its own text, articles without words included, across the runs' ends."""
    assert signatures(texts) == [datasketch_signature(title, body) for title, body in texts]


@given(
    st.text(st.characters(max_codepoint=127), max_size=60)
    | st.lists(st.sampled_from([*"aZ_09 .-\n\t\x0b\x1c'", "ABC", "x_y"]), max_size=30).map("".join)
)
def test_ascii_text_is_cut_into_the_runs_of_its_words(text):
    """The byte table and ``split`` read the same words as the ``\\w+`` pattern of str."""
    assert list(encoded_runs(text)) == [run.encode() for run in word_runs(text)]


def test_an_article_without_words_has_no_signature_and_stays_alone():
    assert signature("", "  ...  ") == b""
    signatures, present = signature_matrix([b"", b""])
    assert not present.any()
    labels = group_signatures(signatures, present, DEFAULT_THRESHOLD)
    assert labels[0] != labels[1]


signature_rows = st.lists(
    st.one_of(
        st.binary(min_size=0, max_size=4),  # no signature (an article without words)
        st.lists(st.integers(0, 1), min_size=SIGNATURE_BYTES, max_size=SIGNATURE_BYTES).map(
            bytes  # two byte values only, so that rows often agree on whole bands
        ),
    ),
    min_size=1,
    max_size=30,
)


@given(signature_rows)
def test_signature_matrix_holds_each_signature_in_its_row(values: list[bytes]) -> None:
    """From a column's bytes (the window view) and from separate values alike."""
    for matrix, present in (signature_matrix(VarBytes.of(values)), signature_matrix(values)):
        assert present.tolist() == [len(value) == SIGNATURE_BYTES for value in values]
        for row, value in zip(matrix, values, strict=True):
            expected = value if len(value) == SIGNATURE_BYTES else bytes(SIGNATURE_BYTES)
            assert bytes(row) == expected


def sharing_a_band(values: list[bytes], rows: np.ndarray) -> set[tuple[int, int]]:
    """Every pair of ``rows`` whose values agree on a whole band, looked at one by one."""
    return {
        (a, b)
        for a, b in itertools.combinations(rows.tolist(), 2)
        if any(
            values[a][start : start + BAND_BYTES] == values[b][start : start + BAND_BYTES]
            for start in range(0, SIGNATURE_BYTES, BAND_BYTES)
        )
    }


@given(signature_rows)
def test_candidate_pairs_are_every_pair_sharing_a_band(values: list[bytes]) -> None:
    matrix, present = signature_matrix(values)
    rows = np.flatnonzero(present)
    first, second, complete = candidate_pairs(matrix, rows)
    pairs = list(zip(first.tolist(), second.tolist(), strict=True))
    assert complete and len(set(pairs)) == len(pairs)
    assert set(pairs) == sharing_a_band(values, rows)
    assert all(a < b for a, b in pairs)


BANDS = SIGNATURE_BYTES // BAND_BYTES


def own_bands(row: int) -> bytearray:
    """A signature that shares no band with that of another ``row``."""
    return bytearray(b"".join(bytes([0x5A, band, row]) for band in range(BANDS)))


def copy_band(source: bytes, target: bytearray, band: int) -> None:
    at = slice(band * BAND_BYTES, (band + 1) * BAND_BYTES)
    target[at] = source[at]


@st.composite
def rows_sharing_some_bands(draw) -> list[bytes]:
    """Signatures that agree on no band but the bands copied from one row to another;
    some rows have none."""
    count = draw(st.integers(1, 30))
    signatures = [own_bands(row) for row in range(count)]
    copies = st.tuples(*[st.integers(0, count - 1)] * 2, st.integers(0, BANDS - 1))
    for source, target, band in draw(st.lists(copies, max_size=20)):
        copy_band(signatures[source], signatures[target], band)
    without = draw(st.sets(st.integers(0, count - 1)))
    return [b"" if row in without else bytes(value) for row, value in enumerate(signatures)]


@given(rows_sharing_some_bands(), st.data())
def test_an_update_pairs_anew_every_row_sharing_a_band_with_its_articles(values, data) -> None:
    """The rows with a signature an update pairs anew: its own and every row sharing a band
    with one of them, exactly when it adds a few (all bands compared), perhaps a few more
    when it adds many (a table of buckets); signatures read back to back and row by row
    alike."""
    matrix, present = signature_matrix(VarBytes.of(values))
    assert (matrix == signature_matrix(values)[0]).all()
    seeds = present & data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    exact = seeds.copy()
    for a, b in sharing_a_band(values, np.flatnonzero(present)):
        exact[a] |= seeds[b]
        exact[b] |= seeds[a]
    found = copy_pairs.sharing_a_band(matrix, seeds) & present  # as the update takes them
    if np.count_nonzero(seeds) <= copy_pairs.FEW_SEEDS:
        assert found.tolist() == exact.tolist()
    else:
        assert not (exact & ~found).any()


@pytest.mark.parametrize("added", [1, copy_pairs.FEW_SEEDS + 1], ids=["few", "many"])
@pytest.mark.parametrize("band", range(BANDS))
def test_a_row_sharing_any_one_band_with_an_added_row_is_paired_anew(band, added) -> None:
    """Whichever band it is, and for a few added rows or many; with a few, no other row."""
    signatures = [own_bands(row) for row in range(added + 2)]
    copy_band(signatures[0], signatures[-1], band)
    matrix, _ = signature_matrix(VarBytes.of([bytes(value) for value in signatures]))
    found = copy_pairs.sharing_a_band(matrix, np.arange(len(signatures)) < added)
    assert found[-1]
    assert found[:-1].tolist() == [True] * added + [False] or added > copy_pairs.FEW_SEEDS


@given(signature_rows, st.randoms(use_true_random=False), st.sampled_from([0.05, 0.5, 0.9]))
def test_both_engines_group_alike_in_any_order(values, random, threshold) -> None:
    """The embedded engine's groups (rows of its column, in document order) and the
    cluster's (articles in the order it fetched them) are the same, whatever the order."""
    matrix, present = signature_matrix(values)
    embedded = labels_as_groups(group_signatures(matrix, present, threshold))
    order = list(range(len(values)))
    random.shuffle(order)
    stories = stories_of([f"{row:03}" for row in order], [values[row] for row in order], threshold)
    cluster: dict[str, set[int]] = {}
    for row, story in zip(order, stories, strict=True):
        cluster.setdefault(story.label, set()).add(row)
    assert {frozenset(group) for group in cluster.values()} == embedded


def labels_as_groups(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == label).tolist()) for label in set(labels.tolist())}


def test_a_run_longer_than_the_bound_pairs_each_row_with_its_next_rows_only() -> None:
    """Hundreds of identical copies make no quadratic number of pairs, and stay one group."""
    rows = 4 * RUN_ROWS
    matrix = np.zeros((rows, SIGNATURE_BYTES), dtype=np.uint8)
    first, second, complete = candidate_pairs(matrix, np.arange(rows))
    assert not complete
    assert set(np.unique(second - first).tolist()) == set(range(1, RUN_ROWS))
    assert len(first) == sum(min(RUN_ROWS - 1, rows - 1 - row) for row in range(rows))
    labels = group_signatures(matrix, np.ones(rows, dtype=bool), DEFAULT_THRESHOLD)
    assert not labels.any()


@pytest.mark.corpus
def test_reuters_groups_are_the_same_on_both_engines(reuters_dir: Path) -> None:
    """Every Reuters-21578 article's signature grouped as each engine groups them: the
    embedded engine in file order, the cluster in the reverse order."""
    paths = sorted(reuters_dir.glob("reut2-*.sgm"))
    articles = list(read_articles(paths, IngestReport(), max_file_bytes=1 << 30))
    values = [signature(article.title, article.body) for article in articles]
    matrix, present = signature_matrix(values)
    embedded = labels_as_groups(group_signatures(matrix, present, DEFAULT_THRESHOLD))
    assert candidate_pairs(matrix, np.flatnonzero(present)).complete  # no run over the bound
    ids = [f"{row:05}" for row in range(len(values))][::-1]
    stories = stories_of(ids, values[::-1], DEFAULT_THRESHOLD)
    cluster: dict[str, set[int]] = {}
    for key, story in zip(ids, stories, strict=True):
        cluster.setdefault(story.label, set()).add(int(key))
    assert {frozenset(group) for group in cluster.values()} == embedded
    assert sum(len(group) > 1 for group in embedded) > 500  # Reuters has many copies


links = st.integers(min_value=1, max_value=40).flatmap(
    lambda size: st.tuples(
        st.just(size),
        st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)), max_size=60),
    )
)


@given(links)
def test_linked_groups_are_scipys_connected_components(graph) -> None:
    """SciPy stays the reference: the same labels, numbered by each group's smallest node."""
    size, pairs = graph
    first = np.array([a for a, _ in pairs], dtype=np.int64)
    second = np.array([b for _, b in pairs], dtype=np.int64)
    labels = linked_groups(size, first, second)
    matrix = coo_matrix((np.ones(len(pairs), dtype=np.int8), (first, second)), shape=(size, size))
    _, expected = connected_components(matrix, directed=False)
    assert labels.tolist() == expected.tolist()
    grouped = {frozenset(np.flatnonzero(labels == label).tolist()) for label in set(labels)}
    assert grouped == components(pairs, size)


def test_a_long_chain_of_copies_is_one_group() -> None:
    """Links given from the far end first: each round must keep joining until one is left."""
    size = 2_000
    order = np.arange(size - 1)[::-1]
    labels = linked_groups(size, order + 1, order)
    assert not labels.any()


def components(pairs, size: int) -> set[frozenset[int]]:
    groups = {row: {row} for row in range(size)}
    for a, b in pairs:
        if groups[a] is not groups[b]:
            joined = groups[a] | groups[b]
            for row in joined:
                groups[row] = joined
    return {frozenset(group) for group in groups.values()}


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return build_fixture_index(
        tmp_path_factory.mktemp("versions"), fixture_articles() + strike_articles()
    )


@pytest.fixture(scope="module")
def engine(settings):
    with SearchEngine(settings) as engine:
        yield engine


def strike_hits(result) -> list:
    return [hit for hit in result.hits if hit.id in STRIKE_IDS]


def test_a_story_and_its_versions_are_one_result(engine):
    result = engine.search(SearchRequest(query="copper valparaiso"))
    [hit] = strike_hits(result)
    assert hit.versions == 3
    assert result.total_counts == "stories"
    assert result.facet_counts == "copies"
    assert result.copies_total == result.total + 3
    assert len(result.hits) == result.total
    assert result.message == "2 stories have all of these words; 2 more have some."
    others = {hit.id: hit.versions for hit in result.hits if hit.id not in STRIKE_IDS}
    assert set(others) == {story["id"] for story in DIFFERENT_STORIES}
    assert set(others.values()) == {0}


def test_the_story_is_shown_by_its_best_ranked_copy(engine):
    query = "ministry talks stevedores"
    every = engine.search(SearchRequest(query=query, collapse=False))
    collapsed = engine.search(SearchRequest(query=query))
    first_copy = next(hit.id for hit in every.hits if hit.id in STRIKE_IDS)
    assert [hit.id for hit in strike_hits(collapsed)] == [first_copy]
    assert first_copy == "strike-update"


def test_collapse_false_lists_every_copy_and_counts_articles(engine):
    result = engine.search(SearchRequest(query="copper valparaiso", collapse=False))
    assert {hit.id for hit in strike_hits(result)} == set(STRIKE_IDS)
    assert all(hit.versions == 3 for hit in strike_hits(result))
    assert result.total == result.copies_total
    assert result.total_counts == "copies"


def test_facets_count_every_copy_either_way(engine):
    collapsed = engine.search(SearchRequest(query="copper valparaiso"))
    every = engine.search(SearchRequest(query="copper valparaiso", collapse=False))
    assert collapsed.facets == every.facets
    assert sum(v.count for v in collapsed.facets["source"].values) == every.total


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_pages_show_each_story_once_and_cover_them_all(engine, sort):
    first = engine.search(SearchRequest(query="", sort=sort, per_page=4))
    seen = []
    for page in range(1, first.pages + 1):
        result = engine.search(SearchRequest(query="", sort=sort, per_page=4, page=page))
        seen += [hit.id for hit in result.hits]
    assert len(seen) == len(set(seen)) == first.total
    assert len([article_id for article_id in seen if article_id in STRIKE_IDS]) == 1
    assert first.copies_total == first.total + 3


def test_date_sorting_shows_the_newest_copy(engine):
    result = engine.search(SearchRequest(query="copper", sort="newest", per_page=50))
    assert [hit.id for hit in strike_hits(result)] == ["strike-update"]


def test_versions_lists_the_other_copies_newest_first(engine):
    listed = [hit.id for hit in engine.versions("strike-short")]
    assert listed[0] == "strike-update"
    assert set(listed) == set(STRIKE_IDS) - {"strike-short"}
    assert engine.versions("port-festival") == []


def test_threshold_comes_from_settings(settings):
    strict = settings.replace(versions_threshold=0.95)
    with SearchEngine(strict) as engine:
        assert engine.versions("strike-agency") == []
    with pytest.raises(ConfigError, match="at most 1"):
        Settings.from_env(environ={"SEARCHSVC_VERSIONS_THRESHOLD": "1.5"})


def test_incremental_adds_and_deletes_keep_groups_right(tmp_path: Path):
    settings = build_fixture_index(tmp_path, [STRIKE_STORY, *DIFFERENT_STORIES])
    with SearchEngine(settings) as engine:
        assert engine.versions("strike-agency") == []
        update_articles(settings, [as_article(copy) for copy in COPIES])
        assert len(engine.versions("strike-agency")) == 3
        delete_articles(settings, ["strike-agency"])
        remaining = {hit.id for hit in engine.versions("strike-outlet")}
        assert remaining == {"strike-update", "strike-short"}
        result = engine.search(SearchRequest(query="copper valparaiso"))
        assert [hit.versions for hit in strike_hits(result)] == [2]
        replaced = {**DIFFERENT_STORIES[1], "id": "strike-outlet"}
        update_articles(settings, [as_article(replaced)])
        assert [hit.id for hit in engine.versions("strike-outlet")] == ["port-festival"]
        assert "strike-outlet" not in {hit.id for hit in engine.versions("strike-update")}


@pytest.fixture(scope="module")
def client(settings):
    app = create_app(settings)
    yield app.test_client()
    close_app(app)


def test_api_gives_versions_and_lists_them(client):
    response = client.get("/api/search?q=copper+valparaiso")
    assert_documented(client, response, "/api/search")
    body = response.get_json()
    [hit] = [hit for hit in body["hits"] if hit["id"] in STRIKE_IDS]
    assert hit["versions"] == 3
    assert body["total_counts"] == "stories"
    assert body["facet_counts"] == "copies"

    listed = client.get(f"/api/articles/{hit['id']}/versions")
    assert_documented(client, listed, "/api/articles/{id}/versions")
    assert {v["id"] for v in listed.get_json()["versions"]} == set(STRIKE_IDS) - {hit["id"]}
    by_parameter = client.get("/api/versions", query_string={"id": hit["id"]})
    assert_documented(client, by_parameter, "/api/versions")
    assert by_parameter.get_json() == listed.get_json()


def test_api_collapse_parameter(client):
    every = client.get("/api/search?q=copper+valparaiso&collapse=false").get_json()
    assert {hit["id"] for hit in every["hits"]} >= set(STRIKE_IDS)
    assert every["total_counts"] == "copies"
    wrong = client.get("/api/search?q=copper&collapse=maybe")
    assert wrong.status_code == 400
    assert wrong.get_json()["parameter"] == "collapse"


def test_api_versions_errors(client):
    assert client.get("/api/versions").status_code == 400
    assert client.get("/api/articles/no-such-story/versions").status_code == 404


def test_page_says_more_versions_and_what_counts_count(client):
    html = client.get("/?q=copper+valparaiso").get_data(as_text=True)
    assert "3 more versions" in html
    assert "copies of one story are listed once" in html
    assert "every copy of a story counts" in html
    every = client.get("/?q=copper+valparaiso&collapse=false").get_data(as_text=True)
    assert "3 more versions" in every
    assert "Every copy of a story is listed" in every
    article = client.get("/articles/strike-agency").get_data(as_text=True)
    assert "Other versions of this story" in article
    assert "Copper exports stall as Chilean port workers walk out" in article


def cli_strike_details(settings, monkeypatch, capsys, *flags: str) -> list[list[str]]:
    """The parts of each detail line (place · date · source · id · versions) that
    ``searchsvc search`` prints for the strike's copies."""
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(settings.index_dir))
    assert main(["search", "copper", "valparaiso", "--per-page", "20", *flags]) == 0
    details = [line.strip().split(" · ") for line in capsys.readouterr().out.splitlines()]
    return [parts for parts in details if set(parts) & set(STRIKE_IDS)]


def test_the_cli_shows_each_story_once_with_its_versions_count(settings, monkeypatch, capsys):
    [parts] = cli_strike_details(settings, monkeypatch, capsys)
    assert parts[-2] in STRIKE_IDS and parts[-1] == "3 more versions"


def test_the_cli_lists_every_copy_with_no_collapse(settings, monkeypatch, capsys):
    every = cli_strike_details(settings, monkeypatch, capsys, "--no-collapse")
    assert sorted(parts[-2] for parts in every) == sorted(STRIKE_IDS)
    assert {parts[-1] for parts in every} == {"3 more versions"}
    assert cli_strike_details(settings, monkeypatch, capsys, "--collapse") == cli_strike_details(
        settings, monkeypatch, capsys
    )
