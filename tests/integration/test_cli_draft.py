"""`drafter draft`: JSON contract, human output, input from a file or stdin, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drafter import draft
from drafter.cli import main as cli
from drafter.knowledge.corpus import get_corpus
from drafter.types import Citation

FIXTURES = Path(__file__).parents[1] / "fixtures" / "draft"
COMPLAINT = FIXTURES / "complaint.txt"

pytestmark = pytest.mark.usefixtures("indexed")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["draft", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_process(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", "draft", *args],
        input=stdin,
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("channel", ["chat", "email"])
def test_json_output_follows_the_contract(capsys, channel):
    code, out, err = run(capsys, str(COMPLAINT), "--channel", channel, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert list(d) == list(draft(COMPLAINT.read_text(encoding="utf-8"), channel=channel).to_dict())
    assert d["channel"] == channel and d["engine"] == "offline" and d["situation"] == "complaint"
    assert d["message"] == COMPLAINT.read_text(encoding="utf-8")
    assert d["placeholders"] and all(p in d["reply"] for p in d["placeholders"])
    corpus = get_corpus()
    assert d["citations"] and all(corpus.verify(Citation(**c)) for c in d["citations"])
    assert all(f["text"] in d["reply"] for f in d["facts"] if f["kind"] == "order")


def test_human_output_shows_reply_placeholders_and_citations(capsys):
    code, out, err = run(capsys, str(COMPLAINT), "--channel", "email")
    assert code == 0, err
    d = json.loads(run(capsys, str(COMPLAINT), "--channel", "email", "--json")[1])
    assert out.startswith(d["reply"])
    for p in d["placeholders"]:
        assert p in out.split(d["reply"], 1)[1]  # listed again under the reply, with a hint
    for c in d["citations"]:
        assert c["passage_id"] in out and c["quote"] in out


def test_situation_can_be_forced(capsys):
    code, out, _ = run(capsys, str(COMPLAINT), "--situation", "cannot_answer", "--json")
    assert code == 0 and json.loads(out)["situation"] == "cannot_answer"


def test_reads_stdin():
    data = COMPLAINT.read_bytes()
    proc = run_process("-", "--json", stdin=data)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout.decode("utf-8"))["message"] == data.decode("utf-8")


@pytest.mark.parametrize(
    "content, args",
    [
        (b"", []),
        (b"   \n\t", []),
        (b"\x00\x01\x02binary", []),
        (None, ["--situation", "party"]),
        (None, ["--engine", "llm"]),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys, content, args):
    path = COMPLAINT
    if content is not None:
        path = tmp_path / "message.txt"
        path.write_bytes(content)
    code, out, err = run(capsys, str(path), *args)
    assert code == 2 and out == ""
    assert err.startswith("drafter: ") and err.count("\n") == 1 and "Traceback" not in err


def test_too_long_message_names_the_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "100")
    path = tmp_path / "long.txt"
    path.write_text(COMPLAINT.read_text(encoding="utf-8") * 10, encoding="utf-8")
    code, _, err = run(capsys, str(path))
    assert code == 2 and "DRAFTER_MAX_CHARS" in err


def test_missing_file_and_bad_channel(capsys):
    code, _, err = run(capsys, str(FIXTURES / "no-such-file.txt"))
    assert code == 2 and "找不到文件" in err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["draft", str(COMPLAINT), "--channel", "fax"])
    assert exit_.value.code == 2


def test_no_traceback_from_a_process_on_empty_stdin():
    proc = run_process("-", stdin=b"")
    assert proc.returncode == 2
    err = proc.stderr.decode("utf-8")
    assert "Traceback" not in err and err.startswith("drafter: ")
