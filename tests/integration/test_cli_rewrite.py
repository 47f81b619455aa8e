"""`drafter rewrite` and `drafter check` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata

import pytest

from drafter import settings
from drafter.cli.main import main
from drafter.rules.engine import check, line_col
from drafter.rules.engine import rewrite_offline as rewrite

DATASET = settings.evals_dir() / "datasets" / "rewrite.jsonl"
CASES = {c["id"]: c for c in map(json.loads, DATASET.read_text(encoding="utf-8").splitlines())}


def _file(tmp_path, case_id: str, name: str = "draft.txt"):
    path = tmp_path / name
    path.write_bytes(CASES[case_id]["text"].encode("utf-8"))
    return path


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _cli(args: list[str], stdin: bytes = b"", env: dict | None = None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        timeout=60,
        check=False,
    )


# --------------------------------------------------------------------------- rewrite


def test_rewrite_prints_the_text_then_each_change_with_its_source(tmp_path, capsys):
    case = CASES["mail-001"]
    path = _file(tmp_path, "mail-001")
    code, out, err = _run(["rewrite", str(path), "--engine", "offline"], capsys)
    assert code == 0 and err == ""
    expected = rewrite(case["text"]).rewritten  # the CLI prints what the library returns
    assert out.startswith(expected)
    body = out[len(expected) :]
    assert "offline" in body

    result = rewrite(case["text"])
    for c in result.changes:
        assert f"“{c.before}” → “{c.after}”" in body
        assert c.explanation in body
        assert f"《{c.citation.source}》“{c.citation.quote}” [{c.citation.passage_id}]" in body


def test_rewrite_prints_flags_with_line_col_message_and_suggestion(tmp_path, capsys):
    path = _file(tmp_path, "mail-002")
    code, out, _ = _run(["rewrite", str(path)], capsys)
    assert code == 0

    result = rewrite(CASES["mail-002"]["text"])
    assert result.flags
    for f in result.flags:
        line, col = line_col(result.original, f.start)
        assert f"{line}:{col} “{f.text}”" in out
        assert f.message in out and f.suggestion in out


def test_rewrite_json_follows_the_contract(tmp_path, capsys):
    case = CASES["mail-004"]  # \r\n line ends, a fact, a flag and two rules
    code, out, _ = _run(["rewrite", str(_file(tmp_path, "mail-004")), "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert set(d) == {"original", "rewritten", "engine", "changes", "flags", "warnings"}
    assert d["engine"] == "offline"
    assert d["original"] == case["text"] and d["rewritten"] == rewrite(case["text"]).rewritten
    text = d["original"]
    for c in d["changes"]:
        assert text[c["start"] : c["end"]] == c["before"]
        assert c["citation"]["quote"] and c["citation"]["passage_id"]
    for f in d["flags"]:
        assert text[f["start"] : f["end"]] == f["text"]


def test_rewrite_jsonl_keeps_ids_and_reports_bad_lines_without_stopping(tmp_path, capsys):
    lines = [
        json.dumps({"id": "a", "text": CASES["pol-001"]["text"]}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "text": "   "}),
        json.dumps({"id": "c"}),
        "",
        json.dumps({"id": 7, "text": CASES["why-001"]["text"]}, ensure_ascii=False),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = _run(["rewrite", str(path), "--jsonl"], capsys)
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", None, "b", "c", 7]
    assert rows[0]["rewritten"] == rewrite(CASES["pol-001"]["text"]).rewritten
    assert rows[4]["rewritten"] == rewrite(CASES["why-001"]["text"]).rewritten
    assert all("error" in r for r in rows[1:4]) and "error" not in rows[0]
    assert rows[1]["line"] == 2
    assert code == 2 and "3" in err


def test_rewrite_from_stdin(tmp_path):
    case = CASES["fmt-001"]
    proc = _cli(
        ["rewrite", "-", "--json"],
        stdin=case["text"].encode("utf-8"),
        env={"DRAFTER_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["rewritten"] == rewrite(case["text"]).rewritten


@pytest.mark.parametrize("payload", [b"", b"  \n ", b"\x00\x01\x02binary", b"\xff\xfe\xfa\xfb"])
def test_bad_input_exits_2_with_one_sentence_and_no_output(tmp_path, payload):
    proc = _cli(["rewrite", "-"], stdin=payload, env={"DRAFTER_HOME": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode("utf-8")
    assert err.startswith("drafter: ") and "Traceback" not in err and err.count("\n") == 1


def test_missing_file_exits_2(tmp_path, capsys):
    code, out, err = _run(["rewrite", str(tmp_path / "nope.txt")], capsys)
    assert code == 2 and out == "" and "nope.txt" in err


def test_input_file_is_never_modified(tmp_path, capsys):
    path = _file(tmp_path, "mail-003")
    before = path.read_bytes()
    _run(["rewrite", str(path)], capsys)
    _run(["check", str(path)], capsys)
    assert path.read_bytes() == before


def test_engine_llm_without_llm_is_a_clear_error(tmp_path, capsys):
    code, out, err = _run(["rewrite", str(_file(tmp_path, "pol-001")), "--engine", "llm"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("drafter: ") and err.count("\n") == 1 and "Traceback" not in err


def test_engine_auto_without_llm_runs_offline(tmp_path, capsys):
    code, out, _ = _run(["rewrite", str(_file(tmp_path, "pol-001")), "--json"], capsys)
    assert code == 0 and json.loads(out)["engine"] == "offline"


def test_text_without_chinese_is_returned_with_a_warning(tmp_path, capsys):
    case = CASES["fmt-003"]
    code, out, _ = _run(["rewrite", str(_file(tmp_path, "fmt-003")), "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["rewritten"] == case["text"] and d["warnings"]


# --------------------------------------------------------------------------- check


def _display_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def test_check_clean_draft_exits_0_silently(tmp_path, capsys):
    code, out, _ = _run(["check", str(_file(tmp_path, "ok-003"))], capsys)
    assert code == 0 and out == ""


def test_check_findings_exit_1_with_underlines(tmp_path, capsys):
    case = CASES["mail-002"]
    code, out, _ = _run(["check", str(_file(tmp_path, "mail-002"))], capsys)
    assert code == 1

    found = check(case["text"])
    lines = out.splitlines()
    source_lines = case["text"].split("\n")
    listed = {
        place
        for ln in lines
        if ln.startswith("  同样的还有")
        for place in re.findall(r"\d+:\d+", ln)
    }
    for f in found:
        header = f"{f.line}:{f.col} {f.rule} "
        idx = next((i for i, ln in enumerate(lines) if ln.startswith(header)), None)
        if idx is None:  # a repeat of a finding shown above: its place is listed
            assert f"{f.line}:{f.col}" in listed
            continue
        shown, source = lines[idx + 1], source_lines[f.line - 1]
        head = len(shown) - len(shown.lstrip("…"))
        core = shown.strip("…")
        at = next(  # where the window starts in the line: it holds the finding
            j
            for j in range(len(source))
            if source.startswith(core, j) and j <= f.col - 1 < j + len(core)
        )
        before = shown[: head + f.col - 1 - at]
        assert shown[len(before) :].startswith(f.text)
        assert lines[idx + 2] == " " * _display_width(before) + "^" * _display_width(f.text)
    assert str(len(found)) in lines[-1]


def test_check_output_of_a_long_one_line_draft_stays_small(tmp_path, capsys):
    """A 20,000-character draft on one line (an e-mail pasted without breaks): each finding is
    shown in a window of its line, repeats once with their places, never the whole line."""
    text = ("你为什么没收到？可能是快递的问题，我们马上帮你查一下物流。" * 700)[:20000]
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    code, out, _ = _run(["check", str(path)], capsys)
    assert code == 1
    assert len(out.encode()) < 20_000  # the line itself is 60,000 bytes
    assert all(len(ln) <= 200 or ln.startswith("  同样的还有") for ln in out.splitlines())
    assert "同样的还有" in out and f"共 {len(check(text))} 处" in out


def test_check_json(tmp_path, capsys):
    code, out, _ = _run(["check", str(_file(tmp_path, "bl-003")), "--json"], capsys)
    d = json.loads(out)
    assert code == 1
    assert {f["rule"] for f in d["findings"]} == {
        f.rule for f in rewrite(CASES["bl-003"]["text"]).flags
    }
    assert all(f["kind"] == "flag" and f["line"] == 1 for f in d["findings"])


def test_check_counts_changes_as_findings(tmp_path, capsys):
    code, out, _ = _run(["check", str(_file(tmp_path, "pol-001")), "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and {f["kind"] for f in d["findings"]} == {"change"}


def test_check_bad_input_exits_2(tmp_path):
    proc = _cli(["check"], stdin=b"\x00\x00", env={"DRAFTER_HOME": str(tmp_path)})
    assert proc.returncode == 2 and proc.stdout == b""


def test_the_cli_exits_2_naming_a_bad_variable(tmp_path):
    draft = tmp_path / "x.txt"
    draft.write_text("你好，你的订单可能到了。", encoding="utf-8")
    env = dict(os.environ, DRAFTER_MAX_CHARS="2万")
    out = subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", "rewrite", str(draft)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "DRAFTER_MAX_CHARS" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


# --------------------------------------------------------------------------- files and streams


@pytest.mark.parametrize("command", [["rewrite"], ["check"], ["ingest", "--dry-run"]])
def test_a_fifo_or_a_device_is_refused_not_waited_on(tmp_path, command):
    fifo = tmp_path / "manual.md"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block forever
    for path in (fifo, "/dev/zero"):
        proc = _cli([*command, str(path)], env={"DRAFTER_HOME": str(tmp_path / "home")})
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1
        assert "不是普通文件" in err or (path != fifo and "不受支持" in err)


def test_a_manuals_folder_with_a_fifo_still_indexes(tmp_path):
    from drafter import settings as settings_mod

    knowledge = tmp_path / "knowledge"
    shutil.copytree(settings_mod.bundled_knowledge_dir(), knowledge)
    os.mkfifo(knowledge / "manuals" / "pipe.md")
    env = {"DRAFTER_HOME": str(tmp_path / "home"), "DRAFTER_KNOWLEDGE": str(knowledge)}
    proc = _cli(["index"], env=env)
    assert proc.returncode == 0, proc.stderr.decode()


def test_closed_stdout_is_one_sentence(tmp_path):
    draft = _file(tmp_path, "mail-002")
    proc = subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", "rewrite", str(draft)],
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "DRAFTER_HOME": str(tmp_path)},
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "标准输出已关闭" in err and "Traceback" not in err


def test_a_full_disk_on_stdout_is_one_sentence(tmp_path):
    draft = _file(tmp_path, "mail-002")
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "drafter.cli.main", "rewrite", str(draft)],
            stdout=full,
            stderr=subprocess.PIPE,
            env={**os.environ, "DRAFTER_HOME": str(tmp_path)},
            timeout=60,
            check=False,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("source", ["/dev/zero", "endless"])
def test_an_endless_standard_input_is_refused_once_it_is_too_long(tmp_path, source):
    """`drafter check - < /dev/zero` (or `yes … |`): refused as soon as the input passes what
    a draft of DRAFTER_MAX_CHARS can be, never read to its end."""
    env = {**os.environ, "DRAFTER_HOME": str(tmp_path), "DRAFTER_MAX_CHARS": "1000"}
    cmd = [sys.executable, "-m", "drafter.cli.main", "check", "-"]
    if source == "/dev/zero":
        with open("/dev/zero", "rb") as zero:
            proc = subprocess.run(
                cmd, stdin=zero, capture_output=True, env=env, timeout=60, check=False
            )
    else:
        feeder = subprocess.Popen(["yes", "你为什么不早说"], stdout=subprocess.PIPE)
        try:
            proc = subprocess.run(
                cmd, stdin=feeder.stdout, capture_output=True, env=env, timeout=60, check=False
            )
        finally:
            feeder.kill()
            feeder.wait()
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "太长" in err and len(err.strip().splitlines()) == 1
