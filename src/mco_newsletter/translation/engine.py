"""The translation engine: an installed Argos package run directly through SentencePiece and CTranslate2.

All sentences of an issue and language pair go to the model in one batched `translate_batch` call;
nothing here touches the network (argostranslate's own translate path would fetch a sentence
splitter on first use).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .markup import sentences, split_markup
from .packages import Package, route


@dataclass(frozen=True)
class EngineSettings:
    """[translation] in newsletter.toml."""

    beam_size: int = 2
    threads: int = 0  # 0: CTranslate2 picks
    batch_size: int = 32
    max_length_factor: float = 2.0
    max_length: int = 0  # a fixed decoding limit in tokens; 0: max_length_factor × the longest sentence
    compute_type: str = "default"  # CTranslate2's: "default" runs the model as stored; "auto", "int8", …


@dataclass
class Usage:
    """How much work the model did: the figures behind 'no model call for unchanged text'."""

    calls: int = 0
    sentences: int = 0
    packages: list[str] = field(default_factory=list)


class Model:
    """One loaded package: its SentencePiece processor and CTranslate2 translator."""

    def __init__(self, package: Package, settings: EngineSettings):
        import ctranslate2
        import sentencepiece

        from ..errors import NewsletterError

        self.package = package
        self.settings = settings
        try:
            self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
            self.translator = ctranslate2.Translator(str(package.path / "model"), device="cpu",
                                                     compute_type=settings.compute_type,
                                                     intra_threads=settings.threads, inter_threads=1)
        except (RuntimeError, OSError, ValueError) as exc:
            raise NewsletterError(f"{package.path}: cannot load the translation model: {exc}",
                                  hint="reinstall the package with `mco-newsletter models install`") from None

    def translate(self, texts: list[str]) -> list[str]:
        """Sentences in, sentences out, in one batched call."""
        if not texts:
            return []
        tokens = self.tokenizer.encode(texts, out_type=str)
        longest = max(len(t) for t in tokens)
        limit = self.settings.max_length or int(longest * self.settings.max_length_factor) + 10
        results = self.translator.translate_batch(
            tokens, beam_size=self.settings.beam_size, max_batch_size=self.settings.batch_size,
            max_decoding_length=limit)
        return [self.tokenizer.decode(result.hypotheses[0]).strip() for result in results]


class Engine:
    """Translates pieces of issue text between languages, keeping markup, through installed packages."""

    name = "argos"

    def __init__(self, settings: EngineSettings | None = None):
        self.settings = settings or EngineSettings()
        self.models: dict[tuple[str, str], Model] = {}
        self.usage = Usage()
        self.lock = threading.Lock()

    def describe(self, from_code: str, to_code: str) -> str:
        """Which package(s) a pair goes through, for the catalogs' comments."""
        return " + ".join(p.label for p in route(from_code, to_code))

    def translate(self, pieces: list[str], from_code: str, to_code: str) -> list[str]:
        """Translate Markdown pieces; every URL, address, number and bit of syntax comes back as it was."""
        texts = list(pieces)
        for package in route(from_code, to_code):
            texts = self._through(package, texts, from_code)
            from_code = package.to_code
        return texts

    def _through(self, package: Package, pieces: list[str], language: str) -> list[str]:
        plans = []
        batch: list[str] = []
        for piece in pieces:
            plan = []
            for translate, part in split_markup(piece):
                if not translate:
                    plan.append(part)
                    continue
                lead, found, trail = sentences(part, language)
                plan.append((lead, len(batch), len(found), trail))
                batch.extend(found)
            plans.append(plan)
        if batch:
            model = self._model(package)
            translated = model.translate(batch)
            self.usage.calls += 1
            self.usage.sentences += len(batch)
            if package.label not in self.usage.packages:
                self.usage.packages.append(package.label)
        out = []
        for plan in plans:
            text = []
            for item in plan:
                if isinstance(item, str):
                    text.append(item)
                else:
                    lead, start, count, trail = item
                    text.append(lead + " ".join(translated[start:start + count]) + trail)
            out.append("".join(text))
        return out

    def _model(self, package: Package) -> Model:
        key = (package.from_code, package.to_code)
        with self.lock:
            if key not in self.models:
                self.models[key] = Model(package, self.settings)
            return self.models[key]
