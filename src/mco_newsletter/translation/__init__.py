"""Machine translation: Argos packages driven directly through SentencePiece and CTranslate2, offline."""
