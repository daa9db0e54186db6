"""Indonesian/Malay stemmers compared on a hand-made list of news words and their roots.

Prints one row per stemmer: the share of words stemmed to their exact root, the share
of same-root word pairs that get one stem (what a search needs: "memperingati" and
"peringatan" meet), the share of different-root pairs wrongly merged, and microseconds
per word (uncached, best of ``--repeat`` passes over the list)::

    python benchmarks/bench_indonesian_stemmers.py
    python benchmarks/bench_indonesian_stemmers.py --repeat 5 --show-misses

The list is ``benchmarks/data/indonesian_roots.tsv`` (word, tab, root). ``sastrawi`` and
``pysastrawi`` both install the module ``Sastrawi``; the row names the one imported, so
run again with the other first on the path to compare them
(``pip install --target /tmp/pysas pysastrawi`` then ``PYTHONPATH=/tmp/pysas``).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from pathlib import Path

GOLD = Path(__file__).parent / "data" / "indonesian_roots.tsv"


def read_gold(path: Path = GOLD) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, root = line.split("\t")
            pairs.append((word, root))
    return pairs


def stemmers() -> dict[str, Callable[[str], str]]:
    """Every candidate, by the name it is reported under."""
    import Stemmer
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
    from snowballstemmer.indonesian_stemmer import IndonesianStemmer

    # The factory's stemmer remembers every word; its delegate is the stemmer itself.
    sastrawi = StemmerFactory().create_stemmer().delegatedStemmer
    return {
        f"{sastrawi_distribution()} (dictionary)": sastrawi.stem_word,
        # snowballstemmer hands over to PyStemmer when installed: name its own class.
        "snowballstemmer indonesian (pure Python)": IndonesianStemmer().stemWord,
        # Cache size 0: PyStemmer otherwise remembers recent words.
        "PyStemmer indonesian (Snowball, C)": Stemmer.Stemmer("indonesian", 0).stemWord,
    }


def sastrawi_distribution() -> str:
    """Which package supplied ``Sastrawi`` (sastrawi and pysastrawi both install it)."""
    import Sastrawi

    location = Path(Sastrawi.__file__).resolve().parent.parent
    for name in ("pysastrawi", "PySastrawi", "sastrawi", "Sastrawi"):
        found = [d for d in location.glob(f"{name}-*.dist-info")]
        if found:
            return found[0].name.removesuffix(".dist-info").replace("-", " ")
    return "Sastrawi"


def pair_scores(pairs: list[tuple[str, str]], stems: dict[str, str]) -> tuple[float, float]:
    """(same-root pairs given one stem, different-root pairs given one stem), as shares."""
    same = same_hit = other = other_hit = 0
    for (word_a, root_a), (word_b, root_b) in itertools.combinations(pairs, 2):
        merged = stems[word_a] == stems[word_b]
        if root_a == root_b:
            same += 1
            same_hit += merged
        else:
            other += 1
            other_hit += merged
    return same_hit / same, other_hit / other


def microseconds_per_word(stem: Callable[[str], str], words: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for word in words:
            stem(word)
        best = min(best, time.perf_counter() - started)
    return best / len(words) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    pairs = read_gold()
    words = [word for word, _ in pairs]
    print(f"{len(pairs)} words, {len({root for _, root in pairs})} roots\n")
    columns = ("exact root", 10), ("same root merged", 17), ("wrongly merged", 15), ("µs/word", 8)
    print(f"{'stemmer':42} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for name, stem in stemmers().items():
        stems = {word: stem(word) for word in words}
        exact = sum(stems[word] == root for word, root in pairs) / len(pairs)
        merged, wrong = pair_scores(pairs, stems)
        speed = microseconds_per_word(stem, words, args.repeat)
        print(f"{name:42} {exact:10.1%} {merged:17.1%} {wrong:15.2%} {speed:8.1f}")
        if args.show_misses:
            misses = [f"{w}->{stems[w]} ({r})" for w, r in pairs if stems[w] != r]
            print("    misses:", ", ".join(misses))


if __name__ == "__main__":
    main()
