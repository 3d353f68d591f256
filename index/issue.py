"""Which issue a document is: its number in the year, its running number and its date, read from
its masthead, else its file name, else a sidecar `NAME.meta.toml` its user wrote; each field from
the first of these that has it."""

import datetime as dt
import tomllib
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from index.profile import Profile

SIDECAR_SUFFIX = ".meta.toml"
_SIDECAR_KEYS = {"number", "total", "date"}


class SidecarError(ValueError):
    """A sidecar that cannot be used; the message names the key and says what it should be."""


@dataclass(frozen=True)
class Issue:
    """An issue's identity; "" where it could not be read."""

    number: str = ""  # 2021年第11期
    total: str = ""  # 总第322期
    date: str = ""  # 2021-11-15 (ISO, so that dates sort as text)
    source: str = ""  # where it was read: 报头, 文件名, 说明文件, joined by "、" when several

    @property
    def known(self) -> bool:
        return bool(self.number or self.date)

    @property
    def label(self) -> str:
        """How a citation names it: 2021年第11期（11月15日）; the date alone, or "", when that is all."""
        if not self.date:
            return self.number
        day = dt.date.fromisoformat(self.date)
        if not self.number:
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{self.number}（{day.month}月{day.day}日）"


def identify(paragraphs: list[str], file_name: str, sidecar: bytes | None, profile: Profile) -> Issue:
    """The issue a document is, from its first paragraphs, its file name and its sidecar's bytes.
    A sidecar that is not valid is a SidecarError."""
    found = [
        (_from_masthead(paragraphs[: profile.masthead_lines], profile), "报头"),
        (_from_name(PurePosixPath(file_name).stem, profile), "文件名"),
        (_from_sidecar(sidecar) if sidecar is not None else Issue(), "说明文件"),
    ]
    issue, sources = Issue(), []
    for candidate, source in found:
        taken = {
            name: getattr(candidate, name)
            for name in ("number", "total", "date")
            if getattr(candidate, name) and not getattr(issue, name)
        }
        if taken:
            issue, sources = replace(issue, **taken), sources + [source]
    return replace(issue, source="、".join(sources))


def sidecar_name(document_name: str) -> str:
    """The sidecar a document may have beside it: 2021-11.pdf → 2021-11.meta.toml."""
    path = PurePosixPath(document_name)
    return str(path.with_name(path.stem + SIDECAR_SUFFIX))


def is_sidecar(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIX)


def _from_masthead(paragraphs: list[str], profile: Profile) -> Issue:
    """Each field from the first masthead line that has it: number and date may be on two lines."""
    fields: dict[str, str] = {}
    for text in filter(profile.is_masthead, paragraphs):
        number, total, date = (p.search(text) for p in (profile.issue_number, profile.issue_total, profile.issue_date))
        read = {
            "number": _number(number) if number else "",
            "total": f"总第{int(total.group('total'))}期" if total else "",
            "date": _date(date) if date else "",
        }
        fields |= {name: value for name, value in read.items() if value and name not in fields}
    return Issue(**fields)


def _from_name(stem: str, profile: Profile) -> Issue:
    date = profile.file_date.search(stem)
    number = profile.file_number.search(stem)
    day = _date(date) if date else ""
    year = number.group("year") if number and number.group("year") else day[:4]
    return Issue(number=f"{int(year)}年第{int(number.group('number'))}期" if number and year else "", date=day)


def _from_sidecar(data: bytes) -> Issue:
    try:
        values = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SidecarError(f"说明文件不是有效的 TOML：{e}") from e
    unknown = set(values) - _SIDECAR_KEYS
    if unknown:
        raise SidecarError(f"说明文件中有未知的键 {'、'.join(sorted(unknown))}（可用 number、total、date）")
    date = values.get("date", "")
    if isinstance(date, str) and date:
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            raise SidecarError(f"说明文件的 date 应是日期（如 2021-11-15），而不是 {date!r}") from None
    if date and (not isinstance(date, dt.date) or isinstance(date, dt.datetime)):
        raise SidecarError(f"说明文件的 date 应是日期（如 2021-11-15），而不是 {date!r}")
    for key in ("number", "total"):
        if not isinstance(values.get(key, ""), str):
            raise SidecarError(f"说明文件的 {key} 应是文字（如 \"2021年第11期\"）")
    return Issue(number=values.get("number", ""), total=values.get("total", ""), date=date.isoformat() if date else "")


def _number(found) -> str:
    return f"{int(found.group('year'))}年第{int(found.group('number'))}期"


def _date(found) -> str:
    try:
        return dt.date(int(found.group("year")), int(found.group("month")), int(found.group("day"))).isoformat()
    except ValueError:  # 2021年13月40日 is no date
        return ""


def issues_by_date(manifest) -> list[tuple[str, object]]:
    """The manifest's documents (name, DocumentEntry) newest first, those of unknown date last:
    how `qa index status` and the chat's 索引 tab list the issues."""
    named = sorted(manifest.documents.items(), key=lambda item: item[0])
    dated = sorted((i for i in named if i[1].date), key=lambda item: item[1].date, reverse=True)
    return dated + [i for i in named if not i[1].date]
