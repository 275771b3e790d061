//! How personal data is shown by default: enough to recognise a record,
//! not enough to use it.

/// `310104195003021234` → `310***********1234`.
pub fn id_number(id: &str) -> String {
    keep_ends(id, 3, 4)
}

/// `13812345678` → `138****5678`.
pub fn phone(phone: &str) -> String {
    keep_ends(phone, 3, 4)
}

/// `张建国` → `张**`; a name of one character is shown as `*`.
pub fn name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        n => std::iter::once(chars[0])
            .chain(std::iter::repeat_n('*', n - 1))
            .collect(),
    }
}

/// The address up to its first number (road, lane, building and room
/// hidden): `上海市青浦区香花桥街道新桥路88弄5号301室` → `上海市青浦区香花桥街道新桥路****`.
pub fn address(address: &str) -> String {
    let address = address.trim();
    if address.is_empty() {
        return String::new();
    }
    let shown: String = address
        .chars()
        .take_while(|c| !c.is_ascii_digit() && !is_chinese_numeral(*c))
        .collect();
    if shown.chars().count() < 2 {
        return "****".into();
    }
    format!("{shown}****")
}

fn is_chinese_numeral(c: char) -> bool {
    "〇零一二三四五六七八九十百".contains(c)
}

/// The first `head` and last `tail` characters, the rest as `*`; short
/// values are hidden entirely.
fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.trim().chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - head - tail;
    chars[..head]
        .iter()
        .chain(std::iter::repeat_n(&'*', hidden))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_specified() {
        assert_eq!(id_number("310104195003021234"), "310***********1234");
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(name("张建国"), "张**");
        assert_eq!(name("欧阳"), "欧*");
        assert_eq!(name("李"), "*");
        assert_eq!(
            address("上海市青浦区香花桥街道新桥路88弄5号301室"),
            "上海市青浦区香花桥街道新桥路****"
        );
        assert_eq!(address("12号"), "****");
        assert_eq!(phone("123"), "***");
    }
}
