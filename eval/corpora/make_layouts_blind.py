"""Write the blind held-out Word test issue `layouts-blind/2024-12-30_第24期.docx` from the content below.

A fourth Word issue in the conventions of `make_layouts.py`, written after the reader's rules were
set, by someone who did not look at the reader: headlines are real `Heading 1` paragraphs, one
article's section titles are `Heading 2` (numbered 「一、……」), another's are short unnumbered
paragraphs whose runs are all bold (no heading style), there is one real Word table of four
columns (a label column and three dates) with its title 「表1 …」 in the paragraph before it, an
article ends with two byline paragraphs (「□ 储文博」 then 「（作者单位：…）」), and the
masthead, page markers (「第1版」) and 「责任编辑：…」 lines are plain paragraphs. Its figures,
people and events are fictional. The ground truth is `layouts-blind/truth.json`; the questions
are in `eval/sets/layouts-blind.jsonl`.

The .docx is generated, not committed. Run from anywhere:

    python eval/corpora/make_layouts_blind.py [--out FOLDER]

FOLDER defaults to `eval/corpora/layouts-blind`. The same content gives the same bytes: the
document properties and the zip entries' times are fixed.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_layouts  # noqa: E402 — the same writer, beside this file

FILE_NAME = "2024-12-30_第24期.docx"
DEFAULT_OUT = Path(__file__).resolve().parent / "layouts-blind"
# Fixed so that two runs give the same bytes (python-docx stamps "now" otherwise).
ISSUE_TIME = dt.datetime(2024, 12, 30, 8, 0, 0)

# The issue, in order. Each item is (kind, content): "p" a normal paragraph, "bold" a normal
# paragraph set all in bold (a section title without a heading style), "h1" / "h2" a heading,
# "table" a list of rows (the first row is the header row, the first column the labels).
CONTENT: list[tuple[str, object]] = [
    ("p", "工行通讯"),
    ("p", "2024年第24期（总第408期）"),
    ("p", "2024年12月30日"),
    ("p", "第1版"),
    ("h1", "新能源汽车产业链金融服务提质增效 相关贷款余额突破五千亿元"),
    ("p", "本报讯（记者 戚远航 通讯员 米佳琪）记者从总行公司金融业务部获悉，截至11月末，全行新能源汽车产业链贷款余额达到5380亿元，"
          "较年初增加1290亿元，增速31.5%，服务产业链企业9600户。"),
    ("h2", "一、整车企业融资保障有力"),
    ("p", "今年以来，全行为42家新能源整车企业提供授信支持，整车企业贷款余额达到1650亿元，较年初增加340亿元，"
          "支持新建整车生产基地11个。"),
    ("p", "表1 新能源汽车产业链金融主要指标"),
    ("table", [
        ["指标", "2022年末", "2023年末", "2024年11月末"],
        ["新能源汽车产业链贷款余额（亿元）", "2860", "4090", "5380"],
        ["整车企业贷款余额（亿元）", "940", "1310", "1650"],
        ["动力电池企业贷款余额（亿元）", "635", "930", "1240"],
        ["新能源汽车消费贷款余额（亿元）", "380", "605", "890"],
        ["服务产业链企业（户）", "5150", "7400", "9600"],
    ]),
    ("h2", "二、电池和零部件企业服务延伸"),
    ("p", "全行依托核心整车企业的采购数据，为上游电池、电机和零部件供应商提供“车链融”线上融资服务，供应商凭整车企业确认的供货单据即可申请。"
          "前11个月，“车链融”累计为上游企业提供融资2270亿元，其中中小企业占比达到64%。"),
    ("h2", "三、汽车消费信贷快速增长"),
    ("p", "截至11月末，全行新能源汽车消费贷款余额达到890亿元，较年初增长47%，客户在手机银行上最快30分钟即可完成贷款申请和审批。"
          "下一步，全行将继续加大对新能源汽车产业链的支持力度，力争2025年相关贷款新增1500亿元以上。"),
    ("h1", "景德镇分行“瓷创贷”支持陶瓷文创小微企业"),
    ("p", "本报讯（通讯员 况晓琳）截至11月末，景德镇分行“瓷创贷”余额达到4.7亿元，较年初增加1.7亿元，支持陶瓷文创小微企业和手工艺人1900余户。"),
    ("p", "景德镇有陶瓷文创从业人员十余万人，其中不少是从外地来的年轻人，普遍缺少抵押物。"
          "该行推出的“瓷创贷”以经营者的网店销售流水和窑炉租赁合同作为授信依据，单户最高可贷100万元。"
          "陶艺师聂楚涵2019年在当地开了一间陶艺工作室，今年通过“瓷创贷”获得贷款30万元，添置了一座电窑。"
          "聂楚涵说：“电窑装好后，每个月能多烧出600多件茶具。”"),
    ("p", "责任编辑：阎嘉禾"),
    ("p", "第2版"),
    ("h1", "做好客户信息保护的“加减乘”"),
    ("p", "客户信息是银行最重要的资产之一，保护好客户信息，是赢得客户信任的前提。近年来，嘉兴分行持续加强个人客户信息保护，"
          "已连续四年未发生客户信息泄露事件。"),
    ("bold", "制度上做“加法”"),
    ("p", "该行在上级行制度的基础上，制定了《客户信息查询授权细则》等5项实施细则，明确了客户信息在采集、查询、使用、销毁等环节的28个控制点。"),
    ("bold", "权限上做“减法”"),
    ("p", "该行对全辖员工的系统查询权限进行了全面清理，今年累计收回不必要的查询权限3400余个，员工批量导出客户信息必须经过支行行长审批。"),
    ("bold", "技术上做“乘法”"),
    ("p", "该行上线了客户信息查询行为监测系统，对非工作时间查询、频繁查询等异常行为实时预警，今年以来累计核查预警信息1250条。"
          "守护好客户信息，就是守护好银行的信誉。"),
    ("p", "□ 储文博"),
    ("p", "（作者单位：中国工商银行嘉兴分行信息科技部）"),
    ("p", "责任编辑：阎嘉禾"),
    ("p", "第3版"),
    ("h1", "桂林分行为入境游客提供支付便利服务"),
    ("p", "本报讯（记者 甄海鸥）12月19日，桂林分行在阳朔西街设立的“入境游客支付服务站”正式投入使用，"
          "为入境游客提供外币兑换、境外银行卡取现和移动支付开通等服务。"),
    ("p", "据介绍，今年以来，该行已在桂林市区和阳朔县的景区、酒店等场所布放可受理境外银行卡的刷卡设备2600余台，"
          "帮助入境游客开通移动支付1.8万人次。一位来自新西兰的游客说：“在这里兑换货币只用了5分钟，坐竹筏、吃米粉都能方便地付款。”"),
    ("p", "该行国际业务部副总经理蓝海宁表示，明年将在龙脊、兴安等景区再设立4个服务站。"),
    ("p", "责任编辑：滕雅琴"),
]


def main(argv: list[str] | None = None) -> int:
    return make_layouts.main(
        argv, lambda: make_layouts.build(CONTENT, "工行通讯 2024年第24期", ISSUE_TIME), DEFAULT_OUT, FILE_NAME
    )


if __name__ == "__main__":
    raise SystemExit(main())
