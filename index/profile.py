"""The newsletter profile: the publication's conventions (index/newsletter.toml) read, checked and
compiled in one place, then handed to whatever needs them. Nothing else reads the file or writes
one of its patterns itself: cleaning, reading the articles and answering take a `Profile`."""

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from index.files import sha256_bytes
from index.text import HAN, collapse_spaces, squash

DEFAULT_PATH = Path(__file__).with_name("newsletter.toml")

# Every key the file has, by table, and what each must be: "text", "pattern" or "words".
_SCHEMA: dict[str, dict[str, str]] = {
    "": {"name": "text"},
    "page": {"marker": "pattern", "line": "pattern"},
    "credit": {
        "labels": "words", "separator": "pattern", "brackets": "pattern", "closing": "pattern", "mark": "pattern",
        "org_endings": "words",
    },
    "reporters": {"roles": "words", "prefix": "pattern", "name": "pattern"},
    "lead": {"marker": "pattern"},
    "people": {"titles": "words"},
    "contents": {"marker": "pattern"},
    "furniture": {"labels": "words", "line": "pattern"},
    "sections": {"numbered": "pattern"},
    "issue": {
        "number": "pattern", "total": "pattern", "date": "pattern", "weekday": "pattern",
        "file_date": "pattern", "file_number": "pattern", "masthead_lines": "count",
    },
    "glossary": {"groups": "groups", "own_names": "words"},
}


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, eq=False)
class Profile:
    """The newsletter's conventions, compiled. Compared (and hashed) by identity: one is loaded
    per file and passed down; `fingerprint` says whether two say the same."""

    name: str  # the publication: 工行通讯
    page_marker: re.Pattern  # ◀ 第三版 ▶; group "page" is the page's name
    page_line: re.Pattern  # 第2版 on a line of its own; group "page" too
    byline: re.Pattern  # a whole credit or reporters' line, perhaps in brackets or after a mark
    byline_frame: re.Pattern  # the brackets or mark around a byline, to take off
    lead: re.Pattern  # 本报讯（记者 …） at a paragraph's start; group "credit" is the byline
    credit: re.Pattern  # the credit label at a byline's start (供稿：), to take off for the answer
    glued_credit: re.Pattern  # a credit with the next text glued on; group 1 is the credit
    trailing_credit: re.Pattern  # the gap before a credit that ends a paragraph's line
    contents_marker: re.Pattern  # 导读, 目录
    furniture: re.Pattern  # …公众号, …场景号, 责任编辑：…
    numbered_section: re.Pattern  # 一、… at a heading's start
    issue_number: re.Pattern  # 2021年第11期: groups year, number
    issue_total: re.Pattern  # 总第322期: group total
    issue_date: re.Pattern  # 2021年11月15日: groups year, month, day
    masthead: re.Pattern  # a whole masthead line: the name, number, total, date, weekday only
    file_date: re.Pattern  # 2021-11-15 in a file name
    file_number: re.Pattern  # 2021年第11期 in a file name
    masthead_lines: int  # how many leading paragraphs may be the masthead
    person: re.Pattern  # a title and the name after it; group 1 is the name
    glossary_forms: Mapping[str, tuple[str, ...]]  # each form → its group of forms that stand for each other
    glossary_pattern: re.Pattern  # any form, longest first
    own_names: frozenset[str]  # the newsletter's own bank
    fingerprint: str  # short sha256 of the file's content (comments and layout aside)

    def is_byline(self, text: str) -> bool:
        return bool(self.byline.fullmatch(text.strip()))

    def is_contents_marker(self, text: str) -> bool:
        return bool(self.contents_marker.fullmatch(text.strip()))

    def is_furniture(self, text: str) -> bool:
        return bool(self.furniture.fullmatch(text.strip()))

    def is_page_marker(self, text: str) -> bool:
        return bool(self.page_marker.fullmatch(text) or self.page_line.fullmatch(text))

    def page_name(self, marker: str) -> str:
        """第三版 of «◀ 第三版 ▶» or of «第三版 要闻»; "" for what is not a page marker."""
        found = self.page_marker.fullmatch(marker) or self.page_line.fullmatch(marker)
        return squash(found.group("page")) if found else ""

    def byline_text(self, text: str) -> str:
        """A byline as an article records it: without the brackets or mark it was printed in."""
        return self.byline_frame.sub("", text.strip()).strip()

    def is_lead(self, text: str) -> bool:
        """A story's lead on a line of its own: 本报讯（记者 李明）."""
        found = self.lead.match(text.strip())
        return found is not None and found.end() == len(text.strip())

    def lead_credit(self, text: str) -> str:
        found = self.lead.match(text.strip())
        return collapse_spaces(found.group("credit") or "") if found else ""

    def is_masthead(self, text: str) -> bool:
        return bool(self.masthead.fullmatch(text.strip()))

    def canonical(self, text: str) -> str:
        """Every glossary form replaced by its group's first, so that either form matches the other."""
        return self.glossary_pattern.sub(lambda m: self.glossary_forms[m.group(0)][0], text)


def load_profile(path: Path | str | None = None) -> Profile:
    """Read, check and compile a profile file (the packaged index/newsletter.toml by default).
    A missing key, a value of the wrong kind or a pattern that does not compile is a
    ProfileError naming the file and the key."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise ProfileError(f"无法读取通讯配置文件 {path}：{e.strerror or e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ProfileError(f"通讯配置文件 {path} 不是有效的 TOML：{e}") from e
    values = _checked(data, path)
    return _compiled(values, path, _fingerprint(data))


@lru_cache(maxsize=1)
def default_profile() -> Profile:
    """The packaged profile, loaded once: for the entry points called without one."""
    return load_profile()


def _fingerprint(data: dict) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sha256_bytes(canonical.encode("utf-8"))[:16]


def _checked(data: dict, path: Path) -> dict[str, object]:
    """The file's values by dotted key ("page.marker"), each of the kind the schema says."""
    values: dict[str, object] = {}
    for table, keys in _SCHEMA.items():
        section = data if not table else data.get(table)
        if not isinstance(section, dict):
            raise ProfileError(f"通讯配置文件 {path} 缺少表 [{table}]")
        known = set(keys) | (set(_SCHEMA) - {""} if not table else set())
        for key in section:
            if key not in known:
                raise ProfileError(f"通讯配置文件 {path} 中有未知的键 {_dotted(table, key)}")
        for key, kind in keys.items():
            dotted = _dotted(table, key)
            if key not in section:
                raise ProfileError(f"通讯配置文件 {path} 缺少键 {dotted}")
            values[dotted] = _value(section[key], kind, dotted, path)
    return values


def _value(value: object, kind: str, key: str, path: Path) -> object:
    def fail(what: str) -> ProfileError:
        return ProfileError(f"通讯配置文件 {path} 的 {key} {what}")

    if kind in ("text", "pattern"):
        if not isinstance(value, str) or not value:
            raise fail("应是非空字符串")
        if kind == "pattern":
            try:
                re.compile(value)
            except re.error as e:
                raise fail(f"不是有效的正则表达式（{e}）：{value!r}") from e
        return value
    if kind == "count":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise fail("应是非负整数")
        return value
    if kind == "words":
        if not isinstance(value, list) or not value or not all(isinstance(w, str) and w for w in value):
            raise fail("应是非空字符串组成的非空列表")
        return tuple(value)
    if not isinstance(value, list) or not all(
        isinstance(g, list) and g and all(isinstance(w, str) and w for w in g) for g in value
    ):
        raise fail("应是列表的列表，每组是非空字符串组成的非空列表")
    return tuple(tuple(g) for g in value)


def _dotted(table: str, key: str) -> str:
    return f"{table}.{key}" if table else key


def _words(words: tuple[str, ...]) -> str:
    """An alternation of literal words, in the order given."""
    return "|".join(map(re.escape, words))


def _unnamed(pattern: str) -> str:
    """A pattern with its named groups made plain, so that several can stand in one alternation."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


def _compiled(v: dict[str, object], path: Path, fingerprint: str) -> Profile:
    def compiled(key: str, pattern: str, flags: int = 0) -> re.Pattern:
        try:
            return re.compile(pattern, flags)
        except re.error as e:  # a piece that compiles alone but not in its place («a)(b»)
            raise ProfileError(f"通讯配置文件 {path} 的 {key} 放入规则后无法编译（{e}）") from e

    page_marker = compiled("page.marker", v["page.marker"])
    if "page" not in page_marker.groupindex:
        raise ProfileError(f"通讯配置文件 {path} 的 page.marker 须有命名组 (?P<page>…)，即版面名（第三版）")
    credit = rf"(?:{_words(v['credit.labels'])})\s*{v['credit.separator']}"
    name = v["reporters.name"]
    reporters = rf"(?:{v['reporters.prefix']}(?:{_words(v['reporters.roles'])})\s*{name}(?:\s+{name})*\s*)+"
    plain_byline = rf"{credit}\s*[^。！？；（）()]{{1,30}}|{reporters}"
    opening, closing, mark = v["credit.brackets"], v["credit.closing"], v["credit.mark"]
    issue_piece = rf"{v['issue.number']}|{v['issue.total']}|{v['issue.date']}|{v['issue.weekday']}|{re.escape(v['name'])}"
    org_end = rf"(?:{_words(v['credit.org_endings'])})"
    glossary = v["glossary.groups"]
    forms = {form: group for group in glossary for form in group}
    # Longest first, so that 中国建设银行 is not read as 中国 + 建设银行; none matches nothing.
    any_form = "|".join(sorted(map(re.escape, forms), key=len, reverse=True)) or "(?!)"
    return Profile(
        name=v["name"],
        page_marker=page_marker,
        page_line=compiled("page.line", v["page.line"]),
        byline=compiled(
            "credit",
            rf"(?:{plain_byline})|(?:{opening})\s*(?:{plain_byline})\s*(?:{closing})|(?:{mark})\s*{name}(?:\s+{name})*",
        ),
        byline_frame=compiled("credit.mark", rf"^(?:{opening}|{mark})\s*|\s*(?:{closing})$"),
        lead=compiled("lead.marker", rf"^(?:{v['lead.marker']})\s*(?:(?:{opening})\s*(?P<credit>[^（）()]{{2,40}}?)\s*(?:{closing}))?\s*"),
        credit=compiled("credit", rf"^{credit}\s*"),
        glued_credit=compiled("credit.org_endings", rf"({credit}\s*[^\s，。；：]{{0,11}}{org_end})(?=\S{{5,}})"),
        trailing_credit=compiled("credit", rf"(?<=[。！？”])[ \t\u3000]*(?={credit}[^。！？；\n]{{1,30}}$)", re.M),
        contents_marker=compiled("contents.marker", v["contents.marker"]),
        furniture=compiled(
            "furniture.labels", rf"(?:\S*?(?:{_words(v['furniture.labels'])})\s*)+|(?:{v['furniture.line']})"
        ),
        numbered_section=compiled("sections.numbered", v["sections.numbered"]),
        issue_number=compiled("issue.number", v["issue.number"]),
        issue_total=compiled("issue.total", v["issue.total"]),
        issue_date=compiled("issue.date", v["issue.date"]),
        masthead=compiled("issue", rf"(?:#+\s*)?(?:[（(]?(?:{_unnamed(issue_piece)})[）)]?[\s·，,|｜/]*)+"),
        file_date=compiled("issue.file_date", v["issue.file_date"]),
        file_number=compiled("issue.file_number", v["issue.file_number"]),
        masthead_lines=v["issue.masthead_lines"],
        person=compiled(
            "people.titles",
            rf"(?:{_words(v['reporters.roles'] + v['people.titles'])})\s*([{HAN}]{{2,3}})(?=[\s，。、告说表]|$)",
        ),
        glossary_forms=MappingProxyType(forms),
        glossary_pattern=re.compile(any_form),
        own_names=frozenset(v["glossary.own_names"]),
        fingerprint=fingerprint,
    )
