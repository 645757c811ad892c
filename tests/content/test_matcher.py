"""The FAQ matcher on the bundled FAQ: informal Indonesian in, the right topic or a decline out."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import pytest

from bot.app import build_matcher
from bot.config import load_config
from bot.content import normalise
from bot.content.faq import load_faq, read_out_of_scope
from bot.content.matcher import Matcher
from bot.content.normalise import MAX_WORDS, Normaliser, load_lexicon, raw_words
from conftest import REPO


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    config = load_config(REPO / "config.yaml")
    faq = load_faq(config.faq_dir, config.office_placeholders())
    return build_matcher(config, faq)


@pytest.fixture(scope="module")
def normaliser(matcher) -> Normaliser:
    return matcher.normaliser


def test_raw_words_lowercase_strip_punctuation_and_squeeze_repeats():
    assert raw_words("Paspor HILANG!!! gmn dong???") == ["paspor", "hilang", "gmn", "dong"]
    assert raw_words("mahal bangettt") == ["mahal", "banget"]
    assert raw_words("e-paspor, m-paspor") == ["epaspor", "mpaspor"]
    assert raw_words("tanda-tanda calo") == ["tandatanda", "calo"]
    assert raw_words("paspor\u200b\u202e2thn") == ["paspor", "2", "thn"]


@pytest.mark.parametrize(
    ("informal", "standard"),
    [
        ("brp biaya bikin paspor", "berapa biaya buat paspor"),
        ("paspor ilang gmn", "paspor hilang bagaimana"),
        ("mo kerja jd tki", "kerja pmi"),
        ("pasport sy udh abis", "paspor habis"),
    ],
)
def test_slang_and_standard_forms_become_the_same_tokens(normaliser, informal, standard):
    assert normaliser.tokens(informal) == normaliser.tokens(standard)


def test_reduplicated_plurals_become_one_word(normaliser):
    assert normaliser.tokens("syarat-syarat paspor") == normaliser.tokens("syarat paspor")
    assert normaliser.tokens("tanda-tanda") == normaliser.tokens("ciri")  # not "tanda tangan"


def test_stemming_joins_word_forms(normaliser):
    assert normaliser.tokens("pembuatan") == normaliser.tokens("dibuat") == ["buat"]
    assert normaliser.tokens("perpanjangan") == normaliser.tokens("memperpanjang")


def test_typos_are_corrected_towards_the_faq_vocabulary_but_real_words_are_kept(normaliser):
    assert normaliser.tokens("imigarsi") == normaliser.tokens("imigrasi")
    assert "beras" in normaliser.tokens("harga beras")  # a real word, not "bebas"


def test_language_is_detected(normaliser):
    assert normaliser.language("how much does a passport cost") == "en"
    assert normaliser.language("berapa biaya paspor") == "id"
    assert normaliser.language("passport sy hilang") == "id"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("brp biaya paspor skrg?", "paspor-biaya"),
        ("paspor ilang gmn", "paspor-hilang"),
        ("bikin paspor buat anak bayi", "paspor-anak"),
        ("how much does a passport cost", "paspor-biaya"),
        ("i lost my passport", "paspor-hilang"),
        ("kantor imigrasi palu dimana", "kantor-imigrasi"),
        ("ciri ciri calo tki ilegal", "tppo-tanda"),
    ],
)
def test_informal_questions_reach_their_topic(matcher, question, topic):
    match = matcher.match(question)
    assert match.topic_id == topic, matcher.scores(question)[:3]
    assert match.score >= matcher.threshold


@pytest.mark.parametrize(
    "question",
    [
        "harga pupuk",
        "cara bikin KTP",
        "jadwal posyandu",
        "resep ikan bakar",
        "😀😀",
        "",
        "   ",
        "x" * 5000,
    ],
)
def test_out_of_scope_questions_are_declined(matcher, question):
    assert matcher.match(question).topic_id is None


def test_the_out_of_scope_list_declines_questions_that_borrow_faq_words(tmp_path):
    """ "cara ganti ktp yang rusak" shares words with passport topics; the list tips it over."""
    config = load_config(REPO / "config.yaml")
    faq = load_faq(config.faq_dir, config.office_placeholders())
    lexicon = load_lexicon(config.faq_dir)
    question = "cara ganti ktp saya yang rusak"
    without_list = Matcher(faq, lexicon, config.faq_threshold).match(question)
    with_list = Matcher(faq, lexicon, config.faq_threshold, read_out_of_scope(config.faq_dir))
    assert without_list.topic_id is not None
    assert with_list.match(question).topic_id is None


def test_close_topics_are_offered_as_alternatives(matcher):
    """When the runner-up is close, the bot asks instead of guessing."""
    found = [
        q
        for q in ["paspor", "biaya", "syarat", "daftar", "kerja luar negeri", "lapor"]
        if matcher.match(q).alternatives
    ]
    assert found, "no one-word question is ambiguous: the margin check never fires"
    match = matcher.match(found[0])
    assert all(score <= match.score for _, score in match.alternatives)


def _made_up(chars: int, seed: int) -> str:
    """Random words of 5 to 9 letters, ``chars`` long: none a real word, none cached yet."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < chars:
        words.append("".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9))))
    return " ".join(words)[:chars]


def _count_calls(monkeypatch, owner: object, name: str) -> list[str]:
    """``owner.name`` still works, and each call's first argument is recorded."""
    calls: list[str] = []
    original: Callable = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_long_made_up_question_costs_a_bounded_number_of_lookups(matcher, monkeypatch):
    """A new word costs a stemming and a fuzzy lookup (about 0.15 ms): 4,096 characters of made-up
    words, new to the caches as an attacker's would be, cost at most MAX_WORDS of each."""
    question = _made_up(4096, seed=12)
    stemmed = _count_calls(monkeypatch, matcher.normaliser._stemmer, "stem")
    looked_up = _count_calls(monkeypatch, normalise.process, "extractOne")
    assert matcher.match(question).topic_id is None
    assert MAX_WORDS <= 64  # the budget: about 10 ms of CPU (bench/matcher_cost.py)
    assert 0 < len(stemmed) <= MAX_WORDS  # 0 would mean the counting saw nothing
    assert 0 < len(looked_up) <= MAX_WORDS
    assert len(matcher.normaliser.tokens(question)) <= MAX_WORDS


def test_a_long_paste_is_read_from_its_first_words(matcher):
    """The question at the start is answered; past its first MAX_WORDS words a paste is not
    read, so the made-up words there cannot drown the question, as they do when read."""
    question = "paspor saya hilang, bagaimana?"
    padding = " ".join(["tolong ya pak"] * MAX_WORDS)  # stop words: nothing to match
    paste = _made_up(4096, seed=13)
    assert matcher.match(f"{question} {padding} {paste}"[:4096]).topic_id == "paspor-hilang"
    assert matcher.match(f"{question} {paste}").topic_id is None
