"""The price table (evals/prices.yaml): the estimated cost of an LLM or replay run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drafter import settings
from drafter.errors import DrafterError


class PricesError(DrafterError):
    """The price table is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Prices:
    """Price per million tokens, per model (evals/prices.yaml)."""

    currency: str
    models: dict[str, tuple[float, float]]  # model -> (prompt, completion) per 1M tokens
    path: str = ""

    def of(self, model: str) -> tuple[float, float] | None:
        """Exact model name first, else the longest name the model starts with."""
        if model in self.models:
            return self.models[model]
        prefixes = [m for m in self.models if model.startswith(m)]
        return self.models[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.of(model)
        if price is None:
            return None
        return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 8)


def prices_file() -> Path:
    return settings.evals_dir() / "prices.yaml"


def load_prices(path: Path | None = None) -> Prices:
    """The price table; refused with the file named when it is malformed."""
    import yaml

    path = Path(path) if path is not None else prices_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PricesError(f"找不到价格表 {path}（price table missing）。") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise PricesError(f"价格表 {path} 无法读取：{str(err).splitlines()[0]}。") from None
    if (
        not isinstance(raw, dict)
        or set(raw) - {"currency", "models"}
        or not isinstance(raw.get("models"), dict)
    ):
        raise PricesError(
            f"{path}: 价格表应只有 currency 和 models（models: {{模型: {{prompt, completion}}}}）。"
        )
    models = {}
    for name, p in raw["models"].items():
        if (
            not isinstance(p, dict)
            or set(p) != {"prompt", "completion"}
            or not all(isinstance(v, (int, float)) and v >= 0 for v in p.values())
        ):
            raise PricesError(
                f"{path}: 模型 {name!r} 的价格应是 {{prompt: 数字, completion: 数字}}（每百万 token）。"
            )
        models[str(name)] = (float(p["prompt"]), float(p["completion"]))
    return Prices(str(raw.get("currency") or "USD"), models, str(path))
