//! A site's `[site.policy]`, `[site.rating]` and `[site.announcement]`.

use luot_core::Policy;
use luot_core::config::limits;

use super::Checker;
use crate::config::raw::{RawAnnouncement, RawPolicy, RawRating};
use crate::config::{
    Announcement, LOW_SCORE_REASONS_MAX, NAME_LEN_MAX, RatingScale, default_low_score_reasons,
    default_rating_labels,
};

impl Checker<'_> {
    pub(super) fn policy_and_rating(
        &mut self,
        rp: &RawPolicy,
        rr: &RawRating,
    ) -> (Policy, RatingScale) {
        let d = Policy::default();
        let mins = |v: Option<i64>, default: u32| v.map_or(default, |m| m as u32 * 60);
        let mut p = Policy {
            normal_per_priority: self
                .int(&rp.normal_per_priority, "policy.normal_per_priority", 0, 20)
                .map_or(d.normal_per_priority, |v| v as u32),
            max_wait_s: mins(
                self.int(&rp.max_wait_min, "policy.max_wait_min", 1, 1440),
                d.max_wait_s,
            ),
            appointment_early_s: mins(
                self.int(
                    &rp.appointment_early_min,
                    "policy.appointment_early_min",
                    0,
                    240,
                ),
                d.appointment_early_s,
            ),
            no_show_return_s: mins(
                self.int(&rp.no_show_return_min, "policy.no_show_return_min", 0, 480),
                d.no_show_return_s,
            ),
            recall_max: self
                .int(&rp.recall_max, "policy.recall_max", 0, 20)
                .map_or(d.recall_max, |v| v as u8),
            console_absent_s: self
                .int(
                    &rp.console_absent_s,
                    "policy.console_absent_s",
                    luot_core::config::CONSOLE_ABSENT_S_MIN as i64,
                    3600,
                )
                .map_or(d.console_absent_s, |v| v as u32),
            wait_target_s: mins(
                self.int(
                    &rp.wait_target_min,
                    "policy.wait_target_min",
                    1,
                    luot_core::config::WAIT_TARGET_MIN_MAX as i64,
                ),
                d.wait_target_s,
            ),
            rating_window_s: mins(
                self.int(&rp.rating_window_min, "policy.rating_window_min", 1, 1440),
                d.rating_window_s,
            ),
            rating_levels: d.rating_levels,
            tickets_per_day_max: self
                .int(
                    &rp.tickets_per_day_max,
                    "policy.tickets_per_day_max",
                    1,
                    limits::TICKETS_PER_DAY_MAX as i64,
                )
                .map_or(d.tickets_per_day_max, |v| v as u32),
            waiting_max: self
                .int(
                    &rp.waiting_max,
                    "policy.waiting_max",
                    1,
                    limits::WAITING_MAX as i64,
                )
                .map_or(d.waiting_max, |v| v as u32),
            per_person_day_max: self
                .int(&rp.per_person_day_max, "policy.per_person_day_max", 1, 20)
                .map_or(d.per_person_day_max, |v| v as u8),
            per_person_department_max: self
                .int(
                    &rp.per_person_department_max,
                    "policy.per_person_department_max",
                    1,
                    20,
                )
                .map_or(d.per_person_department_max, |v| v as u8),
            // Set by the caller from the site's `intake_close`.
            intake_close: Vec::new(),
            remote_hold_s: mins(
                self.int(
                    &rp.remote_hold_min,
                    "policy.remote_hold_min",
                    0,
                    luot_core::config::REMOTE_HOLD_MIN_MAX as i64,
                ),
                d.remote_hold_s,
            ),
            hall_share_pct: self
                .int(&rp.hall_share_pct, "policy.hall_share_pct", 0, 100)
                .map_or(d.hall_share_pct, |v| v as u8),
        };
        if p.per_person_department_max > p.per_person_day_max
            && let Some(v) = rp
                .per_person_department_max
                .as_ref()
                .or(rp.per_person_day_max.as_ref())
        {
            self.err(
                v.span(),
                format!(
                    "policy.per_person_department_max = {} lớn hơn policy.per_person_day_max = {}",
                    p.per_person_department_max, p.per_person_day_max
                ),
                format!(
                    "policy.per_person_department_max = {} is more than policy.per_person_day_max = {}",
                    p.per_person_department_max, p.per_person_day_max
                ),
            );
        }

        let levels = self.int(&rp.rating_levels, "policy.rating_levels", 3, 5);
        let labels = match &rr.labels {
            None => default_rating_labels(levels.unwrap_or(d.rating_levels as i64) as u8),
            Some(list) => {
                let n = list.get_ref().len();
                if !(3..=5).contains(&n) {
                    self.err(
                        list.span(),
                        format!(
                            "thang đánh giá có {n} mức; phải có 3 đến 5 mức (mức tốt nhất trước)"
                        ),
                        format!(
                            "the rating scale has {n} labels; it must have 3 to 5 (best first)"
                        ),
                    );
                } else if let (Some(l), Some(v)) = (levels, &rp.rating_levels)
                    && l as usize != n
                {
                    self.err(
                        v.span(),
                        format!("policy.rating_levels = {l} nhưng [site.rating] có {n} mức"),
                        format!("policy.rating_levels = {l} but [site.rating] has {n} labels"),
                    );
                }
                list.get_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        self.text(
                            t,
                            (
                                &format!("mức đánh giá {}", i + 1),
                                &format!("rating label {}", i + 1),
                            ),
                            NAME_LEN_MAX,
                        )
                    })
                    .collect()
            }
        };
        p.rating_levels = labels.len().clamp(3, 5) as u8;
        let low_score_reasons = match &rr.low_score_reasons {
            None => default_low_score_reasons(),
            Some(list) => {
                if list.get_ref().len() > LOW_SCORE_REASONS_MAX {
                    self.err(
                        list.span(),
                        format!("quá nhiều lý do chưa hài lòng (low_score_reasons): tối đa {LOW_SCORE_REASONS_MAX}"),
                        format!("too many low_score_reasons: at most {LOW_SCORE_REASONS_MAX}"),
                    );
                }
                list.get_ref()
                    .iter()
                    .map(|t| {
                        self.text(t, ("lý do chưa hài lòng", "low score reason"), NAME_LEN_MAX)
                    })
                    .collect()
            }
        };
        (
            p,
            RatingScale {
                labels,
                low_score_reasons,
            },
        )
    }

    pub(super) fn announcement(&mut self, raw: &RawAnnouncement) -> Announcement {
        let mut a = Announcement::default();
        if let Some(vi) = &raw.vi {
            self.placeholders(vi, ("câu đọc gọi số (vi)", "announcement (vi)"));
            a.vi = vi.get_ref().trim().to_owned();
        }
        if let Some(en) = &raw.en {
            self.placeholders(en, ("câu đọc gọi số (en)", "announcement (en)"));
            a.en = en.get_ref().trim().to_owned();
        }
        if let Some(r) = self.int(&raw.repeat, "announcement.repeat", 1, 3) {
            a.repeat = r as u8;
        }
        a
    }
}
