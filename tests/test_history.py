"""Conversations on disk: answers come back whole, citations included; ids from the browser are
never trusted as paths."""

import json

from index.records import Chunk
from qa.records import Answer, Citation, Hit
from qa.history import Conversations, Turn, new_id, turn_from_dict, turn_to_dict, valid_id


def _answer() -> Answer:
    chunk = Chunk(id=7, doc_id="d" * 64, doc_name="第1期.txt", position=0, text="上半年代销基金1096亿元。", start=0, end=13,
                  headline="标题", section="小节", byline="供稿：某部", page="第二版")
    return Answer(
        question="代销基金多少？", text="1096亿元。依据：上半年代销基金1096亿元。 [1]", short="1096亿元",
        citations=(Citation(n=1, chunk=chunk, quote="上半年代销基金1096亿元。"),),
        passages=(Hit(chunk, 0.9, "dense+keyword"),), warnings=("注意",), timings={"retrieve": 0.01},
    )


def test_a_turn_survives_the_round_trip_through_json():
    turn = Turn(question="代销基金多少？", answer=_answer(), mode="hybrid", k=5, asked_at="2024-01-01T00:00:00+08:00")
    assert turn_from_dict(json.loads(json.dumps(turn_to_dict(turn), ensure_ascii=False))) == turn


def test_fields_added_or_dropped_since_are_tolerated():
    raw = turn_to_dict(Turn(question="q", answer=_answer()))
    raw["future"] = 1
    raw["answer"]["citations"][0]["chunk"]["new_field"] = "x"
    del raw["answer"]["timings"]
    turn = turn_from_dict(raw)
    assert turn.answer.citations[0].chunk.headline == "标题" and turn.answer.timings == {}


def test_conversations_append_and_load(tmp_path):
    store = Conversations(tmp_path / "history")
    conversation = new_id()
    assert store.append(conversation, Turn(question="第一问", answer=_answer())) == 0
    assert store.append(conversation, Turn(question="第二问", error="问题是空的")) == 1
    turns = store.load(conversation)
    assert [t.question for t in turns] == ["第一问", "第二问"] and turns[0].answer == _answer()
    assert store.title(conversation) == "第一问"
    assert [p.name for p in (tmp_path / "history").iterdir()] == [f"{conversation}.json"]


def test_ids_from_the_browser_are_checked(tmp_path):
    store = Conversations(tmp_path / "history")
    (tmp_path / "secret.json").write_text('{"turns": []}')
    for bad in ["../secret", "../../etc/passwd", "", None, 5, "A" * 32, new_id() + "0"]:
        assert not valid_id(bad) and store.load(bad) == []
    assert valid_id(new_id()) and new_id() != new_id()


def test_an_unreadable_file_is_an_empty_conversation(tmp_path):
    store = Conversations(tmp_path)
    conversation = new_id()
    (tmp_path / f"{conversation}.json").write_text("{broken")
    assert store.load(conversation) == []


def test_a_renamed_conversation_keeps_its_title_through_new_turns_and_a_restart(tmp_path):
    store = Conversations(tmp_path)
    conversation = new_id()
    store.append(conversation, Turn(question="第一问", answer=_answer()))
    assert store.rename(conversation, "  基金\n代销  ") == "基金 代销"
    store.append(conversation, Turn(question="第二问"))
    assert store.title(conversation) == "基金 代销"
    assert Conversations(tmp_path).title(conversation) == "基金 代销"  # read back from the file
    assert store.rename(conversation, "长" * 40) == "长" * 29 + "…"
    assert store.rename(conversation, "   ") == "第一问"  # an empty name brings the first question back


def test_renaming_what_is_not_there_writes_nothing(tmp_path):
    store = Conversations(tmp_path / "history")
    assert store.rename(new_id(), "名字") == "" and store.rename("../secret", "名字") == ""
    assert not (tmp_path / "history").exists()


def test_a_deleted_conversation_is_gone(tmp_path):
    store = Conversations(tmp_path)
    kept, deleted = new_id(), new_id()
    for conversation in (kept, deleted):
        store.append(conversation, Turn(question=f"问{conversation[:4]}", answer=_answer()))
    assert store.title(deleted)  # cached before it goes
    assert store.delete(deleted) is True
    assert store.load(deleted) == [] and store.title(deleted) == ""
    assert [p.name for p in tmp_path.iterdir()] == [f"{kept}.json"]
    assert store.delete(deleted) is False and store.delete("../" + kept) is False
