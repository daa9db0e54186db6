"""The prebuilt gazetteer and country-name files: loaded instead of built, identical to a
fresh build, and built again when what they are made from changes."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from searchsvc.config import Settings, cache_dir_from_env
from searchsvc.places import get_gazetteer
from searchsvc.places.countries import CountryNames, load_country_table
from searchsvc.places.gazetteer import Gazetteer, load_gazetteer
from searchsvc.places.prebuilt import load_prebuilt


@pytest.fixture(scope="module")
def fresh() -> Gazetteer:
    return Gazetteer()


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory) -> tuple[Path, Gazetteer]:
    """A cache folder after the first load, and what that load built."""
    cache_dir = tmp_path_factory.mktemp("cache")
    return cache_dir, load_gazetteer(cache_dir)


def prebuilt_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("gazetteer-*.pickle"))


def assert_same_tables(loaded: Gazetteer, fresh: Gazetteer) -> None:
    assert loaded.aliases == fresh.aliases
    assert loaded.mention_aliases == fresh.mention_aliases
    assert loaded.first_words == fresh.first_words
    assert loaded.countries == fresh.countries and loaded.cities == fresh.cities
    assert loaded.country_names == fresh.country_names


def test_first_load_writes_the_file_and_the_next_reads_it(prebuilt, fresh) -> None:
    cache_dir, built = prebuilt
    (written,) = prebuilt_files(cache_dir)
    stamp = written.stat().st_mtime_ns
    loaded = load_gazetteer(cache_dir)
    assert written.stat().st_mtime_ns == stamp  # read, not written again
    assert loaded is not built
    assert_same_tables(built, fresh)
    assert_same_tables(loaded, fresh)


def test_loaded_candidates_share_their_places_as_built(prebuilt) -> None:
    """One Place per city, shared by its own name and its alternate names, as built."""
    loaded = load_gazetteer(prebuilt[0])
    peking = next(c for c in loaded.aliases["peking"] if c.place.key == "geo:1816670")
    assert peking.place is loaded.cities[1816670].place


def test_tables_as_loaded_cannot_be_changed_by_a_reader(prebuilt) -> None:
    """Every article's reading in a process (and every forked build worker) shares the
    tables: a reader that changed the candidates it was given would change what the
    next article finds."""
    _cache_dir, loaded = prebuilt
    for table in (loaded.aliases, loaded.mention_aliases):
        assert {type(candidates) for candidates in table.values()} == {tuple}
    assert isinstance(loaded.lookup("paris"), tuple) and loaded.lookup("paris")
    assert loaded.lookup("no such place anywhere") == ()


@pytest.mark.slow  # builds the gazetteer again for each case
@pytest.mark.parametrize("damage", ["truncated", "wrong object"])
def test_damaged_file_is_rebuilt(tmp_path: Path, prebuilt, fresh, damage: str) -> None:
    (original,) = prebuilt_files(prebuilt[0])
    written = Path(shutil.copy(original, tmp_path))
    data = written.read_bytes()
    written.write_bytes(data[: len(data) // 2] if damage == "truncated" else pickle.dumps({}))
    assert_same_tables(load_gazetteer(tmp_path), fresh)
    assert written.stat().st_size > 1_000_000  # replaced by a whole file


def test_unwritable_cache_still_gives_the_gazetteer(tmp_path: Path, fresh) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert_same_tables(load_gazetteer(blocked / "cache"), fresh)


def test_cache_dir_comes_from_the_environment(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert cache_dir_from_env(home) == tmp_path / ".cache" / "searchsvc"
    xdg = {**home, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache_dir_from_env(xdg) == tmp_path / "xdg" / "searchsvc"
    ours = {**xdg, "SEARCHSVC_CACHE_DIR": str(tmp_path / "ours")}
    assert cache_dir_from_env(ours) == tmp_path / "ours"
    assert Settings.from_env(ours).cache_dir == tmp_path / "ours"


def test_process_gazetteer_equals_a_fresh_build(fresh) -> None:
    assert_same_tables(get_gazetteer(), fresh)


def test_country_names_are_prebuilt_beside_the_gazetteer(tmp_path: Path) -> None:
    built = load_country_table(tmp_path)
    (written,) = sorted(tmp_path.glob("country-names-*.pickle"))
    stamp = written.stat().st_mtime_ns
    loaded = load_country_table(tmp_path)
    assert written.stat().st_mtime_ns == stamp  # read, not written again
    assert loaded is not built
    assert loaded.to_code("Deutschland") == built.to_code("Deutschland") == "DE"
    assert loaded._codes == CountryNames()._codes


def test_a_changed_source_gives_a_new_file(tmp_path: Path) -> None:
    """A table is read only from the file made by the very sources it is built from."""
    source = tmp_path / "source.py"
    source.write_text("first version")
    cache_dir = tmp_path / "cache"
    load_prebuilt(cache_dir, "table", dict, [source])
    source.write_text("second version")
    load_prebuilt(cache_dir, "table", dict, [source])
    load_prebuilt(cache_dir, "table", dict, [source], facts=("data 2.0",))
    assert len(list(cache_dir.glob("table-*.pickle"))) == 3


def test_a_file_of_another_kind_is_built_again(tmp_path: Path) -> None:
    source = tmp_path / "source.py"
    source.write_text("a source")
    load_prebuilt(tmp_path, "table", dict, [source])
    assert isinstance(load_prebuilt(tmp_path, "table", list, [source]), list)
    (written,) = tmp_path.glob("table-*.pickle")
    assert pickle.loads(written.read_bytes()) == []  # replaced by one of the right kind
