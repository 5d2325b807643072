//! The checker: walks the raw file, collects **every** semantic error with its position, and
//! builds the checked configuration. The server-wide tables (`public_url`, `allowed_origins`,
//! `[[printer]]`, `[backup]`) are checked here, a `[[site]]` in `site`, its policy, rating scale
//! and announcement in `policy`.

mod policy;
mod site;

use std::collections::HashMap;
use std::ops::Range;

use luot_core::config::limits;
use luot_core::time::MINUTES_PER_DAY;
use luot_core::{Code, Minute, Prefix, Text, WeekHours};
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, vi_fragments};
use super::raw::{DAY_KEYS, RawBackup, RawClocks, RawFile, RawHours, RawPrinter, RawText};
use super::values::{check_printer_address, check_public_url, check_url, parse_clock, parse_range};
use super::*;

/// What a message is about, in Vietnamese and English: ("thủ tục", "service").
pub(super) type What<'w> = (&'w str, &'w str);

pub(super) struct Checker<'a> {
    src: &'a str,
    file: &'a str,
    line_starts: Vec<usize>,
    /// (offset, Vietnamese, English).
    pub(super) errors: Vec<(usize, String, String)>,
}

/// The codes a site declares, by kind, with where each was first declared. Reference checks use
/// these (and not the built core structs) so that one broken service does not also make every
/// counter that names it "unknown".
#[derive(Default)]
pub(super) struct Declared {
    pub(super) departments: HashMap<String, Range<usize>>,
    pub(super) services: HashMap<String, Range<usize>>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(src: &'a str, file: &'a str) -> Checker<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Checker {
            src,
            file,
            line_starts,
            errors: Vec::new(),
        }
    }

    pub(super) fn err(&mut self, span: Range<usize>, vi: impl Into<String>, en: impl Into<String>) {
        let vi = vi_fragments(vi.into());
        self.errors.push((span.start, vi, en.into()));
    }

    fn position(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.src[start..offset].chars().count() + 1;
        (line as u32, column as u32)
    }

    fn line_of(&self, span: &Range<usize>) -> u32 {
        self.position(span.start).0
    }

    pub(super) fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|(offset, _, _)| *offset);
        self.errors.dedup();
        let errors = self
            .errors
            .iter()
            .map(|(offset, vi, en)| {
                let (line, column) = self.position(*offset);
                ConfigError {
                    file: self.file.to_owned(),
                    line,
                    column,
                    message: en.clone(),
                    message_vi: vi.clone(),
                }
            })
            .collect();
        ConfigErrors { errors }
    }

    // ----- small checks -----

    fn code(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) -> Option<Code> {
        match Code::new(s.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                self.err(
                    s.span(),
                    format!("Mã {what_vi} {:?}: {e}", s.get_ref()),
                    format!("{what} code {:?}: {e}", s.get_ref()),
                );
                None
            }
        }
    }

    fn text(&mut self, t: &Spanned<RawText>, (what_vi, what): What<'_>, max_len: usize) -> Text {
        let raw = t.get_ref();
        for (lang_vi, lang, value) in [
            ("tiếng Việt (vi)", "Vietnamese (vi)", &raw.vi),
            ("tiếng Anh (en)", "English (en)", &raw.en),
        ] {
            if value.trim().is_empty() {
                self.err(
                    t.span(),
                    format!("{what_vi} chưa có chữ {lang_vi}"),
                    format!("{what} has no {lang} text"),
                );
            } else if value.len() > max_len {
                self.err(
                    t.span(),
                    format!("{what_vi}: chữ {lang_vi} dài quá {max_len} byte"),
                    format!("{what}: the {lang} text is longer than {max_len} bytes"),
                );
            }
        }
        Text::new(raw.vi.trim(), raw.en.trim())
    }

    fn int(&mut self, v: &Option<Spanned<i64>>, name: &str, lo: i64, hi: i64) -> Option<i64> {
        let v = v.as_ref()?;
        let n = *v.get_ref();
        if (lo..=hi).contains(&n) {
            Some(n)
        } else {
            self.err(
                v.span(),
                format!("{name} = {n} nằm ngoài khoảng cho phép: phải từ {lo} đến {hi}"),
                format!("{name} = {n} is out of range: it must be between {lo} and {hi}"),
            );
            None
        }
    }

    /// The `intake_close` times, sorted: each must be a valid `HH:MM`, none twice, at most
    /// `limits::INTAKE_CLOSES_MAX`.
    fn clock(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) -> Option<Minute> {
        match parse_clock(s.get_ref().trim()) {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(
                    s.span(),
                    format!("{what_vi} {:?}: {e}", s.get_ref()),
                    format!("{what} {:?}: {e}", s.get_ref()),
                );
                None
            }
        }
    }

    fn intake_close(&mut self, raw: Option<&Spanned<RawClocks>>) -> Vec<Minute> {
        let Some(raw) = raw else { return Vec::new() };
        let list: Vec<&String> = match raw.get_ref() {
            RawClocks::One(s) => vec![s],
            RawClocks::Many(v) => v.iter().collect(),
        };
        if list.len() > limits::INTAKE_CLOSES_MAX {
            self.err(
                raw.span(),
                format!(
                    "intake_close có {} giờ: tối đa {}",
                    list.len(),
                    limits::INTAKE_CLOSES_MAX
                ),
                format!(
                    "intake_close has {} times: at most {}",
                    list.len(),
                    limits::INTAKE_CLOSES_MAX
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            match parse_clock(s.trim()) {
                Ok(m) if out.contains(&m) => {
                    self.err(
                        raw.span(),
                        format!("intake_close {s:?} được ghi hai lần"),
                        format!("intake_close {s:?} is given twice"),
                    );
                }
                Ok(m) => out.push(m),
                Err(e) => self.err(
                    raw.span(),
                    format!("intake_close {s:?}: {e}"),
                    format!("intake_close {s:?}: {e}"),
                ),
            }
        }
        out.sort_unstable();
        out
    }

    fn hours(&mut self, raw: &RawHours, (what_vi, what): What<'_>) -> WeekHours {
        let mut week = WeekHours::default();
        for (d, ranges) in raw.days().into_iter().enumerate() {
            let mut parsed: Vec<(Minute, Minute, &Spanned<String>)> = Vec::new();
            for r in ranges {
                match parse_range(r.get_ref()) {
                    Ok((s, e)) => parsed.push((s, e, r)),
                    Err(e) => self.err(
                        r.span(),
                        format!("{what_vi} {:?}: {e}", r.get_ref()),
                        format!("{what} {:?}: {e}", r.get_ref()),
                    ),
                }
            }
            parsed.sort_by_key(|&(s, e, _)| (s, e));
            for pair in parsed.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if b.0 < a.1 {
                    self.err(
                        b.2.span(),
                        format!(
                            "{what_vi} {:?} chồng lên {:?} vào {}",
                            b.2.get_ref(),
                            a.2.get_ref(),
                            DAY_KEYS[d]
                        ),
                        format!(
                            "{what} {:?} overlaps {:?} on {}",
                            b.2.get_ref(),
                            a.2.get_ref(),
                            DAY_KEYS[d]
                        ),
                    );
                }
            }
            week.days[d] = parsed.iter().map(|&(s, e, _)| (s, e)).collect();
        }
        week
    }

    fn placeholders(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) {
        let t = s.get_ref();
        if t.trim().is_empty() {
            self.err(
                s.span(),
                format!("{what_vi} đang để trống"),
                format!("{what} is empty"),
            );
            return;
        }
        if t.len() > ANNOUNCEMENT_LEN_MAX {
            self.err(
                s.span(),
                format!("{what_vi} dài quá {ANNOUNCEMENT_LEN_MAX} byte"),
                format!("{what} is longer than {ANNOUNCEMENT_LEN_MAX} bytes"),
            );
        }
        let mut rest = t.as_str();
        let mut has_ticket = false;
        while let Some(i) = rest.find(['{', '}']) {
            if rest[i..].starts_with('}') {
                self.err(
                    s.span(),
                    format!("{what_vi} có dấu '}}' mà không có '{{'; chỗ điền viết như {{ticket}}"),
                    format!("{what} has a '}}' without '{{'; placeholders look like {{ticket}}"),
                );
                return;
            }
            let after = &rest[i + 1..];
            let close = match after.find(['{', '}']) {
                Some(j) if after[j..].starts_with('}') => j,
                _ => {
                    self.err(
                        s.span(),
                        format!(
                            "{what_vi} có dấu '{{' mà không có '}}'; chỗ điền viết như {{ticket}}"
                        ),
                        format!(
                            "{what} has a '{{' without '}}'; placeholders look like {{ticket}}"
                        ),
                    );
                    return;
                }
            };
            let name = &after[..close];
            if !ANNOUNCEMENT_PLACEHOLDERS.contains(&name) {
                self.err(
                    s.span(),
                    format!(
                        "{what_vi} dùng chỗ điền không có {{{name}}}; chỉ có {{ticket}} và {{counter}}"
                    ),
                    format!(
                        "{what} uses unknown placeholder {{{name}}}; the known placeholders are {{ticket}} and {{counter}}"
                    ),
                );
                return;
            }
            has_ticket |= name == "ticket";
            rest = &after[close + 1..];
        }
        if !has_ticket {
            self.err(
                s.span(),
                format!("{what_vi} không đọc số thứ tự: thêm {{ticket}}"),
                format!("{what} never says the ticket number: add {{ticket}}"),
            );
        }
    }

    // ----- the file -----

    pub(super) fn file(&mut self, raw: &RawFile) -> CenterConfig {
        let public_url =
            raw.public_url
                .as_ref()
                .and_then(|u| match check_public_url(u.get_ref()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        self.err(
                            u.span(),
                            format!("public_url {:?}: {e}", u.get_ref()),
                            format!("public_url {:?}: {e}", u.get_ref()),
                        );
                        None
                    }
                });
        let mut allowed_origins = Vec::new();
        for (i, o) in raw.allowed_origins.iter().enumerate() {
            if i == ORIGINS_MAX {
                self.err(
                    o.span(),
                    format!("allowed_origins quá nhiều: tối đa {ORIGINS_MAX}"),
                    format!("too many allowed_origins: at most {ORIGINS_MAX}"),
                );
            }
            match check_url(o.get_ref(), true) {
                Ok(()) => allowed_origins.push(o.get_ref().clone()),
                Err(e) => self.err(
                    o.span(),
                    format!("allowed_origins {:?}: {e}", o.get_ref()),
                    format!("allowed origin {:?}: {e}", o.get_ref()),
                ),
            }
        }
        if raw.site.is_empty() {
            self.err(
                0..0,
                "chưa khai báo điểm phục vụ nào: thêm một bảng [[site]]",
                "no site is defined: add a [[site]] table",
            );
        }
        let mut site_codes: HashMap<String, Range<usize>> = HashMap::new();
        let mut sites = Vec::new();
        for (i, s) in raw.site.iter().enumerate() {
            if i == SITES_MAX {
                self.err(
                    s.code.span(),
                    format!("quá nhiều điểm phục vụ ([[site]]): tối đa {SITES_MAX}"),
                    format!("too many sites: at most {SITES_MAX}"),
                );
            }
            if let Some(first) = site_codes.get(s.code.get_ref()) {
                let line = self.line_of(first);
                self.err(
                    s.code.span(),
                    format!(
                        "mã điểm phục vụ {:?} bị trùng (đã khai báo ở dòng {line})",
                        s.code.get_ref()
                    ),
                    format!(
                        "duplicate site code {:?} (first defined on line {line})",
                        s.code.get_ref()
                    ),
                );
            } else {
                site_codes.insert(s.code.get_ref().clone(), s.code.span());
            }
            if let Some(site) = self.site(s) {
                sites.push(site);
            }
        }
        let printers = self.printers(&raw.printer, &sites);
        let backup = raw.backup.as_ref().and_then(|b| self.backup(b.get_ref()));
        CenterConfig {
            public_url,
            allowed_origins,
            sites,
            printers,
            backup,
        }
    }

    fn backup(&mut self, raw: &RawBackup) -> Option<BackupSettings> {
        let time = self.clock(&raw.time, ("giờ sao lưu", "backup time"));
        if time == Some(MINUTES_PER_DAY) {
            self.err(
                raw.time.span(),
                "giờ sao lưu 24:00: hãy ghi 00:00 (một ngày không có phút 24:00)",
                "backup time 24:00: write 00:00 (a day has no minute 24:00)",
            );
        }
        let folder = match &raw.folder {
            None => BACKUP_FOLDER_DEFAULT.to_owned(),
            Some(f) => {
                let v = f.get_ref().trim();
                if v.is_empty() || v.len() > BACKUP_FOLDER_LEN_MAX || v.contains('\0') {
                    self.err(
                        f.span(),
                        format!(
                            "thư mục sao lưu {:?}: ghi đường dẫn thư mục dài 1 đến {BACKUP_FOLDER_LEN_MAX} byte",
                            f.get_ref()
                        ),
                        format!(
                            "backup folder {:?}: write a folder path of 1 to {BACKUP_FOLDER_LEN_MAX} bytes",
                            f.get_ref()
                        ),
                    );
                }
                v.to_owned()
            }
        };
        let days_kept = match &raw.days_kept {
            None => Some(BACKUP_DAYS_KEPT_DEFAULT),
            Some(_) => self
                .int(&raw.days_kept, "days_kept", 1, BACKUP_DAYS_KEPT_MAX)
                .map(|d| d as u32),
        };
        Some(BackupSettings {
            time: time.filter(|&t| t < MINUTES_PER_DAY)?,
            folder,
            days_kept: days_kept?,
        })
    }

    fn printers(&mut self, raw: &[RawPrinter], sites: &[SiteSettings]) -> Vec<PrinterSettings> {
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let mut kiosks: HashMap<(String, String), Range<usize>> = HashMap::new();
        let mut out = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            if i == PRINTERS_MAX {
                self.err(
                    p.name.span(),
                    format!("quá nhiều máy in: tối đa {PRINTERS_MAX}"),
                    format!("too many printers: at most {PRINTERS_MAX}"),
                );
            }
            let name = self.code(&p.name, ("máy in", "printer"));
            if let Some(first) = names.get(p.name.get_ref()) {
                let line = self.line_of(first);
                self.err(
                    p.name.span(),
                    format!(
                        "tên máy in {:?} bị trùng (đã khai báo ở dòng {line})",
                        p.name.get_ref()
                    ),
                    format!(
                        "duplicate printer name {:?} (first defined on line {line})",
                        p.name.get_ref()
                    ),
                );
            } else {
                names.insert(p.name.get_ref().clone(), p.name.span());
            }
            let site = match &p.site {
                None => sites.first().map(|s| s.core.code),
                Some(s) => match sites.iter().find(|x| x.core.code.as_str() == s.get_ref()) {
                    Some(x) => Some(x.core.code),
                    None => {
                        self.err(
                            s.span(),
                            format!(
                                "máy in {:?}: không có điểm phục vụ {:?}",
                                p.name.get_ref(),
                                s.get_ref()
                            ),
                            format!(
                                "printer {:?}: unknown site {:?}",
                                p.name.get_ref(),
                                s.get_ref()
                            ),
                        );
                        None
                    }
                },
            };
            let kiosk = p.kiosk.get_ref().trim();
            if kiosk.is_empty() || kiosk.len() > KIOSK_NAME_LEN_MAX {
                self.err(
                    p.kiosk.span(),
                    format!(
                        "máy in {:?}: kiosk phải là tên một kiosk đã ghép nối, dài 1 đến {KIOSK_NAME_LEN_MAX} byte",
                        p.name.get_ref()
                    ),
                    format!(
                        "printer {:?}: kiosk must be a paired kiosk's name, 1 to {KIOSK_NAME_LEN_MAX} bytes",
                        p.name.get_ref()
                    ),
                );
            } else if let Some(site) = site {
                let key = (site.to_string(), kiosk.to_owned());
                if let Some(first) = kiosks.get(&key) {
                    let line = self.line_of(first);
                    self.err(
                        p.kiosk.span(),
                        format!("kiosk {kiosk:?} đã có máy in (dòng {line}); mỗi kiosk in ra một máy in"),
                        format!("kiosk {kiosk:?} already has a printer (line {line}); a kiosk prints on one printer"),
                    );
                } else {
                    kiosks.insert(key, p.kiosk.span());
                }
            }
            let address = match check_printer_address(p.address.get_ref()) {
                Ok(a) => Some(a),
                Err(e) => {
                    self.err(
                        p.address.span(),
                        format!(
                            "máy in {:?}: địa chỉ {:?}: {e}",
                            p.name.get_ref(),
                            p.address.get_ref()
                        ),
                        format!(
                            "printer {:?}: address {:?}: {e}",
                            p.name.get_ref(),
                            p.address.get_ref()
                        ),
                    );
                    None
                }
            };
            let width = self.int(
                &p.paper_width_dots,
                "paper_width_dots",
                PAPER_WIDTH_DOTS_MIN,
                PAPER_WIDTH_DOTS_MAX,
            );
            if let (Some(w), Some(raw_w)) = (width.filter(|w| w % 8 != 0), &p.paper_width_dots) {
                self.err(
                    raw_w.span(),
                    format!("paper_width_dots = {w} phải là bội số của 8 (576 cho giấy 80 mm, 384 cho giấy 58 mm)"),
                    format!("paper_width_dots = {w} must be a multiple of 8 (576 for 80 mm paper, 384 for 58 mm)"),
                );
            }
            let timeout = self.int(
                &p.timeout_ms,
                "timeout_ms",
                PRINTER_TIMEOUT_MS_MIN,
                PRINTER_TIMEOUT_MS_MAX,
            );
            if let (Some(name), Some(site), Some(address)) = (name, site, address) {
                out.push(PrinterSettings {
                    name,
                    site,
                    kiosk: kiosk.to_owned(),
                    address,
                    paper_width_dots: width.map_or(PAPER_WIDTH_DOTS_DEFAULT, |w| w as u16),
                    timeout_ms: timeout.map_or(PRINTER_TIMEOUT_MS_DEFAULT, |t| t as u32),
                });
            }
        }
        out
    }

    /// Records `code` as declared; reports and returns false if it already was.
    fn duplicate(
        &mut self,
        seen: &mut HashMap<String, Range<usize>>,
        code: &Spanned<String>,
        (what_vi, what): What<'_>,
    ) -> bool {
        if let Some(first) = seen.get(code.get_ref()) {
            let line = self.line_of(first);
            self.err(
                code.span(),
                format!(
                    "mã {what_vi} {:?} bị trùng (đã khai báo ở dòng {line})",
                    code.get_ref()
                ),
                format!(
                    "duplicate {what} code {:?} (first defined on line {line})",
                    code.get_ref()
                ),
            );
            false
        } else {
            seen.insert(code.get_ref().clone(), code.span());
            true
        }
    }

    fn prefix(&mut self, p: &Spanned<String>) -> Option<Prefix> {
        let prefix = Prefix::new(p.get_ref());
        if prefix.is_none() {
            self.err(
                p.span(),
                format!(
                    "tiền tố {:?} không hợp lệ: dùng 1 đến 3 chữ cái in hoa không dấu, ví dụ \"A\" hoặc \"KQ\"",
                    p.get_ref()
                ),
                format!(
                    "prefix {:?} is not valid: use 1 to 3 uppercase ASCII letters, e.g. \"A\" or \"KQ\"",
                    p.get_ref()
                ),
            );
        }
        prefix
    }
}
