"""The Gradio chat: questions in, streamed answers with clickable citations out; history that
survives a reload; the index with uploads; settings; 👍/👎 feedback."""

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a closed network

import gradio as gr  # noqa: E402

from index import SUPPORTED_SUFFIXES, IndexBusy, IndexMissing, read_manifest, update_index  # noqa: E402
from qa import (  # noqa: E402
    Assistant, ComposerUnavailable, Conversations, ModelMismatch, QuestionError, Scope, Turn, clean_question, new_id, now,
    valid_id,
)
from ui import guard, render  # noqa: E402
from ui.feedback import append_feedback, feedback_record  # noqa: E402
from ui.upload import store_uploads  # noqa: E402

log = logging.getLogger(__name__)

TITLE = "《{name}》问答"  # {name}: the publication's, from the newsletter profile (index/newsletter.toml)
MODES = [("混合检索（关键词 + 向量）", "hybrid"), ("关键词检索", "keyword"), ("向量检索", "dense")]
COMPOSERS = [("规则：按关键词摘录原句", "rules"), ("阅读模型（试用）：从原文中找出答案", "reader")]
GENERATIVE = ("生成式：大模型撰写，逐句核对出处", "generative")
MAX_CONVERSATIONS = 30  # remembered per browser
# The conversation ids live in the browser's localStorage. Gradio "encrypts" them with a key it
# sends to that same browser, so the key protects nothing; a fixed one keeps the list readable
# across server restarts. The ids themselves are random and are what keeps conversations apart.
BROWSER_KEY = "qa-conversations"
NO_CONVERSATION = {"current": "", "ids": []}

# The page's script: one handler for every "#qa:…" link in the chat and the panel (the chat's
# sanitiser keeps href but drops handlers, so a link's fragment is handed to a hidden button's
# event), copying in the page (the clipboard wants the click itself), a [n] opened under its answer
# where the sources panel is out of sight (a phone), and Gradio's own English words in Chinese.
JS = (Path(__file__).with_name("page.js")).read_text("utf-8")
AFTER_ACTION_JS = """
() => {
  const target = document.querySelector("#qa-sources mark") || document.querySelector("#qa-sources .qa-focus")
    || document.querySelector("#qa-sources");
  if (target) target.scrollIntoView({block: "center", behavior: "smooth"});
}
"""
CSS = """
html, body { overflow-x: hidden; }
.gradio-container { max-width: 1280px !important; }
#qa-chat .qa-answer, #qa-chat .qa-question { overflow-wrap: anywhere; }
.qa-answer p { margin: 0 0 .4em; }
.qa-text { font-size: 1.02em; }
a.qa-cite { font-weight: 600; text-decoration: none; padding: 0 .1em; cursor: pointer; }
a.qa-cite:hover, a.qa-ref:hover, a.qa-more:hover, a.qa-back:hover { text-decoration: underline; }
.qa-refs { margin-top: .3em; font-size: .9em; opacity: .9; }
.qa-refs-head { font-weight: 600; }
.qa-refs ul { margin: .2em 0 0; padding-left: 1.1em; }
.qa-refs li { margin: 0; }
.qa-warn { color: #b45309; font-size: .88em; }
.qa-error { color: #b91c1c; }
.qa-pending, .qa-draft { opacity: .8; }
.qa-panel { font-size: .95em; overflow-wrap: anywhere; }
.qa-article-body { max-height: 70vh; overflow-y: auto; padding-right: .3em; }
.qa-empty { opacity: .7; padding: 1em 0; }
.qa-panel-head { font-weight: 600; margin: 0 0 .5em; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5em .75em; margin: 0 0 .6em; }
.qa-card.qa-focus { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.qa-card summary { cursor: pointer; font-weight: 600; }
.qa-meta, .qa-byline { font-size: .85em; opacity: .75; margin: .3em 0; }
.qa-passage, .qa-para { line-height: 1.7; margin: .4em 0; }
.qa-panel mark, .qa-answer mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.qa-article-title { margin: .4em 0 .2em; }
.qa-section { margin: .8em 0 .2em; }
.qa-index table { border-collapse: collapse; margin-bottom: .6em; }
.qa-index th { text-align: left; padding: .2em 1em .2em 0; font-weight: 600; }
.qa-index td { padding: .2em 0; }
.qa-report ul { list-style: none; padding-left: 0; }
.qa-ok { color: #15803d; }
.qa-bad { color: #b91c1c; }
#qa-action, #qa-go, #qa-asis { display: none !important; }
/* No rating for what is not an answer yet. */
#qa-chat .message-row:has(.qa-pending) + .message-buttons, #qa-chat .message-row:has(.qa-draft) + .message-buttons { display: none; }
.qa-understood { font-size: .88em; opacity: .85; margin: 0 0 .3em; }
a.qa-asis, a.qa-copy { color: var(--color-accent); text-decoration: none; cursor: pointer; }
a.qa-asis:hover, a.qa-copy:hover { text-decoration: underline; }
.qa-tools { font-size: .85em; margin: .3em 0 0; }
.qa-copy-text { display: none; }
.qa-inline { display: none; border-left: 3px solid var(--color-accent); padding: .1em .6em; margin: .4em 0; font-size: .92em; }
.qa-inline.qa-open { display: block; }
#qa-comment { position: fixed; right: 16px; bottom: 16px; width: min(440px, calc(100vw - 32px)); z-index: 1000;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6em; box-shadow: 0 4px 24px rgba(0, 0, 0, .18); }
#qa-delete-box { align-items: center; }
.qa-feedback-head { padding: 0 .2em; }
.qa-feedback-head p { margin: 0 0 .3em; }
"""


def build_app(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    newsletter = settings.profile.name
    title = TITLE.format(name=newsletter)
    conversations = Conversations(settings.history_dir)

    # Conversations ------------------------------------------------------------------------------

    def messages(conversation: str, turns: list[Turn]) -> list[dict]:
        return [m for i, turn in enumerate(turns) for m in render.turn_messages(turn, conversation, i)]

    def choices(saved: dict) -> list[tuple[str, str]]:
        found = [(conversations.title(c), c) for c in saved.get("ids", []) if valid_id(c)]
        return [(title, c) for title, c in found if title]

    def last_sources(conversation: str, turns: list[Turn]) -> str:
        if not turns:
            return render.PANEL_EMPTY
        return render.sources_html(turns[-1], conversation, len(turns) - 1)

    def examples() -> list[dict]:
        """The chat's example questions, made from the index as it is now (a new issue brings new ones)."""
        try:
            return [{"text": q} for q in assistant.examples()]
        except (IndexMissing, IndexBusy, ModelMismatch):
            return []

    def restore(saved):
        saved = _clean(saved)
        turns = conversations.load(saved["current"])
        current = saved["current"] if turns else None
        return (
            gr.update(value=messages(saved["current"], turns), examples=examples()),
            gr.update(choices=choices(saved), value=current),
            last_sources(saved["current"], turns),
            saved,
        )

    def open_conversation(conversation, saved):
        saved = _clean(saved)
        if not valid_id(conversation):
            return gr.skip(), gr.skip(), gr.skip()
        saved = {"current": conversation, "ids": _front(conversation, saved["ids"])}
        turns = conversations.load(conversation)
        return messages(conversation, turns), last_sources(conversation, turns), saved

    def start_new(saved):
        saved = _clean(saved) | {"current": ""}
        return [], render.PANEL_EMPTY, saved, gr.update(value=None), None

    def ask_rename(saved):
        current = _clean(saved)["current"]
        if not conversations.load(current):
            gr.Info("还没有可以重命名的对话：先提一个问题。", title="提示")
            return gr.skip(), gr.skip()
        return gr.update(visible=True), conversations.title(current)

    def rename(name, saved):
        saved = _clean(saved)
        if not conversations.rename(saved["current"], name or ""):
            return gr.update(visible=False), gr.skip()
        return gr.update(visible=False), gr.update(choices=choices(saved), value=saved["current"])

    def close_boxes():
        """Renaming or deleting is about the conversation shown: another one shown, they close."""
        return gr.update(visible=False), gr.update(visible=False)

    def ask_delete(saved):
        current = _clean(saved)["current"]
        if not conversations.load(current):
            return gr.update(visible=False), gr.skip()
        return gr.update(visible=True), f"删除对话「{conversations.title(current)}」？删除后无法恢复。"

    def call_off_delete(saved):
        """The conversation back in the chat: its 🗑 empties the chat before asking."""
        current = _clean(saved)["current"]
        return gr.update(visible=False), messages(current, conversations.load(current))

    def delete(saved):
        saved = _clean(saved)
        conversations.delete(saved["current"])
        saved = {"current": "", "ids": [c for c in saved["ids"] if c != saved["current"]]}
        return gr.update(visible=False), [], render.PANEL_EMPTY, saved, gr.update(choices=choices(saved), value=None), None

    # Asking ------------------------------------------------------------------------------------

    def ask_example(saved, mode, k, composer, issue, chosen: gr.SelectData):
        yield from respond(chosen.value["text"], saved, mode, k, composer, issue)

    def ask_as_typed(value, saved, mode, k, composer, issue):
        """按原话提问: an earlier turn's question again, as a new turn, answered as it was typed."""
        parsed, saved = render.parse_action(value), _clean(saved)
        turns = conversations.load(saved["current"])
        if parsed is None or parsed[0] != "asis" or parsed[1] != saved["current"] or parsed[2] >= len(turns):
            yield (gr.skip(),) * 5
            return
        yield from respond(turns[parsed[2]].question, saved, mode, k, composer, issue, rewrite=False)

    def issue_choices():
        """The 期次 selector: every issue, or one of those the index holds, newest first."""
        try:
            held = assistant.issues()
        except IndexMissing:
            held = []
        return gr.update(choices=[("全部期次", "")] + [(label, label) for label in held])

    def respond(question, saved, mode, k, composer, issue="", rewrite=True):
        """Yields (question box, chat, sources panel, browser state, conversation list) while a
        question is answered in the current conversation, which it may lean on; the stored turns
        are what the chat shows."""
        saved = _clean(saved)
        asked, question = question or "", clean_question(question)  # what is stored must be encodable
        if not question:
            gr.Warning("问题是空的，请输入要查询的内容。", title="提示")
            yield (gr.skip(),) * 5
            return
        conversation = saved["current"] or new_id()
        saved = {"current": conversation, "ids": _front(conversation, saved["ids"])}  # kept even if the page goes now
        earlier = conversations.load(conversation)
        shown = messages(conversation, earlier) + [{"role": "user", "content": render.question_html(question)}]
        yield "", shown + [{"role": "assistant", "content": render.pending_html()}], gr.skip(), saved, gr.skip()
        turn, kept = Turn(question=question, mode=mode, k=int(k), asked_at=now()), ""
        try:
            try:
                scope = Scope.of(issue=issue or "")
                for result in assistant.stream(asked, int(k), mode, composer, earlier=earlier, rewrite=rewrite, scope=scope):
                    if result.draft:
                        drafted = shown + [{"role": "assistant", "content": render.draft_html(result)}]
                        yield gr.skip(), drafted, gr.skip(), gr.skip(), gr.skip()
            except ComposerUnavailable as e:
                result = assistant.answer(question, int(k), mode, "rules", earlier=earlier, rewrite=rewrite, scope=scope)
                result = replace(result, warnings=result.warnings + (f"生成式回答不可用（{e}），以下为摘录式回答",))
            turn = replace(turn, answer=result)
        except QuestionError as e:
            turn, kept = replace(turn, error=str(e)), question  # back in the box, to be fixed
        except (IndexMissing, IndexBusy, ModelMismatch, ValueError) as e:
            turn = replace(turn, error=f"暂时无法回答：{e}")
        except Exception as e:  # the chat must answer something; the log keeps the details
            log.exception("answering %r failed", question)
            turn = replace(turn, error=f"系统出错，暂时无法回答（{type(e).__name__}）。请稍后再试。")
        turns = conversations.add(conversation, turn)
        yield (
            kept,
            messages(conversation, turns),
            render.sources_html(turn, conversation, len(turns) - 1) if turn.answer else gr.skip(),
            saved,
            gr.update(choices=choices(saved), value=conversation),
        )

    # Citations: [n] and 阅读全文 --------------------------------------------------------------

    def act(value):
        parsed = render.parse_action(value)
        if parsed is None or parsed[0] not in ("cite", "article"):
            return gr.skip()
        kind, conversation, index, n = parsed
        turns = conversations.load(conversation)
        if index >= len(turns) or turns[index].answer is None:
            return render.PANEL_EMPTY
        turn = turns[index]
        if kind == "cite":
            return render.sources_html(turn, conversation, index, focus=n)
        sources = {m: (chunk, quote) for m, chunk, quote in render.shown_sources(turn.answer)[1]}
        if n not in sources:
            return render.sources_html(turn, conversation, index)
        chunk, quote = sources[n]
        try:
            whole = assistant.articles().get((chunk.doc_id, chunk.headline), ())
        except IndexMissing:
            whole = ()
        return render.article_html(chunk, quote, whole, render.action("cite", conversation, index, n))

    # Feedback ----------------------------------------------------------------------------------

    def on_like(saved, data: gr.LikeData):
        """The rating recorded at once; the comment panel opens, saying which answer it is about."""
        saved = _clean(saved)
        turns = conversations.load(saved["current"])
        index = (data.index if isinstance(data.index, int) else data.index[0]) // 2  # a question and its answer a turn
        if index >= len(turns):
            return gr.update(visible=False), gr.skip(), None
        # Gradio sends True (👍), False (👎), or "" when a thumb is clicked again to take it back.
        rating = {True: "up", False: "down"}.get(data.liked, "withdrawn")
        record = feedback_record(turns[index], rating, saved["current"], index)
        append_feedback(settings.feedback_path, record)
        if rating == "withdrawn":
            gr.Info("已撤销评价。", title="提示")
            return gr.update(visible=False), gr.skip(), None
        return gr.update(visible=True), render.feedback_html(turns[index], rating), record

    def on_comment(comment, pending):
        comment = (comment or "").strip()
        if pending and comment:
            append_feedback(settings.feedback_path, pending | {"comment": comment[:2000], "time": now()})
            gr.Info("谢谢，意见已记录。", title="提示")
        return gr.update(visible=False), "", None

    # The index ----------------------------------------------------------------------------------

    def index_panel():
        try:
            manifest = read_manifest(settings)
        except IndexMissing as e:
            return render.index_html(None, 0, str(e))
        try:
            count = len(assistant.articles())
        except IndexMissing:  # gone between the two reads
            count = 0
        return render.index_html(manifest, count)

    def on_upload(files, progress=gr.Progress()):
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return gr.skip(), gr.skip(), None
        progress(0, desc="检查文件")
        stored, refused = store_uploads([(p, p.name) for p in paths], settings)
        report, error = None, ""
        if stored:
            progress(0.1, desc="更新索引")
            report, error = reindex(progress)
        return render.upload_html(stored, refused, report, error), index_panel(), None

    def on_rescan(progress=gr.Progress()):
        progress(0, desc="扫描文档目录")
        report, error = reindex(progress)
        return render.update_html(report, error), index_panel()

    def reindex(progress: gr.Progress):
        """(report, "") or (None, why not); the files stay in the folder for the next update either way.
        The page's bar is told of each batch embedded, in Chinese: not tqdm's bars tracked
        (track_tqdm), which would bring the model library's own, in English («Batches», «steps»)."""

        def embedded(done: int, total: int) -> None:
            progress((done, total), desc="嵌入段落", unit="段")

        try:
            return update_index(settings, assistant.embedder, progress=embedded), ""
        except (IndexBusy, IndexMissing, OSError, ValueError) as e:
            return None, str(e)
        except Exception as e:
            log.exception("updating the index failed")
            return None, f"系统出错（{type(e).__name__}）"

    # Layout ------------------------------------------------------------------------------------

    with gr.Blocks(title=title, fill_width=False) as app:
        saved = gr.BrowserState(NO_CONVERSATION, storage_key=BROWSER_KEY, secret=BROWSER_KEY)
        pending = gr.State(None)
        gr.HTML(f'<h2 style="margin:0">{title}</h2><p style="margin:.2em 0 0">就《{newsletter}》的内容提问；回答中的 [n] 可点开查看原文出处。</p>')
        with gr.Tabs():
            with gr.Tab("问答", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        with gr.Row(equal_height=False):
                            past = gr.Dropdown(choices=[], label="历史对话", scale=4, min_width=160, elem_id="qa-history")
                            new = gr.Button("新对话", size="md", scale=1, min_width=70, elem_id="qa-new")
                            rename_open = gr.Button("重命名", size="md", scale=1, min_width=70, elem_id="qa-rename")
                            delete_open = gr.Button("删除", size="md", scale=1, min_width=60, elem_id="qa-delete")
                        # Rows and columns, not groups: Gradio 6.31 renders a group shown later twice.
                        with gr.Row(visible=False, equal_height=True, elem_id="qa-rename-box") as rename_box:
                            name = gr.Textbox(label="对话名称", max_lines=1, scale=4, min_width=160, elem_id="qa-rename-text")
                            save_name = gr.Button("保存", variant="primary", scale=1, min_width=60, elem_id="qa-rename-save")
                            cancel_name = gr.Button("取消", scale=1, min_width=60, elem_id="qa-rename-cancel")
                        with gr.Row(visible=False, equal_height=True, elem_id="qa-delete-box") as delete_box:
                            delete_note = gr.Markdown(elem_id="qa-delete-note")
                            confirm_delete = gr.Button("删除", variant="stop", scale=0, min_width=90, elem_id="qa-delete-confirm")
                            cancel_delete = gr.Button("取消", scale=0, min_width=90, elem_id="qa-delete-cancel")
                        chat = gr.Chatbot(
                            label="对话",
                            elem_id="qa-chat",
                            height=540,
                            latex_delimiters=[],
                            buttons=[],
                            feedback_options=("Like", "Dislike"),
                            placeholder=f"就《{newsletter}》的内容提问，或点一个示例问题：",
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                label="问题",
                                show_label=False,
                                placeholder="输入问题，按回车提问",
                                scale=5,
                                min_width=160,
                                max_lines=4,
                                elem_id="qa-question",
                            )
                            send = gr.Button("提问", variant="primary", scale=1, min_width=70, elem_id="qa-send")
                        # Pinned to the window (CSS): in sight wherever the rated answer is.
                        with gr.Column(visible=False, elem_id="qa-comment") as comment_box:
                            rated = gr.HTML(elem_id="qa-comment-head")
                            comment = gr.Textbox(label="补充意见（可选）", max_lines=4, elem_id="qa-comment-text")
                            with gr.Row():
                                send_comment = gr.Button("提交意见", variant="primary", size="sm", elem_id="qa-comment-send")
                                close_comment = gr.Button("关闭", size="sm", elem_id="qa-comment-close")
                        issue = gr.Dropdown(
                            choices=[("全部期次", "")], value="", label="期次范围", elem_id="qa-issue",
                            info="只在选定的一期中查找；问题里的“最新一期”“2020年”等也会自动限定期次",
                        )
                        with gr.Accordion("设置", open=False, elem_id="qa-settings"):
                            mode = gr.Radio(MODES, value=settings.answering.retrieval, label="检索方式", elem_id="qa-mode")
                            k = gr.Slider(1, 10, value=settings.answering.top_k, step=1, label="参考段落数", elem_id="qa-k")
                            offered = COMPOSERS + [GENERATIVE] if settings.answering.llm_configured else COMPOSERS
                            chosen = settings.answering.composer if settings.answering.composer in [value for _, value in offered] else "rules"
                            composer = gr.Radio(
                                offered,
                                value=chosen,
                                label="回答方式",
                                elem_id="qa-composer",
                            )
                    with gr.Column(scale=2, min_width=300):
                        gr.HTML("<h3 style='margin:.2em 0'>出处</h3>")
                        panel = gr.HTML(render.PANEL_EMPTY, elem_id="qa-sources")
            with gr.Tab("索引", id="index-tab"):
                stats = gr.HTML(elem_id="qa-index")
                if settings.chat.allow_upload:
                    gr.Markdown(
                        "上传新一期通讯（可多选；支持 "
                        + " ".join(SUPPORTED_SUFFIXES)
                        + f"；每个文件不超过 {settings.indexing.max_file_mb:g} MB）。上传后自动编入索引，完成后即可提问。"
                    )
                    # No file_types: Gradio would refuse other types itself, in English; ui/upload.py says why in Chinese.
                    files = gr.File(label="上传文件", file_count="multiple", elem_id="qa-upload")
                    upload_report = gr.HTML(elem_id="qa-upload-report")
                    rescan = gr.Button("重新扫描文档目录", size="sm", elem_id="qa-rescan")
        action = gr.Textbox(visible="hidden", elem_id="qa-action")
        go = gr.Button("go", visible="hidden", elem_id="qa-go")
        as_typed = gr.Button("as typed", visible="hidden", elem_id="qa-asis")

        app.load(restore, [saved], [chat, past, panel, saved]).then(index_panel, None, stats).then(issue_choices, None, issue).then(
            None, js="() => document.body.classList.add('qa-ready')"  # for tests and scripts: loaded
        )
        settings_in = [mode, k, composer, issue]
        asked_out = [question, chat, panel, saved, past]
        question.submit(respond, [question, saved, *settings_in], asked_out)
        send.click(respond, [question, saved, *settings_in], asked_out)
        chat.example_select(ask_example, [saved, *settings_in], asked_out)
        as_typed.click(ask_as_typed, [action, saved, *settings_in], asked_out, js="(...inputs) => [window.qaAction, ...inputs.slice(1)]")
        past.input(open_conversation, [past, saved], [chat, panel, saved]).then(close_boxes, None, [rename_box, delete_box])
        new.click(start_new, [saved], [chat, panel, saved, past, pending]).then(close_boxes, None, [rename_box, delete_box])
        rename_open.click(ask_rename, [saved], [rename_box, name])
        save_name.click(rename, [name, saved], [rename_box, past])
        name.submit(rename, [name, saved], [rename_box, past])
        cancel_name.click(lambda: gr.update(visible=False), None, rename_box)
        delete_open.click(ask_delete, [saved], [delete_box, delete_note])
        chat.clear(ask_delete, [saved], [delete_box, delete_note])  # the chat's own 🗑 (清空对话) deletes too
        cancel_delete.click(call_off_delete, [saved], [delete_box, chat])
        confirm_delete.click(delete, [saved], [delete_box, chat, panel, saved, past, pending])
        go.click(act, [action], [panel], js="() => window.qaAction").then(None, js=AFTER_ACTION_JS)
        chat.like(on_like, [saved], [comment_box, rated, pending])
        send_comment.click(on_comment, [comment, pending], [comment_box, comment, pending])
        comment.submit(on_comment, [comment, pending], [comment_box, comment, pending])
        close_comment.click(lambda: (gr.update(visible=False), "", None), None, [comment_box, comment, pending])
        if settings.chat.allow_upload:
            outputs = [upload_report, stats, files]
            files.upload(on_upload, [files], outputs, concurrency_limit=1, show_progress_on=[files]).then(issue_choices, None, issue)
            rescan.click(on_rescan, None, outputs[:2], concurrency_limit=1, show_progress_on=[stats]).then(issue_choices, None, issue)
    return app


def _clean(saved) -> dict:
    """The browser's conversation list, trusting nothing in it but well-formed ids."""
    saved = saved if isinstance(saved, dict) else {}
    ids = [c for c in saved.get("ids", []) if valid_id(c)] if isinstance(saved.get("ids"), list) else []
    current = saved.get("current") if valid_id(saved.get("current")) else ""
    return {"current": current, "ids": ids[:MAX_CONVERSATIONS]}


def _front(conversation: str, ids: list[str]) -> list[str]:
    return ([conversation] + [c for c in ids if c != conversation])[:MAX_CONVERSATIONS]


def auth_pair(auth: str) -> tuple[str, str] | None:
    """Settings.auth "user:password" as Gradio's (user, password); None when empty."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError("QA_AUTH 的格式应为 用户名:密码")
    return user, password


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, middleware: Sequence = ()) -> None:
    """The chat; `middleware`, more ASGI layers in front of it (ui/api.py's route)."""
    settings = assistant.settings
    uploads = guard.use_temp_folder(settings)  # before build_app: its components note the folder
    stop_sweeping = guard.start_sweeper(uploads, settings.chat.upload_max_age, every=guard.SWEEP_INTERVAL)
    try:
        build_app(assistant).queue(default_concurrency_limit=4).launch(
            server_name=host,
            server_port=port,
            show_error=True,
            auth=auth_pair(settings.chat.auth),
            auth_message=f"请登录后使用{TITLE.format(name=settings.profile.name)}。连续输错密码后，须稍候再试。",
            # A ceiling on what the web server takes in at all (Gradio refuses above it, in English);
            # up to it, ui/upload.py refuses a file over max_file_mb with a Chinese message.
            max_file_size=int(settings.indexing.max_file_mb * 5 * 2**20),
            footer_links=[],
            css=CSS,
            js=JS,
            app_kwargs={"middleware": guard.middleware(settings) + list(middleware)},
        )
    finally:
        stop_sweeping.set()
