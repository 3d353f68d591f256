"""HTML for the chat: answers with clickable [n], the sources panel, whole articles, the index.

Every piece of document or user text goes through `text()`: documents are data, never markup.
Links that act (open a source, read the article) are `#qa:…` fragments; one click handler in the
page (ui/app.py) turns them into a server call, because the chat's HTML sanitiser keeps href and
class but drops data attributes and handlers.
"""

import re
from datetime import datetime

from index import BuildReport, Chunk, Issue, Manifest, issues_by_date, sidecar_name
from qa import Answer, Turn
from ui.upload import Stored, UploadRefused

ABSTAINED_HEADING = "相关内容（未必回答了问题）"
SOURCES_HEADING = "来源"
PANEL_EMPTY = '<div class="qa-panel qa-empty">点击回答中的 [n] 或来源，在这里查看原文段落。</div>'

# HTML's five, and what Markdown or LaTeX would act on: a message is an HTML block, which the
# chat's Markdown leaves alone, but nothing in a document should depend on that.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    | {c: f"&#{ord(c)};" for c in "\\`*_[]$~|#"}
)
_MARKER = re.compile(r"\[(\d+)\]")
INLINE_CHARS = 120  # of related reading shown under an answer
QUOTED_CHARS = 60  # of the answer the comment panel names
COPY = "#qa:copy"  # copied in the page, from the answer's own .qa-copy-text: no server call


def text(value: str, newline: str = "<br>") -> str:
    """Plain text as HTML that shows exactly these characters; line breaks kept as `newline`."""
    return str(value).translate(_ESCAPES).replace("\r\n", "\n").replace("\n", newline)


def _marked(value: str, quote: str, tag: str = "mark") -> tuple[str, bool]:
    """`value` as HTML with the first occurrence of `quote` in <tag>; whether it was found."""
    at = value.find(quote) if quote else -1
    if at < 0:
        return text(value), False
    end = at + len(quote)
    return f"{text(value[:at])}<{tag}>{text(quote)}</{tag}>{text(value[end:])}", True


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def action(kind: str, conversation: str, index: int, n: int = 0) -> str:
    """A link's fragment: `kind` (cite, article, asis: ask turn `index`'s question as typed) on
    passage `n` of turn `index`."""
    return f"#qa:{kind}:{conversation}:{index}:{n}"


def parse_action(value: str) -> tuple[str, str, int, int] | None:
    """(kind, conversation, turn index, n) from a link's fragment; None for anything else."""
    found = re.fullmatch(r"(cite|article|asis):([0-9a-f]{32}):(\d{1,6}):(\d{1,4})", (value or "").removeprefix("#qa:"))
    if not found:
        return None
    return found[1], found[2], int(found[3]), int(found[4])


def shown_sources(answer: Answer) -> tuple[str, list[tuple[int, Chunk, str]]]:
    """The heading and the (n, chunk, quote) a reader is shown: the cited passages, or for an
    abstention the retrieved ones as related reading, nothing marked."""
    if answer.abstained:
        return ABSTAINED_HEADING, [(n, hit.chunk, "") for n, hit in enumerate(answer.passages, start=1)]
    return SOURCES_HEADING, [(c.n, c.chunk, c.quote) for c in answer.citations]


def _title(chunk: Chunk) -> tuple[str, str, str]:
    """A chunk's article in the words of its citation label, in parts: the title (《headline》, or
    the source when there is no headline), the caption marker that follows it, and the source
    (工行通讯 and the issue)."""
    source = chunk.source_label
    if not chunk.headline:
        return source, "", source
    return f"《{chunk.headline}》", chunk.caption_mark, source


# The chat ------------------------------------------------------------------------------------


def question_html(question: str) -> str:
    return f'<div class="qa-question">{text(question)}</div>'


def pending_html() -> str:
    return '<div class="qa-answer qa-pending">正在查找资料…</div>'


def draft_html(answer: Answer) -> str:
    """A generative answer while it is being written: text only, citations come when it is checked."""
    return f'<div class="qa-answer qa-draft">{text(answer.text)}<span class="qa-cursor">▍</span></div>'


def error_html(message: str) -> str:
    return f'<div class="qa-answer qa-error">{text(message)}</div>'


def answer_html(answer: Answer, conversation: str, index: int) -> str:
    """The answer as the chat shows it: how a follow-up was understood, its text with each [n] a
    link to the passage, any warnings of the citation check, the sources by name, each a link
    too; each passage ready to open under the answer (where the sources panel is out of sight);
    a copy link with what it copies."""
    heading, shown = shown_sources(answer)
    html = ['<div class="qa-answer">']
    if answer.understood:
        html.append(
            f'<p class="qa-understood">按“{text(answer.understood)}”理解 · '
            f'<a class="qa-asis" href="{action("asis", conversation, index)}">按原话提问</a></p>'
        )
    html.append(f'<p class="qa-text">{_linked_text(answer, {n for n, _, _ in shown}, conversation, index)}</p>')
    if answer.warnings:
        html.append(f'<p class="qa-warn">注意：{text("；".join(answer.warnings))}</p>')
    if shown:
        links = "".join(
            f'<li><a class="qa-ref" href="{action("cite", conversation, index, n)}">[{n}] {text(chunk.citation_label)}</a>'
            "</li>"
            for n, chunk, _ in shown
        )
        html.append(f'<div class="qa-refs"><span class="qa-refs-head">{heading}</span><ul>{links}</ul></div>')
        html += [_inline_passage(n, chunk, quote) for n, chunk, quote in shown]
    # Read by the page's click handler: the chat's sanitiser leaves a link no handler of its own.
    html.append(f'<p class="qa-tools"><a class="qa-copy" href="{COPY}">复制</a></p>')
    html.append(f'<pre class="qa-copy-text">{text(copy_text(answer), newline="&#10;")}</pre></div>')
    return "".join(html)


def _linked_text(answer: Answer, numbers: set[int], conversation: str, index: int) -> str:
    """The answer's text as HTML: each [n] of a shown passage a link, the short answer in bold
    where it first occurs (so it stands out when the text does not lead with it)."""
    parts, last, short = [], 0, answer.short
    for found in _MARKER.finditer(answer.text):
        n = int(found[1])
        if n not in numbers or answer.abstained:
            continue
        piece, found_short = _marked(answer.text[last : found.start()], short, "strong")
        short = "" if found_short else short
        parts.append(piece)
        parts.append(f'<a class="qa-cite" href="{action("cite", conversation, index, n)}" title="查看出处">[{n}]</a>')
        last = found.end()
    parts.append(_marked(answer.text[last:], short, "strong")[0])
    return "".join(parts)


def _inline_passage(n: int, chunk: Chunk, quote: str) -> str:
    """Passage n under the answer, hidden until its [n] is tapped where the panel is out of sight:
    the sentence cited, or for related reading the passage's opening; short, as a phone is narrow."""
    shown = quote or _cut(chunk.text, INLINE_CHARS)
    return (
        f'<div class="qa-inline qa-inline-{n}"><p class="qa-meta">[{n}] {text(chunk.citation_label)}</p>'
        f'<p class="qa-passage">{text(shown)}</p></div>'
    )


def copy_text(answer: Answer) -> str:
    """What the copy link puts on the clipboard: the answer and its sources by name."""
    heading, shown = shown_sources(answer)
    if not shown:
        return answer.text
    return "\n".join([answer.text, f"{heading}："] + [f"[{n}] {chunk.citation_label}" for n, chunk, _ in shown])


def turn_messages(turn: Turn, conversation: str, index: int) -> list[dict]:
    if turn.answer is None:
        reply = error_html(turn.error)
    else:
        reply = answer_html(turn.answer, conversation, index)
    return [{"role": "user", "content": question_html(turn.question)}, {"role": "assistant", "content": reply}]


def feedback_html(turn: Turn, rating: str) -> str:
    """The head of the comment panel: the rating taken, and which answer it is about."""
    thanks = "谢谢！已记下这个回答有帮助。" if rating == "up" else "谢谢！已记下这个回答不理想。"
    answer = _cut(turn.answer.short or turn.answer.text if turn.answer else turn.error, QUOTED_CHARS)
    return (
        f'<div class="qa-feedback-head"><p>{thanks}可以补充意见（可选）：</p>'
        f'<p class="qa-meta">问：{text(turn.question)}</p><p class="qa-meta">答：{text(answer)}</p></div>'
    )


# The sources panel ---------------------------------------------------------------------------


def sources_html(turn: Turn, conversation: str, index: int, focus: int | None = None) -> str:
    """Every source of one answer; `focus` (the [n] clicked) is opened and marked, the others folded
    unless nothing is focused and they are citations."""
    answer = turn.answer
    if answer is None:
        return PANEL_EMPTY
    heading, shown = shown_sources(answer)
    if not shown:
        return f'<div class="qa-panel"><p class="qa-panel-head">{text(heading)}：无</p></div>'
    cards = []
    for n, chunk, quote in shown:
        opened = n == focus or (focus is None and not answer.abstained)
        cards.append(_card(n, chunk, quote, conversation, index, opened, n == focus))
    return (
        f'<div class="qa-panel"><p class="qa-panel-head">{text(heading)} · 问：{text(turn.question)}</p>'
        + "".join(cards)
        + "</div>"
    )


def _card(n: int, chunk: Chunk, quote: str, conversation: str, index: int, opened: bool, focused: bool) -> str:
    title, marker, source = _title(chunk)
    pieces = {}
    for part, value in (("title", title), ("section", chunk.section), ("text", chunk.text), ("byline", chunk.byline)):
        pieces[part], found = _marked(value, quote)
        quote = "" if found else quote  # the first occurrence only
    pieces["title"] += text(marker)
    meta = [text(source)]
    if chunk.page:
        meta.append(text(chunk.page))
    if chunk.section:
        meta.append(f"小节：{pieces['section']}")
    classes = "qa-card qa-focus" if focused else "qa-card"
    byline = f'<p class="qa-byline">{pieces["byline"]}</p>' if chunk.byline else ""
    return (
        f'<details class="{classes}"{" open" if opened else ""}>'
        f'<summary><span class="qa-n">[{n}]</span> <span class="qa-headline">{pieces["title"]}</span></summary>'
        f'<p class="qa-meta">{" · ".join(meta)}</p><p class="qa-passage">{pieces["text"]}</p>{byline}'
        f'<a class="qa-more" href="{action("article", conversation, index, n)}">阅读全文</a></details>'
    )


def article_html(chunk: Chunk, quote: str, chunks: tuple[Chunk, ...], back: str) -> str:
    """The whole article the cited chunk comes from, the cited sentence marked where the chunk
    stands; when the index no longer holds the article, the passage saved with the answer."""
    title, _, source = _title(chunk)
    title, found = _marked(title, quote)
    quote = "" if found else quote
    meta = [text(source)] + ([text(chunk.page)] if chunk.page else [])
    head = (
        f'<div class="qa-panel qa-article"><a class="qa-back" href="{back}">← 返回出处</a>'
        f'<h3 class="qa-article-title">{title}</h3><p class="qa-meta">{" · ".join(meta)}</p>'
    )
    if not chunks:
        note = "这篇文章已不在当前索引中（文件可能已更新或删除），下面是回答时引用的段落。"
        body, _ = _marked(chunk.text, quote)
        body = f'<div class="qa-article-body"><p class="qa-passage">{body}</p></div>'
        return f'{head}<p class="qa-warn">{note}</p>{body}</div>'
    blocks = []
    for kind, value, start, end in article_blocks(chunks):
        if kind == "section":
            section, found = _marked(value, quote if value == chunk.section else "")
            blocks.append(f'<h4 class="qa-section">{section}</h4>')
        else:
            cited = start < chunk.end and end > chunk.start
            body, found = _marked(value, quote) if cited else (text(value), False)
            blocks.append(f'<p class="qa-para">{body}</p>')
        quote = "" if found else quote
    byline = ""
    if chunks[-1].byline:
        byline = f'<p class="qa-byline">{_marked(chunks[-1].byline, quote)[0]}</p>'
    return f'{head}<div class="qa-article-body">{"".join(blocks)}{byline}</div></div>'


def article_blocks(chunks: tuple[Chunk, ...]) -> list[tuple[str, str, int, int]]:
    """An article's running text rebuilt from its chunks, as ("section", title) and ("para", text)
    blocks with their character span in the document; the overlap between neighbouring chunks is
    taken once. A gap between chunks is where the splitter dropped a line break: a new paragraph."""
    blocks: list[list] = []
    end, section = None, None
    for chunk in sorted(chunks, key=lambda c: c.start):
        if end is not None and chunk.end <= end:
            continue
        if chunk.section != section:
            section, end = chunk.section, None
            if section:
                blocks.append(["section", section, chunk.start, chunk.start])
        skip = 0 if end is None else max(0, end - chunk.start)
        offset, continues = chunk.start + skip, end is not None and chunk.start <= end
        for i, line in enumerate(chunk.text[skip:].split("\n")):
            if i == 0 and continues and blocks and blocks[-1][0] == "para":
                blocks[-1][1] += line
                blocks[-1][3] = offset + len(line)
            else:
                blocks.append(["para", line, offset, offset + len(line)])
            offset += len(line) + 1
        end = chunk.end
    return [(k, v.strip(), a, b) for k, v, a, b in blocks if k == "section" or v.strip()]


# The index panel and the upload report ---------------------------------------------------------


def index_html(manifest: Manifest | None, articles: int, problem: str = "") -> str:
    if manifest is None:
        return f'<div class="qa-index"><p class="qa-warn">{text(problem or "还没有索引。")}</p></div>'
    documents = manifest.unique_documents()
    rows = [
        ("期数（文件）", f"{len(documents)}"),
        ("文章", f"{articles}"),
        ("段落", f"{manifest.chunk_count}"),
        ("嵌入模型", f"{manifest.embedder}（{manifest.dim} 维）"),
        ("最近更新", _local_time(manifest.updated_at)),
    ]
    table = "".join(f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in rows)
    files = "".join(_issue_row(name, entry) for name, entry in issues_by_date(manifest))
    skipped = ""
    if manifest.skipped:
        names = "、".join(sorted(manifest.skipped))
        skipped = f'<p class="qa-warn">文档目录中无法读取、未编入索引的文件：{text(names)}</p>'
    return (
        f'<div class="qa-index"><table class="qa-stats">{table}</table>{skipped}'
        f"<details open><summary>已编入索引的期次（{len(manifest.documents)}，按日期）</summary>"
        f'<table class="qa-issues"><tr><th>期次</th><th>文件</th><th>文章</th><th>段落</th></tr>{files}</table></details></div>'
    )


def _issue_row(name: str, entry) -> str:
    """One issue of the index: its number and date, or a note that they could not be read."""
    issue = Issue(number=entry.issue, date=entry.date)
    label = text(issue.label) if issue.known else f'<span class="qa-warn">期次未能识别，可放 {text(sidecar_name(name))} 注明</span>'
    return f"<tr><td>{label}</td><td>{text(name)}</td><td>{entry.articles}</td><td>{entry.chunks}</td></tr>"


def _local_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def upload_html(stored: list[Stored], refused: list[UploadRefused], report: BuildReport | None, error: str = "") -> str:
    """What became of each uploaded file, the good and the bad one by one."""
    lines = []
    errors = {e.path.name: e.reason for e in report.errors} if report else {}
    for s in stored:
        status = f"无法编入索引：{errors[s.name]}" if s.name in errors else "已编入索引"
        note = f"（{s.note}）" if s.note else ""
        ok = s.name not in errors and not error
        lines.append(
            f'<li class="{"qa-ok" if ok else "qa-bad"}">{"✔" if ok else "✘"} {text(s.name)}：{text(status)}{text(note)}</li>'
        )
    for e in refused:
        lines.append(f'<li class="qa-bad">✘ {text(e.name)}：{text(e.reason)}</li>')
    uploaded = {s.name for s in stored}
    # What else in the folder the update would not read (a link, a pipe): named here as on every path.
    lines += [f'<li class="qa-bad">✘ 文件夹中的 {text(name)}：{text(reason)}</li>' for name, reason in errors.items() if name not in uploaded]
    added = sum(1 for s in stored if s.name not in errors)
    if error:
        summary = f"文件已保存，但更新索引失败：{error}"
    elif added:
        summary = f"已加入 {added} 个文件，嵌入了 {report.chunks_embedded if report else 0} 个新段落，现在就可以提问。"
    else:
        summary = "没有加入新文件。"
    if refused:
        summary += f" {len(refused)} 个文件未加入，原因见下。"
    return f'<div class="qa-report"><p>{text(summary)}</p><ul>{"".join(lines)}</ul></div>'


def update_html(report: BuildReport | None, error: str = "") -> str:
    """After rescanning the documents folder by hand; `error` when the update failed (no report)."""
    if report is None:
        return f'<div class="qa-report"><p class="qa-bad">更新索引失败：{text(error)}</p></div>'
    changes = [("新增", report.added), ("更新", report.replaced), ("修复", report.repaired), ("移除", report.removed)]
    lines = [f'<li class="qa-ok">{label} {text(name)}</li>' for label, names in changes for name in names]
    lines += [f'<li class="qa-bad">✘ {text(e.path.name)}：{text(e.reason)}</li>' for e in report.errors]
    summary = f"索引已更新，嵌入了 {report.chunks_embedded} 个新段落。" if report.changed else "索引已是最新，无需改动。"
    return f'<div class="qa-report"><p>{summary}</p><ul>{"".join(lines)}</ul></div>'
