"""Settings declared once (variable, type, default, help), read from the environment.

`Settings` is a typed, frozen snapshot; a bad value is refused in one sentence naming the
variable (SettingsError, exit 2), never silently replaced by the default. `drafter --help` and
README.md list every setting; a test checks that README documents each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from drafter.errors import SettingsError

_PACKAGE = Path(__file__).resolve().parent


def _text(value: str) -> str:
    return value


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _positive_int(value: str) -> int:
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ValueError("不是整数") from None
    if number < 1:
        raise ValueError("必须大于 0")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ValueError("不是整数") from None
    if number < 0:
        raise ValueError("不能小于 0")
    return number


def _postgres_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("应以 postgresql:// 开头")
    return value


def _positive_float(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError("不是数字") from None
    if not 0 < number < float("inf"):  # NaN fails too
        raise ValueError("必须是大于 0 的有限数字")
    return number


def _flag(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError("只能是 1 或 0")


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        v = value.strip().lower()
        if v not in options:
            raise ValueError(f"只能是 {' / '.join(options)}")
        return v

    return parse


def _url(value: str) -> str:
    v = value.strip()
    if v and "://" not in v and not v[0].isalnum():
        raise ValueError("不是网址")
    return v


def _default_home() -> str:

    return user_data_dir("drafter", appauthor=False)


def setting(env: str, default: Any, help: str, parse: Callable[[str], Any] = _text) -> Any:
    """A dataclass field read from the environment variable ``env``."""
    return field(default=default, metadata={"env": env, "help": help, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Every setting of drafter; ``Settings.from_env()`` reads and validates them."""

    home: Path | None = setting(
        "DRAFTER_HOME",
        None,
        "State folder: index, caches, feedback store, logs, added manuals "
        "(default: the user's data folder, e.g. ~/.local/share/drafter).",
        _path,
    )
    knowledge: Path | None = setting(
        "DRAFTER_KNOWLEDGE",
        None,
        "Folder with manuals/ and rules/ (default: DRAFTER_HOME/knowledge once a manual is added, "
        "else the bundled knowledge, read-only).",
        _path,
    )
    chroma_url: str = setting(
        "DRAFTER_CHROMA_URL",
        "",
        "Use a Chroma server (http://host:port) instead of the local index.",
        _url,
    )
    embeddings_model: str = setting(
        "DRAFTER_EMBEDDINGS_MODEL",
        "",
        "OpenAI-compatible embeddings model; empty = offline hashed n-grams.",
    )
    embeddings_base_url: str = setting(
        "DRAFTER_EMBEDDINGS_BASE_URL",
        "",
        "Base URL of the embeddings endpoint, when it is not OPENAI_BASE_URL (a local embedder "
        "beside a hosted chat model).",
        _url,
    )
    embeddings_api_key: str = setting(
        "DRAFTER_EMBEDDINGS_API_KEY",
        "",
        "API key of the embeddings endpoint (default: OPENAI_API_KEY).",
    )
    embeddings_timeout: float = setting(
        "DRAFTER_EMBEDDINGS_TIMEOUT",
        60.0,
        "Seconds one embeddings request may take (index builds send up to 128 passages each).",
        _positive_float,
    )
    max_chars: int = setting(
        "DRAFTER_MAX_CHARS",
        20000,
        "Longest draft or message accepted, in characters.",
        _positive_int,
    )
    openai_api_key: str = setting(
        "OPENAI_API_KEY", "", "API key of the OpenAI-compatible endpoint."
    )
    openai_base_url: str = setting(
        "OPENAI_BASE_URL",
        "",
        "Base URL of the OpenAI-compatible endpoint (e.g. http://localhost:8000/v1).",
        _url,
    )
    llm_model: str = setting(
        "DRAFTER_LLM_MODEL",
        "",
        "Model name; the LLM engine is configured when this and a key or base URL are set.",
    )
    llm_timeout: float = setting(
        "DRAFTER_LLM_TIMEOUT",
        20.0,
        "Total seconds the LLM engine may spend (all retries) before falling back.",
        _positive_float,
    )
    llm_retries: int = setting(
        "DRAFTER_LLM_RETRIES",
        2,
        "Retries after a failed LLM call (429, 5xx, timeout, bad JSON).",
        _non_negative_int,
    )
    llm_cache: bool = setting(
        "DRAFTER_LLM_CACHE",
        False,
        "1 = cache LLM replies under DRAFTER_HOME/llm-cache (evals always cache).",
        _flag,
    )
    llm_client: str = setting(
        "DRAFTER_LLM_CLIENT",
        "openai",
        "LLM client library: openai (default) or langchain (langchain-openai ChatOpenAI).",
        _choice("openai", "langchain"),
    )
    search_llm: str = setting(
        "DRAFTER_SEARCH_LLM",
        "auto",
        "auto = with an LLM configured, search also asks it to restate the question in the "
        "manuals' terms (cached); off = never.",
        _choice("auto", "off"),
    )
    search_llm_timeout: float = setting(
        "DRAFTER_SEARCH_LLM_TIMEOUT",
        4.0,
        "Seconds search waits for the query-rewriting model before answering without it.",
        _positive_float,
    )
    prompt_budget: int = setting(
        "DRAFTER_PROMPT_BUDGET",
        1500,
        "Token budget of a prompt; retrieved passages are trimmed to fit.",
        _positive_int,
    )
    team_name: str = setting(
        "DRAFTER_TEAM_NAME", "客户服务团队", "Team name signed under e-mail drafts."
    )
    signature: str = setting(
        "DRAFTER_SIGNATURE", "", "Extra signature line under e-mail drafts (e.g. a phone number)."
    )
    auth: str = setting(
        "DRAFTER_AUTH", "", "Login for the app: user:password[,user:password...]; empty = no login."
    )
    lt_origins: str = setting(
        "DRAFTER_LT_ORIGINS",
        "",
        "Origins allowed to call the LanguageTool API /v2/ from a browser (CORS), comma-separated: "
        "*, https://crm.example.com, chrome-extension://*; empty = none.",
    )
    lt_rate: int = setting(
        "DRAFTER_LT_RATE",
        600,
        "Requests a minute one client (login or address) may send to the LanguageTool API.",
        _positive_int,
    )
    max_connections_per_client: int = setting(
        "DRAFTER_MAX_CONNECTIONS_PER_CLIENT",
        128,
        "Open connections one client address may hold on `drafter serve`; more are closed at once. "
        "0 = no cap (behind a reverse proxy, which then caps per client itself).",
        _non_negative_int,
    )
    header_timeout: float = setting(
        "DRAFTER_HEADER_TIMEOUT",
        10.0,
        "Seconds a connection to `drafter serve` may take to send a request's head (idle and "
        "slow connections are closed; a reply being streamed is never cut).",
        _positive_float,
    )
    feedback_db: Path | None = setting(
        "DRAFTER_FEEDBACK_DB",
        None,
        "SQLite file for accept/reject feedback (default DRAFTER_HOME/feedback.db).",
        _path,
    )
    feedback_url: str = setting(
        "DRAFTER_FEEDBACK_URL",
        "",
        "PostgreSQL for the feedback, shared by app replicas (postgresql://user:pw@host/db); "
        "empty = the SQLite file.",
        _postgres_url,
    )
    feedback_retention_days: int = setting(
        "DRAFTER_FEEDBACK_RETENTION_DAYS",
        90,
        "Days a feedback record is kept (it holds customers' text); 0 = kept for ever.",
        _non_negative_int,
    )
    feedback_wait: float = setting(
        "DRAFTER_FEEDBACK_WAIT",
        30.0,
        "Seconds a feedback write keeps retrying a locked or unreachable store before the "
        "record is kept aside (DRAFTER_HOME/feedback-pending.jsonl) and written later.",
        _positive_float,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting; the first bad value raises SettingsError naming its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"], "")
            if raw == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as err:
                raise SettingsError(
                    f"环境变量 {f.metadata['env']}={raw!r} 无效：{err}（{f.metadata['help']}）",
                    variable=f.metadata["env"],
                ) from None
        return cls(**values)

    # ------------------------------------------------------------------ derived locations

    @property
    def home_dir(self) -> Path:
        """The state folder (not created here)."""
        return self.home if self.home is not None else Path(_default_home())

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db if self.feedback_db is not None else self.home_dir / "feedback.db"

    def get(self, env: str) -> Any:
        """The value of the setting read from variable ``env`` (for code that names variables)."""
        return getattr(self, BY_ENV[env].name)


@dataclass(frozen=True)
class Setting:
    """One declared setting, as `--help` and README show it."""

    name: str  # the environment variable
    default: str
    help: str
    attr: str


def _declared() -> dict[str, Setting]:
    out = {}
    for f in fields(Settings):
        if isinstance(f.default, bool):
            default = "1" if f.default else "0"
        else:
            default = "" if f.default is None else str(f.default)
        out[f.metadata["env"]] = Setting(f.metadata["env"], default, f.metadata["help"], f.name)
    return out


SETTINGS: dict[str, Setting] = _declared()
BY_ENV = {f.metadata["env"]: f for f in fields(Settings)}


def environment_key(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The declared variables' raw values: equal keys mean equal settings."""
    env = os.environ if environ is None else environ
    return tuple(env.get(name, "") for name in SETTINGS)


# ---------------------------------------------------------------------- package data


def _data_root(name: str) -> Path:
    """A read-only data folder: the checkout's top-level one, else the copy inside the wheel."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout
    return _PACKAGE / "_data" / name


def bundled_knowledge_dir() -> Path:
    return _data_root("knowledge")


def prompts_dir() -> Path:
    return _data_root("prompts")


def evals_dir() -> Path:
    return _data_root("evals")
