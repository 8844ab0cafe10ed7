"""Text normalization, sentence splitting and the characters a voice cannot say (no model)."""

from __future__ import annotations

import pytest

from voicelab.core.synthesis.errors import TextError
from voicelab.core.synthesis.text import prepare_text
from voicelab.core.text import numbers
from voicelab.core.text.characters import unsupported_characters
from voicelab.core.text.normalize import normalize_text
from voicelab.core.text.sentences import split_sentences


@pytest.mark.parametrize("number, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty-two"),
    (100, "one hundred"), (101, "one hundred one"), (999, "nine hundred ninety-nine"),
    (1000, "one thousand"), (1234, "one thousand two hundred thirty-four"),
    (1_000_000, "one million"), (2_500_017, "two million five hundred thousand seventeen"),
    (-8, "minus eight"),
])
def test_cardinals(number, words):
    assert numbers.cardinal(number) == words


@pytest.mark.parametrize("number, words", [
    (1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"),
    (9, "ninth"), (12, "twelfth"), (20, "twentieth"), (21, "twenty-first"),
    (100, "one hundredth"), (103, "one hundred third"),
])
def test_ordinals(number, words):
    assert numbers.ordinal(number) == words


@pytest.mark.parametrize("number, words", [
    (1999, "nineteen ninety-nine"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
    (2000, "two thousand"), (2005, "two thousand five"), (2010, "twenty ten"),
    (2024, "twenty twenty-four"), (1066, "ten sixty-six"),
])
def test_years(number, words):
    assert numbers.year(number) == words


@pytest.mark.parametrize("text, expected", [
    # currency
    ("It costs $3.50.", "It costs three dollars and fifty cents."),
    ("Only $1 or $0.05 each.", "Only one dollar or five cents each."),
    ("A $1,000,000 prize.", "A one million dollars prize."),
    ("They raised €2.5 million.", "They raised two point five million euros."),
    ("It was £3.01.", "It was three pounds and one penny."),
    ("A $10k budget.", "A ten thousand dollars budget."),
    # percentages and decimals
    ("Growth was 45% and 3.5 %.", "Growth was forty-five percent and three point five percent."),
    ("Pi is 3.14 and it fell to -7.", "Pi is three point one four and it fell to minus seven."),
    # cardinals, years, ordinals, decades
    ("There were 1,234 people.", "There were one thousand two hundred thirty-four people."),
    ("In 1999 and in 2024.", "In nineteen ninety-nine and in twenty twenty-four."),
    ("The 1st, 2nd, 23rd and 101st.", "The first, second, twenty-third and one hundred first."),
    ("The 1990s and the '80s.", "The nineteen nineties and the eighties."),
    ("Agent 007.", "Agent zero zero seven."),
    # times
    ("At 10:30 a.m. or 9:05pm or 3:00.", "At ten thirty AM or nine oh five PM or three o'clock."),
    # abbreviations
    ("Dr. Smith lives on Elm Dr. near St. Louis.", "Doctor Smith lives on Elm Drive near Saint Louis."),
    ("Mr. and Mrs. Jones met Prof. Lee.", "Mister and Missus Jones met Professor Lee."),
    ("He lives on Main St. Then he moved.", "He lives on Main Street. Then he moved."),
    ("Fruit, e.g. apples, pears, etc. Then tea.", "Fruit, for example apples, pears, et cetera. Then tea."),
    ("Red vs. blue, No. 5.", "Red versus blue, Number five."),
    # symbols
    ("Salt & pepper @ home + friends = fun.", "Salt and pepper at home plus friends equals fun."),
    ("It is 20°C, x² is 2½ cups.", "It is twenty degrees Celsius, x squared is two and a half cups."),
    ("Pages 5–10 — quickly.", "Pages five to ten, quickly."),
    ("He said “hello”… and left.", 'He said "hello"... and left.'),
])
def test_normalize_english(text, expected):
    assert normalize_text(text) == expected


def test_version_numbers_and_mixed_tokens_are_left_alone():
    assert normalize_text("Version 1.2.3 of MP3.") == "Version 1.2.3 of MP3."


def test_other_languages_only_get_clean_up():
    assert normalize_text("Es kostet 3,50 € – ok", "de") == "Es kostet 3,50 €, ok"


def test_sentences():
    text = ("Doctor Smith arrived. Was he late? No! He said \"hello.\" Then he sat down.\n"
            "A new line starts a sentence\n"
            "but not when the next line goes on in lower case.\n\n"
            "J. K. Rowling wrote it... and so on.")
    assert split_sentences(text) == [
        "Doctor Smith arrived.", "Was he late?", "No!", 'He said "hello."', "Then he sat down.",
        "A new line starts a sentence but not when the next line goes on in lower case.",
        "J. K. Rowling wrote it... and so on.",
    ]


def test_punctuation_only_pieces_are_dropped():
    assert split_sentences("Hello there. ... !!! Bye.") == ["Hello there.", "Bye."]


def test_long_sentences_are_cut_at_a_comma_or_space():
    sentence = ", ".join(["this clause has a handful of words"] * 30) + "."
    pieces = split_sentences(sentence, max_chars=200)
    assert len(pieces) > 1
    assert all(len(p) <= 200 for p in pieces)
    assert " ".join(pieces).replace("  ", " ") == sentence
    assert all(p.endswith((",", ".")) for p in pieces)


def test_unsupported_characters_for_an_english_voice():
    found = unsupported_characters("Hi 你好, café 😀 → Привет!", "en-us")
    assert found == ["你", "好", "😀", "→", "П", "р", "и", "в", "е", "т"]


def test_a_russian_voice_reads_cyrillic_and_latin():
    assert unsupported_characters("Привет, hello", "ru") == []


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("... !!! ???", "nothing to speak"),
    ("Hello 你好", '"你" (CJK UNIFIED IDEOGRAPH-4F60), "好"'),
    ("Nice 😀", "GRINNING FACE"),
])
def test_prepare_text_errors(text, message):
    with pytest.raises(TextError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare_text(text, "en-us")


def test_prepare_text_returns_spoken_sentences():
    assert prepare_text("Dr. Who paid $5. Done!", "en-us") == ["Doctor Who paid five dollars.", "Done!"]
