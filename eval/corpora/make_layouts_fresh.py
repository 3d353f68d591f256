"""Write the fresh held-out Word test issue `layouts-fresh/2025-04-30_第8期.docx` from the content below.

A third Word issue in the conventions of `make_layouts.py`, written after the reader's rules were
set, by someone who did not look at the reader: headlines are real `Heading 1` paragraphs, one
article's section titles are `Heading 2` (numbered 「一、……」), another's are short unnumbered
paragraphs whose runs are all bold (no heading style), there is one real Word table of four
columns (a label column and three dates) with its title 「表1 …」 in the paragraph before it, an
article ends with two byline paragraphs (「□ 陆思源」 then 「（作者单位：…）」), and the
masthead, page markers (「第1版」) and 「责任编辑：…」 lines are plain paragraphs. Its figures,
people and events are fictional. The ground truth is `layouts-fresh/truth.json`; the questions
are in `eval/sets/layouts-fresh.jsonl`.

The .docx is generated, not committed. Run from anywhere:

    python eval/corpora/make_layouts_fresh.py [--out FOLDER]

FOLDER defaults to `eval/corpora/layouts-fresh`. The same content gives the same bytes: the
document properties and the zip entries' times are fixed.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_layouts  # noqa: E402 — the same writer, beside this file

FILE_NAME = "2025-04-30_第8期.docx"
DEFAULT_OUT = Path(__file__).resolve().parent / "layouts-fresh"
# Fixed so that two runs give the same bytes (python-docx stamps "now" otherwise).
ISSUE_TIME = dt.datetime(2025, 4, 30, 8, 0, 0)

# The issue, in order. Each item is (kind, content): "p" a normal paragraph, "bold" a normal
# paragraph set all in bold (a section title without a heading style), "h1" / "h2" a heading,
# "table" a list of rows (the first row is the header row, the first column the labels).
CONTENT: list[tuple[str, object]] = [
    ("p", "工行通讯"),
    ("p", "2025年第8期（总第416期）"),
    ("p", "2025年4月30日"),
    ("p", "第1版"),
    ("h1", "县域金融服务提质扩面 一季度县域贷款新增逾三千亿元"),
    ("p", "本报讯（记者 柏云舟 通讯员 谢婉婷）记者从总行县域金融业务部获悉，截至3月末，全行县域贷款余额达到6.42万亿元，"
          "较年初增加3260亿元，增速5.3%，县域网点达到6980家。"),
    ("h2", "一、涉农贷款投放加快"),
    ("p", "一季度，全行涉农贷款增加2150亿元，其中农户贷款增加610亿元。“种植e贷”“养殖e贷”等线上产品累计服务农户48.5万户。"),
    ("p", "表1 县域金融主要指标"),
    ("table", [
        ["指标", "2023年末", "2024年末", "2025年3月末"],
        ["县域贷款余额（万亿元）", "5.21", "6.09", "6.42"],
        ["涉农贷款余额（万亿元）", "4.87", "5.63", "5.85"],
        ["县域存款余额（万亿元）", "8.76", "9.52", "9.91"],
        ["县域网点（家）", "6850", "6930", "6980"],
        ["农户贷款余额（亿元）", "2870", "3590", "4200"],
    ]),
    ("h2", "二、县域网点服务延伸"),
    ("p", "一季度，全行新设县域网点50家，并在乡镇设立“工银兴农通”服务点1.2万个，为农民提供小额取款、社保缴费等服务。"),
    ("h2", "三、特色产业金融服务深化"),
    ("p", "全行围绕茶叶、果蔬、畜牧等县域特色产业推出专属服务方案260个，支持县域特色产业企业3.4万户。"
          "下一步，全行将继续加大县域信贷投放，力争全年县域贷款增量超过8000亿元。"),
    ("h1", "西藏分行“青稞贷”支持高原特色农业"),
    ("p", "本报讯（通讯员 次仁卓玛）截至3月末，西藏分行“青稞贷”余额达到6.8亿元，较年初增加1.9亿元，支持青稞种植户和加工企业2700余户。"),
    ("p", "该行针对青稞种植季节性强的特点，实行“春贷秋还”，贷款期限与青稞生长周期相匹配。"
          "日喀则市白朗县一家青稞加工合作社今年通过“青稞贷”获得贷款150万元，新购置了两条青稞面加工生产线。"
          "合作社负责人扎西顿珠说：“有了新生产线，今年能多收购农户青稞300吨。”"),
    ("p", "责任编辑：俞佳"),
    ("p", "第2版"),
    ("h1", "用好“数据要素” 提升风险管理精度"),
    ("p", "数据是数字时代银行风险管理的关键要素。近年来，珠海分行把数据治理作为风险管理的基础工程，"
          "2024年末不良贷款率降至0.91%，较上年末下降0.08个百分点。"),
    ("bold", "把数据管起来"),
    ("p", "该行成立了数据治理委员会，梳理全辖数据标准1860项，清理重复和错误数据记录420万条，关键风险数据的准确率提高到99.6%。"),
    ("bold", "让数据用起来"),
    ("p", "该行建立了涵盖客户、交易、押品等信息的风险数据集市，上线风险预警模型54个。"
          "2024年，模型累计推送风险预警信号1.37万条，帮助提前压降潜在风险贷款68亿元。"),
    ("bold", "把人才育起来"),
    ("p", "该行组建了由120名数据分析师组成的风险数据团队，每年选派30名骨干到科技部门跟岗学习。"
          "用好数据要素，才能让风险管理看得更清、判得更准。"),
    ("p", "□ 陆思源"),
    ("p", "（作者单位：中国工商银行珠海分行风险管理部）"),
    ("p", "责任编辑：俞佳"),
    ("p", "第3版"),
    ("h1", "唐山分行为港口物流企业提供“一站式”结算服务"),
    ("p", "本报讯（记者 蒋一鸣）4月18日，唐山分行与当地一家港口集团签署合作协议，"
          "为港口上下游1200余家物流企业提供运费结算、代收代付和在线融资“一站式”服务。"),
    ("p", "据介绍，物流企业通过该行的“港航e结算”平台，可以在线完成运费对账和支付，资金最快当天到账，比原来缩短了3至5天。"
          "今年一季度，该平台累计结算金额达到146亿元，同比增长37%。"),
    ("p", "该行国际业务部副总经理孔令辉表示，下一步将把平台服务延伸到秦皇岛、黄骅等地的港口。"),
    ("p", "责任编辑：唐欣然"),
]


def main(argv: list[str] | None = None) -> int:
    return make_layouts.main(
        argv, lambda: make_layouts.build(CONTENT, "工行通讯 2025年第8期", ISSUE_TIME), DEFAULT_OUT, FILE_NAME
    )


if __name__ == "__main__":
    raise SystemExit(main())
