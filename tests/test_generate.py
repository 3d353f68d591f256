"""The generative composer against a small server speaking the OpenAI chat API on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from index import build_index
from qa import Assistant
from qa.generate import ComposerUnavailable

REPLY = "1096亿元。依据：上半年累计代销工银瑞信基金1096亿元 [1]。"


class ChatServer(ThreadingHTTPServer):
    """Streams `reply` back in pieces, as server-sent events, and keeps each request it got."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply, self.status, self.requests = REPLY, 200, []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.server.status != 200:
            self.send_response(self.server.status)
            self.end_headers()
            self.wfile.write(b'{"error": "overloaded"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        reply = self.server.reply
        for i in range(0, len(reply), 4):
            chunk = {"choices": [{"index": 0, "delta": {"content": reply[i : i + 4]}}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    chat = ChatServer()
    thread = threading.Thread(target=chat.serve_forever, daemon=True)
    thread.start()
    yield chat
    chat.shutdown()
    chat.server_close()


@pytest.fixture
def assistant(settings, fake_embedder, server, monkeypatch):
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-test-123")
    settings = settings.with_(composer="generative", llm_base_url=server.url, llm_model="test-model")
    build_index(settings, fake_embedder, progress=False)
    return Assistant(settings, fake_embedder)


def test_streams_drafts_then_a_checked_answer(assistant, server):
    answers = list(assistant.stream("上半年代销工银瑞信基金多少？"))
    drafts, final = answers[:-1], answers[-1]
    assert len(drafts) > 3 and all(a.draft for a in drafts)
    assert [len(a.text) for a in drafts] == sorted(len(a.text) for a in drafts)  # growing
    assert not final.draft and final.composer == "generative"
    assert final.short == "1096亿元"
    cited = final.citations[0]
    assert "1096亿元" in cited.quote and cited.quote in cited.chunk.full_text


def test_the_request_numbers_the_passages_and_carries_the_key(assistant, server):
    assistant.answer("上半年代销工银瑞信基金多少？")
    request = server.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"
    body = request["body"]
    assert body["model"] == "test-model" and body["stream"] is True
    system, user = body["messages"]
    assert "[n]" in system["content"] and "不是指令" in system["content"]
    assert "[1] 《" in user["content"] and "问题：上半年代销工银瑞信基金多少？" in user["content"]


def test_unsupported_citations_are_dropped_and_stray_figures_flagged(assistant, server):
    server.reply = "代销工银瑞信基金1096亿元，合计2000亿元 [1]。工行员工有45万人 [1]。火星分行开业 [9]。"
    final = assistant.answer("上半年代销工银瑞信基金多少？")
    assert "45万人" not in final.text and "火星" not in final.text
    assert any("2000" in w for w in final.warnings)
    assert all(c.quote in c.chunk.full_text for c in final.citations)


def test_a_not_found_reply_is_an_abstention(assistant, server):
    server.reply = "资料中没有找到能回答这个问题的内容。"
    final = assistant.answer("建设银行的净利润是多少？")
    assert final.abstained and not final.citations and final.passages


def test_endpoint_errors_get_a_clear_message(assistant, server):
    server.status = 503
    with pytest.raises(ComposerUnavailable, match="503"):
        assistant.answer("上半年代销工银瑞信基金多少？")


def test_an_unreachable_endpoint_gets_a_clear_message(settings, fake_embedder):
    settings = settings.with_(composer="generative", llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    build_index(settings, fake_embedder, progress=False)
    with pytest.raises(ComposerUnavailable, match="无法连接"):
        Assistant(settings, fake_embedder).answer("上半年代销工银瑞信基金多少？")


def test_unconfigured_generative_composer_says_what_to_set(settings, fake_embedder):
    build_index(settings, fake_embedder, progress=False)
    with pytest.raises(ComposerUnavailable, match="QA_LLM_BASE_URL"):
        Assistant(settings, fake_embedder).answer("代销多少？", composer="generative")


def test_the_model_rewrites_a_follow_up_from_the_turn_before(assistant, server):
    first = assistant.answer("上半年代销工银瑞信基金多少？")
    server.reply = "“上半年代销工银安盛保险多少”\n（改写说明）"
    reading = assistant.reading("那工银安盛呢？", [first], assistant.composer("generative"))
    assert (reading.standalone, reading.how) == ("上半年代销工银安盛保险多少", "generative")
    system, user = server.requests[-1]["body"]["messages"]
    assert "改写" in system["content"]
    assert "上一轮问题：上半年代销工银瑞信基金多少" in user["content"] and "上一轮回答：1096亿元" in user["content"]
    assert "新问题：那工银安盛呢？" in user["content"]


def test_a_follow_up_the_model_keeps_as_it_is_is_not_rewritten(assistant, server):
    first = assistant.answer("上半年代销工银瑞信基金多少？")
    server.reply = "个贷不良率是多少？"
    assert not assistant.reading("个贷不良率是多少？", [first], assistant.composer("generative")).rewritten
