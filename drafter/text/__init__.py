"""Text handling: decoding input, facts, word segmentation, script conversion."""
