"""The Gradio chat: questions in, answers with their cited passages out."""

import html
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a closed network

import gradio as gr  # noqa: E402

from qa import Answer, Assistant, QuestionError  # noqa: E402

TITLE = "《工行通讯》问答"
EXAMPLES = ["上半年代销工银瑞信基金多少？", "个贷不良率是多少？", "工行在“世界500强”中排第几位？"]


def render_answer(result: Answer) -> str:
    """The answer as the chat shows it: the text, then each cited passage with the quote marked.
    Passage text is escaped: documents are data, never markup."""
    parts = [html.escape(result.text)]
    if result.abstained:
        shown = [(n, hit.chunk, "") for n, hit in enumerate(result.passages, start=1)]
        heading = "相关内容（未必回答了问题）"
    else:
        shown = [(c.n, c.chunk, c.quote) for c in result.citations]
        heading = "来源"
    if shown:
        parts.append(f"\n\n**{heading}**\n")
        parts += [_source(n, chunk, quote) for n, chunk, quote in shown]
    return "\n".join(parts)


def _source(n: int, chunk, quote: str) -> str:
    passage = html.escape(chunk.full_text)
    if quote:
        passage = passage.replace(html.escape(quote), f"<mark>{html.escape(quote)}</mark>", 1)
    passage = passage.replace("\n", "<br>")
    return (
        f'<details class="source" open><summary>[{n}] {html.escape(chunk.citation_label)}</summary>'
        f"<p>{passage}</p></details>"
    )


MODES = [("混合检索（关键词 + 向量）", "hybrid"), ("关键词检索", "keyword"), ("向量检索", "dense")]


def build_app(assistant: Assistant) -> gr.Blocks:
    def respond(question: str, history: list[dict], mode: str, k: int):
        history = history + [{"role": "user", "content": question}]
        try:
            reply = render_answer(assistant.answer(question, int(k), mode))
        except QuestionError as e:
            reply = str(e)
        return "", history + [{"role": "assistant", "content": reply}]

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"## {TITLE}\n就《工行通讯》的内容提问，回答附带出处 [n]，可展开查看原文。")
        chat = gr.Chatbot(label="对话", height=520, elem_id="chat")
        question = gr.Textbox(label="问题", placeholder="例如：上半年代销工银瑞信基金多少？", elem_id="question")
        with gr.Row():
            send = gr.Button("提问", variant="primary", elem_id="send")
            gr.ClearButton([chat, question], value="清空对话")
        gr.Examples(EXAMPLES, inputs=question, label="示例问题")
        with gr.Accordion("设置", open=False):
            mode = gr.Dropdown(MODES, value=assistant.settings.retrieval, label="检索方式", elem_id="mode")
            k = gr.Slider(1, 10, value=assistant.settings.top_k, step=1, label="参考段落数", elem_id="k")
        question.submit(respond, [question, chat, mode, k], [question, chat])
        send.click(respond, [question, chat, mode, k], [question, chat])
    return app


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    build_app(assistant).queue().launch(server_name=host, server_port=port, show_error=True)
