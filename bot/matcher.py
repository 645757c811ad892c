"""Matches a free-text question to an FAQ topic, with a confidence score from 0 to 1.

This is the first, plain matcher: TF-IDF cosine similarity between the question's words and
each topic's title and example questions; a topic scores as its best example. The FAQ
issue replaces the normalisation (slang, stemming, typos) behind the same interface.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from bot.faq import Faq

_WORD = re.compile(r"[0-9a-z]+")
_REPEATS = re.compile(r"(.)\1{2,}")
MAX_QUESTION_CHARS = 1000  # a longer paste is matched on its beginning only


def words(text: str) -> list[str]:
    text = _REPEATS.sub(r"\1", text.lower()[:MAX_QUESTION_CHARS])
    return _WORD.findall(text)


@dataclass(frozen=True)
class Match:
    topic_id: str | None
    score: float
    alternatives: tuple[tuple[str, float], ...] = field(default=())


class Matcher:
    def __init__(self, faq: Faq, threshold: float) -> None:
        self.threshold = threshold
        phrases = [
            (topic.id, phrase)
            for topic in faq.topics.values()
            for phrase in (*topic.title.values(), *topic.examples)
        ]
        bags = [Counter(words(phrase)) for _, phrase in phrases]
        document_frequency = Counter(word for bag in bags for word in bag)
        count = len(bags) or 1
        self._idf = {w: math.log(1 + count / df) for w, df in document_frequency.items()}
        # an inverted index: word → (phrase number, weight), so a question only touches the
        # phrases that share a word with it
        self._phrase_topics = [topic_id for topic_id, _ in phrases]
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for number, bag in enumerate(bags):
            for word, weight in self._weigh(bag).items():
                self._postings.setdefault(word, []).append((number, weight))

    def _weigh(self, bag: Counter[str]) -> dict[str, float]:
        weights = {w: n * self._idf.get(w, 0.0) for w, n in bag.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {w: v / norm for w, v in weights.items() if v}

    def scores(self, question: str) -> list[tuple[str, float]]:
        """Every topic's best score for the question, best first."""
        query = self._weigh(Counter(words(question)))
        phrase_scores: dict[int, float] = {}
        for word, query_weight in query.items():
            for number, weight in self._postings.get(word, ()):
                phrase_scores[number] = phrase_scores.get(number, 0.0) + query_weight * weight
        best: dict[str, float] = {}
        for number, score in phrase_scores.items():
            topic_id = self._phrase_topics[number]
            if score > best.get(topic_id, 0.0):
                best[topic_id] = score
        return sorted(best.items(), key=lambda item: -item[1])

    def match(self, question: str) -> Match:
        ranked = self.scores(question)
        if not ranked or ranked[0][1] < self.threshold:
            score = round(ranked[0][1], 4) if ranked else 0.0
            return Match(None, score)
        top_id, top_score = ranked[0]
        close = tuple(
            (topic_id, round(score, 4))
            for topic_id, score in ranked[1:3]
            if score >= self.threshold and top_score - score < 0.05
        )
        return Match(top_id, round(top_score, 4), close)
