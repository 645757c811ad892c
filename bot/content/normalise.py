"""Turns a villager's informal question into the words the matcher compares.

Steps, each kept as data where it can be (faq/language/):
1. lower case, invisible characters and punctuation removed, letters repeated three or more
   times squeezed ("bangettt" → "banget"), "e-paspor" joined to "epaspor"; the first
   MAX_WORDS words only;
2. slang, abbreviations, Sulawesi forms and old terms mapped (slang.tsv: gmn → bagaimana,
   tki → pmi, kita → saya, ...), English words mapped to Indonesian ones (english.tsv);
3. typos: a word the FAQ never uses is replaced by the closest word it does use, if one is
   close enough (Levenshtein distance 1, or 2 for long words; rapidfuzz);
4. stop words dropped (stopwords.txt), and Indonesian stemming (PySastrawi): "pembuatan",
   "buatnya" and "dibuat" all become "buat".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from bot.support.yamlfile import Problem

LANGUAGE_DIR = "language"
_HYPHENATED = re.compile(r"\b([a-z0-9]+)-([a-z0-9]+)\b")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_DIGIT_LETTER = re.compile(r"(?<=[0-9])(?=[a-z])|(?<=[a-z])(?=[0-9])")
MAX_CHARS = 1000  # a longer paste is read from its beginning only
# ... and from its first words: each new word costs a stemming and maybe a fuzzy lookup (about
# 0.15 ms), so this bounds what one message can cost every other chat (bench/matcher_cost.py).
# The FAQ's example questions have at most 13 words; one with greetings and thanks, about 35.
MAX_WORDS = 48


@dataclass(frozen=True)
class Lexicon:
    slang: dict[str, tuple[str, ...]]
    english: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]


def read_mapping(path: Path) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    """A two-column TSV (word<TAB>replacement words) with # comments."""
    mapping: dict[str, tuple[str, ...]] = {}
    problems = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return {}, [Problem(path, None, f"cannot read: {exc}")]
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        word, _, replacement = line.partition("\t")
        word = word.strip()
        if not word or not re.fullmatch(r"[0-9a-z]+", word):
            problems.append(
                Problem(
                    path,
                    number,
                    f"{word!r}: expected one lower-case word, a tab, then its replacement",
                )
            )
            continue
        if word in mapping:
            problems.append(Problem(path, number, f"{word!r}: listed twice"))
        mapping[word] = tuple(replacement.split())
    return mapping, problems


def read_lexicon(faq_dir: Path) -> tuple[Lexicon, list[Problem]]:
    folder = faq_dir / LANGUAGE_DIR
    slang, problems = read_mapping(folder / "slang.tsv")
    english, english_problems = read_mapping(folder / "english.tsv")
    problems += english_problems
    try:
        stop_lines = (folder / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        stop_lines = []
        problems.append(Problem(folder / "stopwords.txt", None, f"cannot read: {exc}"))
    stopwords = frozenset(w.strip() for w in stop_lines if w.strip() and not w.startswith("#"))
    return Lexicon(slang, english, stopwords), problems


def load_lexicon(faq_dir: Path) -> Lexicon:
    lexicon, problems = read_lexicon(faq_dir)
    if problems:
        raise problems[0]
    return lexicon


def raw_words(text: str) -> list[str]:
    """Step 1: lower-cased words without punctuation, repeats squeezed."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _HYPHENATED.sub(_unhyphen, text)
    text = _DIGIT_LETTER.sub(" ", _NOT_WORD.sub(" ", text))
    return [_REPEATS.sub(r"\1", word) for word in text.split()[:MAX_WORDS]]


def _unhyphen(found: re.Match[str]) -> str:
    """ "tanda-tanda" → "tanda" (plural by repetition); "e-paspor" → "epaspor"; else two words."""
    first, second = found.group(1), found.group(2)
    if first == second:
        return first + second  # kept doubled for slang.tsv ("tandatanda" → ciri); see _mapped
    return first + second if len(first) == 1 else f"{first} {second}"


def _doubled(word: str) -> bool:
    half = len(word) // 2
    return len(word) % 2 == 0 and half >= 2 and word[:half] == word[half:]


class Normaliser:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        words = StemmerFactory().get_words()
        # not factory.create_stemmer(): its cache keeps every word it ever saw (_stem is cached)
        self._stemmer = Stemmer(ArrayDictionary(words))
        # Sastrawi's dictionary of Indonesian root words: a real word is never "corrected"
        # (a set: looking a word up in its list of 30,000 took 0.2 ms)
        self._dictionary = frozenset(words)
        self.vocabulary: frozenset[str] = frozenset()
        self._vocabulary_list: list[str] = []
        self._english_markers = frozenset(lexicon.english)

    def learn(self, phrases: Iterable[str]) -> None:
        """Remember the words the FAQ uses, so typos can be corrected towards them."""
        words = set()
        for phrase in phrases:
            words.update(self._mapped(raw_words(phrase)))
        self.vocabulary = frozenset(words)
        self._vocabulary_list = sorted(words)
        self._correct.cache_clear()

    def language(self, text: str) -> str:
        return self.analyse(text)[1]

    def tokens(self, text: str, *, correct: bool = True) -> list[str]:
        return self.analyse(text, correct=correct)[0]

    def analyse(self, text: str, *, correct: bool = True) -> tuple[list[str], str]:
        """The stemmed content words (what the matcher compares) and the language, "id"/"en".

        A text is English when more than half its words are in english.tsv.
        """
        raw = raw_words(text)
        english = sum(1 for w in raw if w in self._english_markers)
        words = self._mapped(raw)
        if correct:
            words = [self._correct(w) for w in words]
        tokens = [self._stem(w) for w in words if w not in self.lexicon.stopwords]
        return tokens, "en" if english * 2 > len(raw) else "id"

    def _mapped(self, words: list[str]) -> list[str]:
        mapped: list[str] = []
        for word in words:
            replacement = self.lexicon.slang.get(word)
            if replacement is None:
                replacement = self.lexicon.english.get(word)
            if replacement is None and _doubled(word):
                replacement = (word[: len(word) // 2],)  # "syaratsyarat" → "syarat"
            mapped.extend(replacement if replacement is not None else (word,))
        return mapped

    @functools.lru_cache(maxsize=20_000)  # noqa: B019 - one Normaliser per process
    def _correct(self, word: str) -> str:
        if word in self.vocabulary or len(word) < 4 or not word.isalpha():
            return word
        if word in self._dictionary or self._stem(word) in self._dictionary:
            return word
        limit = 1 if len(word) < 8 else 2
        found = process.extractOne(
            word, self._vocabulary_list, scorer=Levenshtein.distance, score_cutoff=limit
        )
        return found[0] if found else word

    @functools.lru_cache(maxsize=20_000)  # noqa: B019 - one Normaliser per process
    def _stem(self, word: str) -> str:
        return self._stemmer.stem(word) or word
