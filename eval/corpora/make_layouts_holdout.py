"""Write the held-out Word test issue `layouts-holdout/2024-09-25_第18期.docx` from the content below.

A second, held-out Word issue in the conventions of `make_layouts.py`, written after the
reader's rules were set: headlines are real `Heading 1` paragraphs, one article's section titles
are `Heading 2` (numbered 「一、……」), another's are short unnumbered paragraphs whose runs are all
bold (no heading style), there is one real Word table of four columns (a label column and three
dates) with its title in the paragraph before it, an article ends with two byline paragraphs
(「□ 韩雪」 then 「（作者单位：…）」), and the masthead, page markers (「第1版」) and
「责任编辑：…」 lines are plain paragraphs. Its figures, people and events are fictional. The
ground truth is `layouts-holdout/truth.json`; the questions are in
`eval/sets/layouts-holdout.jsonl`.

The .docx is generated, not committed. Run from anywhere:

    python eval/corpora/make_layouts_holdout.py [--out FOLDER]

FOLDER defaults to `eval/corpora/layouts-holdout`. The same content gives the same bytes: the
document properties and the zip entries' times are fixed.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_layouts  # noqa: E402 — the same writer, beside this file

FILE_NAME = "2024-09-25_第18期.docx"
DEFAULT_OUT = Path(__file__).resolve().parent / "layouts-holdout"
# Fixed so that two runs give the same bytes (python-docx stamps "now" otherwise).
ISSUE_TIME = dt.datetime(2024, 9, 25, 8, 0, 0)

# The issue, in order. Each item is (kind, content): "p" a normal paragraph, "bold" a normal
# paragraph set all in bold (a section title without a heading style), "h1" / "h2" a heading,
# "table" a list of rows (the first row is the header row, the first column the labels).
CONTENT: list[tuple[str, object]] = [
    ("p", "工行通讯"),
    ("p", "2024年第18期（总第402期）"),
    ("p", "2024年9月25日"),
    ("p", "第1版"),
    ("h1", "科技金融“加速跑” 前8个月科技贷款新增超四千亿元"),
    ("p", "本报讯（记者 彭博文 通讯员 夏琳）记者从总行科技金融中心获悉，截至8月末，全行科技型企业贷款余额达到2.86万亿元，"
          "较年初增加4170亿元，增速17.1%，服务科技型企业24.6万户。"),
    ("h2", "一、专精特新企业服务扩面"),
    ("p", "截至8月末，全行专精特新企业贷款余额达到6280亿元，较年初增长19.5%；服务专精特新“小巨人”企业8900户，覆盖率超过六成。"),
    ("p", "表1 科技金融主要指标"),
    ("table", [
        ["指标", "2022年末", "2023年末", "2024年8月末"],
        ["科技型企业贷款余额（万亿元）", "1.98", "2.44", "2.86"],
        ["专精特新企业贷款余额（亿元）", "4120", "5255", "6280"],
        ["服务科技型企业（万户）", "17.3", "21.8", "24.6"],
        ["知识产权质押贷款余额（亿元）", "356", "612", "835"],
        ["科创金融服务中心（家）", "58", "96", "131"],
    ]),
    ("h2", "二、产品体系持续完善"),
    ("p", "该行推出了“科创贷”“研发贷”“人才贷”等12款专属产品，知识产权质押贷款余额达到835亿元。"
          "全行已设立科创金融服务中心131家，配备专职科技金融客户经理2100余名。"),
    ("h2", "三、投贷联动取得突破"),
    ("p", "前8个月，全行通过“投贷联动”模式支持科技型企业1360户，带动股权投资380亿元。"
          "下一步，全行将继续完善科技金融专业化服务体系，力争全年科技型企业贷款增量超过5000亿元。"),
    ("h1", "重庆分行“渝快贷”支持小微企业稳岗扩岗"),
    ("p", "本报讯（通讯员 向婷）截至8月末，重庆分行“渝快贷”余额达到312亿元，较年初增加88亿元，"
          "支持小微企业和个体工商户4.7万户，带动就业岗位超过30万个。"),
    ("p", "该行对吸纳高校毕业生、退役军人就业较多的小微企业实行利率优惠，最低可优惠0.5个百分点。"
          "渝北区一家生产汽车零部件的企业今年新招聘员工160人，通过“渝快贷”获得贷款500万元用于扩大生产。"
          "企业负责人杜建华说：“贷款及时到位，我们今年能多接三成订单。”"),
    ("p", "责任编辑：蒋蕾"),
    ("p", "第2版"),
    ("h1", "把消费者权益保护融入经营全流程"),
    ("p", "消费者权益保护是金融工作政治性、人民性的重要体现。今年以来，陕西分行坚持把消保工作融入产品设计、营销宣传和售后服务各个环节，"
          "客户投诉量同比下降23%。"),
    ("bold", "在源头上把好关"),
    ("p", "该行建立了新产品消保审查机制，所有面向个人客户的新产品、新服务上线前都要经过消保审查。"
          "今年以来，累计审查产品和服务方案216项，提出修改意见430条。"),
    ("bold", "在过程中管到位"),
    ("p", "该行在全辖网点推行营销“双录”，对销售理财、保险等产品的过程进行录音录像。今年以来，该行开展消保暗访检查380次，覆盖全部二级分行。"),
    ("bold", "在事后化解纠纷"),
    ("p", "该行设立了由18名专职人员组成的投诉处理中心，投诉平均处理时间由原来的5个工作日缩短至2个工作日。"
          "保护好消费者的合法权益，就是守护好银行发展的根基。"),
    ("p", "□ 韩雪"),
    ("p", "（作者单位：中国工商银行陕西分行消费者权益保护部）"),
    ("h1", "云南分行助力咖啡产业提质增效"),
    ("p", "本报讯（记者 段丽）在云南普洱，咖啡树进入了采收前的管护期。截至8月末，云南分行咖啡产业贷款余额达到21.6亿元，"
          "较年初增长35%，支持咖啡种植户、加工企业和合作社3100余户。"),
    ("p", "该行针对咖啡种植周期长的特点，推出了“咖农贷”，贷款期限最长可达5年，咖农凭种植面积即可申请信用贷款。"
          "普洱市思茅区的咖农李国华种植咖啡260亩，今年通过“咖农贷”获得贷款40万元，用于购买精品咖啡豆加工设备。"),
    ("p", "该行还联合当地政府搭建了咖啡产业交易平台，今年以来平台交易额达到8.3亿元。"),
    ("p", "责任编辑：蒋蕾"),
    ("p", "第3版"),
    ("h1", "二十年押运路上的“守护者”"),
    ("p", "早上六点，在山西分行太原金库，押运员郭振东已经完成了装备领用和车辆检查。这是他从事押运工作的第二十个年头。"),
    ("p", "2004年，退伍后的郭振东加入了山西分行押运队伍。二十年来，他累计安全押运超过1.1万趟，行程超过46万公里，相当于绕地球赤道十一圈半。"),
    ("p", "押运工作枯燥而危险。2012年冬天的一次押运途中，押运车在山路上遇到大雪封路，郭振东和同事在车上坚守了14个小时，"
          "直到道路疏通，确保了1.2亿元现金的安全。"),
    ("p", "如今，郭振东已经成为押运队的教练员，先后带出徒弟37名。“押运没有小事，每一次都要当作第一次。”他说。"),
    ("p", "□ 曹阳"),
    ("h1", "总行举办“工银杯”员工羽毛球比赛"),
    ("p", "本报讯（通讯员 贺琳）9月14日至15日，总行2024年“工银杯”员工羽毛球比赛在武汉举行，"
          "来自全行32家分行和直属机构的286名运动员参加比赛。"),
    ("p", "比赛设置了男子单打、女子单打、混合双打和团体赛四个项目。经过两天的比赛，湖北分行获得团体冠军，"
          "江苏分行和北京分行分获亚军和季军。来自软件开发中心的刘子轩获得男子单打冠军。"),
    ("p", "据介绍，“工银杯”员工羽毛球比赛自2016年起每两年举办一届，本届是参赛人数最多的一届。"),
    ("p", "责任编辑：钟晴"),
    ("p", "第4版"),
    ("h1", "手机银行推出“长辈版”3.0 适老化服务再升级"),
    ("p", "本报讯（记者 聂文静）9月10日，我行手机银行“长辈版”3.0正式上线。新版本将字号放大至标准版的1.5倍，"
          "首页只保留转账、查询、缴费等8项常用功能，并新增了语音导航和“一键呼叫客服”功能。"),
    ("p", "截至8月末，手机银行“长辈版”客户达到2860万户，其中60岁以上客户占比达到78%。"
          "为防范老年客户遭遇电信诈骗，新版本还增加了“亲情守护”服务，客户可以绑定1至3名家人，向陌生账户大额转账时会同步提醒家人。"),
    ("p", "网络金融部相关负责人介绍，下一步将在全国1.5万家网点开展“长辈版”使用培训，帮助老年客户跨越“数字鸿沟”。"),
    ("p", "责任编辑：钟晴"),
]


def main(argv: list[str] | None = None) -> int:
    return make_layouts.main(
        argv, lambda: make_layouts.build(CONTENT, "工行通讯 2024年第18期", ISSUE_TIME), DEFAULT_OUT, FILE_NAME
    )


if __name__ == "__main__":
    raise SystemExit(main())
