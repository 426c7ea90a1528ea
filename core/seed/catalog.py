"""Word lists and catalogues the demo-data generator draws from (names, institutions, products).

Everything here is plain data: small hand-written lists, so the generator needs no Faker and stays
deterministic. Institution and product names are modelled on what Hengshui's banks actually offer,
but every product, person and enterprise generated from these lists is fictitious.
"""

from __future__ import annotations

# Common Chinese surnames, roughly by frequency in northern China (weights follow the order).
SURNAMES = list(
    "王李张刘杨赵陈孙周吴徐马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN_CHARS = list(
    "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰建国志红春梅海燕晓东文辉鹏飞宇浩然子轩博涵欣怡"
    "佳琪思雨俊杰立新振华永胜宏亮丹丹淑珍凤兰金凤瑞雪嘉慧晨阳雅婷凯旭晶莹泽宁学军玉梅少华庆丰"
)
# Auspicious characters enterprises like in their trade names (字号).
BRAND_CHARS = list(
    "鑫华恒通达瑞泰隆盛祥丰利源宏兴顺安康正信诚德博远创凯宇联合众力海天金银冠昌富荣新宝久永晟博泽润"
    "嘉禾佳越冀衡湖广中亚旭升腾辉耀星辰明阳光"
)
ROADS = [
    "人民路", "中华大街", "永兴路", "红旗大街", "育才街", "前进大街", "新华路", "胜利路", "和平路",
    "大庆路", "榕花大街", "开元路", "北京大街", "问津街", "滏阳路", "京衡大街", "站前路", "工业路",
]

# GB/T 4754-2017 division -> the product words companies of that division put in their names.
INDUSTRY_WORDS: dict[str, list[str]] = {
    "01": ["农业科技", "蔬菜种植", "蜜桃种植", "果蔬"],
    "03": ["养殖", "畜牧", "牧业"],
    "05": ["农机服务", "农业服务", "植保"],
    "13": ["粮油", "饲料", "农副产品加工"],
    "14": ["食品", "调味品", "烘焙食品"],
    "15": ["酒业", "饮品", "老白干酒"],
    "17": ["纺织", "棉纺", "毛纺"],
    "18": ["服装", "服饰", "制衣"],
    "19": ["皮毛", "裘皮制品", "皮革制品", "皮草"],
    "21": ["家具", "办公家具"],
    "22": ["纸业", "包装制品"],
    "23": ["印刷", "彩印包装"],
    "24": ["乐器", "文体用品", "工艺品"],
    "26": ["化工", "精细化工", "涂料"],
    "27": ["药业", "生物制药"],
    "29": ["橡塑制品", "橡胶制品", "塑料制品", "密封件", "工程橡胶"],
    "30": ["玻璃钢", "复合材料", "玻璃纤维制品", "建材"],
    "33": ["丝网制品", "金属制品", "五金制品", "铁塔", "钢结构"],
    "34": ["机械设备", "泵业", "阀门", "轴承"],
    "35": ["医疗器械", "环保设备", "专用设备", "农业机械"],
    "36": ["汽车配件", "汽车零部件"],
    "38": ["电线电缆", "电缆", "电气设备", "线缆"],
    "39": ["电子科技", "电子元件"],
    "40": ["仪器仪表", "计量仪器"],
    "42": ["再生资源", "资源回收利用"],
    "47": ["建筑工程", "建设工程"],
    "48": ["路桥工程", "市政工程"],
    "49": ["安装工程", "机电安装"],
    "50": ["装饰工程", "建筑装饰"],
    "51": ["商贸", "贸易", "物资", "农资"],
    "52": ["超市", "商店", "百货", "便利店"],
    "54": ["物流", "运输", "货运"],
    "59": ["仓储", "物流园"],
    "61": ["酒店", "宾馆"],
    "62": ["餐饮", "饮食服务"],
    "64": ["网络科技", "电子商务"],
    "65": ["软件", "信息技术", "数字科技"],
    "72": ["商务服务", "企业管理咨询", "广告"],
    "73": ["科技研发", "新材料研究"],
    "74": ["检测技术", "工程设计"],
    "80": ["家政服务", "生活服务"],
}

# Hengshui's industrial structure: division -> relative weight in the enterprise population.
DIVISION_WEIGHTS: dict[str, float] = {
    "29": 9.0, "33": 8.0, "34": 6.0, "38": 6.0, "19": 5.5, "30": 5.5, "17": 3.5, "18": 3.5,
    "13": 3.0, "14": 2.5, "15": 0.8, "21": 1.5, "22": 1.0, "23": 0.8, "24": 1.5, "26": 2.0, "27": 0.8,
    "35": 3.5, "36": 2.0, "39": 1.0, "40": 0.8, "42": 0.8,
    "51": 9.0, "52": 7.0, "47": 2.0, "48": 1.5, "49": 0.8, "50": 1.2,
    "01": 3.5, "03": 2.0, "05": 0.8, "54": 2.0, "59": 0.8, "61": 0.8, "62": 2.5,
    "64": 0.8, "65": 1.2, "72": 1.5, "73": 0.5, "74": 0.8, "80": 0.8,
}
# Where each division clusters (division -> {district code: extra weight multiplier}).
DISTRICT_AFFINITY: dict[str, dict[str, float]] = {
    "19": {"131121": 8.0, "131126": 2.0},  # 枣强 fur and leather, 故城 too
    "30": {"131121": 5.0, "131103": 1.5},  # 枣强 glass fibre / FRP
    "33": {"131125": 7.0, "131127": 2.5},  # 安平 wire mesh, 景县 towers
    "29": {"131127": 5.0, "131102": 1.5, "131171": 2.0},  # 景县 rubber & plastics
    "35": {"131103": 4.0, "131171": 2.0},  # 冀州 medical devices
    "24": {"131123": 6.0},  # 武强 musical instruments
    "01": {"131124": 3.0, "131182": 3.0},  # 饶阳 vegetables, 深州 peaches
    "03": {"131182": 2.0, "131128": 2.0},
    "38": {"131122": 2.5, "131171": 2.0},
    "18": {"131126": 3.0, "131128": 2.0},
    "17": {"131126": 2.0, "131128": 2.0},
    "15": {"131102": 4.0},  # 衡水老白干
    "65": {"131171": 5.0, "131172": 3.0},
    "64": {"131171": 4.0, "131172": 3.0},
}

# Financial institutions: (code, name, name_en, short_name, kind, segment, head-office district).
INSTITUTIONS: list[tuple[str, str, str, str, str, str, str]] = [
    ("BANK-ICBC", "中国工商银行衡水分行", "ICBC Hengshui Branch", "工行", "bank", "state", "131102"),
    ("BANK-ABC", "中国农业银行衡水分行", "Agricultural Bank of China Hengshui Branch", "农行", "bank", "state", "131102"),
    ("BANK-BOC", "中国银行衡水分行", "Bank of China Hengshui Branch", "中行", "bank", "state", "131102"),
    ("BANK-CCB", "中国建设银行衡水分行", "China Construction Bank Hengshui Branch", "建行", "bank", "state", "131102"),
    ("BANK-HSB", "衡水银行", "Bank of Hengshui", "衡水银行", "bank", "city", "131102"),
    ("BANK-PSBC", "中国邮政储蓄银行衡水市分行", "Postal Savings Bank of China Hengshui Branch", "邮储", "bank", "state", "131102"),
    ("BANK-ZQRCB", "河北枣强农村商业银行", "Hebei Zaoqiang Rural Commercial Bank", "枣强农商行", "bank", "rural", "131121"),
    ("BANK-CITIC", "中信银行衡水分行", "China CITIC Bank Hengshui Branch", "中信", "bank", "joint_stock", "131102"),
    ("BANK-BOCOM", "交通银行衡水分行", "Bank of Communications Hengshui Branch", "交行", "bank", "state", "131102"),
    ("BANK-HEBB", "河北银行衡水分行", "Bank of Hebei Hengshui Branch", "河北银行", "bank", "city", "131102"),
    ("BANK-APRCB", "河北安平农村商业银行", "Hebei Anping Rural Commercial Bank", "安平农商行", "bank", "rural", "131125"),
    ("GUAR-HSRD", "衡水市中小企业融资担保有限公司", "Hengshui SME Financing Guarantee Co., Ltd.", "衡水融担", "guarantee", "guarantee", "131102"),
    ("INS-PICC", "中国人民财产保险股份有限公司衡水市分公司", "PICC Property and Casualty Hengshui Branch", "人保财险", "insurer", "insurer", "131102"),
    ("LEAS-HSJT", "衡水金投融资租赁有限公司", "Hengshui Jintou Financial Leasing Co., Ltd.", "金投租赁", "leasing", "leasing", "131102"),
    ("BANK-CIB", "兴业银行衡水分行", "Industrial Bank Hengshui Branch", "兴业", "bank", "joint_stock", "131102"),
    ("BANK-SZRCB", "河北深州农村商业银行", "Hebei Shenzhou Rural Commercial Bank", "深州农商行", "bank", "rural", "131182"),
    ("BANK-CMBC", "中国民生银行衡水分行", "China Minsheng Bank Hengshui Branch", "民生", "bank", "joint_stock", "131102"),
    ("GUAR-HBZX", "河北省中小企业融资再担保有限公司衡水分公司", "Hebei SME Re-guarantee Co., Ltd. Hengshui Branch", "省再担保", "guarantee", "guarantee", "131102"),
    ("INS-PAIC", "中国平安财产保险股份有限公司衡水中心支公司", "Ping An Property and Casualty Hengshui Central Sub-branch", "平安产险", "insurer", "insurer", "131102"),
    ("LEAS-JYZL", "冀银金融租赁有限公司衡水业务部", "Jiyin Financial Leasing Hengshui Office", "冀银租赁", "leasing", "leasing", "131102"),
]
# The small size keeps the first 15 (every kind of institution is among them).

REGULATORS: list[tuple[str, str, str, str]] = [
    ("REG-HSJRJ", "衡水市地方金融监督管理局", "Hengshui Local Financial Supervision and Administration Bureau", "市金融局"),
    ("REG-PBOC-HS", "中国人民银行衡水市中心支行", "People's Bank of China Hengshui Central Sub-branch", "人行衡水中支"),
]
OPERATOR = ("JINFU-OPERATOR", "衡水市信易贷平台运营中心", "Hengshui Credit Easy Loan Platform Operation Center", "平台运营")

# Product catalogue: (base name, English name, type, amount min/max in 万元, term min/max months,
#   rate min/max %, repayment methods, eligible sections, eligible scales, min years, min grade,
#   collateral, first-loan friendly, tags).
PRODUCT_TEMPLATES: list[tuple] = [
    ("税e贷", "Tax e-Loan", "credit_loan", 10, 300, 3, 12, 3.65, 6.5, ["equal_installment", "interest_only_bullet"], [], [], 2, "BB", False, False, ["纯信用", "线上办理", "以税授信"]),
    ("首贷通", "First Loan Pass", "credit_loan", 5, 100, 3, 12, 3.45, 5.8, ["equal_installment", "interest_only_bullet"], [], ["micro", "small"], 1, None, False, True, ["首贷", "普惠", "纯信用"]),
    ("科创贷", "Sci-Tech Innovation Loan", "credit_loan", 50, 1000, 6, 36, 3.5, 6.0, ["equal_principal", "interest_only_bullet"], ["C", "I", "M"], ["small", "medium"], 2, "BBB", False, False, ["科技型企业", "专精特新"]),
    ("经营快贷", "Quick Business Loan", "credit_loan", 5, 200, 3, 12, 3.85, 7.5, ["equal_installment", "interest_only_bullet"], [], [], 1, "B", False, True, ["随借随还", "线上办理"]),
    ("电e贷", "Power e-Loan", "credit_loan", 10, 300, 6, 12, 3.9, 6.8, ["equal_installment", "interest_only_bullet"], ["C"], [], 2, "BB", False, False, ["以电授信", "制造业"]),
    ("社保贷", "Social Insurance Loan", "credit_loan", 10, 200, 6, 24, 4.0, 7.2, ["equal_installment"], [], ["micro", "small"], 2, "BB", False, False, ["以社保授信", "稳岗"]),
    ("惠农e贷", "Agri e-Loan", "credit_loan", 3, 100, 6, 36, 3.85, 6.5, ["equal_installment", "equal_principal", "interest_only_bullet"], ["A"], [], 0, None, False, True, ["涉农", "乡村振兴"]),
    ("商户贷", "Merchant Loan", "credit_loan", 3, 100, 3, 24, 4.35, 9.5, ["equal_installment"], ["F", "H", "O"], ["micro", "small"], 1, None, False, True, ["个体商户", "线上办理"]),
    ("信易贷", "Credit Easy Loan", "credit_loan", 10, 500, 6, 36, 3.7, 7.0, ["equal_installment", "equal_principal", "interest_only_bullet"], [], [], 1, "BB", False, True, ["信易贷", "信用修复友好"]),
    ("专精特新贷", "Specialized and Innovative SME Loan", "credit_loan", 100, 2000, 12, 36, 3.3, 5.5, ["equal_principal", "interest_only_bullet"], ["C"], ["small", "medium"], 3, "A", False, False, ["专精特新", "中长期"]),
    ("政银担贷", "Government-Bank-Guarantee Loan", "guaranteed", 50, 1000, 6, 36, 3.8, 6.5, ["equal_installment", "interest_only_bullet"], [], [], 1, "B", False, True, ["政府性融资担保", "风险分担"]),
    ("创业担保贷款", "Entrepreneurship Guaranteed Loan", "guaranteed", 10, 300, 12, 36, 3.45, 4.5, ["interest_only_bullet", "equal_installment"], [], ["micro", "small"], 0, None, False, True, ["财政贴息", "创业"]),
    ("厂房按揭贷", "Factory Mortgage Loan", "mortgage", 100, 3000, 12, 60, 3.6, 5.9, ["equal_installment", "equal_principal"], ["C"], [], 2, None, True, False, ["抵押", "中长期"]),
    ("房抵经营贷", "Property-backed Business Loan", "mortgage", 50, 2000, 12, 60, 3.3, 5.5, ["equal_installment", "equal_principal", "interest_only_bullet"], [], [], 1, None, True, False, ["抵押", "额度高"]),
    ("知识产权质押贷", "IP Pledge Loan", "pledge", 50, 1000, 6, 36, 3.6, 6.0, ["interest_only_bullet", "equal_principal"], ["C", "I", "M"], [], 2, "BB", True, False, ["知识产权", "科技型企业"]),
    ("应收账款质押贷", "Receivables Pledge Loan", "pledge", 50, 1500, 3, 12, 3.8, 6.5, ["interest_only_bullet"], [], [], 1, "BB", True, False, ["应收账款", "中征平台"]),
    ("仓单质押贷", "Warehouse Receipt Pledge Loan", "pledge", 30, 800, 3, 12, 4.2, 7.5, ["interest_only_bullet"], ["A", "C", "F"], [], 1, None, True, False, ["存货", "动产融资"]),
    ("供应链e贷", "Supply Chain e-Loan", "supply_chain", 20, 2000, 3, 12, 3.5, 6.5, ["interest_only_bullet", "equal_installment"], ["C", "F"], [], 1, "B", False, False, ["供应链", "核心企业"]),
    ("订单融资", "Order Financing", "supply_chain", 20, 1000, 3, 12, 4.0, 7.0, ["interest_only_bullet"], ["C"], [], 1, "B", False, False, ["订单", "供应链"]),
]
BANK_PRODUCTS_PER_BANK = 8
NONBANK_TEMPLATES: dict[str, list[tuple]] = {
    "guarantee": [
        ("融资担保", "Financing Guarantee", "guarantee_service", 50, 1000, 6, 36, 4.0, 7.5, ["equal_installment", "interest_only_bullet"], [], [], 1, None, False, True, ["担保费率低", "政府性融资担保"]),
        ("科技担保", "Sci-Tech Guarantee", "guarantee_service", 50, 1000, 12, 36, 4.2, 7.0, ["interest_only_bullet"], ["C", "I", "M"], [], 2, None, False, False, ["科技型企业", "担保"]),
        ("见贷即保", "Guarantee on Loan Approval", "guarantee_service", 10, 300, 6, 12, 4.5, 7.8, ["equal_installment"], [], ["micro", "small"], 1, None, False, True, ["批量担保", "首贷"]),
    ],
    "insurer": [
        ("贷款保证保险", "Loan Guarantee Insurance", "insurance", 10, 300, 6, 12, 5.0, 9.0, ["equal_installment"], [], ["micro", "small"], 1, None, False, True, ["保险增信", "纯信用"]),
        ("科技保险贷", "Sci-Tech Insurance-backed Loan", "insurance", 50, 500, 12, 24, 4.8, 8.5, ["equal_installment", "interest_only_bullet"], ["C", "I", "M"], [], 2, None, False, False, ["科技型企业", "保险增信"]),
        ("农业保险贷", "Agricultural Insurance-backed Loan", "insurance", 5, 100, 6, 12, 4.5, 8.0, ["interest_only_bullet"], ["A"], [], 0, None, False, True, ["涉农", "保险增信"]),
    ],
    "leasing": [
        ("设备融资租赁", "Equipment Finance Lease", "leasing", 50, 5000, 12, 60, 5.5, 12.0, ["equal_installment"], ["C", "E", "G"], [], 2, None, False, False, ["设备", "直租"]),
        ("售后回租", "Sale-and-Leaseback", "leasing", 100, 3000, 12, 48, 6.0, 13.5, ["equal_installment", "equal_principal"], [], ["small", "medium"], 2, None, True, False, ["盘活资产", "回租"]),
        ("农机租赁", "Agricultural Machinery Lease", "leasing", 10, 300, 12, 36, 6.5, 15.0, ["equal_installment"], ["A"], [], 0, None, False, True, ["涉农", "设备"]),
    ],
}

PURPOSES: dict[str, list[str]] = {
    "C": ["采购原材料", "购置生产设备", "补充流动资金", "扩大生产规模", "技术改造升级", "支付货款"],
    "F": ["采购商品备货", "补充流动资金", "门店扩张", "支付供应商货款"],
    "A": ["购买种苗化肥", "购置农机", "扩建大棚", "补充流动资金"],
    "E": ["支付工程款", "购置施工设备", "补充流动资金", "投标保证金"],
    "*": ["补充流动资金", "日常经营周转", "购置设备", "偿还到期借款"],
}
CASE_CAUSES = ["买卖合同纠纷", "借款合同纠纷", "劳动争议", "租赁合同纠纷", "承揽合同纠纷", "金融借款合同纠纷", "建设工程施工合同纠纷"]
PENALTIES = [
    "大气污染物超标排放", "未按规定设置安全警示标志", "产品质量抽检不合格", "未按期申报纳税",
    "消防设施未保持完好有效", "超范围经营", "危险废物贮存不规范",
]
COMMENDATIONS = ["衡水市守合同重信用企业", "纳税信用A级纳税人", "河北省专精特新中小企业", "衡水市诚信示范企业", "市级就业扶贫基地"]
ABNORMAL_REASONS = ["未按规定期限公示年度报告", "通过登记的住所或经营场所无法联系", "公示企业信息隐瞒真实情况"]
REJECT_REASONS = [
    ("insufficient_cashflow", "经营现金流不足以覆盖还款"),
    ("high_leverage", "资产负债率偏高"),
    ("credit_record", "征信记录存在不良"),
    ("judicial_risk", "存在未结涉诉案件"),
    ("incomplete_materials", "申请材料不完整"),
    ("outside_policy", "不符合产品准入条件"),
]
