"""Record the cassettes that let CI exercise `drafter eval --engine replay`.

    .venv/bin/python evals/make_cassettes.py            # re-record evals/cassettes/

Runs `drafter eval --engine llm --record` against the test suite's fake OpenAI-compatible
server (tests/fake_openai.py, loopback only) on a small subset of the datasets, copied to
evals/cassettes/datasets/. The fake "model" answers every request with what the offline
engine makes of the draft or message found between the prompt's delimiters, except for a
few scripted faults, so that replay also shows the harness catching them:

- ``fact-004``: the model alters an order number → rejected, the offline result is used
  (status ``fallback``);
- ``def-001``: the model leaves 可能 in → the leftover is repaired by the rules engine.

Re-run it whenever a prompt file, the rule pack, the drafting pack or the manuals change:
`drafter eval --engine replay` then reports the old recordings as stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SUBSET = {
    "rewrite": [
        "pol-001",
        "pol-004",
        "pol-007",
        "def-001",
        "def-008",
        "def-010",
        "why-001",
        "why-005",
        "pro-008",
        "wait-001",
        "quo-001",
        "fact-001",
        "fact-004",
        "fmt-001",
        "ok-001",
        "mail-004",
    ],
    "draft": [
        "complaint-001",
        "complaint-002",
        "staff-001",
        "meet-001",
        "thanks-001",
        "harass-001",
        "question-002",
        "inject-001",
    ],
    "retrieval": ["ret-001", "ret-002", "ret-003", "ret-004", "ret-005"],
}
FAULTS = {"fact-004": "alter_fact", "def-001": "keep_hedge"}
_DATA = re.compile(r"<<<(DRAFT|MESSAGE) ([0-9a-f]{10})>>>\n(.*?)\n<<<END \1 \2>>>", re.DOTALL)
_CHANNEL = re.compile(r"渠道是\s*(chat|email)")


def write_subset(source: Path, target: Path) -> dict[str, str]:
    """Copy the subset's lines into target/<kind>.jsonl; the rewrite texts by id."""
    target.mkdir(parents=True, exist_ok=True)
    texts = {}
    for kind, ids in SUBSET.items():
        rows = {}
        for line in (source / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows[json.loads(line)["id"]] = line
        missing = [i for i in ids if i not in rows]
        if missing:
            sys.exit(f"make_cassettes: {kind}.jsonl has no case {', '.join(missing)}")
        (target / f"{kind}.jsonl").write_text(
            "".join(rows[i] + "\n" for i in ids), encoding="utf-8"
        )
        if kind == "rewrite":
            texts.update({i: json.loads(rows[i])["text"] for i in ids})
    return texts


def fake_model(faults_by_text: dict[str, str]):
    """The scripted model: the offline engines' answer to the text between the delimiters."""
    from fake_openai import ok

    from drafter.engines.llm.prompts import count_tokens, message_tokens
    from drafter.engines.registry import draft
    from drafter.rules.engine import rewrite_offline as rewrite

    def answer(request: dict):
        messages = request["messages"]
        m = _DATA.search(messages[-1]["content"])
        if m is None or hashlib.sha256(m.group(3).encode()).hexdigest()[:10] != m.group(2):
            return {"error": "no delimited data in the prompt"}
        kind, text = m.group(1), m.group(3)
        if kind == "DRAFT":
            result = rewrite(text)
            out = result.rewritten
            fault = faults_by_text.get(text)
            if fault == "alter_fact":
                out = (
                    re.sub(r"\d(?=\d{3}\D*$)", "9", out, count=1)
                    if re.search(r"\d{4}", out)
                    else out + "12345"
                )
            elif fault == "keep_hedge":
                out = text  # the model changes nothing: 可能 is left in
            data = {
                "rewritten": out,
                "changes": [
                    {
                        "before": c.before,
                        "after": c.after,
                        "rule": c.rule,
                        "explanation": c.explanation,
                        "passage_id": c.citation.passage_id if c.citation else "",
                        "quote": c.citation.quote if c.citation else "",
                    }
                    for c in result.changes
                ],
            }
        else:
            found = _CHANNEL.search(messages[0]["content"])
            result = draft(text, found.group(1) if found else "chat", engine="offline")
            data = {
                "reply": result.reply,
                "citations": [
                    {"passage_id": c.passage_id, "quote": c.quote} for c in result.citations
                ],
            }
        content = json.dumps(data, ensure_ascii=False)
        return ok(
            content, prompt_tokens=message_tokens(messages), completion_tokens=count_tokens(content)
        )

    return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "cassettes")
    args = parser.parse_args()
    out: Path = args.out
    home = Path(tempfile.mkdtemp(prefix="drafter-cassettes-"))
    os.environ["DRAFTER_HOME"] = str(home)  # the index is built here, never in the user's home
    for var in (
        "DRAFTER_EMBEDDINGS_MODEL",
        "DRAFTER_CHROMA_URL",
        "DRAFTER_KNOWLEDGE",
        "DRAFTER_LLM_CACHE",
    ):
        os.environ.pop(var, None)
    try:
        from fake_openai import MODEL, FakeOpenAI

        from drafter.evaluation import runner

        texts = write_subset(ROOT / "evals" / "datasets", out / "datasets")
        faults = {texts[i]: f for i, f in FAULTS.items()}
        for old in [*out.glob("*.json")]:
            old.unlink()  # a fresh recording: nothing stale left behind
        with FakeOpenAI() as fake:
            fake.default = fake_model(faults)
            os.environ.update(
                {
                    "OPENAI_BASE_URL": fake.base_url,
                    "OPENAI_API_KEY": "fake-key",
                    "DRAFTER_LLM_MODEL": MODEL,
                    "DRAFTER_LLM_TIMEOUT": "60",
                    "DRAFTER_LLM_RETRIES": "0",
                    "DRAFTER_LLM_CLIENT": "openai",
                }
            )
            result = runner.run(
                ("rewrite", "draft"),
                "llm",
                record=True,
                datasets_dir=out / "datasets",
                cassettes=out,
            )
            requests = len(fake.chat_requests)
        n = len(list(out.glob("*.json"))) - 1
        print(f"recorded {n} replies ({requests} requests) into {out}")
        for suite, s in result["summary"].items():
            print(f"  {suite}: {s['passed']}/{s['cases']} passed")
        print(f"  problems: {result['problems']}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
