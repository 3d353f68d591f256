"""The chat: rendering as a unit, then the real page in headless Chromium against `qa serve`."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from index.records import Chunk
from qa.records import Answer, Citation, Hit
from tests.conftest import ROOT, SEED_FILE
from ui.app import render_answer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def _chunk(text):
    return Chunk(id=1, doc_id="d", doc_name="issue.txt", position=0, text=text, start=0, end=len(text), headline="标题")


def test_sources_are_escaped_and_the_quote_marked():
    chunk = _chunk("前文<script>alert(1)</script>。个贷不良率0.39%。")
    result = Answer(
        question="q", text="0.39%。依据：个贷不良率0.39%。 [1]", short="0.39%",
        citations=(Citation(n=1, chunk=chunk, quote="个贷不良率0.39%。"),), passages=(Hit(chunk, 1.0),),
    )
    shown = render_answer(result)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "<mark>个贷不良率0.39%。</mark>" in shown
    assert "[1] 《标题》· 工行通讯 issue" in shown


def test_abstention_shows_related_passages_as_such():
    result = Answer(question="q", text="资料中没有找到", passages=(Hit(_chunk("某段内容"), 0.3),), abstained=True)
    shown = render_answer(result)
    assert "相关内容" in shown and "某段内容" in shown and "<mark>" not in shown


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve")
    docs = home / "docs"
    docs.mkdir()
    shutil.copy(SEED_FILE, docs)
    port = _free_port()
    env = os.environ | {"QA_HOME": str(home), "QA_DOCS_DIR": str(docs), "QA_INDEX_DIR": str(home / "index")}
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process, home / "serve.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"qa serve exited: {log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"qa serve did not answer at {url}: {log.read_text()}")


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server)
        yield page
        browser.close()


def test_asking_in_the_browser_shows_the_answer_and_its_source(page):
    page.locator("#question textarea").fill("上半年代销工银瑞信基金多少？")
    page.locator("#send").click()
    answer = page.locator("#chat .message.bot").last
    answer.get_by_text("1096亿元", exact=False).first.wait_for(timeout=60_000)
    assert answer.inner_text().startswith("1096亿元")
    source = answer.locator("details.source").first
    assert source.locator("summary").inner_text().startswith("[1]")
    assert "工银瑞信基金1096亿元" in source.locator("mark").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answered.png"), full_page=True)
