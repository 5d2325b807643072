//! Errors in a configuration file, and the TOML reader's messages said in Vietnamese.

use std::fmt;

/// One problem in a configuration file, at a 1-based line and column (counted in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// In English.
    pub message: String,
    /// The same in Vietnamese (a part quoted from the TOML parser or a value's own check may stay
    /// in English inside it).
    pub message_vi: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} ({})",
            self.file, self.line, self.column, self.message_vi, self.message
        )
    }
}

/// Every problem found in a configuration file, in file order. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The TOML reader's message (English) said in Vietnamese: the common ones in full, the rest
/// after a Vietnamese lead.
pub(super) fn toml_error_vi(en: &str) -> String {
    let list = |rest: &str| rest.replace(", expected one of ", "; các khóa dùng được: ");
    if let Some(rest) = en.strip_prefix("unknown field ") {
        return format!("khóa {} không có ở đây", list(rest));
    }
    if let Some(rest) = en.strip_prefix("missing field ") {
        return format!("thiếu khóa {rest}");
    }
    if let Some(rest) = en.strip_prefix("duplicate key") {
        return format!("khóa bị ghi hai lần{rest}");
    }
    if let Some(rest) = en.strip_prefix("invalid type: ") {
        let said = [
            ("expected a whole number", "cần một số nguyên"),
            (", expected ", ", cần "),
            ("string ", "chữ "),
            ("a string", "chữ (trong ngoặc kép)"),
            ("integer ", "số nguyên "),
            ("boolean ", "giá trị đúng/sai "),
            ("a boolean", "true hoặc false"),
            ("a sequence", "một danh sách [...]"),
            ("a map", "một bảng"),
        ]
        .iter()
        .fold(rest.to_string(), |s, (en, vi)| s.replace(en, vi));
        return format!("sai kiểu giá trị: {said}");
    }
    let mut vi = format!("lỗi cú pháp TOML: {en}");
    if en.contains("double brackets") {
        vi.push_str(" (danh sách bảng viết bằng hai dấu ngoặc vuông)");
    }
    vi
}

/// The checks of single values (times, URLs, codes, addresses) say what is wrong in English; a
/// Vietnamese message quoting one says it in Vietnamese, by these fragments.
const FRAGMENTS_VI: &[(&str, &str)] = &[
    (
        "write times as HH:MM, e.g. 07:30",
        "ghi giờ theo dạng HH:MM, ví dụ 07:30",
    ),
    (
        " is not between 00:00 and 24:00",
        " không nằm trong khoảng 00:00 đến 24:00",
    ),
    (
        "write opening hours as HH:MM-HH:MM, e.g.",
        "ghi giờ làm việc theo dạng HH:MM-HH:MM, ví dụ",
    ),
    (
        "a range cannot start at 24:00",
        "một khoảng giờ không thể bắt đầu lúc 24:00",
    ),
    (
        "the start must be before the end",
        "giờ bắt đầu phải trước giờ kết thúc",
    ),
    ("it must be host:port, e.g.", "phải có dạng máy:cổng, ví dụ"),
    (
        "write host:port only, without a scheme or path, e.g.",
        "chỉ ghi máy:cổng, không có giao thức hay đường dẫn, ví dụ",
    ),
    ("it may not contain spaces", "không được có dấu cách"),
    (
        "an IPv6 address needs its closing ]",
        "địa chỉ IPv6 thiếu dấu ] đóng",
    ),
    ("expected :port after ]", "cần :cổng sau dấu ]"),
    (
        "write an IPv6 address in brackets:",
        "ghi địa chỉ IPv6 trong ngoặc vuông:",
    ),
    ("it has no host name", "không có tên máy"),
    (
        "a public URL is scheme://host[:port], without a path: the pages live at the server's root",
        "địa chỉ công khai có dạng giao_thức://máy[:cổng], không có đường dẫn: các trang nằm ở gốc máy chủ",
    ),
    (
        "it must start with http:// or https://",
        "phải bắt đầu bằng http:// hoặc https://",
    ),
    (
        "it may not contain a query (?) or a fragment (#)",
        "không được có phần truy vấn (?) hay phân đoạn (#)",
    ),
    (
        "it may not contain a user name or password (@)",
        "không được có tên người dùng hay mật khẩu (@)",
    ),
    (
        "its port must be a number from 1 to 65535",
        "cổng phải là số từ 1 đến 65535",
    ),
    (
        "an origin is scheme://host[:port], without a path or a trailing slash",
        "một nguồn (origin) có dạng giao_thức://máy[:cổng], không có đường dẫn hay dấu / ở cuối",
    ),
    ("a code may not be empty", "mã không được để trống"),
    ("a code has at most", "mã có tối đa"),
    (" characters, this one has ", " ký tự, mã này có "),
    (
        "a code may use only ASCII letters, digits and . _ - @ (found",
        "mã chỉ được dùng chữ cái không dấu, chữ số và . _ - @ (có",
    ),
    (": time ", ": giờ "),
];

pub(super) fn vi_fragments(mut vi: String) -> String {
    for (en, v) in FRAGMENTS_VI {
        if vi.contains(en) {
            vi = vi.replace(en, v);
        }
    }
    vi
}
