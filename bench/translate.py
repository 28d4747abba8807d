"""Translation figures: this project's engine against argostranslate.translate on the same realistic package.

Run from the repository: python bench/translate.py [--rounds 3]
Builds an Argos package of transformer-base size (6+6 layers, d_model 512, 8 heads, FFN 2048, a 32,000-piece
vocabulary) with random weights, then translates the two sample issues `--rounds` times with
  - this engine: the sentences of an issue in batched CTranslate2 calls of about batch_size sentences, and
  - argostranslate.translate, paragraph by paragraph, its sentencizer replaced by ours (pysbd), so that
    only the translation path differs,
with the same beam size, the same decoding-length limit and the same length penalty (Argos's 0.2, which
this engine uses too), and prints both times, the output tokens of both (a faster engine that writes
longer drafts, or shorter, is not measured at equal work: the time per 1,000 output tokens is printed beside
the ratio), how many pieces came out different, and the model calls of `translate` run again on an
unchanged issue.
Targets (issue 3): at least 3× faster; 0 model calls on an unchanged issue.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

BEAM = 4
MAX_LENGTH = 256
VOCAB = 32_000


def build_base_package(out: Path) -> Path:
    """A transformer-base Argos package with random weights (float32) and a SentencePiece model of the issues."""
    import io

    import sentencepiece as spm
    from ctranslate2.specs import transformer_spec

    text = [line for path in sorted((REPO / "issues").glob("*/issue.md"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text * 3), model_writer=model, vocab_size=2000,
                                   hard_vocab_limit=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    pieces += [f"▁filler{i}" for i in range(VOCAB - len(pieces))]  # a vocabulary of realistic size
    rng = np.random.default_rng(7)
    spec = transformer_spec.TransformerSpec.from_config((6, 6), 8)
    d_model, ffn, vocab = 512, 2048, len(pieces)

    def random(*shape):
        return rng.normal(0, 0.05, shape).astype(np.float32)

    def norm(node):
        node.gamma, node.beta = np.ones(d_model, np.float32), np.zeros(d_model, np.float32)

    def linear(node, rows, cols):
        node.weight, node.bias = random(rows, cols), np.zeros(rows, np.float32)

    def block(layer, cross: bool):
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        if cross:
            norm(layer.attention.layer_norm)
            linear(layer.attention.linear[0], d_model, d_model)
            linear(layer.attention.linear[1], 2 * d_model, d_model)
            linear(layer.attention.linear[2], d_model, d_model)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, ffn, d_model)
        linear(layer.ffn.linear_1, d_model, ffn)

    spec.encoder.embeddings[0].weight = random(vocab, d_model)
    norm(spec.encoder.layer_norm)
    for layer in spec.encoder.layer:
        block(layer, cross=False)
    spec.decoder.embeddings.weight = random(vocab, d_model)
    norm(spec.decoder.layer_norm)
    for layer in spec.decoder.layer:
        block(layer, cross=True)
    linear(spec.decoder.projection, vocab, d_model)
    # Random weights never choose </s> on their own: a bias makes sentences end at a plausible length.
    spec.decoder.projection.bias = np.zeros(len(pieces), np.float32)
    spec.decoder.projection.bias[2] = 4.4
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.config.add_source_eos = True
    spec.validate()
    folder = out / "translate-en_de-base"
    (folder / "model").mkdir(parents=True)
    spec.save(str(folder / "model"))
    (folder / "sentencepiece.model").write_bytes(model.getvalue())
    (folder / "metadata.json").write_text(json.dumps({
        "package_version": "1.0", "argos_version": "1.0", "from_code": "en", "to_code": "de", "type": "translate",
        "package_name": "random transformer-base en→de"}))
    path = out / "translate-en_de-base.argosmodel"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            archive.write(file, file.relative_to(out))
    shutil.rmtree(folder)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    folder = Path(tempfile.mkdtemp(prefix="mco-translate-bench-"))
    os.environ["ARGOS_PACKAGES_DIR"] = str(folder / "packages")
    os.environ["XDG_DATA_HOME"] = str(folder / "data")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    try:
        start = time.perf_counter()
        package = build_base_package(folder)
        print(f"built a transformer-base package ({package.stat().st_size / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - start:.1f} s")
        run(package, args.rounds, folder)
    finally:
        shutil.rmtree(folder)


def run(package: Path, rounds: int, folder: Path) -> None:
    from mco_newsletter.catalogs import pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.translation.engine import Engine
    from mco_newsletter.translation.settings import EngineSettings
    from mco_newsletter.translation.markup import sentences
    from mco_newsletter.translation.packages import install_file

    install_file(package)
    issues = [parse_issue(path) for path in sorted((REPO / "issues").glob("*/issue.md"))]
    texts = [[piece.source for piece in pieces(issue)] for issue in issues]

    import argostranslate.settings
    import argostranslate.translate as argos_translate

    class SameSentences:
        """Argos's sentencizer replaced by this project's split (pysbd), which needs no download."""

        def __init__(self, pkg):
            pass

        def split_sentences(self, text: str) -> list[str]:
            return sentences(text, "en")[1]

    argos_translate.MiniSBDSentencizer = SameSentences
    argos_translate.StanzaSentencizer = SameSentences
    argostranslate.settings.beam_size = BEAM
    results = []
    # Argos asks CTranslate2 for compute_type "auto" (int8 on this CPU); this engine runs a package as
    # stored unless told otherwise. Both are compared at both settings, so only the translation path differs.
    for compute_type in ("default", "auto"):
        engine = Engine(EngineSettings(beam_size=BEAM, max_length=MAX_LENGTH, batch_size=64, length_penalty=0.2,
                                       threads=os.cpu_count() or 0, compute_type=compute_type))
        engine.translate(texts[0][:1], "en", "de")  # load the model
        argostranslate.settings.compute_type = compute_type
        argos_translate.installed_translates.clear()
        argos_translate.get_installed_languages.cache_clear()
        translation = argos_translate.get_translation_from_codes("en", "de")
        translation.translate(texts[0][0])  # load the model
        ours_time = argos_time = 0.0
        # Rounds alternate between the two, so that a machine shared with other work slows both alike.
        for _ in range(rounds):
            start = time.perf_counter()
            ours = [engine.translate(issue_texts, "en", "de") for issue_texts in texts]
            ours_time += time.perf_counter() - start
            start = time.perf_counter()
            theirs = [[translation.translate(text) for text in issue_texts] for issue_texts in texts]
            argos_time += time.perf_counter() - start
        results.append((compute_type, ours_time, argos_time, ours, theirs))
    total = sum(len(t) for t in texts)
    tokenizer = _tokenizer(folder)
    print(f"{rounds} rounds × {len(texts)} issues ({total} pieces, beam {BEAM}, length penalty 0.2 both, "
          f"at most {MAX_LENGTH} tokens):")
    for compute_type, ours_time, argos_time, ours, theirs in results:
        different = sum(a != b for mine, other in zip(ours, theirs) for a, b in zip(mine, other))
        ours_tokens = sum(len(tokenizer.encode(text)) for issue_texts in ours for text in issue_texts)
        argos_tokens = sum(len(tokenizer.encode(text)) for issue_texts in theirs for text in issue_texts)
        print(f"  compute_type {compute_type!r}: argostranslate.translate piece by piece {argos_time:.2f} s, "
              f"this engine (batched calls of about batch_size sentences) {ours_time:.2f} s → "
              f"{argos_time / ours_time:.1f}× faster (target 3×); output tokens per round: argos {argos_tokens:,}, "
              f"this engine {ours_tokens:,} ({ours_tokens / argos_tokens:.2f}×); per 1,000 output tokens: argos "
              f"{argos_time / rounds / argos_tokens * 1000:.3f} s, "
              f"this engine {ours_time / rounds / ours_tokens * 1000:.3f} s "
              f"→ {(argos_time / argos_tokens) / (ours_time / ours_tokens):.1f}× at equal output; "
              f"{different} of {total} pieces differ")
    print("  (pieces differ because this engine keeps numbers, URLs and markup outside the model, and sends "
          "whole batches where argos sends each paragraph's sentences)")
    again_calls(issues[0], engine, folder)


def _tokenizer(folder: Path):
    """The installed package's SentencePiece model, to count output tokens."""
    import sentencepiece

    [model] = sorted((folder / "packages").rglob("sentencepiece.model"))
    return sentencepiece.SentencePieceProcessor(model_file=str(model))


def again_calls(issue, engine, folder: Path) -> None:
    """Model calls when translate runs a second time on an unchanged issue."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.translation.drafts import draft_catalogs

    sys.path.insert(0, str(REPO / "bench"))
    from send import copy_workspace

    root = copy_workspace(folder)
    settings = load_settings(root)
    from mco_newsletter.issue import parse_issue

    issue = parse_issue(root / "issues" / issue.id / "issue.md", languages=settings.languages)
    draft_catalogs(settings, issue, ("de",), engine)
    before = engine.usage.calls
    draft_catalogs(settings, issue, ("de",), engine)
    print(f"model calls when translate runs again on the unchanged issue {issue.id}: "
          f"{engine.usage.calls - before} (target 0)")


if __name__ == "__main__":
    main()
