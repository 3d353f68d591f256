"""The newsletter profile (index/newsletter.toml): it loads, a bad entry is a clear error naming
its key, its fingerprint follows its content, and a changed profile rebuilds the index."""

import re

import pytest

from index import ensure_index, index_is_current, read_manifest
from index.clean import clean
from index.profile import DEFAULT_PATH, ProfileError, default_profile, load_profile
from index.structure import articles


def _variant(tmp_path, old: str, new: str, name: str = "newsletter.toml"):
    """A copy of the packaged profile with one piece of text replaced."""
    text = DEFAULT_PATH.read_text("utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / name
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_the_packaged_profile_loads():
    profile = load_profile()
    assert profile.name == "工行通讯"
    assert profile.page_name("◀ 第三版 ▶") == "第三版" and profile.page_name("第三版") == "第三版"
    assert profile.page_name("在第三版刊登") == "" and not profile.is_page_marker("在第三版刊登")
    assert profile.is_byline("供稿：个人金融业务部") and profile.is_byline("行报记者 王旎 行报通讯员 方建国")
    assert profile.is_contents_marker("导 读") and profile.is_furniture("工行通讯融e联场景号 工行通讯微信公众号")
    assert profile.canonical("中国工商银行个人贷款") == "工行个贷"
    assert profile.person.search("软件园支行行长刘志方告诉记者").group(1) == "刘志方"
    assert re.fullmatch(r"[0-9a-f]{16}", profile.fingerprint)
    assert default_profile() is default_profile() and default_profile().fingerprint == profile.fingerprint


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("marker = '(?:本期)?", "marker = '(?:本期(?", r"contents\.marker.*正则表达式"),  # a bad pattern
        ("(?P<page>第\\S{1,3}版)", "第\\S{1,3}版", r"page\.marker.*\(\?P<page>"),  # without its group
        ("separator = '[：:/／]'\n", "", r"缺少键 credit\.separator"),  # missing
        ("titles = [", "title = [", r"未知的键 people\.title"),  # misspelt
        ('labels = ["公众号"', 'labels = [1, "公众号"', r"furniture\.labels"),  # mistyped
        ('name = "工行通讯"', 'name = "工行通讯', "TOML"),  # not TOML at all
    ],
)
def test_a_bad_profile_is_an_error_naming_its_key(tmp_path, old, new, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(_variant(tmp_path, old, new))


def test_the_fingerprint_follows_the_content_not_the_comments(tmp_path):
    packaged = load_profile().fingerprint
    commented = _variant(tmp_path, "# The publication's name", "# The name of the publication")
    assert load_profile(commented).fingerprint == packaged
    renamed = _variant(tmp_path, 'name = "工行通讯"', 'name = "工行月刊"', "renamed.toml")
    assert load_profile(renamed).fingerprint != packaged
    assert load_profile(renamed).name == "工行月刊"


def test_the_profile_decides_how_an_issue_is_read(tmp_path):
    raw = "【第二版】正文的第一段内容，写得很长很长。\n供稿：办公室"
    _, paragraphs = clean(raw)
    assert [a.page for a in articles(paragraphs)] == [""]  # not this newsletter's page marker
    path = _variant(tmp_path, "marker = '◀\\s*(?P<page>第\\S{1,3}版)\\s*▶'", "marker = '【\\s*(?P<page>第\\S{1,3}版)\\s*】'")
    other = load_profile(path)
    _, paragraphs = clean(raw, profile=other)
    assert paragraphs[0].text == "【第二版】"
    assert [a.page for a in articles(paragraphs, other)] == ["第二版"]


def test_a_changed_profile_rebuilds_the_index(settings, fake_embedder, tmp_path):
    assert ensure_index(settings, fake_embedder, progress=False) is not None
    assert index_is_current(settings, fake_embedder)
    assert read_manifest(settings).profile == default_profile().fingerprint
    path = _variant(tmp_path, '"小程序"]', '"小程序", "抖音号"]')
    changed = settings.with_(profile_path=path)
    assert not index_is_current(changed, fake_embedder)
    assert ensure_index(changed, fake_embedder, progress=False) is not None
    assert read_manifest(settings).profile == changed.profile.fingerprint != default_profile().fingerprint
    assert index_is_current(changed, fake_embedder)
