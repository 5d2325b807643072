//! Writing a configuration back out, in the format `parse_config` reads.

use std::fmt::Write as _;

use luot_core::{Code, Counter, Minute, SiteConfig, Text, WeekHours};

use super::raw::DAY_KEYS;
use super::values::format_clock;
use super::{CenterConfig, RECENT_CALLS_SHOWN_DEFAULT, SiteSettings, default_counter_name};

/// Writes a configuration in the format `parse_config` reads: `parse_config(&to_toml(c), _)`
/// gives back `c` for every configuration `parse_config` produced. (Times are written in whole
/// minutes: a hand-built configuration with seconds that are not a multiple of 60 is rounded
/// down.)
pub fn to_toml(cfg: &CenterConfig) -> String {
    let mut w = String::new();
    w.push_str("# Luot center configuration. Format: see config/default.toml.\n");
    if let Some(url) = &cfg.public_url {
        let _ = writeln!(w, "public_url = {}", q(url));
    }
    if !cfg.allowed_origins.is_empty() {
        let list: Vec<String> = cfg.allowed_origins.iter().map(|o| q(o)).collect();
        let _ = writeln!(w, "allowed_origins = [{}]", list.join(", "));
    }
    for site in &cfg.sites {
        write_site(&mut w, site);
    }
    if let Some(b) = &cfg.backup {
        let _ = writeln!(w, "\n[backup]");
        let _ = writeln!(w, "time = {}", q(&format_clock(b.time)));
        let _ = writeln!(w, "folder = {}", q(&b.folder));
        let _ = writeln!(w, "days_kept = {}", b.days_kept);
    }
    for p in &cfg.printers {
        let _ = writeln!(w, "\n[[printer]]");
        let _ = writeln!(w, "name = {}", q(p.name.as_str()));
        let _ = writeln!(w, "site = {}", q(p.site.as_str()));
        let _ = writeln!(w, "kiosk = {}", q(&p.kiosk));
        let _ = writeln!(w, "address = {}", q(&p.address));
        let _ = writeln!(w, "paper_width_dots = {}", p.paper_width_dots);
        let _ = writeln!(w, "timeout_ms = {}", p.timeout_ms);
    }
    w
}

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn text_inline(t: &Text) -> String {
    format!("{{ vi = {}, en = {} }}", q(&t.vi), q(&t.en))
}

fn ranges_inline(ranges: &[(Minute, Minute)]) -> String {
    let list: Vec<String> = ranges
        .iter()
        .map(|&(s, e)| format!("\"{}-{}\"", format_clock(s), format_clock(e)))
        .collect();
    format!("[{}]", list.join(", "))
}

fn hours_inline(h: &WeekHours) -> String {
    let days: Vec<String> = h
        .days
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(d, r)| format!("{} = {}", DAY_KEYS[d], ranges_inline(r)))
        .collect();
    if days.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", days.join(", "))
    }
}

fn write_site(w: &mut String, site: &SiteSettings) {
    let c = &site.core;
    let _ = writeln!(w, "\n[[site]]");
    let _ = writeln!(w, "code = {}", q(c.code.as_str()));
    let _ = writeln!(w, "name = {}", text_inline(&c.name));
    let _ = writeln!(w, "time_zone = {}", q(&site.time_zone));
    if !c.holidays.is_empty() {
        w.push_str("holidays = [\n");
        for chunk in c.holidays.chunks(5) {
            let list: Vec<String> = chunk.iter().map(|d| format!("\"{d}\"")).collect();
            let _ = writeln!(w, "  {},", list.join(", "));
        }
        w.push_str("]\n");
    }
    if site.notice != Text::default() {
        let _ = writeln!(w, "notice = {}", text_inline(&site.notice));
    }
    if site.recent_calls != RECENT_CALLS_SHOWN_DEFAULT {
        let _ = writeln!(w, "recent_calls = {}", site.recent_calls);
    }
    match &c.policy.intake_close[..] {
        [] => {}
        [m] => {
            let _ = writeln!(w, "intake_close = \"{}\"", format_clock(*m));
        }
        list => {
            let times: Vec<String> = list
                .iter()
                .map(|m| format!("\"{}\"", format_clock(*m)))
                .collect();
            let _ = writeln!(w, "intake_close = [{}]", times.join(", "));
        }
    }

    if site.hours.days.iter().any(|d| !d.is_empty()) {
        w.push_str("\n[site.hours]\n");
        for (d, r) in site.hours.days.iter().enumerate() {
            if !r.is_empty() {
                let _ = writeln!(w, "{} = {}", DAY_KEYS[d], ranges_inline(r));
            }
        }
    }

    let p = &c.policy;
    w.push_str("\n[site.policy]\n");
    let _ = writeln!(w, "normal_per_priority = {}", p.normal_per_priority);
    let _ = writeln!(w, "max_wait_min = {}", p.max_wait_s / 60);
    let _ = writeln!(w, "appointment_early_min = {}", p.appointment_early_s / 60);
    let _ = writeln!(w, "no_show_return_min = {}", p.no_show_return_s / 60);
    let _ = writeln!(w, "recall_max = {}", p.recall_max);
    let _ = writeln!(w, "console_absent_s = {}", p.console_absent_s);
    let _ = writeln!(w, "wait_target_min = {}", p.wait_target_s / 60);
    let _ = writeln!(w, "rating_window_min = {}", p.rating_window_s / 60);
    let _ = writeln!(w, "tickets_per_day_max = {}", p.tickets_per_day_max);
    let _ = writeln!(w, "waiting_max = {}", p.waiting_max);
    let _ = writeln!(w, "per_person_day_max = {}", p.per_person_day_max);
    let _ = writeln!(
        w,
        "per_person_department_max = {}",
        p.per_person_department_max
    );
    let _ = writeln!(w, "remote_hold_min = {}", p.remote_hold_s / 60);
    let _ = writeln!(w, "hall_share_pct = {}", p.hall_share_pct);

    w.push_str("\n[site.rating]\nlabels = [\n");
    for t in &site.rating.labels {
        let _ = writeln!(w, "  {},", text_inline(t));
    }
    w.push_str("]\nlow_score_reasons = [\n");
    for t in &site.rating.low_score_reasons {
        let _ = writeln!(w, "  {},", text_inline(t));
    }
    w.push_str("]\n");

    let a = &site.announcement;
    w.push_str("\n[site.announcement]\n");
    let _ = writeln!(w, "vi = {}", q(&a.vi));
    let _ = writeln!(w, "en = {}", q(&a.en));
    let _ = writeln!(w, "repeat = {}", a.repeat);

    for p in &c.priority_categories {
        let _ = writeln!(w, "\n[[site.priority]]");
        let _ = writeln!(w, "code = {}", q(p.code.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&p.name));
        if let Some(a) = p.min_age {
            let _ = writeln!(w, "min_age = {a}");
        }
    }
    for d in &c.departments {
        let _ = writeln!(w, "\n[[site.department]]");
        let _ = writeln!(w, "code = {}", q(d.code.as_str()));
        let _ = writeln!(w, "prefix = {}", q(d.prefix.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&d.name));
    }
    for s in &c.services {
        let _ = writeln!(w, "\n[[site.service]]");
        let _ = writeln!(w, "code = {}", q(s.code.as_str()));
        let _ = writeln!(w, "department = {}", q(s.department.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&s.name));
        let _ = writeln!(w, "expected_service_min = {}", s.expected_service_s / 60);
        let _ = writeln!(w, "daily_cap = {}", s.daily_cap);
        if s.carry_over {
            w.push_str("carry_over = true\n");
        }
        if c.department(s.department).map(|d| d.prefix) != Some(s.prefix) {
            let _ = writeln!(w, "prefix = {}", q(s.prefix.as_str()));
        }
        if s.hours != site.hours {
            let _ = writeln!(w, "hours = {}", hours_inline(&s.hours));
        }
        if let Some(k) = site.service_keywords.get(&s.code)
            && !k.is_empty()
        {
            let list: Vec<String> = k.iter().map(|k| q(k)).collect();
            let _ = writeln!(w, "keywords = [{}]", list.join(", "));
        }
    }
    for counter in &c.counters {
        let _ = writeln!(w, "\n[[site.counter]]");
        let _ = writeln!(w, "code = {}", q(counter.code.as_str()));
        let _ = writeln!(w, "number = {}", counter.number);
        if counter.name != default_counter_name(counter.number) {
            let _ = writeln!(w, "name = {}", text_inline(&counter.name));
        }
        match departments_shorthand(c, counter) {
            Some(deps) => {
                let list: Vec<String> = deps.iter().map(|d| q(d.as_str())).collect();
                let _ = writeln!(w, "departments = [{}]", list.join(", "));
            }
            None => {
                let list: Vec<String> = counter
                    .services
                    .iter()
                    .map(|cs| {
                        if cs.weight == 1 {
                            q(cs.service.as_str())
                        } else {
                            format!(
                                "{{ service = {}, weight = {} }}",
                                q(cs.service.as_str()),
                                cs.weight
                            )
                        }
                    })
                    .collect();
                if list.len() <= 4 {
                    let _ = writeln!(w, "services = [{}]", list.join(", "));
                } else {
                    w.push_str("services = [\n");
                    for item in list {
                        let _ = writeln!(w, "  {item},");
                    }
                    w.push_str("]\n");
                }
            }
        }
        if counter.priority_first {
            w.push_str("priority_first = true\n");
        }
    }
}

/// The departments whose services, in order and all at weight 1, make exactly the counter's
/// list; `None` when the list is not such a concatenation (it is then written out in full).
fn departments_shorthand(site: &SiteConfig, counter: &Counter) -> Option<Vec<Code>> {
    let mut rest = counter.services.as_slice();
    let mut deps = Vec::new();
    while let Some(first) = rest.first() {
        let dept = site.service(first.service)?.department;
        let of_dept: Vec<Code> = site
            .services
            .iter()
            .filter(|s| s.department == dept)
            .map(|s| s.code)
            .collect();
        if deps.contains(&dept) || rest.len() < of_dept.len() {
            return None;
        }
        let (head, tail) = rest.split_at(of_dept.len());
        if !head
            .iter()
            .zip(&of_dept)
            .all(|(cs, code)| cs.service == *code && cs.weight == 1)
        {
            return None;
        }
        deps.push(dept);
        rest = tail;
    }
    (!deps.is_empty()).then_some(deps)
}
