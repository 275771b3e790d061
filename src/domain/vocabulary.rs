//! The fixed codes of SPEC with their Chinese labels.

/// Resource kinds.
pub const KINDS: &[(&str, &str)] = &[
    ("policy", "政策"),
    ("funding", "资金"),
    ("material", "物资"),
    ("service", "服务"),
];

/// The 12 need dimensions of the needs assessment scale.
pub const DIMENSIONS: &[(&str, &str)] = &[
    ("housing", "住房"),
    ("medical", "医疗"),
    ("employment", "就业"),
    ("education", "教育"),
    ("income", "基本生活"),
    ("daily_care", "生活照料"),
    ("rehabilitation", "康复护理"),
    ("mental", "心理健康"),
    ("family", "家庭关系"),
    ("legal", "法律权益"),
    ("social", "社会融入"),
    ("safety", "安全保护"),
];

/// Target groups. SPEC calls this an open list: these are the ones aidmatch knows.
pub const TARGET_GROUPS: &[(&str, &str)] = &[
    ("elderly", "老年人"),
    ("elderly_alone", "独居/空巢老人"),
    ("child", "儿童"),
    ("child_in_difficulty", "困境儿童"),
    ("disabled", "残疾人"),
    ("dibao", "低保对象"),
    ("tekun", "特困人员"),
    ("low_income", "低收入家庭"),
    ("expenditure_poverty", "支出型贫困"),
    ("unemployed", "失业人员"),
    ("serious_illness", "重病患者"),
    ("single_parent", "单亲家庭"),
    ("new_citizen", "新市民"),
    ("women", "妇女"),
    ("veteran", "退役军人"),
    ("youth", "青少年"),
];

/// Kinds of provider organisation.
pub const ORGANISATION_KINDS: &[(&str, &str)] = &[
    ("government", "政府部门"),
    ("charity", "公益组织"),
    ("company", "爱心企业"),
    ("community", "社区服务中心"),
];

/// Resource statuses.
pub const STATUSES: &[(&str, &str)] = &[
    ("draft", "草稿"),
    ("published", "已发布"),
    ("withdrawn", "已撤回"),
];

/// The label of `code` in `table`, or the code itself when unknown.
/// How a household member is related to the head of the household.
pub const RELATIONS: &[(&str, &str)] = &[
    ("self", "本人"),
    ("spouse", "配偶"),
    ("child", "子女"),
    ("parent", "父母"),
    ("grandchild", "孙子女"),
    ("grandparent", "祖父母"),
    ("sibling", "兄弟姐妹"),
    ("other", "其他"),
];

pub const SEXES: &[(&str, &str)] = &[("M", "男"), ("F", "女")];

pub const DISABILITY_TYPES: &[(&str, &str)] = &[
    ("visual", "视力残疾"),
    ("hearing", "听力残疾"),
    ("speech", "言语残疾"),
    ("physical", "肢体残疾"),
    ("intellectual", "智力残疾"),
    ("mental", "精神残疾"),
    ("multiple", "多重残疾"),
];

pub const HEALTH_TAGS: &[(&str, &str)] = &[
    ("chronic", "慢性病"),
    ("serious_illness", "重病"),
    ("bedridden", "卧床"),
    ("pregnant", "孕期"),
];

pub const EMPLOYMENT: &[(&str, &str)] = &[
    ("employed", "在职"),
    ("unemployed", "失业"),
    ("retired", "退休"),
    ("student", "在学"),
    ("unable", "无劳动能力"),
    ("flexible", "灵活就业"),
    ("farmer", "务农"),
];

pub const STUDENT_STAGES: &[(&str, &str)] = &[
    ("preschool", "学前"),
    ("primary", "小学"),
    ("junior", "初中"),
    ("senior", "高中"),
    ("vocational", "中职"),
    ("undergraduate", "大学"),
    ("postgraduate", "研究生"),
];

/// Risk levels of a household (黄色预警, 红色风险).
pub const RISK_LEVELS: &[(&str, &str)] = &[
    ("green", "绿色"),
    ("yellow", "黄色预警"),
    ("red", "红色风险"),
];

/// Service types an assessment leads to.
pub const SERVICE_TYPES: &[(&str, &str)] = &[
    ("basic", "基础保障型"),
    ("development", "发展支持型"),
    ("crisis", "危机干预型"),
];

pub const URGENCIES: &[(&str, &str)] = &[("high", "紧急"), ("medium", "一般"), ("low", "不急")];

pub const NEED_STATUSES: &[(&str, &str)] = &[
    ("open", "待对接"),
    ("matched", "已对接"),
    ("fulfilled", "已满足"),
    ("closed", "已关闭"),
];

/// Kinds of case notes (服务记录).
pub const NOTE_KINDS: &[(&str, &str)] = &[
    ("home_visit", "入户走访"),
    ("phone", "电话联系"),
    ("referral", "转介"),
    ("meeting", "个案会议"),
];

pub fn label<'a>(table: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

pub fn is_known(table: &[(&str, &str)], code: &str) -> bool {
    table.iter().any(|(c, _)| *c == code)
}

/// "a, b, c" list of the codes of a table, for error messages.
pub fn codes(table: &[(&str, &str)]) -> String {
    table.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
}
