"""Text analysis for the ``field_match`` feature: tokenize, stem, n-gram, compare.

A close, dependency-light stand-in for the Lucene analyzers Metarank used:

>>> analyzer("en")("Mashed potatoes")
['mash', 'potato']
>>> analyzer("generic")("Hello, World!")
['hello', 'world']
>>> ngrams(["foobar"], 3)
['bar', 'foo', 'oba', 'oob']
>>> jaccard(ngrams(["foo"], 3), ngrams(["foobar"], 3))
0.25
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable

import snowballstemmer

# As in Lucene's StandardTokenizer: one token per ideograph or hiragana, one per katakana run.
_IDEOGRAPHIC = "\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_KATAKANA = "\u30a0-\u30ff"
_CJK = _IDEOGRAPHIC + _KATAKANA
# Letters/digits joined by an inner apostrophe or dot stay one token ("don't", "u.s.a", "3.14").
_TOKEN = re.compile(rf"[{_IDEOGRAPHIC}]|[{_KATAKANA}]+|[^\W_{_CJK}]+(?:['\u2019.][^\W_{_CJK}]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_APOSTROPHE = re.compile(r"['\u2019]")

# Lucene's EnglishAnalyzer stop set; other languages keep every token.
ENGLISH_STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
    "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
    "will", "with",
})  # fmt: skip

# Metarank language name -> snowball algorithm (None: tokenize and lowercase only).
_LANGUAGES: dict[str, str | None] = {
    "generic": None,
    "en": "english", "english": "english",
    "cz": "czech", "czech": "czech",
    "da": "danish", "danish": "danish",
    "nl": "dutch", "dutch": "dutch",
    "et": "estonian", "estonian": "estonian",
    "fi": "finnish", "finnish": "finnish",
    "fr": "french", "french": "french",
    "de": "german", "german": "german",
    "gr": "greek", "greek": "greek",
    "it": "italian", "italian": "italian",
    "no": "norwegian", "norwegian": "norwegian",
    "pl": "polish", "polish": "polish",
    "pt": "portuguese", "portuguese": "portuguese",
    "es": "spanish", "spanish": "spanish",
    "sv": "swedish", "swedish": "swedish",
    "tr": "turkish", "turkish": "turkish",
    "ar": "arabic", "arabic": "arabic",
    "zh": None, "chinese": None,
    "ja": None, "japanese": None,
}  # fmt: skip
LANGUAGES: tuple[str, ...] = tuple(_LANGUAGES)


def tokenize(text: str, language: str = "generic") -> list[str]:
    """Lowercased word tokens; possessive ``'s`` and inner apostrophes dropped.

    >>> tokenize("Bob's DON'T re-use 3.14")
    ['bob', 'dont', 're', 'use', '3.14']
    """
    if language in ("tr", "turkish"):
        text = text.replace("I", "\u0131").replace("\u0130", "i")
    tokens = _TOKEN.findall(text.lower())
    return [_APOSTROPHE.sub("", _POSSESSIVE.sub("", t)) if "'" in t or "\u2019" in t else t for t in tokens]


def _stem_function(algorithm: str) -> Callable[[str], str]:
    stemmer = snowballstemmer.stemmer(algorithm)
    lock = threading.Lock()

    @functools.lru_cache(maxsize=65536)
    def stem(word: str) -> str:
        with lock:  # snowball stemmers keep per-call state
            return stemmer.stemWord(word)

    return stem


@functools.cache
def analyzer(language: str) -> Callable[[str], list[str]]:
    """The analyzer for a Metarank language name (``generic``, ``en``/``english``, ...).

    Raises ``ValueError`` naming the accepted values for an unknown name.

    >>> analyzer("english")("greeting the hamsters")
    ['greet', 'hamster']
    >>> analyzer("klingon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: language 'klingon' is not supported, expected one of: generic, en, english, ...
    """
    if language not in _LANGUAGES:
        raise ValueError(f"language '{language}' is not supported, expected one of: {', '.join(LANGUAGES)}")
    algorithm = _LANGUAGES[language]
    if algorithm is None:
        return functools.partial(tokenize, language=language)
    stem = _stem_function(algorithm)
    stop_words = ENGLISH_STOP_WORDS if algorithm == "english" else frozenset()

    def analyze(text: str) -> list[str]:
        return [stem(t) for t in tokenize(text, language) if t not in stop_words]

    return analyze


def ngrams(terms: Iterable[str], n: int) -> list[str]:
    """Sorted unique character n-grams of every term; a term shorter than ``n`` is kept whole.

    >>> ngrams(["foo", "ab"], 2)
    ['ab', 'fo', 'oo']
    """
    if n < 1:
        raise ValueError(f"ngram size n must be >= 1, got {n}")
    grams: set[str] = set()
    for term in terms:
        if len(term) <= n:
            grams.add(term)
        else:
            grams.update(term[i : i + n] for i in range(len(term) - n + 1))
    return sorted(grams)


def term_set(terms: Iterable[str]) -> list[str]:
    """Sorted unique terms.

    >>> term_set(["b", "a", "b"])
    ['a', 'b']
    """
    return sorted(set(terms))


def jaccard(a: list[str], b: list[str]) -> float:
    """|A ∩ B| / |A ∪ B| of two sorted-unique token lists; 0.0 when both are empty.

    >>> jaccard(["a", "b"], ["b", "c"])
    0.3333333333333333
    """
    if not a and not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    large_set = set(large)
    common = sum(1 for token in small if token in large_set)
    return common / (len(a) + len(b) - common)
