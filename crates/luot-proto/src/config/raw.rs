//! The configuration file as serde reads it: every code, reference and time keeps its source
//! position (`toml::Spanned`), and unknown keys are refused, so a typo is an error and not a
//! silently ignored setting.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) public_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) allowed_origins: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) site: Vec<RawSite>,
    #[serde(default)]
    pub(super) printer: Vec<RawPrinter>,
    pub(super) backup: Option<Spanned<RawBackup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackup {
    pub(super) time: Spanned<String>,
    pub(super) folder: Option<Spanned<String>>,
    pub(super) days_kept: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrinter {
    pub(super) name: Spanned<String>,
    pub(super) site: Option<Spanned<String>>,
    pub(super) kiosk: Spanned<String>,
    pub(super) address: Spanned<String>,
    pub(super) paper_width_dots: Option<Spanned<i64>>,
    pub(super) timeout_ms: Option<Spanned<i64>>,
}

/// `intake_close`: one time, or one per session.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a time \"HH:MM\" or a list of times, one per session, e.g. [\"11:15\", \"16:45\"]"
)]
pub(super) enum RawClocks {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub(super) code: Spanned<String>,
    pub(super) name: Spanned<RawText>,
    pub(super) time_zone: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) holidays: Vec<Spanned<String>>,
    pub(super) notice: Option<Spanned<RawText>>,
    pub(super) recent_calls: Option<Spanned<i64>>,
    pub(super) intake_close: Option<Spanned<RawClocks>>,
    pub(super) hours: Option<RawHours>,
    #[serde(default)]
    pub(super) policy: RawPolicy,
    #[serde(default)]
    pub(super) rating: RawRating,
    #[serde(default)]
    pub(super) announcement: RawAnnouncement,
    #[serde(default)]
    pub(super) priority: Vec<RawPriority>,
    #[serde(default)]
    pub(super) department: Vec<RawDepartment>,
    #[serde(default)]
    pub(super) service: Vec<RawService>,
    #[serde(default)]
    pub(super) counter: Vec<RawCounter>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a text in both languages: { vi = \"…\", en = \"…\" }"
)]
pub(super) struct RawText {
    pub(super) vi: String,
    pub(super) en: String,
}

#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "opening hours: { mon = [\"07:00-11:30\", \"13:30-17:00\"], … }"
)]
pub(super) struct RawHours {
    #[serde(default)]
    pub(super) mon: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) tue: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) wed: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) thu: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) fri: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sat: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sun: Vec<Spanned<String>>,
}

pub(super) const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl RawHours {
    pub(super) fn days(&self) -> [&[Spanned<String>]; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) normal_per_priority: Option<Spanned<i64>>,
    pub(super) max_wait_min: Option<Spanned<i64>>,
    pub(super) appointment_early_min: Option<Spanned<i64>>,
    pub(super) no_show_return_min: Option<Spanned<i64>>,
    pub(super) recall_max: Option<Spanned<i64>>,
    pub(super) console_absent_s: Option<Spanned<i64>>,
    pub(super) wait_target_min: Option<Spanned<i64>>,
    pub(super) rating_window_min: Option<Spanned<i64>>,
    pub(super) rating_levels: Option<Spanned<i64>>,
    pub(super) tickets_per_day_max: Option<Spanned<i64>>,
    pub(super) waiting_max: Option<Spanned<i64>>,
    pub(super) per_person_day_max: Option<Spanned<i64>>,
    pub(super) per_person_department_max: Option<Spanned<i64>>,
    pub(super) remote_hold_min: Option<Spanned<i64>>,
    pub(super) hall_share_pct: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRating {
    pub(super) labels: Option<Spanned<Vec<Spanned<RawText>>>>,
    pub(super) low_score_reasons: Option<Spanned<Vec<Spanned<RawText>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnnouncement {
    pub(super) vi: Option<Spanned<String>>,
    pub(super) en: Option<Spanned<String>>,
    pub(super) repeat: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriority {
    pub(super) code: Spanned<String>,
    pub(super) name: Spanned<RawText>,
    pub(super) min_age: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDepartment {
    pub(super) code: Spanned<String>,
    pub(super) prefix: Spanned<String>,
    pub(super) name: Spanned<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) code: Spanned<String>,
    pub(super) department: Spanned<String>,
    pub(super) name: Spanned<RawText>,
    pub(super) expected_service_min: Option<Spanned<i64>>,
    pub(super) daily_cap: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) carry_over: bool,
    pub(super) prefix: Option<Spanned<String>>,
    pub(super) hours: Option<Spanned<RawHours>>,
    #[serde(default)]
    pub(super) keywords: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounter {
    pub(super) code: Spanned<String>,
    pub(super) number: Spanned<i64>,
    pub(super) name: Option<Spanned<RawText>>,
    #[serde(default)]
    pub(super) services: Vec<Spanned<RawServe>>,
    #[serde(default)]
    pub(super) departments: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) priority_first: bool,
}

/// One entry of a counter's `services`: `"khai-sinh"` or `{ service = "ket-hon", weight = 2 }`.
/// Deserialized by hand: an untagged enum would lose the source positions.
pub(super) enum RawServe {
    Code(String),
    Table {
        service: Spanned<String>,
        weight: Option<Spanned<i64>>,
    },
}

impl<'de> Deserialize<'de> for RawServe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawServe, D::Error> {
        struct ServeVisitor;
        impl<'de> Visitor<'de> for ServeVisitor {
            type Value = RawServe;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a service code or a table { service = \"khai-sinh\", weight = 2 }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawServe, E> {
                Ok(RawServe::Code(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawServe, A::Error> {
                const FIELDS: &[&str] = &["service", "weight"];
                let mut service = None;
                let mut weight = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "service" if service.is_none() => service = Some(map.next_value()?),
                        "weight" if weight.is_none() => weight = Some(map.next_value()?),
                        "service" | "weight" => {
                            return Err(de::Error::custom(format!("duplicate key `{key}`")));
                        }
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    }
                }
                let service = service.ok_or_else(|| de::Error::missing_field("service"))?;
                Ok(RawServe::Table { service, weight })
            }
        }
        d.deserialize_any(ServeVisitor)
    }
}
