"""[translation] in newsletter.toml: how the engine decodes (translation/engine.py) and who approves in review."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..schema import Table

SCHEMA = {
    "translation": Table(
        optional={
            "beam_size": int,
            "length_penalty": (int, float),
            "threads": int,
            "batch_size": int,
            "max_length_factor": (int, float),
            "max_length": int,
            "compute_type": str,
            "max_input_tokens": int,
            "translator": str,
        }
    ),
}


@dataclass(frozen=True)
class EngineSettings:
    """[translation] in newsletter.toml."""

    beam_size: int = 2
    # Argos's own (argostranslate.translate: length_penalty=0.2): CTranslate2's default, 1.0, rewards length,
    # and on a 1 GB model it made drafts 2.7-3.5x longer than Argos's from the same model (issue 26).
    length_penalty: float = 0.2
    threads: int = 0  # 0: CTranslate2 picks
    batch_size: int = 32
    max_length_factor: float = 2.0
    max_length: int = 0  # a fixed decoding limit in tokens; 0: max_length_factor × the longest sentence
    compute_type: str = "default"  # CTranslate2's: "default" runs the model as stored; "auto", "int8", …
    max_input_tokens: int = 0  # longest input the model is given; 0: half the positions the model knows


def build(root: Path, data: dict) -> EngineSettings:
    """The typed [translation] table."""
    # translator (who approves in review) is read by the review command, not the engine.
    return EngineSettings(**{k: v for k, v in data.get("translation", {}).items() if k != "translator"})
