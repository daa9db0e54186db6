"""``searchsvc search`` on the command line, over the invented corpus."""

from __future__ import annotations

import json
import re

import pytest
from test_search_corpus import corpus_settings

from searchsvc.cli import main


@pytest.fixture
def index_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(corpus_settings(tmp_path_factory).index_dir))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["search", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_text_output(index_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "oil", "--place", "geo:2643743", "--per-page", "1")
    assert status == 0
    out = re.sub(r"\d+\.\d ms", "T ms", out)
    # which places a story mentions is the gazetteer's business; the rest is exact
    out = re.sub(r"(?m)^Places mentioned: London, United Kingdom \(2\).*$", "PLACES", out)
    assert out == (
        "2 results, 1-1 shown (page 1 of 2, T ms)\n"
        "\n"
        "  1. Oil prices rise as OPEC meets in Vienna\n"
        "     London, United Kingdom · 2024-03-05 · Reuters · o1\n"
        "     Oil prices rose on Tuesday as ministers met in Vienna. Brent crude gained two "
        "dollars a barrel in London trading.\n"
        "\n"
        "Dateline: London, United Kingdom (2), Baku, Azerbaijan (1)\n"
        "\n"
        "PLACES\n"
        "\n"
        "Source: Reuters (2)\n"
        "\n"
        "Language: English (2)\n"
        "\n"
        "Dates by day: 5 Mar 2024 (1), 20 Mar 2024 (1)\n"
    )


def test_json_output_is_the_api_shape(index_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "khojaly", "massacre", "--sort", "newest", "--from", "2024-01-01", "--json"
    )
    data = json.loads(out)
    assert status == 0
    assert data["query"] == "khojaly massacre" and data["sort"] == "newest"
    assert [hit["id"] for hit in data["hits"]] == ["k1"]
    assert data["hits"][0]["title"].endswith("<mark>Khojaly</mark> <mark>massacre</mark>")


def test_suggestion_and_paging(index_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "aniversary")
    assert "Did you mean: anniversary" in out
    _, out, _ = run(capsys, "--sort", "oldest", "--page", "2", "--per-page", "2")
    assert out.startswith("15 results, 3-4 shown (page 2 of 8,")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["title:"], "title: needs something to search for"),
        (["oil", "--page", "0"], "page must be a whole number"),
        (["oil", "--from", "yesterday"], "--from/--to must be dates"),
    ],
)
def test_errors_are_one_line_with_status_2(
    index_env: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("searchsvc: error: ") and message in err and err.count("\n") == 1


def test_missing_index_says_what_to_run(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(tmp_path / "nothing"))
    status, _, err = run(capsys, "oil")
    assert status == 2 and "build-index" in err


def test_places_can_be_given_by_name(index_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    by_key = run(capsys, "oil", "--place", "geo:2643743", "--json")
    by_name = run(capsys, "oil", "--place", "London", "--json")
    assert by_key[0] == by_name[0] == 0
    assert [h["id"] for h in json.loads(by_name[1])["hits"]] == [
        h["id"] for h in json.loads(by_key[1])["hits"]
    ]


def test_help_describes_the_query_language(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    out = capsys.readouterr().out
    assert "--place PLACE" in out and "date:2024-02" in out
