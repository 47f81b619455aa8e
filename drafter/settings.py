"""Settings declared once (name, default, help), read from the environment.

`drafter --help` and README.md list them; a test checks that README documents each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    def get(self) -> str:
        value = os.environ.get(self.name)
        return value if value not in (None, "") else self.default


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("DRAFTER_HOME", ".drafter", "State folder: index, caches, feedback store, logs."),
        Setting("DRAFTER_KNOWLEDGE", "", "Folder with manuals/ and rules/ (default: the bundled knowledge/)."),
        Setting("DRAFTER_CHROMA_URL", "", "Use a Chroma server (http://host:port) instead of the local index."),
        Setting("DRAFTER_EMBEDDINGS_MODEL", "", "OpenAI-compatible embeddings model; empty = offline hashed n-grams."),
        Setting("DRAFTER_MAX_CHARS", "20000", "Longest draft or message accepted, in characters."),
        Setting("OPENAI_API_KEY", "", "API key of the OpenAI-compatible endpoint."),
        Setting("OPENAI_BASE_URL", "", "Base URL of the OpenAI-compatible endpoint (e.g. http://localhost:8000/v1)."),
        Setting("DRAFTER_LLM_MODEL", "", "Model name; the LLM engine is configured when this and a key or base URL are set."),
        Setting("DRAFTER_LLM_TIMEOUT", "20", "Total seconds the LLM engine may spend (all retries) before falling back."),
        Setting("DRAFTER_LLM_RETRIES", "2", "Retries after a failed LLM call (429, 5xx, timeout, bad JSON)."),
        Setting("DRAFTER_LLM_CACHE", "0", "1 = cache LLM replies under DRAFTER_HOME/llm-cache (evals always cache)."),
        Setting("DRAFTER_LLM_CLIENT", "openai", "LLM client library: openai (default) or langchain (langchain-openai ChatOpenAI)."),
        Setting("DRAFTER_PROMPT_BUDGET", "1500", "Token budget of a prompt; retrieved passages are trimmed to fit."),
        Setting("DRAFTER_TEAM_NAME", "客户服务团队", "Team name signed under e-mail drafts."),
        Setting("DRAFTER_SIGNATURE", "", "Extra signature line under e-mail drafts (e.g. a phone number)."),
        Setting("DRAFTER_AUTH", "", "Login for the app: user:password[,user:password...]; empty = no login."),
        Setting("DRAFTER_FEEDBACK_DB", "", "SQLite file for accept/reject feedback (default DRAFTER_HOME/feedback.db)."),
    ]
}


def get(name: str) -> str:
    return SETTINGS[name].get()


def get_int(name: str) -> int:
    try:
        return int(get(name))
    except ValueError:
        return int(SETTINGS[name].default)


def get_float(name: str) -> float:
    try:
        return float(get(name))
    except ValueError:
        return float(SETTINGS[name].default)


def home() -> Path:
    """The one state folder; created on demand."""
    path = Path(get("DRAFTER_HOME")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


_PACKAGE = Path(__file__).resolve().parent


def _data_root(name: str) -> Path:
    """A data folder: the checkout's top-level one, else the copy inside the installed wheel."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / "_data" / name


def bundled_knowledge_dir() -> Path:
    return _data_root("knowledge")


def knowledge_dir() -> Path:
    custom = get("DRAFTER_KNOWLEDGE")
    return Path(custom).expanduser() if custom else _data_root("knowledge")


def manuals_dir() -> Path:
    return knowledge_dir() / "manuals"


def rules_dir() -> Path:
    return knowledge_dir() / "rules"


def prompts_dir() -> Path:
    return _data_root("prompts")


def evals_dir() -> Path:
    return _data_root("evals")
