import json
import re

import pytest

from tests.conftest import run_qa


@pytest.fixture
def cli_env(settings, fake_embedder, monkeypatch):
    monkeypatch.setenv("QA_HOME", str(settings.home))
    monkeypatch.setenv("QA_INDEX_DIR", str(settings.index_path))
    monkeypatch.setenv("QA_COMPOSER", "rules")  # the fake embedder's tests; the reader has its own
    return ["--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)]


def test_build_status_ask(cli_env, capsys):
    assert run_qa(["index", "build", *cli_env]) == 0
    assert "索引共 1 个文件" in capsys.readouterr().out
    assert run_qa(["index", "status", "--json", *cli_env]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["embedder"] == "fake/bigram-hash" and "000_4734283b9fcbc3a1.txt" in status["documents"]
    assert run_qa(["ask", "个贷不良率是多少？", "--json", "-k", "3", *cli_env]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["short"] == "0.39%" and len(answer["passages"]) == 3 and answer["citations"]
    assert run_qa(["ask", "个贷不良率是多少？", *cli_env]) == 0
    printed = capsys.readouterr().out
    assert "个贷不良率0.39%" in printed.splitlines()[0] and re.search(r"^\[\d\] 《.+》· 工行通讯 000_4734283b9fcbc3a1$", printed, re.M)


def test_errors_are_messages_not_tracebacks(cli_env, tmp_path, capsys):
    assert run_qa(["ask", "问题", "--index-dir", str(tmp_path / "none")]) == 1
    assert "qa index build" in capsys.readouterr().err
    assert run_qa(["index", "build", "--docs", str(tmp_path / "missing")]) == 1
    assert "不存在" in capsys.readouterr().err


def test_an_update_that_skips_a_file_succeeds_and_lists_it(cli_env, settings, capsys):
    (settings.docs_dir / "bad.txt").write_bytes(b"")
    assert run_qa(["index", "build", *cli_env]) == 0
    printed = capsys.readouterr()
    assert "跳过 bad.txt：文件为空" in printed.err and "新增 000_4734283b9fcbc3a1.txt" in printed.out


def test_json_always_prints_an_object_with_error_on_refusal(cli_env, capsys):
    assert run_qa(["index", "build", *cli_env]) == 0
    capsys.readouterr()
    assert run_qa(["ask", "？？！！", "--json", *cli_env]) == 1
    assert "没有可以查询的文字" in json.loads(capsys.readouterr().out)["error"]
    assert run_qa(["index", "status", "--json", "--index-dir", "/nonexistent/index"]) == 1
    assert "qa index build" in json.loads(capsys.readouterr().out)["error"]


def test_a_question_with_bytes_that_are_not_utf8_is_answered_without_them(cli_env, capsys):
    assert run_qa(["index", "build", *cli_env]) == 0
    capsys.readouterr()
    # What Python makes of `qa ask $'\\xff个贷…'`: the stray byte as a lone surrogate.
    assert run_qa(["ask", "\udcff个贷不良率是多少？\ud800", "--json", *cli_env]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["short"] == "0.39%" and any("无法识别的字符" in w for w in answer["warnings"])


def test_a_read_only_index_folder_is_said_so_without_root_override(settings, tmp_path):
    """Run as root without CAP_DAC_OVERRIDE (setpriv), as an ordinary user would meet the folder."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import ROOT

    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed: cannot drop root's override of permissions")
    settings.index_path.mkdir()
    settings.index_path.chmod(0o555)
    script = "import sys; from tests.conftest import run_qa; sys.exit(run_qa(sys.argv[1:]))"
    command = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", sys.executable, "-c", script]
    args = ["index", "update", "--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)]
    try:
        done = subprocess.run(command + args, capture_output=True, text=True, cwd=ROOT, timeout=300)
    finally:
        settings.index_path.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert "无法写入索引目录" in done.stderr and "权限" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def qset(tmp_path):
    path = tmp_path / "set.jsonl"
    record = {"id": "1", "question": "个贷不良率是多少？", "answers": ["0.39%"], "evidence": "个贷不良率0.39%", "doc": None}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    return path


def test_eval_builds_the_index_and_prints_metrics(cli_env, qset, capsys):
    assert run_qa(["eval", "--set", str(qset), "--json", *cli_env]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["answer_accuracy"] == 1.0


def test_update_and_verify(cli_env, settings, capsys):
    assert run_qa(["index", "update", *cli_env]) == 0
    assert "新增 000_4734283b9fcbc3a1.txt" in capsys.readouterr().out
    assert run_qa(["index", "verify", *cli_env]) == 0
    assert "索引完整" in capsys.readouterr().out
    (settings.docs_dir / "002.md").write_text("# 第二期\n\n南沙支行上半年新增客户8888户。", "utf-8")
    assert run_qa(["index", "verify", *cli_env]) == 1
    assert "新文件尚未索引：002.md" in capsys.readouterr().out
    assert run_qa(["index", "update", *cli_env]) == 0
    out = capsys.readouterr().out
    assert "新增 002.md" in out and "索引共 2 个文件" in out
    assert run_qa(["index", "build", "--full", *cli_env]) == 0
    assert "嵌入" in capsys.readouterr().out


def test_eval_compares_modes_side_by_side(cli_env, qset, capsys):
    assert run_qa(["eval", "--set", str(qset), "--compare", "dense,keyword,hybrid", *cli_env]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["dense", "keyword", "hybrid"]
    assert any(line.startswith("hit@1") and len(line.split()) == 4 for line in table)


def test_eval_writes_a_report_folder(cli_env, qset, tmp_path, capsys):
    out = tmp_path / "report"
    assert run_qa(["eval", "--set", str(qset), "--out", str(out), *cli_env]) == 0
    assert f"报告已写入 {out / 'report.md'}" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"report.md", "report.json", "report.png"}


def test_eval_report_goes_under_home_by_default(cli_env, qset, settings, capsys):
    assert run_qa(["eval", "--set", str(qset), "--compare", "keyword,hybrid+extractive", *cli_env]) == 0
    [folder] = (settings.home / "eval").iterdir()
    assert folder.name.startswith("set-")
    saved = json.loads((folder / "report.json").read_text("utf-8"))
    assert list(saved["configurations"]) == ["keyword", "hybrid+extractive"]


def test_eval_rejects_an_unknown_configuration(cli_env, qset, capsys):
    assert run_qa(["eval", "--set", str(qset), "--compare", "dense,fast", *cli_env]) == 1
    assert "fast" in capsys.readouterr().err


def test_eval_fails_below_its_floor_and_can_rewrite_it(cli_env, qset, tmp_path, capsys, settings):
    floor = tmp_path / "floor.json"
    floor.write_text(json.dumps({"set": str(qset), "at_least": {"answer_accuracy": 1.01}, "at_most": {}}), "utf-8")
    assert run_qa(["eval", "--set", str(qset), "--floor", str(floor), "--out", str(tmp_path / "r"), *cli_env]) == 1
    assert "answer_accuracy fell below its floor: 1.000 < 1.01" in capsys.readouterr().err
    assert run_qa(["eval", "--set", str(qset), "--floor", str(floor), "--update-floor", "--out", str(tmp_path / "r"), *cli_env]) == 0
    rewritten = json.loads(floor.read_text("utf-8"))
    assert rewritten["at_least"]["answer_accuracy"] == 0.0  # one question's worth under 1.0
    assert rewritten["embedder"] == settings.indexing.embedder  # CI holds a floor only with its embedder
    assert run_qa(["eval", "--set", str(qset), "--floor", str(floor), "--out", str(tmp_path / "r"), *cli_env]) == 0


def test_ask_loads_neither_the_chat_nor_the_evaluation(cli_env, capsys):
    """Each stage's commands load only when they run: `qa ask` is not slowed by gradio or eval."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    assert run_qa(["index", "build", *cli_env]) == 0
    script = (
        "import sys; from tests.conftest import run_qa; code = run_qa(sys.argv[1:]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'gradio', 'eval', 'ui', 'qa'}))"
    )
    argv = ["ask", "个贷不良率是多少？", "--composer", "rules", *cli_env]
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "0.39%" in done.stdout.splitlines()[0] and done.stdout.strip().splitlines()[-1] == "['qa']"


DIALOGUE = {"id": "d1", "doc": "000_4734283b9fcbc3a1.txt", "turns": [
    {"question": "上半年代销工银瑞信基金多少？", "answers": ["1096亿元"], "evidence": "工银瑞信基金1096亿元"},
    {"question": "那工银安盛呢？", "answers": ["195亿元"], "evidence": "代销工银安盛保险195亿元"},
    {"question": "个贷不良率是多少？", "answers": ["0.39%"], "evidence": "个贷不良率0.39%"},
    {"question": "比年初下降了多少？", "answers": [], "evidence": ""},
]}


def test_eval_asks_a_dialogue_s_turns_in_one_conversation(cli_env, tmp_path, capsys):
    path = tmp_path / "dialogues.jsonl"
    path.write_text(json.dumps(DIALOGUE, ensure_ascii=False) + "\n", "utf-8")
    assert run_qa(["eval", "--set", str(path), "--json", "--out", str(tmp_path / "report"), *cli_env]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary, outcomes = printed["summary"], printed["outcomes"]
    assert summary["first_turn_accuracy"] == 1.0 and summary["followup_accuracy"] == 1.0
    assert summary["followup_abstention"] == 1.0 and summary["questions"] == 4
    assert [o["id"] for o in outcomes] == ["d1#1", "d1#2", "d1#3", "d1#4"]
    assert outcomes[1]["understood"] == "上半年代销工银安盛多少" and outcomes[3]["understood"] == "个贷不良率比年初下降了多少"
    assert [o["kind"] for o in outcomes] == ["first-turn", "follow-up", "follow-up", "follow-up-unanswerable"]


def test_a_failed_turn_is_reported_with_its_rewrite(cli_env, tmp_path, capsys):
    wrong = DIALOGUE | {"turns": DIALOGUE["turns"][:1] + [DIALOGUE["turns"][1] | {"answers": ["999亿元"]}]}
    path = tmp_path / "dialogues.jsonl"
    path.write_text(json.dumps(wrong, ensure_ascii=False) + "\n", "utf-8")
    assert run_qa(["eval", "--set", str(path), "--out", str(tmp_path / "report"), *cli_env]) == 0
    assert "d1#2 那工银安盛呢？（按“上半年代销工银安盛多少”理解）" in capsys.readouterr().out
    assert "understood as: 上半年代销工银安盛多少" in (tmp_path / "report" / "report.md").read_text("utf-8")


def test_a_set_mixing_questions_and_dialogues_is_refused(cli_env, qset, capsys):
    qset.write_text(qset.read_text("utf-8") + json.dumps(DIALOGUE, ensure_ascii=False) + "\n", "utf-8")
    assert run_qa(["eval", "--set", str(qset), *cli_env]) == 1
    assert "mixes single questions and dialogues" in capsys.readouterr().err


def test_single_questions_asked_in_conversation_count_their_rewrites(cli_env, tmp_path, capsys):
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(t | {"id": str(n)}, ensure_ascii=False) + "\n" for n, t in enumerate(DIALOGUE["turns"][:3])), "utf-8")
    assert run_qa(["eval", "--set", str(path), "--json", "--in-conversation", "--out", str(tmp_path / "r"), *cli_env]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["rewritten"] == pytest.approx(1 / 3)


def test_ask_continues_a_stored_conversation(cli_env, settings, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("上半年代销工银瑞信基金多少？\n/退出\n"))
    assert run_qa(["chat", *cli_env]) == 0
    conversation = re.search(r"对话 ([0-9a-f]{32})", capsys.readouterr().out)[1]
    assert run_qa(["ask", "那工银安盛呢？", "--conversation", conversation, *cli_env]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("（按“上半年代销工银安盛多少”理解；加 --as-typed 按原话提问）") and "195亿元" in printed
    assert run_qa(["ask", "那工银安盛呢？", "--conversation", conversation, "--as-typed", *cli_env]) == 0
    assert "按“" not in capsys.readouterr().out
    from qa import Conversations

    turns = Conversations(settings.history_dir).load(conversation)
    assert [t.question for t in turns] == ["上半年代销工银瑞信基金多少？", "那工银安盛呢？", "那工银安盛呢？"]
    assert turns[1].answer.understood == "上半年代销工银安盛多少"


def test_ask_with_an_unknown_conversation_says_so(cli_env, capsys):
    assert run_qa(["ask", "那工银安盛呢？", "--conversation", "0" * 32, *cli_env]) == 1
    assert "没有找到对话" in capsys.readouterr().err


def test_chat_in_the_terminal_follows_up_re_asks_as_typed_and_starts_afresh(cli_env, capsys, monkeypatch):
    import io

    lines = ["上半年代销工银瑞信基金多少？", "那工银安盛呢？", "/原话", "/新对话", "那工银安盛呢？", "你好", ""]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines)))  # ends without /退出: Ctrl-D
    assert run_qa(["chat", *cli_env]) == 0
    printed = capsys.readouterr().out
    answers = printed.split("问：")[1:]
    assert "1096亿元" in answers[0]
    assert answers[1].startswith("（按“上半年代销工银安盛多少”理解；输入 /原话 按原话提问）") and "195亿元" in answers[1]
    assert "按“" not in answers[2]  # the same question, as typed
    assert "已开始新对话" in answers[3] and "按“" not in answers[4]  # nothing to lean on
    assert answers[5].startswith("您好")
    assert re.search(r"^\[\d\] 《.+》· 工行通讯", answers[0], re.M)
