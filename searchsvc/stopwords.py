"""Per-language stopword lists: deliberately short, like the English one.

Each list holds only function words (articles, the commonest prepositions and
conjunctions, personal pronouns, forms of "to be") that never carry a news query on
their own. Negation, modal verbs, numbers, months and words that double as names or
content words in another reading are kept searchable, as in English: German "nicht",
French "pas", Indonesian "tidak"/"bukan" (negation matters in phrases), Indonesian
"akan" (future) and "tahun", Arabic "لا"/"لم"/"لن" (negation). Words are written as
they are spelled; :func:`searchsvc.analysis.stopwords_for` normalizes them the way
every indexed word is normalized (accents folded, Arabic letters folded), so the lists
match what the index holds.

Keys are ISO 639-1 codes. English is :data:`searchsvc.analysis.STOPWORDS`, unchanged.
"""

# Cyrillic words are meant to look like Latin letters here and there.
# ruff: noqa: RUF001

from __future__ import annotations

#: Indonesian and Malay share their function words (Malay spellings added).
_MALAY_INDONESIAN = (
    *("yang", "dan", "di", "ke", "dari", "pada", "untuk", "dengan", "dalam", "oleh"),
    *("ini", "itu", "atau", "adalah", "ialah", "bahwa", "bahawa", "sebagai", "para", "juga"),
    *("ia", "dia", "mereka", "kami", "kita", "saya", "nya", "pun", "kepada", "daripada"),
)

STOPWORDS_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "id": _MALAY_INDONESIAN,
    "ms": _MALAY_INDONESIAN,
    # Prepositions and pronouns written as separate words; clitics (و، ب، ل) are attached
    # to the next word and are the stemmer's business. "على" (on) is left out: folded, it
    # is spelled as the name Ali.
    "ar": (
        *("في", "من", "إلى", "عن", "مع", "هذا", "هذه", "ذلك", "تلك", "التي"),
        *("الذي", "الذين", "هو", "هي", "هم", "أن", "إن", "كان", "كانت", "قد", "ثم", "أو"),
    ),
    "da": (
        *("og", "i", "at", "en", "et", "den", "det", "de", "til", "af", "for", "med"),
        *("paa", "på", "er", "var", "som", "han", "hun", "der", "om", "fra", "har"),
    ),
    "nl": (
        *("de", "het", "een", "en", "van", "in", "op", "te", "dat", "die", "met", "voor"),
        *("is", "was", "zijn", "aan", "door", "hij", "zij", "ze", "er", "als", "om", "bij"),
    ),
    "fi": (
        *("ja", "on", "oli", "ovat", "olivat", "se", "ne", "hän", "he", "että", "joka"),
        *("jotka", "tai", "sekä", "kuin", "mutta", "myös"),
    ),
    "fr": (
        *("le", "la", "les", "un", "une", "des", "du", "de", "et", "en", "au", "aux", "à"),
        *("est", "sont", "était", "il", "elle", "ils", "elles", "que", "qui", "dans"),
        *("par", "pour", "sur", "avec", "ce", "cette", "ces", "se", "sa", "son", "ses"),
    ),
    "de": (
        *("der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines"),
        *("einem", "einen", "und", "in", "im", "zu", "zum", "zur", "von", "vom", "mit"),
        *("ist", "sind", "war", "waren", "er", "sie", "es", "auf", "für", "dass", "sich"),
    ),
    "hu": (
        *("a", "az", "egy", "és", "hogy", "is", "volt", "van", "nem", "ő", "ők", "de"),
        *("ez", "azt", "ezt", "meg", "már"),
    ),
    "it": (
        *("il", "lo", "la", "i", "gli", "le", "un", "una", "uno", "di", "del", "della"),
        *("dei", "delle", "e", "ed", "è", "a", "al", "alla", "da", "dal", "in", "nel"),
        *("nella", "che", "per", "con", "su", "sono", "era", "lui", "lei", "si"),
    ),
    "no": (
        *("og", "i", "å", "at", "en", "et", "ei", "den", "det", "de", "til", "av", "for"),
        *("med", "på", "er", "var", "som", "han", "hun", "der", "om", "fra", "har"),
    ),
    "pt": (
        *("o", "a", "os", "as", "um", "uma", "de", "do", "da", "dos", "das", "e", "em"),
        *("no", "na", "nos", "nas", "que", "para", "por", "com", "é", "são", "foi"),
        *("ele", "ela", "eles", "elas", "se", "ao", "aos"),
    ),
    "ro": (
        *("și", "în", "la", "de", "pe", "cu", "a", "al", "ale", "o", "un", "unei"),
        *("unui", "este", "sunt", "era", "că", "care", "el", "ea", "ei", "ele", "din"),
    ),
    "ru": (
        *("и", "в", "во", "на", "с", "со", "к", "по", "о", "об", "из", "у", "за", "от"),
        *("что", "это", "как", "он", "она", "оно", "они", "его", "ее", "её", "их", "был"),
        *("была", "было", "были", "а", "но", "для", "же"),
    ),
    "es": (
        *("el", "la", "los", "las", "un", "una", "unos", "unas", "de", "del", "y", "e"),
        *("en", "a", "al", "que", "por", "para", "con", "es", "son", "fue", "era", "se"),
        *("su", "sus", "lo", "él", "ella", "ellos", "ellas", "este", "esta"),
    ),
    "sv": (
        *("och", "i", "att", "en", "ett", "den", "det", "de", "till", "av", "för", "med"),
        *("på", "är", "var", "som", "han", "hon", "om", "från", "har", "sig"),
    ),
}
