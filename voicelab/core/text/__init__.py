"""Text as a voice reads it: written-out numbers and abbreviations, sentences, characters.

Below synthesis, dataset and training alike: synthesis speaks normalized sentences, the
dataset tab cleans transcripts the same way, and scoring compares what Whisper heard with
what was meant after the same normalization.

    normalize.py   numbers, money, times, abbreviations, symbols written out (`normalize_text`)
    numbers.py     numbers in words
    sentences.py   cutting text into sentences a voice can stream (`split_sentences`)
    characters.py  characters a voice cannot say, named for the user
"""
