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
