"""The index of the real corpus: built, switched atomically, rebuilt, refused when damaged."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from drafter.core import Drafter
from drafter.errors import IndexBusyError, IndexMissingError, LLMError
from drafter.knowledge.corpus import Corpus, load_manuals
from drafter.retrieval import hybrid as retrieval
from drafter.retrieval import index as index_mod

REPO = Path(__file__).resolve().parents[2]
CHROME_TERMS = [
    "下载积分",
    "VIP",
    "版权申诉",
    "侵权必究",
    "举报电话",
    "相关文档",
    "相关新闻",
    "翻墙",
    "热门新闻",
    "编辑推荐",
    "您可能关注的文档",
    "当前文档最多预览五页",
    "文档评论",
]


def _copy_manuals(tmp_path: Path, monkeypatch) -> Path:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge" / "manuals", knowledge / "manuals")
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(knowledge))
    return knowledge / "manuals"


def test_passages_are_exact_slices_of_the_manuals(indexed):
    manuals = {m.slug: m for m in load_manuals()}
    opened = retrieval.open_index(auto_build=False)
    assert len(opened.passages) > 50
    for p in opened.passages:
        assert manuals[p.slug].text[p.start : p.end] == p.text
        assert p.source == manuals[p.slug].title


def test_no_site_chrome_reaches_the_index(indexed):
    for p in retrieval.open_index(auto_build=False).passages:
        for term in CHROME_TERMS:
            assert term not in p.text, f"{term!r} in {p.passage_id}"


def test_second_build_is_a_no_op_and_ids_are_stable(indexed):
    before = [p.passage_id for p in retrieval.open_index(auto_build=False).passages]
    report = index_mod.build_index()
    assert not report.built
    assert [p.passage_id for p in Corpus(load_manuals()).passages] == before


def test_only_changed_manuals_are_re_embedded(tmp_path, monkeypatch):
    manuals_dir = _copy_manuals(tmp_path, monkeypatch)
    first = index_mod.build_index()
    assert first.built and first.embedded == first.passages
    target = min(manuals_dir.glob("*.md"))
    target.write_text(
        target.read_text(encoding="utf-8") + "\n新增的一段：客户来电时先报工号。\n",
        encoding="utf-8",
    )
    second = index_mod.build_index()
    changed = [p for p in Corpus(load_manuals()).passages if p.slug == target.stem]
    assert second.built
    assert second.embedded == len(changed) < second.passages
    hits = retrieval.search("客户来电时先报工号", k=3)
    assert hits[0].slug == target.stem
    # The replaced build stays a while for readers that opened it just before the switch.
    others = [d for d in index_mod.index_root().glob("build-*") if d.name != second.build_id]
    assert [d.name for d in others] == [first.build_id]
    assert (others[0] / index_mod.SUPERSEDED).is_file()


def test_a_failed_build_leaves_the_old_index_working(tmp_path, monkeypatch):
    index_mod.build_index()
    live = index_mod.read_manifest()["build"]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv("DRAFTER_EMBEDDINGS_MODEL", "embed-test")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("DRAFTER_LLM_RETRIES", "0")
    with pytest.raises(LLMError, match="嵌入服务不可用"):
        index_mod.build_index(rebuild=True)
    monkeypatch.delenv("DRAFTER_EMBEDDINGS_MODEL")
    assert index_mod.read_manifest()["build"] == live
    assert [d.name for d in index_mod.index_root().glob("build-*")] == [live]
    assert retrieval.search("请你等一下", k=3)


def test_search_builds_a_missing_index(capsys):
    said = []
    app = Drafter(progress=lambda message, fraction=None: said.append(message))
    hits = app.search("客户很生气怎么办", k=3)
    assert len(hits) == 3
    assert any("正在建立" in m for m in said)  # reported through the callback
    assert capsys.readouterr() == ("", "")  # the library itself never prints
    assert index_mod.status()["built"]


def test_a_corrupt_manifest_is_reported_and_rebuild_repairs_it():
    index_mod.build_index()
    (index_mod.index_root() / "manifest.json").write_text("{half", encoding="utf-8")
    with pytest.raises(IndexMissingError, match="drafter index"):
        retrieval.search("道歉", k=1)
    assert index_mod.build_index(rebuild=True).built
    assert retrieval.search("道歉", k=1)


def test_a_half_written_build_is_reported(monkeypatch):
    index_mod.build_index()
    build = index_mod.read_manifest()["build"]
    shutil.rmtree(index_mod.index_root() / build / "bm25")
    with pytest.raises(IndexMissingError, match="drafter index"):
        Drafter().search("道歉", k=1)  # a new instance opens the index anew


def test_an_index_from_another_chromadb_version_is_rebuilt():
    index_mod.build_index()
    path = index_mod.index_root() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    old_build = manifest["build"]
    manifest["chromadb"] = "0.4.0"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert retrieval.search("道歉", k=1)
    assert index_mod.read_manifest()["build"] != old_build
    assert index_mod.read_manifest()["chromadb"] == index_mod.chromadb_version()


def test_a_second_writer_is_refused_while_one_builds():
    from filelock import FileLock

    with FileLock(str(index_mod.index_root() / ".lock")), pytest.raises(IndexBusyError):
        index_mod.build_index()


def test_empty_manuals_folder_is_refused(tmp_path, monkeypatch):
    (tmp_path / "k" / "manuals").mkdir(parents=True)
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(tmp_path / "k"))
    from drafter.errors import InputError

    with pytest.raises(InputError, match="没有手册"):
        index_mod.build_index()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.slow
def test_the_same_retrieval_through_a_chroma_server(tmp_path, monkeypatch, indexed):
    local = [h.passage_id for h in retrieval.search("客户提出的要求我们做不到", k=5)]
    chroma = Path(sys.executable).with_name("chroma")
    port = _free_port()
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        monkeypatch.setenv("DRAFTER_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("DRAFTER_CHROMA_URL", f"http://127.0.0.1:{port}")
        report = index_mod.build_index()
        assert report.built and index_mod.status()["server"] == f"http://127.0.0.1:{port}"
        assert [h.passage_id for h in retrieval.search("客户提出的要求我们做不到", k=5)] == local
        assert not (index_mod.index_root() / report.build_id / "chroma").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_embeddings_can_sit_apart_and_search_survives_their_endpoint_going_down(monkeypatch):
    from fake_openai import FakeOpenAI, closed_port

    from drafter.retrieval import hybrid

    with FakeOpenAI() as embedder:
        monkeypatch.setenv("DRAFTER_EMBEDDINGS_MODEL", "embed-test")
        monkeypatch.setenv("DRAFTER_EMBEDDINGS_BASE_URL", embedder.base_url)
        # the chat endpoint is elsewhere (and down): the index is built from the embedder
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
        monkeypatch.setenv("DRAFTER_LLM_RETRIES", "0")
        assert index_mod.build_index(rebuild=True).built
        assert retrieval.search("客户很生气怎么办", k=3)
        assert hybrid.last_warning() is None
    # the embedder is gone (nothing listens there any more): search still answers, by words,
    # and says so
    monkeypatch.setenv("DRAFTER_EMBEDDINGS_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    hits = retrieval.search("客户很生气怎么办", k=3)
    assert len(hits) == 3
    assert "关键词" in (hybrid.last_warning() or "")


# ---------------------------------------------------------------- damage, stale builds, readers


def _live() -> Path:
    return index_mod.index_root() / index_mod.read_manifest()["build"]


DAMAGES = {
    "vectors removed": lambda b: (b / "vectors.npy").unlink(),
    "vectors emptied": lambda b: (b / "vectors.npy").write_bytes(b""),
    "vectors of another shape": lambda b: np.save(b / "vectors.npy", np.zeros((7, 3))),
    "idf truncated": lambda b: (b / "idf.npy").write_bytes(b"\x93NUMPY"),
    "bm25 removed": lambda b: shutil.rmtree(b / "bm25"),
    "bm25 truncated": lambda b: (b / "bm25" / "docs.npy").write_bytes(b"\x93NUMPY\x01\x00"),
    "chroma emptied": lambda b: (b / "chroma" / "chroma.sqlite3").write_bytes(b""),
    "chroma removed": lambda b: shutil.rmtree(b / "chroma"),
    "passages emptied": lambda b: (b / "passages.json").write_text("[]", encoding="utf-8"),
    "build removed": lambda b: shutil.rmtree(b),
}


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_damage_is_reported_by_status_and_repaired_by_index(kind):
    index_mod.build_index()
    assert index_mod.status()["damage"] is None
    DAMAGES[kind](_live())
    st = index_mod.status()
    assert st["damage"], kind
    report = index_mod.build_index()  # not --rebuild: `drafter index` repairs
    assert report.built and any("已损坏" in m for m in report.messages)
    assert index_mod.status()["damage"] is None
    assert Drafter().search("道歉", k=1)


def test_index_status_exits_1_and_says_what_repairs_damage(capsys):
    from drafter.cli.main import main

    index_mod.build_index()
    shutil.rmtree(_live() / "bm25")
    assert main(["index", "--status"]) == 1
    out = capsys.readouterr().out
    assert "已损坏" in out and "drafter index" in out
    assert main(["index"]) == 0
    assert "已重建" in capsys.readouterr().out
    assert main(["index", "--status"]) == 0


def test_unfinished_build_folders_are_cleaned_and_replaced_ones_expire(monkeypatch):
    first = index_mod.build_index().build_id
    killed = index_mod.index_root() / "build-20000101-000000-1-1"  # a build killed half way
    (killed / "chroma").mkdir(parents=True)
    second = index_mod.build_index(rebuild=True).build_id
    names = {d.name for d in index_mod.index_root().glob("build-*")}
    assert names == {first, second}  # the killed one is gone, the replaced one kept a while
    monkeypatch.setattr(index_mod, "RETAIN_SECONDS", 0.0)
    time.sleep(0.01)
    assert not index_mod.build_index().built  # even a no-op build tidies up
    assert {d.name for d in index_mod.index_root().glob("build-*")} == {second}


def test_a_reader_that_meets_a_replaced_build_follows_the_manifest(monkeypatch):
    index_mod.build_index()
    stale = index_mod.read_manifest()
    Drafter().search("道歉", k=1)
    index_mod.build_index(rebuild=True)
    shutil.rmtree(index_mod.index_root() / stale["build"])  # gone under the reader
    real = index_mod.read_manifest
    calls = iter([stale])
    monkeypatch.setattr(index_mod, "read_manifest", lambda: next(calls, None) or real())
    opened = retrieval.open_index(auto_build=False)
    assert opened.manifest["build"] == real()["build"]
    assert retrieval.search("道歉", k=1)


def test_a_long_running_process_keeps_no_files_of_replaced_builds():
    import os

    index_mod.build_index()
    retrieval.search("道歉", k=1)
    for _ in range(2):  # what stays loaded is loaded by now
        index_mod.build_index(rebuild=True)
        retrieval.search("道歉", k=1)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        index_mod.build_index(rebuild=True)
        retrieval.search("道歉", k=1)
    assert len(os.listdir("/proc/self/fd")) - before <= 2
