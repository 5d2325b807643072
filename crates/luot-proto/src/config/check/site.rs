//! One `[[site]]`: its own keys, then each of its tables in turn (`[[site.priority]]`,
//! `[[site.department]]`, `[[site.service]]`, `[[site.counter]]`), each a step of its own. The
//! steps run in file order of dependence: a service names its department, a counter its services
//! and departments.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use luot_core::config::limits;
use luot_core::{
    Code, Counter, CounterService, Day, Department, Prefix, PriorityCategory, Service, SiteConfig,
    Text, WeekHours,
};
use toml::Spanned;

use super::{Checker, Declared};
use crate::config::raw::{
    RawCounter, RawDepartment, RawPriority, RawServe, RawService, RawSite, RawText,
};
use crate::config::values::{looks_like_iana, parse_date};
use crate::config::{
    COUNTER_NUMBER_MAX, DEFAULT_TIME_ZONE, HOLIDAYS_MAX, KEYWORD_LEN_MAX, KEYWORDS_PER_SERVICE_MAX,
    NAME_LEN_MAX, NOTICE_LEN_MAX, PRIORITIES_MAX, RECENT_CALLS_SHOWN_DEFAULT, SiteSettings,
    WEIGHT_MAX, default_counter_name,
};

/// Which department owns each ticket prefix, by department code: a prefix is one department's
/// (its services may share it), never two departments'.
type PrefixOwners = HashMap<Prefix, String>;

/// Lookups for the counters' service lists, built once: a site may have a thousand services and
/// two hundred counters.
struct ServiceIndex<'s> {
    /// The services that were built, by code.
    built: HashMap<&'s str, Code>,
    /// The built services of each department, in file order.
    built_of_department: HashMap<&'s str, Vec<Code>>,
    /// The declared services of each department (built or not), in file order.
    raw_of_department: HashMap<&'s str, Vec<&'s str>>,
}

impl Checker<'_> {
    pub(super) fn site(&mut self, raw: &RawSite) -> Option<SiteSettings> {
        let code = self.code(&raw.code, ("điểm phục vụ", "site"));
        let site_name = raw.code.get_ref();
        let name = self.text(
            &raw.name,
            (
                &format!("tên điểm phục vụ {site_name:?}"),
                &format!("name of site {site_name:?}"),
            ),
            NAME_LEN_MAX,
        );

        let time_zone = self.time_zone(raw.time_zone.as_ref());
        let holidays = self.holidays(&raw.holidays);
        let notice = self.notice(raw.notice.as_ref());

        let recent_calls = self
            .int(
                &raw.recent_calls,
                "recent_calls",
                1,
                crate::RECENT_CALLS_MAX as i64,
            )
            .map_or(RECENT_CALLS_SHOWN_DEFAULT, |n| n as u8);

        let intake_close = self.intake_close(raw.intake_close.as_ref());

        let site_hours = match &raw.hours {
            Some(h) => self.hours(h, ("giờ làm việc của điểm phục vụ", "site hours")),
            None => WeekHours::default(),
        };

        let (mut policy, rating) = self.policy_and_rating(&raw.policy, &raw.rating);
        policy.intake_close = intake_close;
        let announcement = self.announcement(&raw.announcement);
        let priority_categories = self.priorities(&raw.priority);
        let mut declared = Declared::default();
        let mut prefix_owner = PrefixOwners::new();
        let departments = self.departments(&raw.department, &mut declared, &mut prefix_owner);
        let (services, service_keywords) = self.services(
            &raw.service,
            &mut declared,
            &departments,
            &mut prefix_owner,
            &site_hours,
        );
        let counters = self.counters(&raw.counter, &raw.service, &declared, &services);
        if raw.service.is_empty() {
            self.err(
                raw.code.span(),
                format!(
                    "điểm phục vụ {site_name:?} chưa có thủ tục: thêm các bảng [[site.service]]"
                ),
                format!("site {site_name:?} has no services: add [[site.service]] tables"),
            );
        }

        Some(SiteSettings {
            core: SiteConfig {
                code: code?,
                name,
                departments,
                services,
                counters,
                priority_categories,
                policy,
                holidays,
            },
            time_zone,
            hours: site_hours,
            rating,
            announcement,
            notice,
            recent_calls,
            service_keywords,
        })
    }

    /// `time_zone`: its shape only; the server checks the name against the time zone database.
    fn time_zone(&mut self, raw: Option<&Spanned<String>>) -> String {
        match raw {
            None => DEFAULT_TIME_ZONE.to_owned(),
            Some(tz) => {
                if !looks_like_iana(tz.get_ref()) {
                    self.err(
                        tz.span(),
                        format!(
                            "time_zone {:?} không phải tên múi giờ IANA (Khu vực/Thành phố, ví dụ \"Asia/Ho_Chi_Minh\")",
                            tz.get_ref()
                        ),
                        format!(
                            "time_zone {:?} does not look like an IANA time zone name (Area/City, e.g. \"Asia/Ho_Chi_Minh\")",
                            tz.get_ref()
                        ),
                    );
                }
                tz.get_ref().clone()
            }
        }
    }

    /// `holidays`: real dates, none twice.
    fn holidays(&mut self, raw: &[Spanned<String>]) -> Vec<Day> {
        let mut holidays = Vec::new();
        let mut seen_days: HashMap<Day, Range<usize>> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            if i == HOLIDAYS_MAX {
                self.err(
                    h.span(),
                    format!("quá nhiều ngày nghỉ: tối đa {HOLIDAYS_MAX}"),
                    format!("too many holidays: at most {HOLIDAYS_MAX}"),
                );
            }
            match parse_date(h.get_ref()) {
                Some(day) => {
                    if let Some(first) = seen_days.get(&day) {
                        let line = self.line_of(first);
                        self.err(
                            h.span(),
                            format!("ngày nghỉ {day} được ghi hai lần (cả ở dòng {line})"),
                            format!("holiday {day} is listed twice (also on line {line})"),
                        );
                    } else {
                        seen_days.insert(day, h.span());
                        holidays.push(day);
                    }
                }
                None => self.err(
                    h.span(),
                    format!(
                        "ngày nghỉ {:?} không phải ngày hợp lệ: ghi theo dạng YYYY-MM-DD, ví dụ \"2026-09-02\"",
                        h.get_ref()
                    ),
                    format!(
                        "holiday {:?} is not a valid date: write YYYY-MM-DD, e.g. \"2026-09-02\"",
                        h.get_ref()
                    ),
                ),
            }
        }
        holidays
    }

    /// `notice`: the hall display's scrolling line, may be empty.
    fn notice(&mut self, raw: Option<&Spanned<RawText>>) -> Text {
        match raw {
            None => Text::default(),
            Some(n) => {
                let t = n.get_ref();
                if t.vi.len() > NOTICE_LEN_MAX || t.en.len() > NOTICE_LEN_MAX {
                    self.err(
                        n.span(),
                        format!("thông báo (notice) dài quá {NOTICE_LEN_MAX} byte"),
                        format!("notice is longer than {NOTICE_LEN_MAX} bytes"),
                    );
                }
                Text::new(t.vi.trim(), t.en.trim())
            }
        }
    }

    /// `[[site.priority]]`: the priority categories.
    fn priorities(&mut self, raw: &[RawPriority]) -> Vec<PriorityCategory> {
        let mut priority_categories = Vec::new();
        let mut seen: HashMap<String, Range<usize>> = HashMap::new();
        for (i, p) in raw.iter().enumerate() {
            if i == PRIORITIES_MAX {
                self.err(
                    p.code.span(),
                    format!("quá nhiều đối tượng ưu tiên: tối đa {PRIORITIES_MAX}"),
                    format!("too many priority categories: at most {PRIORITIES_MAX}"),
                );
            }
            self.duplicate(
                &mut seen,
                &p.code,
                ("đối tượng ưu tiên", "priority category"),
            );
            let c = self.code(&p.code, ("đối tượng ưu tiên", "priority category"));
            let n = self.text(
                &p.name,
                (
                    &format!("tên đối tượng ưu tiên {:?}", p.code.get_ref()),
                    &format!("name of priority category {:?}", p.code.get_ref()),
                ),
                NAME_LEN_MAX,
            );
            let r = &luot_core::config::PRIORITY_MIN_AGE_RANGE;
            let min_age = self
                .int(
                    &p.min_age,
                    &format!("site.priority.{}.min_age", p.code.get_ref()),
                    *r.start() as i64,
                    *r.end() as i64,
                )
                .map(|v| v as u8);
            if let Some(code) = c {
                priority_categories.push(PriorityCategory {
                    code,
                    name: n,
                    min_age,
                });
            }
        }
        priority_categories
    }

    /// `[[site.department]]`: the departments, recorded in `declared`, and their prefixes, in
    /// `prefix_owner`.
    fn departments(
        &mut self,
        raw: &[RawDepartment],
        declared: &mut Declared,
        prefix_owner: &mut PrefixOwners,
    ) -> Vec<Department> {
        let mut departments = Vec::new();
        for (i, d) in raw.iter().enumerate() {
            if i == limits::DEPARTMENTS_MAX {
                self.err(
                    d.code.span(),
                    format!(
                        "quá nhiều lĩnh vực: tối đa {} mỗi điểm phục vụ",
                        limits::DEPARTMENTS_MAX
                    ),
                    format!(
                        "too many departments: at most {} per site",
                        limits::DEPARTMENTS_MAX
                    ),
                );
            }
            let first = self.duplicate(
                &mut declared.departments,
                &d.code,
                ("lĩnh vực", "department"),
            );
            let c = self.code(&d.code, ("lĩnh vực", "department"));
            let n = self.text(
                &d.name,
                (
                    &format!("tên lĩnh vực {:?}", d.code.get_ref()),
                    &format!("name of department {:?}", d.code.get_ref()),
                ),
                NAME_LEN_MAX,
            );
            let prefix = self.prefix(&d.prefix);
            if let Some(p) = prefix
                && first
            {
                match prefix_owner.get(&p) {
                    Some(owner) if owner != d.code.get_ref() => self.err(
                        d.prefix.span(),
                        format!(
                            "tiền tố {:?} của lĩnh vực {:?} đã được lĩnh vực {owner:?} dùng",
                            p.as_str(),
                            d.code.get_ref()
                        ),
                        format!(
                            "prefix {:?} of department {:?} is already used by department {owner:?}",
                            p.as_str(),
                            d.code.get_ref()
                        ),
                    ),
                    _ => {
                        prefix_owner.insert(p, d.code.get_ref().clone());
                    }
                }
            }
            if let (Some(code), Some(prefix)) = (c, prefix) {
                departments.push(Department {
                    code,
                    name: n,
                    prefix,
                });
            }
        }
        departments
    }

    /// `[[site.service]]`: the services, recorded in `declared`, with their own hours (else the
    /// site's) and the search keywords of those that have some.
    fn services(
        &mut self,
        raw: &[RawService],
        declared: &mut Declared,
        departments: &[Department],
        prefix_owner: &mut PrefixOwners,
        site_hours: &WeekHours,
    ) -> (Vec<Service>, HashMap<Code, Vec<String>>) {
        let mut services = Vec::new();
        let mut service_keywords = HashMap::new();
        for (i, s) in raw.iter().enumerate() {
            if i == limits::SERVICES_MAX {
                self.err(
                    s.code.span(),
                    format!(
                        "quá nhiều thủ tục: tối đa {} mỗi điểm phục vụ",
                        limits::SERVICES_MAX
                    ),
                    format!(
                        "too many services: at most {} per site",
                        limits::SERVICES_MAX
                    ),
                );
            }
            let sname = s.code.get_ref();
            self.duplicate(&mut declared.services, &s.code, ("thủ tục", "service"));
            let c = self.code(&s.code, ("thủ tục", "service"));
            let n = self.text(
                &s.name,
                (
                    &format!("tên thủ tục {sname:?}"),
                    &format!("name of service {sname:?}"),
                ),
                NAME_LEN_MAX,
            );
            let dept = if declared.departments.contains_key(s.department.get_ref()) {
                departments
                    .iter()
                    .find(|d| d.code.as_str() == s.department.get_ref())
                    .cloned()
            } else {
                self.err(
                    s.department.span(),
                    format!(
                        "thủ tục {sname:?} thuộc lĩnh vực không có: {:?}",
                        s.department.get_ref()
                    ),
                    format!(
                        "service {sname:?} belongs to unknown department {:?}",
                        s.department.get_ref()
                    ),
                );
                None
            };
            let prefix = match &s.prefix {
                None => dept.as_ref().map(|d| d.prefix),
                Some(p) => {
                    let own = self.prefix(p);
                    if let (Some(own), Some(d)) = (own, &dept) {
                        match prefix_owner.get(&own) {
                            Some(owner) if owner != d.code.as_str() => self.err(
                                p.span(),
                                format!(
                                    "tiền tố {:?} của thủ tục {sname:?} đã được lĩnh vực {owner:?} dùng",
                                    own.as_str()
                                ),
                                format!(
                                    "prefix {:?} of service {sname:?} is already used by department {owner:?}",
                                    own.as_str()
                                ),
                            ),
                            _ => {
                                prefix_owner.insert(own, d.code.as_str().to_owned());
                            }
                        }
                    }
                    own
                }
            };
            let expected = self
                .int(&s.expected_service_min, "expected_service_min", 1, 240)
                .unwrap_or(10);
            let daily_cap = match &s.daily_cap {
                Some(v) if *v.get_ref() < 1 => {
                    self.err(
                        v.span(),
                        format!("daily_cap = {} phải từ 1 trở lên", v.get_ref()),
                        format!("daily_cap = {} must be at least 1", v.get_ref()),
                    );
                    500
                }
                v => self
                    .int(v, "daily_cap", 1, limits::TICKETS_PER_DAY_MAX as i64)
                    .unwrap_or(500),
            };
            let hours = match &s.hours {
                Some(h) => self.hours(
                    h.get_ref(),
                    (
                        &format!("giờ làm việc của thủ tục {sname:?}"),
                        &format!("hours of service {sname:?}"),
                    ),
                ),
                None => site_hours.clone(),
            };
            if hours.days.iter().all(Vec::is_empty) {
                let span = s.hours.as_ref().map_or(s.code.span(), Spanned::span);
                self.err(
                    span,
                    format!(
                        "thủ tục {sname:?} không bao giờ mở: khai báo giờ làm việc [site.hours] cho điểm phục vụ hoặc giờ riêng cho thủ tục"
                    ),
                    format!(
                        "service {sname:?} is never open: give the site [site.hours] or the service its own hours"
                    ),
                );
            }
            let keywords = self.keywords(&s.keywords, sname);
            if let (Some(code), Some(d), Some(prefix)) = (c, dept, prefix) {
                if !keywords.is_empty() {
                    service_keywords.insert(code, keywords);
                }
                services.push(Service {
                    code,
                    department: d.code,
                    name: n,
                    prefix,
                    hours,
                    daily_cap: daily_cap as u32,
                    expected_service_s: expected as u32 * 60,
                    carry_over: s.carry_over,
                });
            }
        }
        (services, service_keywords)
    }

    /// A service's `keywords`.
    fn keywords(&mut self, raw: &[Spanned<String>], sname: &str) -> Vec<String> {
        let mut keywords = Vec::new();
        for (k, kw) in raw.iter().enumerate() {
            let word = kw.get_ref().trim();
            if k == KEYWORDS_PER_SERVICE_MAX {
                self.err(
                    kw.span(),
                    format!(
                        "thủ tục {sname:?} có quá nhiều từ khóa: tối đa {KEYWORDS_PER_SERVICE_MAX}"
                    ),
                    format!(
                        "service {sname:?} has too many keywords: at most {KEYWORDS_PER_SERVICE_MAX}"
                    ),
                );
            }
            if word.is_empty() {
                self.err(
                    kw.span(),
                    format!("thủ tục {sname:?} có một từ khóa để trống"),
                    format!("service {sname:?} has an empty keyword"),
                );
            } else if word.len() > KEYWORD_LEN_MAX {
                self.err(
                    kw.span(),
                    format!("từ khóa dài quá {KEYWORD_LEN_MAX} byte"),
                    format!("keyword is longer than {KEYWORD_LEN_MAX} bytes"),
                );
            } else {
                keywords.push(word.to_owned());
            }
        }
        keywords
    }

    /// `[[site.counter]]`: the counters; then every declared service must be served by one.
    fn counters(
        &mut self,
        raw: &[RawCounter],
        raw_services: &[RawService],
        declared: &Declared,
        services: &[Service],
    ) -> Vec<Counter> {
        let built: HashMap<&str, Code> =
            services.iter().map(|s| (s.code.as_str(), s.code)).collect();
        let mut built_of_department: HashMap<&str, Vec<Code>> = HashMap::new();
        for s in services {
            built_of_department
                .entry(s.department.as_str())
                .or_default()
                .push(s.code);
        }
        let mut raw_of_department: HashMap<&str, Vec<&str>> = HashMap::new();
        for s in raw_services {
            raw_of_department
                .entry(s.department.get_ref())
                .or_default()
                .push(s.code.get_ref());
        }
        let index = ServiceIndex {
            built,
            built_of_department,
            raw_of_department,
        };
        let mut counters = Vec::new();
        let mut counter_codes: HashMap<String, Range<usize>> = HashMap::new();
        let mut numbers: HashMap<i64, String> = HashMap::new();
        let mut served: HashSet<String> = HashSet::new();
        for (i, c) in raw.iter().enumerate() {
            if i == limits::COUNTERS_MAX {
                self.err(
                    c.code.span(),
                    format!(
                        "quá nhiều quầy: tối đa {} mỗi điểm phục vụ",
                        limits::COUNTERS_MAX
                    ),
                    format!(
                        "too many counters: at most {} per site",
                        limits::COUNTERS_MAX
                    ),
                );
            }
            let cname = c.code.get_ref();
            self.duplicate(&mut counter_codes, &c.code, ("quầy", "counter"));
            let code = self.code(&c.code, ("quầy", "counter"));
            let number = self.int(
                &Some(c.number.clone()),
                "counter number",
                1,
                COUNTER_NUMBER_MAX as i64,
            );
            if let Some(n) = number {
                if let Some(other) = numbers.get(&n) {
                    self.err(
                        c.number.span(),
                        format!("quầy {cname:?} có số {n}, số này đã là của quầy {other:?}"),
                        format!(
                            "counter {cname:?} has number {n}, already used by counter {other:?}"
                        ),
                    );
                } else {
                    numbers.insert(n, cname.clone());
                }
            }
            let number = number.unwrap_or(1) as u16;
            let name = match &c.name {
                Some(t) => self.text(
                    t,
                    (
                        &format!("tên quầy {cname:?}"),
                        &format!("name of counter {cname:?}"),
                    ),
                    NAME_LEN_MAX,
                ),
                None => default_counter_name(number),
            };

            let list = self.counter_serves(c, declared, &index, &mut served);
            if let Some(code) = code {
                counters.push(Counter {
                    code,
                    number,
                    name,
                    services: list,
                    priority_first: c.priority_first,
                });
            }
        }
        for s in raw_services {
            if !served.contains(s.code.get_ref()) {
                self.err(
                    s.code.span(),
                    format!(
                        "thủ tục {:?} chưa có quầy nào phục vụ: thêm vào services hoặc departments của một quầy",
                        s.code.get_ref()
                    ),
                    format!(
                        "service {:?} is not served by any counter: add it to a counter's services or departments",
                        s.code.get_ref()
                    ),
                );
            }
        }
        counters
    }

    /// A counter's `services` and `departments`, as the list of services it serves; records in
    /// `served` every declared service it names, built or not.
    fn counter_serves(
        &mut self,
        c: &RawCounter,
        declared: &Declared,
        index: &ServiceIndex<'_>,
        served: &mut HashSet<String>,
    ) -> Vec<CounterService> {
        let cname = c.code.get_ref();
        let mut list: Vec<CounterService> = Vec::new();
        let mut listed: HashSet<String> = HashSet::new();
        let mut broken = false;
        for entry in &c.services {
            let (svc, span, weight) = match entry.get_ref() {
                RawServe::Code(s) => (s.clone(), entry.span(), None),
                RawServe::Table { service, weight } => {
                    (service.get_ref().clone(), service.span(), weight.clone())
                }
            };
            let weight = match weight {
                None => 1,
                Some(w) => self
                    .int(&Some(w), "weight", 1, WEIGHT_MAX as i64)
                    .unwrap_or(1) as u32,
            };
            if !declared.services.contains_key(&svc) {
                self.err(
                    span,
                    format!("quầy {cname:?} phục vụ thủ tục không có: {svc:?}"),
                    format!("counter {cname:?} serves unknown service {svc:?}"),
                );
                broken = true;
                continue;
            }
            if !listed.insert(svc.clone()) {
                self.err(
                    span,
                    format!("quầy {cname:?} ghi thủ tục {svc:?} hai lần"),
                    format!("counter {cname:?} lists service {svc:?} twice"),
                );
                continue;
            }
            served.insert(svc.clone());
            if let Some(&service) = index.built.get(svc.as_str()) {
                list.push(CounterService { service, weight });
            }
        }
        let mut listed_departments = HashSet::new();
        for d in &c.departments {
            if !declared.departments.contains_key(d.get_ref()) {
                self.err(
                    d.span(),
                    format!(
                        "quầy {cname:?} phục vụ lĩnh vực không có: {:?}",
                        d.get_ref()
                    ),
                    format!(
                        "counter {cname:?} serves unknown department {:?}",
                        d.get_ref()
                    ),
                );
                broken = true;
                continue;
            }
            if !listed_departments.insert(d.get_ref().clone()) {
                self.err(
                    d.span(),
                    format!("quầy {cname:?} ghi lĩnh vực {:?} hai lần", d.get_ref()),
                    format!("counter {cname:?} lists department {:?} twice", d.get_ref()),
                );
                continue;
            }
            for &rs in index
                .raw_of_department
                .get(d.get_ref().as_str())
                .into_iter()
                .flatten()
            {
                served.insert(rs.to_owned());
            }
            for &service in index
                .built_of_department
                .get(d.get_ref().as_str())
                .into_iter()
                .flatten()
            {
                if listed.insert(service.as_str().to_owned()) {
                    list.push(CounterService { service, weight: 1 });
                }
            }
        }
        if c.services.is_empty() && c.departments.is_empty() {
            self.err(
                c.code.span(),
                format!(
                    "quầy {cname:?} không phục vụ gì: thêm services = [...] hoặc departments = [...]"
                ),
                format!(
                    "counter {cname:?} serves nothing: give it services = [...] or departments = [...]"
                ),
            );
        } else if listed.is_empty() && !broken {
            self.err(
                c.code.span(),
                format!(
                    "quầy {cname:?} không phục vụ gì: các lĩnh vực của quầy chưa có thủ tục nào"
                ),
                format!("counter {cname:?} serves nothing: its departments have no services"),
            );
        }
        list
    }
}
