"""Where an index's bytes go: per file type, and per field inside the term and postings files.

Whoosh keeps every field's terms in one ``.trm`` file (postings of rare terms inlined in the
term record) and the rest in one ``.pst`` file, so ``du`` alone cannot say which field costs
what. This walks each segment's term table: for every field, the term records' bytes (key,
record, inlined postings) and the ``.pst`` bytes its term records point to; and the stored
records, per stored key (pickled, before Whoosh's per-document zlib)::

    python benchmarks/index_sizes.py INDEX_DIR [--sample 2000]
"""

from __future__ import annotations

import argparse
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import W3TermInfo

from searchsvc.index.opening import open_index

MIB = 2**20
#: Bytes of a hash-table record header (key and value lengths) in a ``.trm`` file.
RECORD_HEADER = 8


def file_type_sizes(generation: Path) -> Counter:
    """Bytes on disk per kind of file (``.trm``, ``.pst``, ``_stored.col``, other columns)."""
    sizes: Counter = Counter()
    for path in generation.iterdir():
        name = path.name
        if name.endswith("_stored.col"):
            kind = "_stored.col"
        elif name.endswith("_len.col"):
            kind = "length columns"
        elif name.endswith(".col"):
            kind = "other columns"
        else:
            kind = path.suffix or name
        sizes[kind] += path.stat().st_size
    return sizes


def field_sizes(ix: Any) -> dict[str, Counter]:
    """Per field: term count, term-record bytes, inlined-postings bytes, ``.pst`` bytes."""
    sizes: dict[str, Counter] = {}
    with ix.reader() as reader:
        for segment_reader in getattr(reader, "readers", None) or [reader]:
            terms = segment_reader._terms
            for key, value in terms._tindex.items():
                field, _ = terms._keydecoder(key)
                info = W3TermInfo.from_bytes(value)
                counts = sizes.setdefault(field, Counter())
                counts["terms"] += 1
                counts["trm"] += RECORD_HEADER + len(key) + len(value)
                if info.is_inlined():
                    counts["inlined"] += len(value) - W3TermInfo._struct.size
                else:
                    length = info.extent()[1]  # Whoosh decodes it as a 1-tuple
                    counts["pst"] += length[0] if isinstance(length, tuple) else length
    return sizes


def stored_sizes(ix: Any, sample: int) -> Counter:
    """Pickled bytes per stored key (``article`` also per record key), over ``sample`` docs."""
    sizes: Counter = Counter()
    with ix.searcher() as searcher:
        total = searcher.doc_count_all()
        step = max(1, total // sample)
        for docnum in range(0, total, step):
            stored = searcher.stored_fields(docnum)
            sizes["docs"] += 1
            sizes["whole record"] += len(pickle.dumps(stored, 2))
            for key, value in stored.items():
                sizes[key] += len(pickle.dumps(value, 2))
                if isinstance(value, dict):
                    for inner, part in value.items():
                        sizes[f"{key}.{inner}"] += len(pickle.dumps(part, 2))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--sample", type=int, default=2000, help="stored records to sample")
    args = parser.parse_args()
    opened = open_index(args.index)
    ix, generation = opened.index, opened.path
    print(f"generation {generation}")
    print("\nper file type (MiB):")
    for kind, size in sorted(file_type_sizes(generation).items(), key=lambda kv: -kv[1]):
        print(f"  {kind:16} {size / MIB:10.2f}")
    print("\nper field (MiB; .trm = term records incl. inlined postings):")
    print(f"  {'field':14} {'terms':>9} {'.trm':>9} {'inlined':>9} {'.pst':>9}")
    for field, c in sorted(field_sizes(ix).items(), key=lambda kv: -kv[1]["trm"] - kv[1]["pst"]):
        print(
            f"  {field:14} {c['terms']:9d} {c['trm'] / MIB:9.2f} "
            f"{c['inlined'] / MIB:9.2f} {c['pst'] / MIB:9.2f}"
        )
    stored = stored_sizes(ix, args.sample)
    docs = stored.pop("docs")
    print(f"\nstored record, pickled bytes per document (mean of {docs}):")
    for key, size in sorted(stored.items(), key=lambda kv: -kv[1]):
        print(f"  {key:28} {size / docs:8.0f}")


if __name__ == "__main__":
    main()
