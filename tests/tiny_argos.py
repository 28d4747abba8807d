"""A tiny but real Argos Translate package, built offline in well under a second.

A character-level SentencePiece model trained on a few lines of English, German and Russian, and a
one-layer CTranslate2 Transformer with hand-set weights: embeddings are one-hot over
[token | position], the encoder and decoder layers add nothing, the decoder's cross-attention copies
source position t at step t, and the output projection maps every piece to its upper-case piece.
So "hello world" translates to "HELLO WORLD", deterministically, and `add_source_eos` lets it stop.

Like a real Argos model it has limits: a character outside its vocabulary (an emoji) comes back as
" ⁇ ", and it knows only MAX_POSITIONS positions, so a longer sentence fails with CTranslate2's
"No position encodings are defined for positions >= 128" (real packages stop at 256 or 500).
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

TRAINING_TEXT = """
The Movement of Conscientious Objectors helps people who refuse military service.
Hello world, this is a short test of the tiny translation model.
Die Bewegung der Kriegsdienstverweigerer hilft Menschen, die den Militärdienst verweigern. Grüße aus Köln.
Движение сознательных отказчиков помогает людям, которые отказываются от военной службы.
Съешь же ещё этих мягких французских булок, да выпей чаю.
Quick brown fox jumps over the lazy dog. Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.
0123456789 .,;:!?'"()[]{}<>/\\|@#$%^&*_+=-–—’“”«»…
"""
MAX_POSITIONS = 128


def _alphabet() -> str:
    latin = "abcdefghijklmnopqrstuvwxyzäöüéèàç"
    cyrillic = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    return latin + latin.upper() + cyrillic + cyrillic.upper()


def train_sentencepiece() -> bytes:
    """A character-level SentencePiece model (unk/bos/eos ids 0/1/2) as bytes."""
    import sentencepiece as spm

    lines = [line for line in TRAINING_TEXT.strip().splitlines()]
    lines += [line.upper() for line in lines] + [_alphabet(), " ".join(_alphabet())]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="char", vocab_size=400,
        hard_vocab_limit=False, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    return model.getvalue()


def _transformer_spec():
    """ctranslate2.specs, imported without torch when nothing has loaded torch yet.

    ctranslate2.specs imports torch whenever it is installed (argostranslate's test extra brings it): seconds
    of start-up per process, for nothing here, since the tiny model's weights are numpy arrays and save to
    the same bytes either way.
    """
    if "ctranslate2.specs" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
        try:
            from ctranslate2.specs import transformer_spec
        finally:
            del sys.modules["torch"]
    from ctranslate2.specs import transformer_spec
    return transformer_spec


def build_spec(pieces: list[str]):
    """The copy-and-upper-case Transformer over the given vocabulary."""
    transformer_spec = _transformer_spec()

    vocab = len(pieces)
    index = {piece: number for number, piece in enumerate(pieces)}
    d_model = vocab + MAX_POSITIONS
    ffn = 4
    spec = transformer_spec.TransformerSpec.from_config((1, 1), 1)
    f32 = np.float32

    def one_hot_tokens(scale: float = 1.0) -> np.ndarray:
        weights = np.zeros((vocab, d_model), f32)
        weights[np.arange(vocab), np.arange(vocab)] = scale
        return weights

    positions = np.zeros((MAX_POSITIONS, d_model), f32)
    positions[np.arange(MAX_POSITIONS), vocab + np.arange(MAX_POSITIONS)] = 1.0
    identity = np.eye(d_model, dtype=f32)
    zero_square = np.zeros((d_model, d_model), f32)
    position_part = np.zeros((d_model, d_model), f32)
    position_part[vocab:, vocab:] = np.eye(MAX_POSITIONS, dtype=f32)
    token_part = np.zeros((d_model, d_model), f32)
    token_part[:vocab, :vocab] = np.eye(vocab, dtype=f32)

    def layer_norm(norm) -> None:
        norm.gamma = np.ones(d_model, f32)
        norm.beta = np.zeros(d_model, f32)

    def silent_ffn(block) -> None:
        layer_norm(block.layer_norm)
        block.linear_0.weight = np.zeros((ffn, d_model), f32)
        block.linear_0.bias = np.zeros(ffn, f32)
        block.linear_1.weight = np.zeros((d_model, ffn), f32)
        block.linear_1.bias = np.zeros(d_model, f32)

    def silent_self_attention(attention) -> None:
        layer_norm(attention.layer_norm)
        attention.linear[0].weight = np.concatenate([identity, identity, identity])
        attention.linear[0].bias = np.zeros(3 * d_model, f32)
        attention.linear[1].weight = zero_square.copy()  # adds nothing to the residual stream
        attention.linear[1].bias = np.zeros(d_model, f32)

    encoder, decoder = spec.encoder, spec.decoder
    encoder.scale_embeddings = False
    decoder.scale_embeddings = False
    encoder.embeddings[0].weight = one_hot_tokens()
    encoder.position_encodings.encodings = positions
    silent_self_attention(encoder.layer[0].self_attention)
    silent_ffn(encoder.layer[0].ffn)
    layer_norm(encoder.layer_norm)

    # The decoder sees only where it is: its token embeddings are zero, its position one-hot.
    decoder.embeddings.weight = np.zeros((vocab, d_model), f32)
    decoder.position_encodings.encodings = positions
    layer = decoder.layer[0]
    silent_self_attention(layer.self_attention)
    cross = layer.attention
    layer_norm(cross.layer_norm)
    cross.linear[0].weight = position_part * 8.0          # query: my position …
    cross.linear[0].bias = np.zeros(d_model, f32)
    cross.linear[1].weight = np.concatenate([position_part, token_part])  # keys: their position; values: their token
    cross.linear[1].bias = np.zeros(2 * d_model, f32)
    cross.linear[2].weight = token_part * 4.0
    cross.linear[2].bias = np.zeros(d_model, f32)
    silent_ffn(layer.ffn)
    layer_norm(decoder.layer_norm)

    projection = np.zeros((vocab, d_model), f32)
    for piece, number in index.items():
        upper = piece.upper()
        target = index.get(upper, number) if not piece.startswith("<") else number
        projection[target, number] += 1.0
    decoder.projection.weight = projection
    decoder.projection.bias = np.zeros(vocab, f32)

    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.config.add_source_bos = False
    spec.config.add_source_eos = True
    spec.validate()
    return spec


def build_package(out: Path, from_code: str = "en", to_code: str = "de", version: str = "1.0") -> Path:
    """Write translate-<from>_<to>-<version>.argosmodel (a zip with one top-level folder) into `out`."""
    import sentencepiece as spm

    model_bytes = train_sentencepiece()
    processor = spm.SentencePieceProcessor(model_proto=model_bytes)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    folder_name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    work = out / f".build-{folder_name}"
    model_dir = work / folder_name / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    build_spec(pieces).save(str(model_dir))
    (work / folder_name / "sentencepiece.model").write_bytes(model_bytes)
    metadata = {"package_version": version, "argos_version": "1.0", "from_code": from_code,
                "from_name": from_code, "to_code": to_code, "to_name": to_code, "type": "translate",
                "package_name": f"Tiny upper-case test model {from_code}→{to_code}"}
    (work / folder_name / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    path = out / f"{folder_name}.argosmodel"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted((work / folder_name).rglob("*")):
            archive.write(file, file.relative_to(work))
    return path
