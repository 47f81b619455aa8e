"""The names of the eval suites (kept apart so that the CLI's parser imports nothing heavy).

Each kind has a dev suite (tests may read its cases) and a held-out one (`<kind>-heldout`, from
`<kind>*-heldout.jsonl`: written apart from the code, never tuned on, reported by `drafter eval`).
"""

from __future__ import annotations

KINDS = ("rewrite", "draft", "retrieval")
# cleaning, cleaning-heldout: the labelled pages of evals/cleaning-dev/ and
# evals/cleaning-heldout/ through the cleaner.
CLEANING = ("cleaning", "cleaning-heldout")
SUITES = (*KINDS, *(f"{k}-heldout" for k in KINDS), *CLEANING)


def kind_and_split(suite: str) -> tuple[str, str]:
    """``"rewrite-heldout"`` → ``("rewrite", "heldout")``; ``"draft"`` → ``("draft", "dev")``."""
    kind, _, held = suite.partition("-")
    return kind, "heldout" if held else "dev"
