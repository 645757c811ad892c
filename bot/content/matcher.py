"""Matches a free-text question to an FAQ topic, with a confidence score from 0 to 1.

Every title and example question is normalised (bot/normalise.py) into stemmed words and
weighed by TF-IDF. A topic's score blends the question's cosine similarity with the topic's
closest examples (the mean of the best three) and with the topic as a whole (all its examples
together): the first rewards a near-copy of a few ways of asking, the second a question that
uses the topic's vocabulary in a new combination. Words the FAQ never uses count against the
match, so "harga beras" does not become a passport-fee question just because "harga" is known.
Everyday questions listed in faq/out-of-scope.txt form one more pseudo-topic: a question
closest to them is declined.

Below ``threshold`` the bot declines; when the runner-up is within ``CLOSE_MARGIN`` of the
best, both are offered ("Maksud Anda: ...?"). How the threshold was chosen: bench/README.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.content.faq import Faq
from bot.content.normalise import Lexicon, Normaliser

UNKNOWN_WEIGHT = 1.0
TOP_EXAMPLES = 3  # a topic's example score: the mean of its best three
EXAMPLE_WEIGHT = 0.6  # the rest goes to the whole-topic similarity
CLOSE_MARGIN = 0.05
MAX_ALTERNATIVES = 2

Vector = dict[str, float]


@dataclass(frozen=True)
class Match:
    topic_id: str | None
    score: float
    alternatives: tuple[tuple[str, float], ...] = field(default=())
    lang: str = "id"


def _unit(weights: dict[str, float]) -> Vector:
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    return {w: v / norm for w, v in weights.items() if v}


OUT_OF_SCOPE = "-"  # the pseudo-topic of everyday questions the FAQ must not answer


class Matcher:
    def __init__(
        self, faq: Faq, lexicon: Lexicon, threshold: float, out_of_scope: Iterable[str] = ()
    ) -> None:
        self.threshold = threshold
        self.normaliser = Normaliser(lexicon)
        phrases = [
            (topic.id, phrase)
            for topic in faq.topics.values()
            for phrase in (*topic.title.values(), *topic.examples)
        ]
        phrases += [(OUT_OF_SCOPE, question) for question in out_of_scope]
        self.normaliser.learn(phrase for _, phrase in phrases)
        bags = [Counter(self.normaliser.tokens(phrase, correct=False)) for _, phrase in phrases]
        document_frequency = Counter(word for bag in bags for word in bag)
        count = len(bags) or 1
        self._idf = {w: math.log(1 + count / df) for w, df in document_frequency.items()}
        self._unknown_idf = UNKNOWN_WEIGHT * math.log(1 + count)  # a word no phrase has
        self._phrase_topics = [topic_id for topic_id, _ in phrases]
        self._ranges: dict[str, tuple[int, int]] = {}  # phrases are grouped by topic
        for number, topic_id in enumerate(self._phrase_topics):
            start, _ = self._ranges.get(topic_id, (number, number))
            self._ranges[topic_id] = (start, number + 1)
        # inverted indexes: word → (phrase number | topic id, weight), so a question only
        # touches what shares a word with it
        self._phrase_index: dict[str, list[tuple[int, float]]] = {}
        topic_weights: dict[str, Counter[str]] = {}
        for number, ((topic_id, _), bag) in enumerate(zip(phrases, bags, strict=True)):
            for word, weight in self._weigh(bag).items():
                self._phrase_index.setdefault(word, []).append((number, weight))
            topic_weights.setdefault(topic_id, Counter()).update(bag)
        self._topic_index: dict[str, list[tuple[str, float]]] = {}
        for topic_id, bag in topic_weights.items():
            for word, weight in self._weigh(bag).items():
                self._topic_index.setdefault(word, []).append((topic_id, weight))

    def _weigh(self, bag: Counter[str]) -> Vector:
        return _unit(
            {w: (1 + math.log(n)) * self._idf.get(w, self._unknown_idf) for w, n in bag.items()}
        )

    def scores(self, question: str) -> list[tuple[str, float]]:
        """Every topic that shares a word with the question, best first; OUT_OF_SCOPE too."""
        return self._ranked(self.normaliser.tokens(question))

    def _ranked(self, tokens: list[str]) -> list[tuple[str, float]]:
        query = self._weigh(Counter(tokens))
        # phrase scores in a flat list: a topic's phrases are one slice of it
        scores = [0.0] * len(self._phrase_topics)
        for word, query_weight in query.items():
            for number, weight in self._phrase_index.get(word, ()):
                scores[number] += query_weight * weight
        whole_topic = _dot(query, self._topic_index)  # topics sharing a word with the question
        blended = {}
        for topic_id, whole in whole_topic.items():
            start, end = self._ranges[topic_id]
            if topic_id == OUT_OF_SCOPE:
                # everyday questions share no theme: only the closest one counts
                blended[topic_id] = max(scores[start:end])
                continue
            best = sorted(scores[start:end], reverse=True)[:TOP_EXAMPLES]
            example = sum(best) / TOP_EXAMPLES
            blended[topic_id] = EXAMPLE_WEIGHT * example + (1 - EXAMPLE_WEIGHT) * whole
        return sorted(blended.items(), key=lambda item: -item[1])

    def match(self, question: str) -> Match:
        """The decision the bot makes: a topic, or None (below threshold or out of scope)."""
        tokens, lang = self.normaliser.analyse(question)
        everything = self._ranked(tokens)
        ranked = [(topic_id, score) for topic_id, score in everything if topic_id != OUT_OF_SCOPE]
        top_score = ranked[0][1] if ranked else 0.0
        if top_score < self.threshold or everything[0][0] == OUT_OF_SCOPE:
            return Match(None, round(top_score, 4), lang=lang)
        top_id = ranked[0][0]
        close = tuple(
            (topic_id, round(score, 4))
            for topic_id, score in ranked[1 : 1 + MAX_ALTERNATIVES]
            if score >= self.threshold and top_score - score < CLOSE_MARGIN
        )
        return Match(top_id, round(top_score, 4), close, lang)


def _dot(query: Vector, index: dict[str, list[tuple]]) -> dict:
    totals: dict = {}
    for word, query_weight in query.items():
        for key, weight in index.get(word, ()):
            totals[key] = totals.get(key, 0.0) + query_weight * weight
    return totals
