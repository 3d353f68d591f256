"""Write the invented Word test issue `layouts/2023-06-20_第12期.docx` from the content below.

The issue tests reading a newsletter delivered as Word rather than PDF-extracted text:
headlines are real `Heading 1` paragraphs, one article's section titles are `Heading 2`,
another's are short paragraphs whose runs are all bold (no heading style), there is one real
Word table with its title in the paragraph before it, and the masthead, page markers
(「第1版」) and 「责任编辑：…」 lines are plain paragraphs. Its figures, people and events are
fictional. The ground truth is `layouts/truth.json`; the questions are in
`eval/sets/layouts-*.jsonl`.

The .docx is generated, not committed. Run from anywhere:

    python eval/corpora/make_layouts.py [--out FOLDER]

FOLDER defaults to `eval/corpora/layouts`. The same content gives the same bytes: the document
properties and the zip entries' times are fixed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

FILE_NAME = "2023-06-20_第12期.docx"
DEFAULT_OUT = Path(__file__).resolve().parent / "layouts"
# Fixed so that two runs give the same bytes (python-docx stamps "now" otherwise).
ISSUE_TIME = dt.datetime(2023, 6, 20, 8, 0, 0)

# The issue, in order. Each item is (kind, content): "p" a normal paragraph, "bold" a normal
# paragraph set all in bold (a section title without a heading style), "h1" / "h2" a heading,
# "table" a list of rows (the first row is the header row, the first column the labels).
CONTENT: list[tuple[str, object]] = [
    ("p", "工行通讯"),
    ("p", "2023年第12期（总第361期）"),
    ("p", "2023年6月20日"),
    ("p", "第1版"),
    ("h1", "一季度个人金融业务实现良好开局"),
    ("p", "本报讯（记者 王晓东 通讯员 林娜）今年一季度，全行个人金融业务保持稳健增长，个人客户达到7.25亿户，"
          "较年初增加900万户。个人存款余额达到17.6万亿元，较年初增加1.32万亿元，增量创历史同期新高。"),
    ("h2", "一、财富管理业务提质增效"),
    ("p", "一季度，全行代销个人理财产品4380亿元，同比增长12.4%；代理个人保险保费收入达到512亿元。"
          "私人银行客户达到26.8万户，管理资产规模突破2.7万亿元，较年初增长6.3%。"),
    ("p", "表1 2023年一季度个人金融主要指标"),
    ("table", [
        ["指标", "2022年末", "2023年3月末"],
        ["个人客户（亿户）", "7.16", "7.25"],
        ["个人存款余额（万亿元）", "16.28", "17.60"],
        ["个人贷款余额（万亿元）", "8.42", "8.61"],
        ["私人银行客户（万户）", "25.3", "26.8"],
        ["手机银行月活跃客户（亿户）", "1.51", "1.58"],
    ]),
    ("h2", "二、个人贷款投放提速"),
    ("p", "一季度，全行个人贷款增加1900亿元，其中个人住房贷款增加620亿元，个人经营性贷款增加1050亿元，"
          "个人消费贷款增加230亿元。个人经营性贷款余额突破1万亿元，服务个体工商户和小微企业主180万户。"),
    ("h2", "三、数字化服务持续升级"),
    ("p", "手机银行月活跃客户达到1.58亿户，较年初增加700万户。一季度，线上渠道办理个人业务的占比达到96.3%，"
          "“工银e生活”平台新增注册用户420万户。下一步，全行将继续做优做强个人金融业务，力争全年个人存款增量保持同业领先。"),
    ("h1", "河北分行“惠农e贷”助力春耕备耕"),
    ("p", "本报讯（通讯员 张磊）今年春耕期间，河北分行围绕种子、化肥、农机等农资采购需求，加大“惠农e贷”投放力度。"
          "截至5月末，该行“惠农e贷”余额达到128亿元，较年初增加47亿元，服务农户3.9万户。"),
    ("p", "在邢台、邯郸、保定等粮食主产区，该行与当地农业农村部门合作建立了“白名单”机制，农户在手机银行上提交申请后，"
          "最快3分钟就能完成审批放款。家住邢台市南和区的种粮大户孟庆山今年种植小麦1200亩，通过手机银行申请到贷款30万元。"
          "“以前借钱要找人担保，现在手机上点一点就到账了。”孟庆山说。"),
    ("p", "该行还在全省设立了“惠农服务点”1560个，由村委会干部或农资店主担任服务员，为农户提供小额取款、转账和贷款咨询等服务。"),
    ("p", "责任编辑：赵敏"),
    ("p", "第2版"),
    ("h1", "以“三道防线”为抓手 提升案防工作质效"),
    ("p", "案件防控是银行经营管理的生命线。近年来，湖北分行以“三道防线”建设为抓手，推动案防工作从“被动应对”向“主动防控”转变，"
          "连续五年实现案件“零发生”。"),
    ("bold", "一、压实第一道防线责任"),
    ("p", "业务部门和基层网点是风险防控的第一道防线。该行制定了《基层网点案防责任清单》，明确42项岗位风险点，"
          "每季度组织网点负责人签订案防责任书。今年上半年，全辖1280名网点负责人全部完成案防履职评估。"),
    ("bold", "二、发挥第二道防线作用"),
    ("p", "内控合规部门是第二道防线。该行搭建了员工异常行为监测系统，设置监测模型37个，上半年累计排查异常交易线索2150条，"
          "发现并整改问题186个。"),
    ("bold", "三、强化第三道防线监督"),
    ("p", "内部审计是第三道防线。该行对重点业务领域开展专项审计，上半年完成审计项目28个，督促整改问题金额4.6亿元。"
          "实践证明，三道防线各司其职、协同联动，才能织密织牢案防“安全网”。"),
    ("p", "（作者单位：中国工商银行湖北分行内控合规部）"),
    ("h1", "深圳分行知识产权质押融资突破五十亿元"),
    ("p", "本报讯（记者 黄伟）截至5月末，深圳分行知识产权质押贷款余额达到53.6亿元，较年初增长41%，支持科技型中小企业410户。"),
    ("p", "该行与深圳市知识产权运营中心合作，引入专利价值评估模型，将评估时间由原来的15个工作日缩短至3个工作日。"
          "今年4月，该行向南山区一家从事工业机器人研发的企业发放了以17项发明专利为质押的贷款8000万元，创下该行单笔知识产权质押贷款的最高纪录。"),
    ("p", "据了解，该行计划到2023年末将知识产权质押贷款余额提高到80亿元，并在前海、南山、福田三地设立科技金融服务中心。"),
    ("p", "责任编辑：钱进"),
    ("p", "第3版"),
    ("h1", "反诈一线的“守门人”"),
    ("p", "“阿姨，您先别着急转账，这很可能是诈骗！”5月18日上午，在福建分行福州东街口支行，大堂经理林雪梅拦下了一位准备向“安全账户”汇款的老人。"
          "事后核实，这位老人险些被骗走积蓄28万元。"),
    ("p", "今年32岁的林雪梅在大堂经理岗位上已经工作了8年。她总结出“一看二问三核实”的反诈工作法：看客户神情是否慌张，"
          "问汇款用途是否清楚，核实收款人身份是否真实。8年来，她累计成功劝阻电信诈骗27起，为客户挽回损失超过260万元。"),
    ("p", "2022年，林雪梅被福州市公安局授予“反诈先锋”称号。如今，她把自己的经验编成了一本《网点反诈口袋书》，"
          "已在全省520家网点推广使用。"),
    ("p", "□ 刘芳"),
    ("h1", "总行举办2023年新员工入职培训"),
    ("p", "本报讯（通讯员 孟婷）6月12日至16日，总行在杭州举办2023年新员工入职培训班，来自总行机关和直属机构的312名新员工参加培训。"),
    ("p", "培训内容包括企业文化、合规管理、金融科技和客户服务等12门课程，还安排了网点跟岗实践和团队拓展活动。"
          "培训结束时，新员工代表、来自软件开发中心的周子涵说：“我会把学到的知识用到工作中，尽快成长为一名合格的工行人。”"),
    ("p", "责任编辑：孙悦"),
    ("p", "第4版"),
    ("h1", "个人养老金业务开办半年 开户客户超过八百万户"),
    ("p", "本报讯（记者 陈思远）自去年11月个人养老金制度在36个先行城市（地区）实施以来，我行个人养老金业务发展势头良好。"
          "截至5月末，全行个人养老金资金账户开户数达到816万户，累计缴存金额62.4亿元，户均缴存约765元。"),
    ("p", "为方便客户，我行在手机银行开设了个人养老金专区，客户可以在线完成开户、缴存和产品购买，线上开户占比达到89%。"
          "专区上架个人养老金产品148只，其中储蓄存款产品4只、理财产品21只、公募基金产品96只、保险产品27只。"),
    ("p", "在先行城市之一的成都，我行联合当地人社部门走进园区和社区开展个人养老金宣传，已举办政策宣讲会430场。"
          "成都分行个人金融业务部总经理何佳表示，下一步将重点加强对新市民和灵活就业人员的服务，让更多群众享受到个人养老金的政策红利。"),
    ("p", "责任编辑：孙悦"),
]


def build(content: list[tuple[str, object]] = CONTENT, title: str = "工行通讯 2023年第12期", when: dt.datetime = ISSUE_TIME) -> bytes:
    """The .docx bytes of `content`, with fixed properties and zip times (`when`)."""
    import docx  # imported here so that reading CONTENT does not need python-docx

    doc = docx.Document()
    for kind, value in content:
        if kind == "h1":
            doc.add_heading(value, level=1)
        elif kind == "h2":
            doc.add_heading(value, level=2)
        elif kind == "bold":
            doc.add_paragraph().add_run(value).bold = True
        elif kind == "table":
            rows = value
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = text
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
        else:
            doc.add_paragraph(value)
    props = doc.core_properties
    props.title = title
    props.author = "工行通讯编辑部"
    props.last_modified_by = "工行通讯编辑部"
    props.created = props.modified = props.last_printed = when
    props.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    return _fixed_zip(buffer.getvalue(), when)


def _fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """The same zip with every entry stamped at `when` (zipfile stamps "now" otherwise)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def main(argv: list[str] | None = None, make=build, default_out: Path = DEFAULT_OUT, name: str = FILE_NAME) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out, help="folder to write the .docx in")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / name
    path.write_bytes(make())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
