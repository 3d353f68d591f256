"""The chat: rendering as a unit, then the real page in headless Chromium against `qa serve`
(with the fake embedder: these tests are about the page, not retrieval quality)."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from index.records import Chunk
from qa.records import Answer, Citation, Hit
from tests.conftest import ROOT, SEED_FILE, FakeEmbedder, free_port, wait_for_server
from ui import render
from qa.history import Turn, new_id

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SEED_ISSUE = SEED_FILE.stem
SEED_HEADLINE = "扬帆起航正当时 战略引领谱华章"
# A document that tries to be markup: every kind must show as its characters and run nothing.
HOSTILE = (
    "<script>window.__pwned = 'script'</script>外汇宝简报\n\n"
    "<img src=x onerror=\"window.__pwned='img'\">二〇三〇年外汇宝交易量达到8848笔，**创新高** [点此](javascript:window.__pwned=1) $$x$$。\n"
)
NEW_ISSUE = "青松计划启动\n\n2031年，某支行推出“青松计划”，首批签约客户328户，覆盖县域网点12个。\n"
# About a hundred passages: long enough to watch the progress bar while they are embedded.
LONG_ISSUE = "\n\n".join(f"某分行第{i}项业务指标达到{i * 7}万元，较上年增长{i}个百分点，继续保持稳健。" * 4 for i in range(100))


def _chunk(text, **fields):
    return Chunk(id=1, doc_id="d", doc_name="issue.txt", position=0, text=text, start=0, end=len(text), headline="标题", **fields)


# Rendering ------------------------------------------------------------------------------------


def test_passages_are_escaped_and_the_quote_marked():
    chunk = _chunk("前文<script>alert(1)</script>。个贷不良率0.39%。", byline="供稿：<b>部</b>")
    answer = Answer(
        question="q", text="0.39%。依据：个贷不良率0.39%。 [1]", short="0.39%",
        citations=(Citation(n=1, chunk=chunk, quote="个贷不良率0.39%。"),), passages=(Hit(chunk, 1.0),),
    )
    conversation = new_id()
    message = render.answer_html(answer, conversation, 2)
    assert f'<a class="qa-cite" href="#qa:cite:{conversation}:2:1"' in message
    assert "[1] 《标题》· 工行通讯 issue" in message and "\n" not in message
    panel = render.sources_html(Turn(question="q", answer=answer), conversation, 2, focus=1)
    assert "<script>" not in panel and "&lt;script&gt;" in panel and "&lt;b&gt;" in panel
    assert "<mark>个贷不良率0.39%。</mark>" in panel and "qa-focus" in panel
    assert f"#qa:article:{conversation}:2:1" in panel


def test_the_short_answer_stands_out_where_it_first_occurs():
    chunk = _chunk("工行位列“世界500强”第24位。")
    answer = Answer(
        question="q", text="工行位列“世界500强”第24位 [1]，较上年第24位持平。", short="第24位",
        citations=(Citation(n=1, chunk=chunk, quote="工行位列“世界500强”第24位。"),),
    )
    shown = render.answer_html(answer, new_id(), 0)
    assert shown.count("<strong>") == 1 and "“世界500强”<strong>第24位</strong> <a" in shown
    html_short = replace(answer, text="回答：<b>第24位</b>", short="<b>第24位</b>")
    assert "<strong>&lt;b&gt;第24位&lt;/b&gt;</strong>" in render.answer_html(html_short, new_id(), 0)
    assert "<strong>" not in render.answer_html(replace(answer, short="第25位"), new_id(), 0)


def test_a_rewritten_follow_up_says_how_it_was_understood_and_offers_the_words_as_typed():
    conversation = new_id()
    answer = Answer(question="按揭贷款呢？", text="0.2%。", short="0.2%", understood="工行<按揭>贷款不良率是多少")
    shown = render.answer_html(answer, conversation, 3)
    assert "按“工行&lt;按揭&gt;贷款不良率是多少”理解" in shown
    assert f'<a class="qa-asis" href="#qa:asis:{conversation}:3:0">按原话提问</a>' in shown
    assert render.parse_action(render.action("asis", conversation, 3)) == ("asis", conversation, 3, 0)
    assert "qa-understood" not in render.answer_html(replace(answer, understood=""), conversation, 3)


def test_the_copy_holds_the_answer_and_its_sources_and_each_passage_waits_under_the_answer():
    chunk = _chunk("个贷不良率0.39%。")
    answer = Answer(
        question="q", text="0.39%。依据：个贷不良率0.39%。 [1]", short="0.39%",
        citations=(Citation(n=1, chunk=chunk, quote="个贷不良率0.39%。"),),
    )
    assert render.copy_text(answer) == "0.39%。依据：个贷不良率0.39%。 [1]\n来源：\n[1] 《标题》· 工行通讯 issue"
    shown = render.answer_html(answer, new_id(), 0)
    assert '<pre class="qa-copy-text">0.39%。依据：个贷不良率0.39%。 &#91;1&#93;&#10;来源：&#10;' in shown
    assert '<div class="qa-inline qa-inline-1">' in shown and '<p class="qa-passage">个贷不良率0.39%。</p>' in shown
    assert render.copy_text(replace(answer, citations=())) == answer.text


def test_markdown_and_latex_in_documents_stay_characters():
    shown = render.text("**粗** [链](javascript:x) $$a$$ `c` # h\n第二行")
    for raw in ("**", "[", "](", "$$", "`", "# "):
        assert raw not in shown
    assert shown.endswith("<br>第二行")


def test_abstention_shows_related_passages_as_such():
    answer = Answer(question="q", text="资料中没有找到能回答这个问题的内容。", passages=(Hit(_chunk("某段内容"), 0.3),), abstained=True)
    conversation = new_id()
    message = render.answer_html(answer, conversation, 0)
    assert render.ABSTAINED_HEADING in message and "来源" not in message
    panel = render.sources_html(Turn(question="q", answer=answer), conversation, 0)
    assert render.ABSTAINED_HEADING in panel and "某段内容" in panel and "<mark>" not in panel


def test_actions_round_trip_and_nothing_else_parses():
    conversation = new_id()
    assert render.parse_action(render.action("article", conversation, 3, 2)) == ("article", conversation, 3, 2)
    for bad in ["", "#qa:cite:../x:0:1", f"#qa:delete:{conversation}:0:1", f"#qa:cite:{conversation}:-1:1", None]:
        assert render.parse_action(bad) is None


def test_the_article_is_rebuilt_from_overlapping_chunks():
    text = "第一句话。第二句话。\n第二段开头。结尾。"
    pieces = [(0, 10, ""), (5, 11, ""), (11, 22, "小节")]  # the second overlaps the first by five characters
    chunks = tuple(
        Chunk(id=i, doc_id="d", doc_name="x.txt", position=i, text=text[a:b].strip(), start=a, end=a + len(text[a:b].strip()),
              headline="题", section=s, byline="供稿：部")
        for i, (a, b, s) in enumerate(pieces)
    )
    assert [(k, v) for k, v, _, _ in render.article_blocks(chunks)] == [
        ("para", "第一句话。第二句话。"), ("section", "小节"), ("para", "第二段开头。结尾。")
    ]
    shown = render.article_html(chunks[2], "结尾。", chunks, "#back")
    assert "<mark>结尾。</mark>" in shown and shown.count("第二句话") == 1 and "供稿：部" in shown
    gone = render.article_html(chunks[2], "结尾。", (), "#back")
    assert "已不在当前索引中" in gone and "<mark>结尾。</mark>" in gone


def test_the_upload_report_names_what_else_the_folder_holds_that_is_not_read(tmp_path):
    from index import BuildReport, LoadError
    from ui.upload import Stored

    link = LoadError(tmp_path / "x.txt", "是符号链接，未读取（只读取文档目录中的普通文件，不跟随链接）")
    html = render.upload_html([Stored("new.txt", "new.txt")], [], BuildReport(added=["new.txt"], errors=[link]))
    assert "✔ new.txt：已编入索引" in html and "✘ 文件夹中的 x.txt：是符号链接" in html


def _assistant(tmp_path, **changes):
    from index import Settings
    from qa import Assistant

    settings = Settings(docs_dir=tmp_path / "docs", home=tmp_path / "var", index_dir=tmp_path / "index").with_(**changes)
    return Assistant(settings, FakeEmbedder())


def _component_types(app) -> set[str]:
    return {c["type"] for c in app.get_config_file()["components"]}


def test_read_only_has_no_upload_or_reindex(tmp_path):
    from ui.app import build_app

    assert "file" in _component_types(build_app(_assistant(tmp_path)))
    read_only = build_app(_assistant(tmp_path, allow_upload=False))
    assert "file" not in _component_types(read_only)
    values = [c.get("props", {}).get("value") for c in read_only.get_config_file()["components"]]
    assert "重新扫描文档目录" not in values


def test_a_lone_surrogate_in_a_chat_question_is_answered_and_the_conversation_saved(tmp_path):
    from index import build_index
    from ui.app import build_app
    from qa.history import Conversations

    (tmp_path / "docs").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "docs")
    assistant = _assistant(tmp_path)
    build_index(assistant.settings, assistant.embedder, progress=False)
    respond = next(block.fn for block in build_app(assistant).fns.values() if getattr(block.fn, "__name__", "") == "respond")
    *_, last = respond("个贷不良率\ud800是多少？", {"current": "", "ids": []}, "hybrid", 5, "rules")
    (turn,) = Conversations(assistant.settings.history_dir).load(last[3]["current"])
    assert turn.error == "" and turn.question == "个贷不良率是多少？" and turn.answer.short == "0.39%"
    assert any("无法识别的字符" in w for w in turn.answer.warnings)


def test_serve_binds_locally_and_turns_on_the_login(tmp_path, monkeypatch):
    import gradio as gr

    from ui.app import auth_pair, serve

    launched = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: launched.update(kwargs))
    serve(_assistant(tmp_path, auth="行员:pass:word"))
    assert launched["server_name"] == "127.0.0.1" and launched["auth"] == ("行员", "pass:word")
    assert launched["footer_links"] == []
    assert auth_pair("") is None
    with pytest.raises(ValueError, match="用户名:密码"):
        auth_pair("nopassword")


# The page in a real browser -------------------------------------------------------------------



# `qa serve` as the command line runs it, with the fake embedder put in place of the model,
# slowed down (20 ms a passage) so that a progress bar can be seen, and with a bar of its own
# per call, as sentence-transformers' encode has («Batches»): the page must not show it.
LAUNCH = """
import sys, time
from tqdm import trange
import cli
from index.commands import Wiring
from tests.conftest import FakeEmbedder

class Slow(FakeEmbedder):
    def embed_passages(self, texts):
        for _ in trange(0, len(texts), 32, desc="Batches", disable=True):
            time.sleep(0.02 * min(32, len(texts)))
        return super().embed_passages(texts)

sys.exit(cli.main(sys.argv[1:], Wiring(make_embedder=lambda settings: Slow())))
"""


class _FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that streams one answer, citing the passage that holds it,
    slowly enough to watch it grow."""

    def do_POST(self):
        prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"][-1]["content"]
        n = next(m for m in range(1, 11) if "工银瑞信基金1096亿元" in prompt.split(f"[{m}] ", 1)[-1].split(f"[{m + 1}] ")[0])
        # The marker before the full stop: after it, qa/check.py reads "[n]" as a sentence of its own.
        reply = f"上半年代销工银瑞信基金1096亿元 [{n}]。"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(reply), 3):
            chunk = {"choices": [{"delta": {"content": reply[i : i + 3]}}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.15)
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, llm):
    home = tmp_path_factory.mktemp("serve")
    docs = home / "docs"
    docs.mkdir()
    shutil.copy(SEED_FILE, docs)
    (docs / "hostile.txt").write_text(HOSTILE, "utf-8")
    port = free_port()
    env = os.environ | {
        "QA_HOME": str(home), "QA_DOCS_DIR": str(docs), "QA_INDEX_DIR": str(home / "index"),
        "QA_LLM_BASE_URL": llm, "QA_LLM_MODEL": "fake", "QA_COMPOSER": "extractive",
    }
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(url, process, home / "serve.log")
        yield url, home
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
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
        yield browser
        browser.close()


def _open(browser, server, width=1200, height=900):
    """A fresh browser profile (its own localStorage) on the chat, as bank staff's browsers are set: Chinese."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server[0])
    page.locator("#qa-question textarea").wait_for()
    page.locator("body.qa-ready").wait_for(state="attached")  # the page's load events are done
    return page


@pytest.fixture
def page(browser, server):
    page = _open(browser, server)
    yield page
    page.context.close()


def _ask(page, question: str):
    """Ask, wait for the final answer (not the placeholder or a draft), return its message."""
    final = page.locator("#qa-chat .message.bot .qa-answer:not(.qa-pending):not(.qa-draft), #qa-chat .message.bot .qa-error")
    before = final.count()
    page.locator("#qa-question textarea").fill(question)
    page.locator("#qa-send").click()
    final.nth(before).wait_for()
    return final.nth(before)


def _screenshot(page, name: str, full_page: bool = True) -> None:
    """Into test-artifacts/; `full_page=False` for what is in sight without scrolling."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def test_asking_shows_the_answer_and_clicking_1_the_cited_passage(page):
    answer = _ask(page, "上半年代销工银瑞信基金多少？")
    assert answer.locator(".qa-text strong").inner_text() == "1096亿元"  # the short answer stands out
    answer.locator("a.qa-cite").first.click()
    card = page.locator("#qa-sources .qa-card.qa-focus")
    card.wait_for()
    assert SEED_HEADLINE in card.locator("summary").inner_text()
    assert SEED_ISSUE in card.locator(".qa-meta").inner_text()
    assert "工银瑞信基金1096亿元" in card.locator("mark").inner_text()
    _screenshot(page, "chat-answered.png")
    card.locator("a.qa-more").click()  # 阅读全文
    article = page.locator("#qa-sources .qa-article")
    article.wait_for()
    assert SEED_HEADLINE in article.locator("h3").inner_text()
    assert "齐心协力 战略落地稳扎稳打" in article.locator("h4").all_inner_texts()
    assert "2019年年中" in article.inner_text()  # the article's opening, far from the cited passage
    assert "工银瑞信基金1096亿元" in article.locator("mark").inner_text()
    _screenshot(page, "chat-article.png")
    article.locator("a.qa-back").click()
    page.locator("#qa-sources .qa-focus").wait_for()


def test_answers_stream_from_the_generative_composer(page):
    page.locator("#qa-settings").click()
    page.get_by_text("生成式：大模型撰写，逐句核对出处").click()
    page.locator("#qa-question textarea").fill("上半年代销工银瑞信基金多少？")
    page.locator("#qa-send").click()
    page.locator("#qa-chat .qa-draft").wait_for()  # text growing before the answer is checked
    assert not page.locator("#qa-chat .message-buttons").last.is_visible()  # nothing to rate yet
    answer = page.locator("#qa-chat .message.bot .qa-answer:not(.qa-pending):not(.qa-draft)").first
    answer.wait_for()
    assert answer.inner_text().startswith("上半年代销工银瑞信基金1096亿元")
    answer.locator("a.qa-cite").first.click()
    assert "1096亿元" in page.locator("#qa-sources .qa-focus mark").inner_text()


def test_a_reload_or_a_reopened_conversation_keeps_its_citations(page):
    _ask(page, "上半年代销工银瑞信基金多少？")
    _ask(page, "个贷不良率是多少？")
    page.reload()
    first = page.locator("#qa-chat .message.bot .qa-answer").first
    first.locator("a.qa-cite").wait_for()
    assert page.locator("#qa-chat .message.bot .qa-answer").count() == 2
    first.locator("a.qa-cite").first.click()
    assert "工银瑞信基金1096亿元" in page.locator("#qa-sources .qa-focus mark").inner_text()

    page.locator("#qa-new").click()
    page.locator("#qa-chat .qa-answer").first.wait_for(state="detached")
    _ask(page, "工行在“世界500强”中排第几位？")
    page.locator("#qa-history input").click()
    page.get_by_role("option", name="上半年代销工银瑞信基金多少？").click()
    page.locator("#qa-chat .qa-question", has_text="个贷不良率是多少？").wait_for()
    assert page.locator("#qa-chat .message.bot .qa-answer").count() == 2
    page.locator("#qa-chat .message.bot .qa-answer").nth(1).locator("a.qa-cite").first.click()
    assert "0.39%" in page.locator("#qa-sources .qa-focus mark").inner_text()


def test_an_abstention_shows_its_passages_as_related_reading(page):
    answer = _ask(page, "火星分行的行长是谁？")
    assert answer.inner_text().startswith("资料中没有找到能回答这个问题的内容。")
    assert "相关内容（未必回答了问题）" in answer.inner_text() and answer.locator("a.qa-cite").count() == 0
    answer.locator("a.qa-ref").first.click()
    card = page.locator("#qa-sources .qa-focus")
    card.wait_for()
    assert "相关内容（未必回答了问题）" in page.locator("#qa-sources .qa-panel-head").inner_text()
    assert card.locator("mark").count() == 0


def test_a_refused_question_says_why_and_stays_in_the_box(page):
    answer = _ask(page, "个贷" * 300)
    assert "问题太长（600 字）" in answer.inner_text()
    assert page.locator("#qa-question textarea").input_value() == "个贷" * 300


def test_feedback_opens_in_sight_names_its_answer_and_is_appended_with_its_turn(browser, server):
    page = _open(browser, server, width=1366, height=900)
    try:
        _ask(page, "上半年代销工银瑞信基金多少？")
        _ask(page, "个贷不良率是多少？")
        page.locator("#qa-chat .message-buttons button[aria-label='踩']").first.click()  # the first answer's
        box = page.locator("#qa-comment")
        expect(box).to_be_in_viewport(ratio=1)
        assert "问：上半年代销工银瑞信基金多少？" in box.inner_text()
        _screenshot(page, "chat-feedback.png", full_page=False)
        page.locator("#qa-comment textarea").fill("依据可以更短")
        page.locator("#qa-comment-send").click()
        page.get_by_text("谢谢，意见已记录。").wait_for()
        expect(box).to_be_hidden()
        records = [json.loads(line) for line in (server[1] / "feedback.jsonl").read_text("utf-8").splitlines()]
        rated, commented = records[-2:]
        assert rated["id"] == commented["id"] and rated["rating"] == commented["rating"] == "down"
        assert (rated["comment"], commented["comment"]) == ("", "依据可以更短")
        assert commented["turn"] == 0 and commented["question"] == "上半年代销工银瑞信基金多少？"
        assert "1096亿元" in rated["answer"] and rated["short"] == "1096亿元"
        assert "工银瑞信基金1096亿元" in rated["citations"][0]["quote"] and SEED_ISSUE in rated["citations"][0]["doc_name"]
    finally:
        page.context.close()


def test_an_empty_question_is_refused_in_chinese(page):
    page.locator("#qa-send").click()
    toast = page.locator("[data-testid=toast-body]")
    toast.get_by_text("问题是空的").wait_for()
    expect(toast.locator(".toast-title")).to_have_text("提示")
    assert "Warning" not in toast.inner_text()


def test_conversations_are_renamed_and_deleted(page, server):
    history = server[1] / "history"
    _ask(page, "个贷不良率是多少？")
    page.locator("#qa-rename").click()
    page.locator("#qa-rename-text input, #qa-rename-text textarea").first.fill("不良率")
    page.locator("#qa-rename-save").click()
    expect(page.locator("#qa-history input")).to_have_value("不良率")
    page.reload()
    page.locator("body.qa-ready").wait_for(state="attached")
    expect(page.locator("#qa-history input")).to_have_value("不良率")  # the title is the file's
    conversation = next(p.stem for p in history.glob("*.json") if json.loads(p.read_text("utf-8"))["title"] == "不良率")

    page.locator("#qa-chat button[aria-label='清空对话']").click()  # the chat's 🗑 asks first …
    expect(page.locator("#qa-delete-box")).to_contain_text("删除对话「不良率」？")
    page.locator("#qa-delete-cancel").click()  # … and keeps it when told so
    page.locator("#qa-chat .qa-answer").first.wait_for()
    assert (history / f"{conversation}.json").exists()
    page.locator("#qa-delete").click()
    page.locator("#qa-delete-confirm").click()
    page.locator("#qa-chat .qa-answer").first.wait_for(state="detached")
    expect(page.locator("#qa-history input")).to_have_value("")
    assert not (history / f"{conversation}.json").exists()
    page.locator("#qa-history input").click()
    assert "不良率" not in page.get_by_role("option").all_inner_texts()
    page.reload()
    page.locator("body.qa-ready").wait_for(state="attached")
    assert page.locator("#qa-chat .qa-answer").count() == 0


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(browser, server):
    page = _open(browser, server)
    try:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        answer = _ask(page, "上半年代销工银瑞信基金多少？")
        answer.locator("a.qa-copy").click()
        expect(answer.locator("a.qa-copy")).to_have_text("已复制")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "1096亿元" in copied and f"来源：\n[1] 《{SEED_HEADLINE}》" in copied and SEED_ISSUE in copied
        assert "<" not in copied and "复制" not in copied  # the text, not the page's markup or links
    finally:
        page.context.close()


def test_examples_are_in_sight_and_clicking_one_asks_it(browser, server):
    page = _open(browser, server, width=1366, height=900)
    try:
        examples = page.locator("#qa-chat button.example")
        examples.first.wait_for()
        assert examples.count() >= 1
        for i in range(examples.count()):
            expect(examples.nth(i)).to_be_in_viewport(ratio=1)
        _screenshot(page, "chat-examples.png", full_page=False)
        asked = examples.first.inner_text()
        examples.first.click()
        page.locator("#qa-chat .qa-question", has_text=asked).wait_for()
        answer = page.locator("#qa-chat .message.bot .qa-answer:not(.qa-pending):not(.qa-draft)").first
        answer.wait_for()
        assert answer.locator("a.qa-cite").count() >= 1  # answered, with a citation
    finally:
        page.context.close()


def test_a_follow_up_shows_how_it_was_understood_and_is_asked_as_typed_in_one_click(page):
    first = _ask(page, "个贷不良率是多少？")
    assert "0.39%" in first.inner_text() and first.locator(".qa-understood").count() == 0
    second = _ask(page, "比年初下降了多少？")
    understood = second.locator(".qa-understood").inner_text()
    assert understood.startswith("按“") and "”理解" in understood
    assert ("个贷" in understood or "个人贷款" in understood) and "不良率" in understood
    third = _ask(page, "按揭贷款呢？")
    assert "按揭" in third.locator(".qa-understood").inner_text()
    _screenshot(page, "chat-dialogue.png")
    third.locator("a.qa-asis").click()  # 按原话提问
    page.locator("#qa-chat .qa-question").nth(3).wait_for()
    assert page.locator("#qa-chat .qa-question").all_inner_texts()[3] == "按揭贷款呢？"
    fourth = page.locator("#qa-chat .message.bot .qa-answer:not(.qa-pending):not(.qa-draft)").nth(3)
    fourth.wait_for()
    assert fourth.locator(".qa-understood").count() == 0  # answered as typed
    _screenshot(page, "chat-as-typed.png")


def test_uploaded_issues_are_answerable_at_once_and_bad_files_reported(page):
    page.get_by_role("tab", name="索引").click()
    stats = page.locator("#qa-index")
    assert "fake/bigram-hash" in stats.inner_text() and "2" in stats.locator("tr").first.inner_text()
    page.locator("#qa-upload input[type=file]").set_input_files([
        {"name": "第43期.txt", "mimeType": "text/plain", "buffer": NEW_ISSUE.encode()},
        {"name": "空白.txt", "mimeType": "text/plain", "buffer": b"   \n"},
        {"name": "旧刊重传.txt", "mimeType": "text/plain", "buffer": SEED_FILE.read_bytes()},
        {"name": "工具.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
        {"name": "第44期.txt", "mimeType": "text/plain", "buffer": LONG_ISSUE.encode()},
    ])
    progress = page.locator("#qa-upload .progress-level-inner", has_text="嵌入段落")
    progress.wait_for()  # the progress bar
    shown = page.locator("#qa-upload [data-testid=status-tracker]").inner_text()
    assert "段" in shown and not re.search(r"[A-Za-z]{2,}", shown), shown  # not «Batches», «steps»
    report = page.locator("#qa-upload-report .qa-report")
    report.wait_for(timeout=60_000)
    assert "✔ 第43期.txt：已编入索引" in report.inner_text() and "✔ 第44期.txt：已编入索引" in report.inner_text()
    assert "✘ 空白.txt：文件为空" in report.inner_text()
    assert f"✘ 旧刊重传.txt：与已有的文件 {SEED_FILE.name} 内容相同" in report.inner_text()
    assert "✘ 工具.exe：不支持的文件类型 .exe" in report.inner_text()
    assert "4" in stats.locator("tr").first.inner_text()
    page.get_by_role("tab", name="问答").click()
    answer = _ask(page, "青松计划首批签约客户多少户？")
    assert "328户" in answer.inner_text()
    answer.locator("a.qa-cite").first.click()
    assert "第43期" in page.locator("#qa-sources .qa-focus .qa-meta").inner_text()


def test_documents_show_as_text_and_run_nothing(page):
    answer = _ask(page, "外汇宝交易量达到多少笔？")
    answer.locator("a.qa-cite").first.click()
    page.locator("#qa-sources .qa-focus").wait_for()
    shown = page.locator("#qa-chat").inner_text() + page.locator("#qa-sources").inner_text()
    assert "<img src=x onerror=" in shown and "<script>" in shown
    assert "**创新高** [点此](javascript:window.__pwned=1) $$x$$" in shown
    page.locator("#qa-sources .qa-focus a.qa-more").click()
    page.locator("#qa-sources .qa-article").wait_for()
    assert "<script>window.__pwned" in page.locator("#qa-sources .qa-article").inner_text()
    assert page.locator("#qa-chat img, #qa-sources img, #qa-chat script, #qa-sources script").count() == 0
    assert page.locator("#qa-chat a[href^='javascript'], #qa-sources a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_usable_at_phone_width_with_the_cited_passage_under_its_answer(browser, server):
    page = _open(browser, server, width=390, height=844)
    try:
        answer = _ask(page, "个贷不良率是多少？")
        assert "0.39%" in answer.inner_text()
        answer.locator("a.qa-cite").first.click()
        passage = answer.locator(".qa-inline-1")
        expect(passage).to_be_in_viewport(ratio=1)  # the sources panel is 800 px below: it opens here
        assert "个贷不良率0.39%" in passage.inner_text() and SEED_ISSUE in passage.inner_text()
        expect(answer.locator("a.qa-cite").first).to_be_in_viewport()  # and the answer stays in sight
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the page scrolls sideways at 390px: {widths}"
        assert page.locator("#qa-send").bounding_box()["width"] > 40
        _screenshot(page, "chat-phone-cite.png", full_page=False)
        answer.locator("a.qa-cite").first.click()
        expect(passage).to_be_hidden()  # a second tap folds it away
    finally:
        page.context.close()


def _dated_issue(year: int, figure: int) -> bytes:
    return (
        f"工行通讯\n{year}年第7期\n{year}年7月15日\n第1版\n代销基金再创新高\n"
        f"今年上半年，全行代销工银瑞信基金{figure}亿元，同比增长较快。\n"
    ).encode()


def test_the_index_lists_issues_by_date_and_the_chat_answers_from_the_one_chosen(page):
    page.get_by_role("tab", name="索引").click()
    page.locator("#qa-upload input[type=file]").set_input_files([
        {"name": "2020-07.txt", "mimeType": "text/plain", "buffer": _dated_issue(2020, 1250)},
        {"name": "2021-07.txt", "mimeType": "text/plain", "buffer": _dated_issue(2021, 1480)},
    ])
    page.locator("#qa-upload-report .qa-report").wait_for(timeout=60_000)
    issues = page.locator("#qa-index .qa-issues tr")
    assert issues.nth(1).inner_text().startswith("2021年第7期（7月15日）")
    assert issues.nth(2).inner_text().startswith("2020年第7期（7月15日）")
    assert "期次未能识别" in page.locator("#qa-index .qa-issues").inner_text()  # the seed has no masthead
    page.get_by_role("tab", name="问答").click()
    page.locator("#qa-issue input").click()
    page.get_by_role("option", name="2020年第7期（7月15日）").click()
    answer = _ask(page, "上半年代销工银瑞信基金多少？")
    assert "1250" in answer.inner_text()
    assert "2020年第7期（7月15日）" in page.locator("#qa-sources").inner_text()
    _screenshot(page, "chat-issue-chosen.png")
