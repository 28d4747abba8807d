"""Which of the newsletter's languages a language written by another tool is: codes as tools write them ("de",
"pt_BR", "ru-RU", "EN"), names in English or in the language itself ("German", "Deutsch", "русский"), and the
values a mapping file names."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# A language tag with a region or script (BCP 47 with - or _): "pt_BR", "sr-Latn", "de-AT".
_CODE = re.compile(r"[a-z]{2,3}(?:_[a-z0-9]{2,8})+")
# How rows without a language are counted among those given the default.
NONE = "no language"


@dataclass
class LanguageMatch:
    """The newsletter's languages, the default for a language none of them is, and what went to the default."""

    languages: tuple[str, ...]
    default: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # a mapping file's own values: "Russisch" → "ru"
    unmapped: Counter = field(default_factory=Counter)  # what got the default: by value as written, or NONE

    def __post_init__(self) -> None:
        self._known = {code.casefold(): code for code in self.languages}
        for code in self.languages:
            for name in _names(code, self.languages):
                self._known.setdefault(name.casefold(), code)
        self._known.update({value.strip().casefold(): code for value, code in self.names.items()})

    def find(self, written: str) -> str | None:
        """The newsletter's language `written` names, or None."""
        value = written.strip().casefold()
        if value in self._known:
            return self._known[value]
        code = value.replace("-", "_")
        if code in self._known:
            return self._known[code]
        if _CODE.fullmatch(code):  # pt_BR is Portuguese, de-AT German: the region does not choose the edition
            return self._known.get(code.split("_")[0])
        return None

    def language(self, written: str) -> tuple[str | None, str | None]:
        """(language, None) for a row, or (None, the reason it has none); a language not the newsletter's goes to
        the default and is counted."""
        if not written.strip():
            if self.default:
                self.unmapped[NONE] += 1
                return self.default, None
            return None, "no language (give a language column or --default-language)"
        found = self.find(written)
        if found:
            return found, None
        if self.default:
            self.unmapped[written.strip()] += 1
            return self.default, None
        return None, (
            f"unknown language {written.strip()!r} (expected one of {', '.join(self.languages)}; "
            "--default-language gives such rows a language)"
        )

    def any_language(self, written: str) -> str:
        """A language for someone who gets nothing (a person who left): theirs if it maps, else the default or the
        first; never a reason to lose the record that they left."""
        return self.find(written) or self.default or self.languages[0]


def _names(code: str, languages: tuple[str, ...]) -> set[str]:
    """The language's name in English, in itself and in the newsletter's other languages (babel's CLDR data)."""
    from babel import Locale, UnknownLocaleError

    names = set()
    for where in {"en", code, *languages}:
        try:
            name = Locale.parse(code).get_language_name(where)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            names.add(name)
    return names
