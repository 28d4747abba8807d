"""Words by their dictionary form (lemma), so that a glossary term is found in whichever form a sentence needs.

Russian and German inflect: the organisation's name stands in the genitive (Движения сознательных отказчиков),
an objector in the dative plural (den Kriegsdienstverweigerern). A phrase is found where each of its words
shares a dictionary form with the text's word in the same place, the words standing apart by no more than
the phrase's own spaces and hyphens.

Russian goes through pymorphy3 (OpenCorpora's dictionary: every reading of an ambiguous form, as суда is
both суд and судно; 0.1 s and 27 MB to load), the other languages through simplemma's dictionaries (German,
English and 50 more; its low-memory form, 1.5 s and 35 MB for German). Both load on first use, never when
the tool starts; a language neither knows is matched word for word. bench/glossary.py measures them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Word:
    """A word of a text: where it stands and the dictionary forms it may be (casefolded, itself among them)."""

    start: int
    end: int
    forms: frozenset[str]


@dataclass(frozen=True)
class Phrase:
    """A term's words, each as the forms it may take, and what stands between them ("" for spaces)."""

    words: tuple[frozenset[str], ...]
    gaps: tuple[str, ...]


def words(text: str, language: str) -> list[Word]:
    """Every word of the text with its dictionary forms."""
    return [Word(match.start(), match.end(), forms(match.group(), language)) for match in WORD.finditer(text)]


def phrase(text: str, language: str) -> Phrase:
    """A glossary term as a phrase to look for."""
    found = words(text, language)
    return Phrase(
        tuple(word.forms for word in found),
        tuple(_gap(text[before.end : after.start]) for before, after in pairwise(found)),
    )


def find(wanted: Phrase, text: str, found: list[Word], at: int) -> int | None:
    """Where the phrase ends in the text when it starts at word `at` of `found` (words(text)), else None."""
    if not wanted.words or at + len(wanted.words) > len(found):
        return None
    for offset, word_forms in enumerate(wanted.words):
        word = found[at + offset]
        if not word_forms & word.forms:
            return None
        if offset and _gap(text[found[at + offset - 1].end : word.start]) != wanted.gaps[offset - 1]:
            return None
    return found[at + len(wanted.words) - 1].end


def has(wanted: Phrase, text: str, language: str) -> bool:
    """True when the phrase stands in the text in any of its forms."""
    found = words(text, language)
    return any(find(wanted, text, found, at) is not None for at in range(len(found)))


def _gap(between: str) -> str:
    """What separates two words, spaces left out: "" for a space, "-" for a hyphen, "," for a comma."""
    return "".join(between.split()).casefold()


@lru_cache(maxsize=65536)
def forms(word: str, language: str) -> frozenset[str]:
    """The dictionary forms a word may be in the language, casefolded (ё as е), the word itself among them."""
    folded = _fold(word)
    code = language.split("_")[0].split("-")[0].lower()
    if code == "ru":
        return frozenset({folded, *(_fold(parse.normal_form) for parse in _morph().parse(word))})
    # simplemma's dictionaries go by case (German nouns are capitalised): a word opening a sentence or written in
    # capitals is also looked up as the dictionary writes it, Alternativen as alternativen, AMT as Amt.
    spellings = {word, word.lower(), word.capitalize()}
    try:
        return frozenset({folded, *(_fold(_lemmatizer().lemmatize(spelling, lang=code)) for spelling in spellings)})
    except ValueError:  # a language simplemma has no dictionary of
        return frozenset({folded})


def _fold(word: str) -> str:
    return word.casefold().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=1)
def _lemmatizer():
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy

    # The low-memory dictionaries: 35 MB for German against 120 MB, loaded as fast (bench/glossary.py).
    return Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True))
