"""`qa reader train`: fine-tune the reader (qa/reader.py) on DRCD and calibrate when it abstains.

- Training data: DRCD dev (`drcd_dev.json`, 3,524 questions over 1,000 Wikipedia paragraphs,
  CC BY-SA 3.0), plus unanswerable pairs made from it: a question with another paragraph of its
  article that does not hold the answer, and a question whose key name or year is swapped for one
  its paragraph lacks.
- Validation: DRCD test (`drcd_test.json`), never trained on, with unanswerable pairs made the
  same way: it chooses the abstention threshold. CMRC trial and the seed set are left for checks.
- What is tuned: the span head and the top `tuned_layers` encoder layers; the word embeddings and
  the lower layers stay e5-small's, so the shipped file holds only what changed.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.files import sha256_file
from index.text import HAN, squash
from qa.reader import CARD, WEIGHTS, ReaderSettings, base_fingerprint, encode, read_span, save_trained, span_head, torch_logits


@dataclass(frozen=True)
class TrainSettings:
    tuned_layers: int = 6
    epochs: int = 2
    batch: int = 16
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3
    warmup: float = 0.1  # share of the steps the learning rate rises over
    seed: int = 20261202
    other_paragraph: float = 0.3  # share of questions also asked of another paragraph of their article
    swapped: float = 0.3  # share of questions also asked with a key name or year swapped
    answerless_windows: float = 0.3  # share of a long paragraph's windows without the answer kept, as "no answer"
    validation_questions: int = 800  # of DRCD test, for the threshold (and as many unanswerable made from them)


@dataclass(frozen=True)
class Example:
    question: str
    context: str
    answer: str  # "" when the context does not answer the question
    start: int  # character offset of the answer in the context; -1 when none


def load_drcd(path: Path) -> list[tuple[str, list[tuple[str, list[dict]]]]]:
    """(title, [(paragraph, its questions)]) per article."""
    data = json.loads(path.read_text("utf-8"))["data"]
    return [(a["title"], [(p["context"], p["qas"]) for p in a["paragraphs"]]) for a in data]


def examples(articles, settings: TrainSettings, rng: random.Random) -> list[Example]:
    """Every question with its paragraph and first answer, and the unanswerable pairs made from them."""
    titles = [title for title, _ in articles]
    found = []
    for title, paragraphs in articles:
        for context, questions in paragraphs:
            for qa in questions:
                answer = qa["answers"][0]
                found.append(Example(qa["question"], context, answer["text"], answer["answer_start"]))
                others = [c for c, _ in paragraphs if answer["text"] not in c]
                if others and rng.random() < settings.other_paragraph:
                    found.append(Example(qa["question"], rng.choice(others), "", -1))
                if rng.random() < settings.swapped:
                    swapped = swap_key(qa["question"], context, answer["text"], titles, rng)
                    if swapped:
                        found.append(Example(swapped, context, "", -1))
    return found


_YEAR = re.compile(r"(\d{3,4})年")
_TERM = re.compile(rf"[{HAN}A-Za-z0-9·]{{2,8}}")


def swap_key(question: str, context: str, answer: str, titles: list[str], rng: random.Random) -> str | None:
    """The question with its year, or else its longest name shared with the paragraph, replaced by
    one the paragraph lacks (another year; another article's title): answerable no more."""
    for match in _YEAR.finditer(question):
        if match.group(0) in context:
            year = int(match.group(1))
            for shift in rng.sample([-30, -20, -11, -7, -3, 3, 7, 11, 20, 30], 10):
                other = f"{year + shift}年"
                if other not in context:
                    return question.replace(match.group(0), other, 1)
    shared = sorted(
        {m for m in _shared_terms(question, context) if m not in answer and answer not in m}, key=len, reverse=True
    )
    for term in shared[:1]:
        for other in rng.sample(titles, min(20, len(titles))):
            if other not in context and other != term and len(other) >= 2:
                return question.replace(term, other, 1)
    return None


def _shared_terms(question: str, context: str) -> list[str]:
    """Substrings of the question's words (2–8 characters) that the paragraph also has."""
    found = []
    for run in _TERM.findall(question):
        for size in range(min(len(run), 8), 1, -1):
            for i in range(len(run) - size + 1):
                if run[i : i + size] in context:
                    found.append(run[i : i + size])
            if found:
                return found
    return found


def features(tokenizer, batch: list[Example], reader: ReaderSettings, keep_answerless: float, rng: random.Random):
    """Windows of question + paragraph with start/end token labels ((0, 0): no answer here)."""
    encoded = encode(tokenizer, [e.question for e in batch], [e.context for e in batch], reader)
    rows = []
    for w, n in enumerate(encoded["overflow_to_sample_mapping"]):
        example, offsets, ids = batch[n], encoded["offset_mapping"][w], encoded.sequence_ids(w)
        label = (0, 0)
        if example.answer:
            a, b = example.start, example.start + len(example.answer)
            context = [i for i, s in enumerate(ids) if s == 1]
            if offsets[context[0]][0] <= a and offsets[context[-1]][1] >= b:
                start = next(i for i in context if offsets[i][1] > a)
                end = next(i for i in reversed(context) if offsets[i][0] < b)
                label = (start, end)
            elif rng.random() >= keep_answerless:
                continue
        length = sum(encoded["attention_mask"][w])
        rows.append((encoded["input_ids"][w][:length], label))  # padded again per training batch
    return rows


# What reproduces the shipped file, written into its card.
REPRODUCE = "qa reader train --drcd ../shared/bench/drcd  (train_settings below are its defaults)"


def train(drcd: Path, out_weights: Path | None = None, out_card: Path | None = None, settings: TrainSettings = TrainSettings(),
          base_folder: Path | None = None, device: str | None = None, say=print) -> dict:
    """Train, calibrate, write the weights and their card (qa/models/ unless told); returns the card."""
    out_weights, out_card = Path(out_weights or WEIGHTS), Path(out_card or CARD)
    import torch
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    reader = ReaderSettings()
    tokenizer = AutoTokenizer.from_pretrained(base_folder)
    model = AutoModel.from_pretrained(base_folder, add_pooling_layer=False).to(device)
    head = span_head(model.config.hidden_size).to(device)
    first_tuned = model.config.num_hidden_layers - settings.tuned_layers
    tuned = [p for n, p in model.named_parameters() if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= first_tuned]
    for p in model.parameters():
        p.requires_grad = False
    for p in tuned:
        p.requires_grad = True

    train_examples = examples(load_drcd(drcd / "drcd_dev.json"), settings, rng)
    rows = []
    for i in range(0, len(train_examples), 64):
        rows += features(tokenizer, train_examples[i : i + 64], reader, settings.answerless_windows, rng)
    kinds = Counter("answer" if r[1] != (0, 0) else "none" for r in rows)
    say(f"训练样本 {len(train_examples)} 个（{sum(1 for e in train_examples if e.answer)} 个有答案），窗口 {len(rows)} 个：{dict(kinds)}")

    steps = settings.epochs * ((len(rows) + settings.batch - 1) // settings.batch)
    optimizer = torch.optim.AdamW(
        [{"params": tuned, "lr": settings.learning_rate}, {"params": head.parameters(), "lr": settings.head_learning_rate}],
        weight_decay=0.01,
    )
    warm = max(1, int(settings.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    train_mode(model, first_tuned)
    with tqdm(total=steps, desc="训练阅读模型", unit="批") as bar:
        for epoch in range(settings.epochs):
            order = list(range(len(rows)))
            rng.shuffle(order)
            for i in range(0, len(order), settings.batch):
                batch = [rows[j] for j in order[i : i + settings.batch]]
                width = max(len(r[0]) for r in batch)
                pad = tokenizer.pad_token_id
                ids = torch.tensor([r[0] + [pad] * (width - len(r[0])) for r in batch], device=device)
                mask = torch.tensor([[1] * len(r[0]) + [0] * (width - len(r[0])) for r in batch], device=device)
                labels = torch.tensor([r[1] for r in batch], device=device)
                logits = head(model(input_ids=ids, attention_mask=mask).last_hidden_state)
                logits = logits.masked_fill(mask[..., None] == 0, -1e4)
                loss = (
                    torch.nn.functional.cross_entropy(logits[..., 0], labels[:, 0])
                    + torch.nn.functional.cross_entropy(logits[..., 1], labels[:, 1])
                ) / 2
                loss.backward()
                torch.nn.utils.clip_grad_norm_(tuned + list(head.parameters()), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    trained_s = time.perf_counter() - started
    model.eval()
    head.eval()
    model.cpu()
    head.cpu()

    validation = validation_examples(drcd / "drcd_test.json", settings, random.Random(settings.seed + 1))
    margins = margins_of(tokenizer, model, head, validation, reader)
    threshold, figures = calibrate(validation, margins)
    out_weights.parent.mkdir(parents=True, exist_ok=True)
    save_trained(model, head, settings.tuned_layers, out_weights)
    card = {
        "sha256": sha256_file(out_weights),
        "command": REPRODUCE,
        "base": base_fingerprint(Path(base_folder)),
        "threshold": threshold,
        "reader_settings": asdict(reader),
        "train_settings": asdict(settings),
        "data": {
            "train": f"DRCD dev (drcd_dev.json, sha256 {sha256_file(drcd / 'drcd_dev.json')[:12]}; CC BY-SA 3.0, Shao et al. 2018)",
            "train_examples": len(train_examples),
            "train_windows": len(rows),
            "validation": f"DRCD test (drcd_test.json, sha256 {sha256_file(drcd / 'drcd_test.json')[:12]}), first "
            f"{settings.validation_questions} questions and unanswerable pairs made from them",
        },
        "validation": figures,
        "trained_on": device,
        "train_seconds": round(trained_s, 1),
        "bytes": out_weights.stat().st_size,
    }
    out_card.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return card


def train_mode(model, first_tuned: int) -> None:
    """Dropout in the tuned layers only, and not on attention probabilities: on the CPU, PyTorch's
    attention with dropout takes the slow path (a 16 × 320 batch: forward 5 s instead of 1.6)."""
    model.eval()
    for layer in model.encoder.layer[first_tuned:]:
        layer.train()
        layer.attention.self.dropout.p = 0.0


def validation_examples(path: Path, settings: TrainSettings, rng: random.Random) -> list[Example]:
    """The first questions of DRCD test with their paragraph, and for each an unanswerable pair."""
    articles = load_drcd(path)
    titles = [title for title, _ in articles]
    found = []
    for _, paragraphs in articles:
        for context, questions in paragraphs:
            for qa in questions:
                if sum(1 for e in found if e.answer) >= settings.validation_questions:
                    return found
                answer = qa["answers"][0]
                found.append(Example(qa["question"], context, answer["text"], answer["answer_start"]))
                others = [c for c, _ in paragraphs if answer["text"] not in c]
                unanswerable = swap_key(qa["question"], context, answer["text"], titles, rng) if rng.random() < 0.5 else None
                if unanswerable:
                    found.append(Example(unanswerable, context, "", -1))
                elif others:
                    found.append(Example(qa["question"], rng.choice(others), "", -1))
    return found


def margins_of(tokenizer, model, head, batch: list[Example], reader: ReaderSettings) -> list[tuple[str, float]]:
    """(best span text, its margin over "no answer") for each example, given its paragraph."""
    spans = (read_span(tokenizer, torch_logits(model, head), e.question, [e.context], reader) for e in batch)
    return [(span.text, span.margin) if span else ("", -np.inf) for span in spans]


def calibrate(batch: list[Example], margins: list[tuple[str, float]]) -> tuple[float, dict]:
    """The margin threshold that maximises mean F1 over answerable and unanswerable alike (an
    abstention scores 1 on an unanswerable question, 0 on an answerable one), and the figures at it."""
    from qa.text import char_f1

    candidates = sorted({m for _, m in margins if np.isfinite(m)})
    grid = [candidates[i] for i in range(0, len(candidates), max(1, len(candidates) // 400))] + [0.0]

    def scores(threshold: float) -> dict:
        f1, em, abstain_ok, false_abstain, answerable, unanswerable = 0.0, 0.0, 0, 0, 0, 0
        for e, (text, margin) in zip(batch, margins):
            answered = margin >= threshold and text
            if e.answer:
                answerable += 1
                false_abstain += not answered
                f1 += char_f1(squash(text), squash(e.answer)) if answered else 0.0
                em += squash(text) == squash(e.answer) if answered else 0.0
            else:
                unanswerable += 1
                abstain_ok += not answered
        return {
            "threshold": threshold,
            "f1_answerable": f1 / answerable,
            "em_answerable": em / answerable,
            "false_abstention": false_abstain / answerable,
            "abstention_on_unanswerable": abstain_ok / max(unanswerable, 1),
            "overall_f1": (f1 + abstain_ok) / len(batch),
            "answerable": answerable,
            "unanswerable": unanswerable,
        }

    best = max((scores(t) for t in grid), key=lambda s: s["overall_f1"])
    return float(best["threshold"]), {k: round(v, 4) if isinstance(v, float) else v for k, v in best.items()}
