"""The parser's tree as query DSL, with the embedded engine's matching rules.

Matching and ranking are kept apart, as in ``search/matching``: :func:`match_query` says
which articles a node matches (filter context, no scores), :func:`score_query` adds the
query's words back as optional clauses that only rank. The list a search shows is
:func:`listed_query`: every required part (quoted phrases, fields, dates, exclusions)
and at least one of the plain words when there are two or more; the articles with all of
them (:func:`complete_query`) come first.

A word read in several languages is an OR of its distinct stems, each kept to the
articles of the languages that produce it (``Term.languages``, analysis keys): here a
``filter`` on the ``analysis`` field beside the term, which leaves its score alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from searchsvc.index.schema import TITLE_BOOST
from searchsvc.search.matching import MAX_EXPANSIONS, is_optional, positive_leaves, split_clauses
from searchsvc.search.query import And, DateSpan, Fuzzy, Node, Not, Or, Phrase, Prefix, Term
from searchsvc.search.ranking import FIELD_ROLE

Query = dict[str, Any]
MATCH_ALL: Query = {"match_all": {}}
MATCH_NONE: Query = {"match_none": {}}
_BOOSTS = {"title": TITLE_BOOST, "title_words": TITLE_BOOST}


def match_query(node: Node) -> Query:
    """The articles ``node`` matches, as a query without scores."""
    if isinstance(node, DateSpan):
        return date_range(node.start, node.end)
    if isinstance(node, Not):
        return {"bool": {"must_not": [match_query(node.child)]}}
    if isinstance(node, Or):
        return {
            "bool": {"should": [match_query(c) for c in node.children], "minimum_should_match": 1}
        }
    if isinstance(node, And):
        return all_of(node.children)
    return _any_field(node, boosted=False)


def all_of(clauses: tuple[Node, ...] | list[Node]) -> Query:
    """Every clause; exclusions as ``must_not``."""
    required = [match_query(c) for c in clauses if not isinstance(c, Not)]
    excluded = [match_query(c.child) for c in clauses if isinstance(c, Not)]
    if not excluded and len(required) == 1:
        return required[0]
    if not required and not excluded:
        return MATCH_ALL
    return {"bool": {"filter": required, "must_not": excluded}}


def complete_query(clauses: tuple[Node, ...]) -> Query:
    """The articles with every clause of the query (the first tier)."""
    return all_of(clauses)


def listed_query(clauses: tuple[Node, ...]) -> Query:
    """The result list: the required clauses and, of two or more plain words, any one."""
    optional = [node for node in clauses if is_optional(node)]
    if len(optional) < 2:
        return complete_query(clauses)
    required = [node for node in clauses if not is_optional(node)]
    some: Query = {
        "bool": {"should": [match_query(n) for n in optional], "minimum_should_match": 1}
    }
    if not required:
        return some
    return {"bool": {"filter": [all_of(required), some]}}


def score_query(clauses: tuple[Node, ...]) -> list[Query]:
    """Optional clauses that rank: each positive word, phrase or wildcard in the title
    (boosted as the embedded index boosts titles) and body. Empty: nothing scores."""
    positive, _, _ = split_clauses(clauses)
    parts = []
    for clause in positive:
        for leaf in positive_leaves(clause):
            if any(name in FIELD_ROLE for name in leaf.fields):
                parts.append(_any_field(leaf, boosted=True))
    return parts


def date_range(start: dt.date | None, end: dt.date | None) -> Query:
    """Dated articles from ``start`` to ``end`` inclusive (undated ones never match)."""
    bounds: dict[str, str] = {}
    if start is not None:
        bounds["gte"] = start.isoformat()
    if end is not None:
        bounds["lte"] = end.isoformat()
    if not bounds:
        return {"exists": {"field": "date"}}
    return {"range": {"date": {**bounds, "format": "yyyy-MM-dd"}}}


def _any_field(leaf: Term | Phrase | Prefix | Fuzzy, *, boosted: bool) -> Query:
    parts = [
        _leaf_in(leaf, name, _BOOSTS.get(name, 1.0) if boosted else None) for name in leaf.fields
    ]
    found = parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}
    languages = leaf.languages if isinstance(leaf, (Term, Phrase)) else ()
    if not languages:
        return found
    return {"bool": {"must": [found], "filter": [{"terms": {"analysis": list(languages)}}]}}


def _leaf_in(leaf: Term | Phrase | Prefix | Fuzzy, name: str, boost: float | None) -> Query:
    extra = {} if boost is None else {"boost": boost}
    if isinstance(leaf, Term):
        return {"term": {name: {"value": leaf.text, **extra}}}
    if isinstance(leaf, Phrase):
        return {"match_phrase": {name: {"query": " ".join(leaf.words), "slop": 0, **extra}}}
    if isinstance(leaf, Prefix):
        return {"prefix": {name: {"value": leaf.prefix, **extra}}}
    return {
        "fuzzy": {
            name: {
                "value": leaf.word,
                "fuzziness": leaf.maxdist,
                "prefix_length": 0,
                "transpositions": True,  # one edit, as the embedded lexicon's OSA distance
                "max_expansions": MAX_EXPANSIONS,
                **extra,
            }
        }
    }
