"""Measure pypdf vs pdfplumber on a two-column Chinese PDF: ordered recall, interleaving, ms/page."""

import difflib
import io
import random
import sys
import time
from collections import Counter
from pathlib import Path

# Run as `python bench/pdf_extract.py` from anywhere: make `index` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pdfplumber  # noqa: E402
import pypdf  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from index.formats import pdf_text  # noqa: E402
from index.text import squash as _squash  # noqa: E402

FONT = "STSong-Light"
PAGE_W, PAGE_H = 595.0, 842.0
MARGIN, GUTTER = 50.0, 20.0
BODY_SIZE, LEADING = 10.5, 16.0
PAGES = 6

# Random characters rather than real prose, so every column line is unique and
# we can tell where each one landed in the extracted text.
POOL = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方"
    "后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开"
    "它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此"
    "变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老"
    "头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门"
    "即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花"
)


def _rand_paragraph(rng):
    n = rng.randint(60, 320)
    chars = []
    for i in range(n):
        if i and i % rng.randint(9, 16) == 0:
            chars.append("，")
        elif rng.random() < 0.02:
            chars.append(str(rng.randint(10, 2024)))
        else:
            chars.append(rng.choice(POOL))
    return "".join(chars) + "。"


def _wrap(text, width, first_indent):
    """Greedy wrap by rendered width, as a typesetter would for CJK."""
    lines, line, avail = [], "", width - first_indent
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, FONT, BODY_SIZE) > avail:
            lines.append(line)
            line, avail = "", width
        line += ch
    lines.append(line)
    return lines


def make_pdf(row_by_row=False, pages=PAGES, seed=0):
    """Two-column Chinese PDF; returns bytes and, per page, reference text, column lines, paragraphs.

    row_by_row=False writes the content stream column by column (what layout
    tools usually do); True writes left line i, right line i, ... which some
    generators do and which defeats libraries that trust stream order.
    """
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    rng = random.Random(seed)
    col_w = (PAGE_W - 2 * MARGIN - GUTTER) / 2
    top = PAGE_H - MARGIN - 40
    rows = int((top - MARGIN) // LEADING)
    indent = 2 * BODY_SIZE

    # (text, x-offset, paragraph number) lines, flowing through columns and pages.
    flow = []
    while len(flow) < pages * 2 * rows:
        pid = len(flow) and flow[-1][2] + 1
        for k, line in enumerate(_wrap(_rand_paragraph(rng), col_w, indent)):
            flow.append((line, indent if k == 0 else 0.0, pid))

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H))
    refs, columns, paras = [], [], []
    for p in range(pages):
        headline = f"第{p + 1}版要闻：" + "".join(rng.choice(POOL) for _ in range(14))
        c.setFont(FONT, 18)
        c.drawCentredString(PAGE_W / 2, PAGE_H - MARGIN - 18, headline)
        chunk = flow[p * 2 * rows:(p + 1) * 2 * rows]
        left, right = chunk[:rows], chunk[rows:]
        c.setFont(FONT, BODY_SIZE)
        placed = []
        for i, (text, dx, _) in enumerate(left):
            placed.append((i, MARGIN + dx, text))
        for i, (text, dx, _) in enumerate(right):
            placed.append((i, MARGIN + col_w + GUTTER + dx, text))
        if row_by_row:
            placed.sort(key=lambda t: t[0])
        for i, x, text in placed:
            c.drawString(x, top - i * LEADING, text)
        c.showPage()
        refs.append(headline + "".join(t for t, _, _ in chunk))
        columns.append(([t for t, _, _ in left], [t for t, _, _ in right]))
        by_id = {}
        for text, _, pid in chunk:
            by_id[pid] = by_id.get(pid, "") + text
        paras.append([headline, *by_id.values()])
    c.save()
    return buf.getvalue(), refs, columns, paras




def ordered_recall(ref, out):
    """Share of reference chars matched in order (difflib blocks ~ LCS)."""
    sm = difflib.SequenceMatcher(None, ref, out, autojunk=False)
    return sum(b.size for b in sm.get_matching_blocks()) / len(ref)


def bag_recall(ref, out):
    """Share of reference chars present at all, ignoring order."""
    return sum((Counter(ref) & Counter(out)).values()) / len(ref)


def interleaved(out, left, right):
    """True when the right column starts before the left column has ended."""
    pos_right = out.find(_squash(right[0]))
    pos_left_last = out.find(_squash(left[-1]))
    if pos_right < 0 or pos_left_last < 0:
        # Lines broken apart: fall back to the second left line as the probe.
        pos_left_last = out.find(_squash(left[1])[:6])
    return 0 <= pos_right < pos_left_last


def paragraphs_exact(out_page, expected):
    """Share of source paragraphs that come out as exactly one blank-line separated block."""
    blocks = {_squash(b) for b in out_page.split("\n\n")}
    return sum(1 for p in expected if _squash(p) in blocks)


def _pypdf(data, **kw):
    return [p.extract_text(**kw) or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def _plumber(data, **kw):
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [p.extract_text(**kw) or "" for p in pdf.pages]


METHODS = {
    "pypdf extract_text": lambda d: _pypdf(d),
    "pypdf layout mode": lambda d: _pypdf(d, extraction_mode="layout"),
    "pdfplumber extract_text": lambda d: _plumber(d),
    "pdfplumber layout=True": lambda d: _plumber(d, layout=True),
    "index.formats.pdf_text (pdfplumber chars + column cut)": lambda d: pdf_text(d).split("\f"),
}


def measure(name, fn, data, refs, columns, paras, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        pages = fn(data)
        best = min(best, time.perf_counter() - t0)
    exact = sum(paragraphs_exact(p, e) for p, e in zip(pages, paras)) / sum(map(len, paras))
    outs = [_squash(p) for p in pages]
    recall = sum(ordered_recall(_squash(r), o) * len(_squash(r)) for r, o in zip(refs, outs))
    recall /= sum(len(_squash(r)) for r in refs)
    bag = sum(bag_recall(_squash(r), o) * len(_squash(r)) for r, o in zip(refs, outs))
    bag /= sum(len(_squash(r)) for r in refs)
    mixed = sum(interleaved(o, left, right) for o, (left, right) in zip(outs, columns))
    return name, recall, bag, mixed, len(refs), exact, best * 1000 / len(refs)


def main():
    for row_by_row in (False, True):
        data, refs, columns, paras = make_pdf(row_by_row=row_by_row)
        order = "row by row (left i, right i)" if row_by_row else "column by column"
        chars = sum(len(_squash(r)) for r in refs)
        print(f"\nPDF: {PAGES} A4 pages, headline + 2 columns, {chars} CJK chars, "
              f"content stream {order}, {len(data)} bytes")
        print(f"{'library / method':56} {'recall(order)':>13} {'recall(bag)':>11} "
              f"{'interleaved':>12} {'paragraphs':>10} {'ms/page':>8}")
        for name, fn in METHODS.items():
            name, recall, bag, mixed, n, exact, ms = measure(name, fn, data, refs, columns, paras)
            flag = f"{'yes' if mixed else 'no'} {mixed}/{n}"
            print(f"{name:56} {recall:13.3f} {bag:11.3f} {flag:>12} {exact:10.3f} {ms:8.1f}")
    print("\nrecall(order): non-whitespace source chars recovered in reading order (difflib blocks);"
          "\nrecall(bag): same ignoring order; interleaved: pages where the right column starts"
          "\nbefore the left one ends; paragraphs: source paragraphs (and headlines) that come out"
          "\nas exactly one blank-line separated block; ms/page: best of 3 runs.")


if __name__ == "__main__":
    main()
