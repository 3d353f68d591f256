"""What a question asks: its kind, the words around its question word, the unit it expects."""

import re
from dataclasses import dataclass

from qa.text import key_terms, normalize

QUESTION_KINDS = (
    ("headline", re.compile(r"标题|题目|题为")),
    ("byline", re.compile(r"供稿|作者|撰稿|撰写|谁写|采写|哪个部门|哪位记者|记者是谁|通讯员")),
    ("date", re.compile(r"哪一?年|何时|什么时候|什么时间|几月|哪个月|哪天|日期|何年|哪一天")),
    ("number", re.compile(r"多少|几|多大|多高|多长|多久|比例|占比|比重|百分之|增幅|第几|排名")),
    ("person", re.compile(r"谁|哪位|名字")),
    ("reason", re.compile(r"为什么|为何|怎样|怎么|如何|原因|意思|作用")),
    ("yesno", re.compile(r"是否|有没有|是不是|能否|吗[？?]?$")),
    ("entity", re.compile(r"哪家|哪个|哪些|什么|哪里|哪儿|哪")),
)

# The question word itself, longest first; the answer stands where it stands in the question.
WH = re.compile(
    r"多少|多大|多高|多长|多久|第几|几[个位家年月天倍次项名户期种成]?|哪一?[个些家里儿位年月天种项类篇部]?"
    r"|什么|啥|谁|何时|何地|何种|怎样|怎么样?|如何|为什么|为何|是否|有没有|是不是|能否"
)
UNITS = (
    "个百分点 百分点 亿人次 万人次 人次 万亿元 亿美元 万美元 亿元 万元 元 万户 户 家 笔 倍 位 名 人 年 岁 次 项 期 天 个月 月 版 处 座 场 部 本 张 首 所 件 条 届 集 层 种 枚 册 台 辆 份 套 间 亩 篇 批 只 头 个".split()
)
# What a date question asks for: a day, a month or a year (its `unit`).
_DATE_UNIT = re.compile(r"(?P<日>哪一?天|几号|几月几日|几日)|(?P<月>几月份?|哪一?个月)|(?P<年>哪一?年|何年|几几年)")
# What «哪个支行», «哪家公司» ask for: a name that ends so (珲春支行), the entity question's `unit`.
_ORG_UNIT = re.compile(r"哪一?[个家所]?(支行|分行|银行|公司|企业|网点|学校|医院|合作社|单位|机构)")
# Words that begin with a counter and are none: «多少个人客户» asks for customers, not for 个.
_NOT_COUNTERS = ("个人", "个体")
_RATE = re.compile(r"率|比例|占比|比重|百分之|增幅|增速")
_COUNTERS = "位名版届次期个季"
_MONEY = re.compile(r"收入|利润|资金|金额|存款|余额|资产|规模|营收|中收|损失|保险|基金|理财|费")
# Words the answer is often introduced by, not part of it.
_LEAD = re.compile(r"^(?:分别|已经|已|都|共|累计|就|仍然|仍|还|了|是|为|的|达到|达|到|有|在|以|于|约|列|排名|排)+")
_TRAIL = re.compile(r"(?:的|了|等|呢|吗|啊|是)+$")


@dataclass(frozen=True)
class Question:
    text: str  # normalised, without the closing question mark
    kind: str
    left: str  # the words before the question word, particles trimmed
    right: str  # the words after it
    terms: tuple[str, ...]  # key terms a supporting sentence should hold
    unit: str  # the unit a numeric answer should carry ("" if any)


def parse(question: str) -> Question:
    text = normalize(question).rstrip("？?。. ")
    wh = WH.search(text)
    left, right = (text[: wh.start()], text[wh.end() :]) if wh else (text, "")
    kind = next((k for k, pattern in QUESTION_KINDS if pattern.search(text)), "fact")
    left = re.sub(r"(?:在|于|从|对|向|把|被|给|与|和|跟|同)$", "", _TRAIL.sub("", left).strip("，,：: "))
    return Question(
        text=text,
        kind=kind,
        left=left,
        right=_LEAD.sub("", right.strip("，,：: ")),
        terms=tuple(key_terms(text)),
        unit=_date_unit(text) if kind == "date" else _org_unit(text) if kind == "entity" else _unit(text, wh),
    )


def _org_unit(text: str) -> str:
    asked = _ORG_UNIT.search(text)
    return asked.group(1) if asked else ""


def _date_unit(text: str) -> str:
    asked = _DATE_UNIT.search(text)
    return asked.lastgroup if asked else ""


def _unit(text: str, wh: re.Match | None) -> str:
    after = text[wh.start() :] if wh else ""
    if after.startswith("第几"):
        return "第" + (after[2] if len(after) > 2 and after[2] in _COUNTERS else "")
    after = re.sub(r"^(?:多少|几)", "", after)
    for unit in UNITS:
        if after.startswith(unit) and not after.startswith(_NOT_COUNTERS):
            return unit
    if _RATE.search(text) and not after.startswith("个"):
        return "%"
    return "元" if _MONEY.search(text) and wh and wh.group(0) in ("多少", "多大") else ""
