"""The core object: ``Drafter(settings)`` and every capability of the product as a method.

A `Drafter` owns one `State` (settings, the state folder, the knowledge location and every
loaded artefact, under one freshness policy). The CLI builds one per command, `drafter serve`
builds one and hands it to the web app, and ``drafter.rewrite()/draft()/search()`` use the
default one. Each method makes its state the active one for the call, so the library code it
reaches (`drafter.state.current()`) reads this instance's settings and knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from drafter import state as state_mod
from drafter.drafting.composer import DraftResult
from drafter.engines import registry
from drafter.knowledge.ingest import ingest
from drafter.rules.engine import check
from drafter.settings import Settings
from drafter.state import Progress, State
from drafter.types import Passage, RewriteResult

if TYPE_CHECKING:  # only for annotations: these modules are imported when a method needs them
    from drafter.knowledge.ingest import IngestReport
    from drafter.retrieval.index import BuildReport
    from drafter.rules.engine import Finding


class Drafter:
    """回复助手: rewrite drafts, draft replies, search and index the manuals."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        progress: Progress | None = None,
        state: State | None = None,
    ) -> None:
        self.state = state if state is not None else State(settings, progress)

    @classmethod
    def default(cls) -> Drafter:
        """A Drafter over the process's default state (the environment's settings)."""
        return cls(state=state_mod.default())

    @property
    def settings(self) -> Settings:
        return self.state.settings

    # ------------------------------------------------------------------ agents

    def rewrite(self, text: str, engine: str = "auto") -> RewriteResult:
        """Rewrite a draft into the house tone; every change explained and cited."""
        with self.state.active():
            return registry.rewrite(text, engine)

    def check(self, text: str) -> list[Finding]:
        """The rule findings (changes and flags) on ``text``; empty when it follows the rules."""

        with self.state.active():
            return check(text)

    def draft(
        self,
        message: str,
        channel: str = "chat",
        engine: str = "auto",
        *,
        situation: str | None = None,
    ) -> DraftResult:
        """Draft a reply to a customer message for ``channel`` (chat or email)."""
        with self.state.active():
            return registry.draft(message, channel, engine, situation=situation)

    # ------------------------------------------------------------------ knowledge

    def search(self, query: str, k: int = 5, *, restate: bool = True) -> list[Passage]:
        """The ``k`` passages of the manuals that best answer ``query``, best first; with an
        LLM configured, the question is also restated in the manuals' terms (``restate``)."""
        # The retrieval stack (numpy, chromadb) is imported only by the commands that search.
        from drafter.retrieval.hybrid import search

        with self.state.active():
            return search(query, k, restate=restate)

    def build_index(self, rebuild: bool = False) -> BuildReport:
        """Index the manuals; a no-op when nothing they are built from changed."""
        from drafter.retrieval.index import build_index

        with self.state.active():
            return build_index(rebuild=rebuild)

    def index_status(self) -> dict:
        from drafter.retrieval.index import status

        with self.state.active():
            return status()

    def ingest(
        self,
        paths: Iterable[Path],
        *,
        title: str | None = None,
        out_dir: Path | None = None,
        keep: Iterable[str] = (),
        dry_run: bool = False,
    ) -> list[IngestReport]:
        """Clean scraped manuals into the writable knowledge folder (never into the package);
        each report lists the lines left out with the reason. Lines in ``keep`` stay;
        ``dry_run`` writes nothing."""

        with self.state.active():
            return ingest(
                list(paths), title=title, out_dir=out_dir, keep=frozenset(keep), dry_run=dry_run
            )
