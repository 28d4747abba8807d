"""The translation engine: an installed Argos package run directly through SentencePiece and CTranslate2.

Pieces go to the model in groups of about `batch_size` sentences, one batched `translate_batch` call
per group and package, so that progress can be shown and an error loses only the group it happened
in; nothing here touches the network (argostranslate's own translate path would fetch a sentence
splitter on first use).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..glossary import Glossary
from .markup import spaced_sentences, split_long, split_markup, split_unknown
from .model_file import position_limit
from .packages import Package, route
from .settings import EngineSettings

Progress = Callable[[int, int], None]
SENTENCE_END = re.compile(r"[.!?…]+\s")


@dataclass(frozen=True)
class Draft:
    """A machine translation and how sure the model was: its lowest sentence score (log-probability per
    token, 0 is certain; None when no text went to the model, e.g. a number alone)."""

    text: str
    score: float | None = None


@dataclass
class Usage:
    """How much work the model did: the figures behind 'no model call for unchanged text'."""

    calls: int = 0
    sentences: int = 0
    packages: list[str] = field(default_factory=list)


class TranslationFailed(Exception):
    """The model failed on one piece; the pieces translated before it are kept."""

    def __init__(self, index: int, done: dict[int, Draft], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.index, self.done, self.cause = index, done, cause


class TranslationInterrupted(KeyboardInterrupt):
    """Ctrl-C during translation, carrying the pieces translated until then."""

    def __init__(self, done: dict[int, Draft]) -> None:
        super().__init__()
        self.done = done


class Model:
    """One loaded package: its SentencePiece processor and CTranslate2 translator."""

    def __init__(self, package: Package, settings: EngineSettings) -> None:
        import ctranslate2
        import sentencepiece

        from ..errors import NewsletterError

        self.package = package
        self.settings = settings
        try:
            self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
            self.translator = ctranslate2.Translator(
                str(package.path / "model"),
                device="cpu",
                compute_type=settings.compute_type,
                intra_threads=settings.threads,
                inter_threads=1,
            )
        except (RuntimeError, OSError, ValueError) as exc:
            raise NewsletterError(
                f"{package.path}: cannot load the translation model: {exc}",
                hint="reinstall the package with `mco-newsletter models install`",
            ) from None
        self.positions = position_limit(package.path / "model" / "model.bin")
        # Half the positions: the translation may come out longer than its source and needs room too.
        self.max_input = settings.max_input_tokens or max(8, self.positions // 2)
        self._known: dict[str, bool] = {}

    def knows(self, char: str) -> bool:
        """True when the vocabulary has the character (else the model would answer ⁇)."""
        if char not in self._known:
            self._known[char] = self.tokenizer.unk_id() not in self.tokenizer.encode(char)
        return self._known[char]

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def translate(self, texts: list[str]) -> list[tuple[str, float]]:
        """Sentences in, (sentence, score) out, in one batched call; the score is the log-probability per token
        (whatever length penalty the decoding used), so that long and short sentences compare."""
        if not texts:
            return []
        tokens = self.tokenizer.encode(texts, out_type=str)
        longest = max(len(t) for t in tokens)
        limit = self.settings.max_length or int(longest * self.settings.max_length_factor) + 10
        results = self.translator.translate_batch(
            tokens,
            beam_size=self.settings.beam_size,
            max_batch_size=self.settings.batch_size,
            max_decoding_length=min(limit, self.positions),
            length_penalty=self.settings.length_penalty,
            return_scores=True,
        )
        return [
            (
                self.tokenizer.decode(result.hypotheses[0]).strip(),
                per_token(result.scores[0], len(result.hypotheses[0]), self.settings.length_penalty),
            )
            for result in results
        ]


def per_token(score: float, tokens: int, length_penalty: float) -> float:
    """CTranslate2's score (the summed log-probability over length ** length_penalty, the end token counted)
    as a log-probability per token."""
    length = tokens + 1
    return score * length**length_penalty / length


class Engine:
    """Translates pieces of issue text between languages, keeping markup, through installed packages."""

    name = "argos"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.models: dict[tuple[str, str], Model] = {}
        self.usage = Usage()
        self.lock = threading.Lock()

    def describe(self, from_code: str, to_code: str) -> str:
        """Which package(s) a pair goes through, for the catalogs' comments."""
        return " + ".join(p.label for p in route(from_code, to_code))

    def translate(
        self,
        pieces: list[str],
        from_code: str,
        to_code: str,
        progress: Progress | None = None,
        glossary: Glossary | None = None,
    ) -> list[str]:
        """Translate Markdown pieces; every URL, address, number and bit of syntax comes back as it was."""
        return [draft.text for draft in self.drafts(pieces, from_code, to_code, progress, glossary)]

    def drafts(
        self,
        pieces: list[str],
        from_code: str,
        to_code: str,
        progress: Progress | None = None,
        glossary: Glossary | None = None,
    ) -> list[Draft]:
        """Translate Markdown pieces, each with the model's score; a glossary's terms (glossary.py) are kept
        out of the model and come back as their required targets.

        progress(done, total) is called after every group of pieces. If the model fails, TranslationFailed
        says which piece and carries every piece translated until then.
        """
        packages = route(from_code, to_code)
        done: dict[int, Draft] = {}
        try:
            for group in self._groups(pieces):
                try:
                    drafts = self._route([pieces[i] for i in group], packages, from_code, glossary)
                except Exception as exc:  # noqa: BLE001 — find the piece that fails; keep the others
                    self._one_by_one(pieces, group, packages, from_code, done, exc, glossary)
                else:
                    done.update(zip(group, drafts, strict=True))
                if progress is not None:
                    progress(len(done), len(pieces))
        except KeyboardInterrupt as exc:
            raise TranslationInterrupted(dict(done)) from exc
        return [done[i] for i in range(len(pieces))]

    def _groups(self, pieces: list[str]) -> list[list[int]]:
        """Consecutive pieces in groups of about batch_size sentences."""
        groups: list[list[int]] = [[]]
        size = 0
        for index, piece in enumerate(pieces):
            if size >= self.settings.batch_size:
                groups.append([])
                size = 0
            groups[-1].append(index)
            size += 1 + len(SENTENCE_END.findall(piece))  # about the sentences: no need to split them twice
        return [group for group in groups if group]

    def _one_by_one(self, pieces, group, packages, from_code, done, error, glossary) -> None:
        for index in group:
            try:
                done[index] = self._route([pieces[index]], packages, from_code, glossary)[0]
            except Exception as exc:  # noqa: BLE001
                raise TranslationFailed(index, dict(done), exc) from exc
        raise TranslationFailed(group[0], dict(done), error) from error  # failed together, not alone

    def _route(self, texts: list[str], packages: list[Package], from_code: str, glossary=None) -> list[Draft]:
        # Each text in parts: the glossary's terms (already their targets) and the runs between them, which
        # alone travel through every package of the route.
        plans = [_with_terms(text, glossary) if glossary else [(True, text)] for text in texts]
        runs = [part for plan in plans for translate, part in plan if translate]
        scores: list[float | None] = [None] * len(runs)
        for package in packages:
            translated = self._through(package, runs, from_code)
            runs = [text for text, _ in translated]
            # Log-probabilities of the hops add up: a route through English is as sure as both steps together.
            scores = [
                before if score is None else (before or 0.0) + score
                for (_, score), before in zip(translated, scores, strict=True)
            ]
            from_code = package.to_code
        drafts, at = [], 0
        for plan in plans:
            parts, worst = [], None
            for translate, part in plan:
                if translate:
                    part, worst = runs[at], _worst(worst, scores[at])
                    at += 1
                parts.append(part)
            drafts.append(Draft("".join(parts), worst))
        return drafts

    def _through(self, package: Package, pieces: list[str], language: str) -> list[tuple[str, float | None]]:
        model = self._model(package)
        plans = []
        batch: list[str] = []
        for piece in pieces:
            plan: list = []
            for translate, part in split_markup(piece):
                for keep, run in split_unknown(part, model.knows) if translate else [(False, part)]:
                    if not keep:
                        plan.append(run)
                        continue
                    plan.append(run[: len(run) - len(run.lstrip())])
                    for sentence, space in spaced_sentences(run, language):
                        for chunk, gap in split_long(sentence, model.count, model.max_input):
                            plan += [len(batch), gap]
                            batch.append(chunk)
                        plan.append(space)
                    plan.append(run[len(run.rstrip()) :])
            plans.append(plan)
        translated: list[tuple[str, float]] = []
        if batch:
            translated = model.translate(batch)
            self.usage.calls += 1
            self.usage.sentences += len(batch)
            if package.label not in self.usage.packages:
                self.usage.packages.append(package.label)
        out = []
        for plan in plans:
            used = [translated[item] for item in plan if isinstance(item, int)]
            text = "".join(translated[item][0] if isinstance(item, int) else item for item in plan)
            out.append((text, min((score for _, score in used), default=None)))
        return out

    def _model(self, package: Package) -> Model:
        key = (package.from_code, package.to_code)
        with self.lock:
            if key not in self.models:
                self.models[key] = Model(package, self.settings)
            return self.models[key]


def _worst(a: float | None, b: float | None) -> float | None:
    """The lower of two scores, either of which may be missing."""
    return b if a is None else a if b is None else min(a, b)


def _with_terms(text: str, glossary) -> list[tuple[bool, str]]:
    """The text as (translate?, part) pairs: a glossary term in its words becomes its target, kept from the model;
    link targets, URLs and addresses stay in the parts the model gets (which keep them as written)."""
    plan: list[tuple[bool, str]] = []
    for words, part in split_markup(text):
        for as_is, run in glossary.replaced(part) if words else [(False, part)]:
            if not as_is and plan and plan[-1][0]:
                plan[-1] = (True, plan[-1][1] + run)
            else:
                plan.append((not as_is, run))
    return plan
