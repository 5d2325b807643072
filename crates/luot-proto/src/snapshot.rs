//! Read models: what a client needs to draw the hall, a counter or a ticket, built from the
//! core's live state.

use luot_core as core;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketView {
    /// Id within the site's day; ids restart every day and a carried ticket gets a new one.
    pub id: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TicketNumber) )]
    pub number: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub service: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TicketStateCode))]
    pub state: String,
    /// Priority category code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
    pub priority: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ChannelCode))]
    pub channel: String,
    /// Unix epoch milliseconds.
    pub issued_at_ms: i64,
    /// When it last joined a queue (issue, return, transfer to a counter).
    pub enqueued_at_ms: i64,
    /// The counter that last called it (kept after the call ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
    pub counter: Option<String>,
    /// Set while it waits for one counter after a transfer to that counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
    pub target_counter: Option<String>,
    /// Unix epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub called_at_ms: Option<i64>,
    /// Unix epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub started_at_ms: Option<i64>,
    /// Unix epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub finished_at_ms: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub recalls: u8,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub transfers: u8,
    /// Why it was called (a `CallReason` code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::CallReasonCode>))]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 1))]
    pub rating: Option<u8>,
    /// For a waiting ticket: people ahead and the wait range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub estimate: Option<EstimateDto>,
    /// For a waiting ticket whose wait may run past the end of its service's session (lunch
    /// or closing): that session, so the ticket says "Có thể đến buổi chiều (13:30) mới tới lượt".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub past_session: Option<SessionDto>,
    /// A number taken from home, waiting but not checked in: it keeps its place in line and is
    /// not called until the kiosk or an official checks it in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub away: bool,
    /// For an away ticket whose turn has come: checked in by then, it keeps its place; later,
    /// it waits from its check-in, behind those who came meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub hold_until_ms: Option<i64>,
}

impl TicketView {
    /// A ticket with its wait estimate (O(people ahead); for one ticket, not for lists).
    pub fn of(t: &core::Ticket, site: &core::Site) -> TicketView {
        let mut v = TicketView::brief(t);
        if t.state == core::TicketState::Waiting {
            v.estimate = site.estimate_ticket(t.id).map(EstimateDto::from);
            if !t.present {
                let hold_ms = site.config().policy.remote_hold_s as i64 * 1000;
                v.hold_until_ms = t.turn_passed_at_ms.map(|p| p + hold_ms);
            }
        }
        v
    }

    /// A ticket with its wait estimate, and the session its wait may run past, at `now`.
    pub fn of_at(t: &core::Ticket, site: &core::Site, now: &core::Now) -> TicketView {
        let mut v = TicketView::of(t, site);
        if let Some(e) = v.estimate {
            v.past_session = site
                .wait_runs_past_session(*t.service, now, e.high_s)
                .map(SessionDto::from);
        }
        v
    }

    /// A ticket without its estimate.
    pub fn brief(t: &core::Ticket) -> TicketView {
        TicketView {
            id: t.id.0,
            number: t.number.to_string(),
            service: t.service.to_string(),
            state: t.state.as_str().into(),
            priority: t.priority.map(|p| p.to_string()),
            channel: t.channel.as_str().into(),
            issued_at_ms: t.issued_at_ms,
            enqueued_at_ms: t.enqueued_at_ms,
            counter: t.counter.map(|c| c.to_string()),
            target_counter: t.target_counter.map(|c| c.to_string()),
            called_at_ms: t.called_at_ms,
            started_at_ms: t.started_at_ms,
            finished_at_ms: t.finished_at_ms,
            recalls: t.recalls,
            transfers: t.transfers,
            reason: t.last_reason.map(|r| r.code().to_string()),
            rating: t.rating,
            estimate: None,
            past_session: None,
            away: t.state == core::TicketState::Waiting && !t.present,
            hold_until_ms: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Estimate))]
pub struct EstimateDto {
    /// People ahead (for a service: people waiting).
    pub ahead: u32,
    /// Open counters serving it.
    pub counters: u32,
    /// Absent while no counter serving it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub low_s: Option<u32>,
    /// High end of the wait range, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub high_s: Option<u32>,
    /// A counter is open but the range would be too wide to plan by: clients show "chưa đủ dữ
    /// liệu để ước tính" (not enough data to estimate yet) instead of a range.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

impl From<core::WaitEstimate> for EstimateDto {
    fn from(e: core::WaitEstimate) -> EstimateDto {
        EstimateDto {
            ahead: e.ahead,
            counters: e.counters,
            low_s: e.range_s.map(|r| r.0),
            high_s: e.range_s.map(|r| r.1),
            uncertain: e.uncertain,
        }
    }
}

/// The session (run of opening hours) a service is in: when it ends and when it opens again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Session))]
pub struct SessionDto {
    /// `HH:MM`, site time, today.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{2}:[0-9]{2}$"))]
    pub ends: String,
    /// `YYYY-MM-DD HH:MM`, when the service opens again (within two weeks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"
        )
    )]
    pub resumes: Option<String>,
}

fn hhmm(m: core::Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl From<core::Session> for SessionDto {
    fn from(s: core::Session) -> SessionDto {
        SessionDto {
            ends: hhmm(s.ends),
            resumes: s.resumes.map(|(d, m)| format!("{d} {}", hhmm(m))),
        }
    }
}

/// What a ticket whose wait may run past the end of a session says, in Vietnamese and English.
/// The kiosk says the same before issuing (`sessionNote` in kiosk.js).
pub fn session_note(s: &core::Session, today: core::Day) -> (String, String) {
    match s.resumes {
        Some((d, m)) if d == today && m >= 12 * 60 => (
            format!("Có thể đến buổi chiều ({}) mới tới lượt", hhmm(m)),
            format!(
                "Your turn may not come before the afternoon session ({})",
                hhmm(m)
            ),
        ),
        Some((d, m)) if d == today => (
            format!("Có thể sau giờ nghỉ ({}) mới tới lượt", hhmm(m)),
            format!("Your turn may not come before the break ends ({})", hhmm(m)),
        ),
        _ => (
            format!("Có thể quá giờ làm việc ({}) mới tới lượt", hhmm(s.ends)),
            format!("Your turn may come after closing time ({})", hhmm(s.ends)),
        ),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceStatsDto {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub service: String,
    pub waiting: u32,
    /// Issued today.
    pub issued: u32,
    /// Today's cap: the configured one, or the one a manager raised it to.
    pub daily_cap: u32,
    /// Taking tickets now (hours, holiday, `intake_close`, daily cap, stopped by a manager).
    pub open: bool,
    /// Why not, when closed (a rejection code) and when it opens next (`YYYY-MM-DD HH:MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::ClosedReasonCode>))]
    pub closed_reason: Option<String>,
    /// When it opens next, `YYYY-MM-DD HH:MM` (for service_closed and intake_closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"
        )
    )]
    pub opens_at: Option<String>,
    /// The manager's reason while issuing is stopped (`closed_reason` `service_paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub paused_reason: Option<String>,
    pub estimate: EstimateDto,
    /// While the service is in its hours: when this session ends and when it opens again. A
    /// newcomer whose wait's high end runs past `ends` (or is not known) is told so before
    /// issuing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub session: Option<SessionDto>,
}

/// A procedure as the page for numbers from home (`/lay-so`) shows it: whether a number can be
/// taken from home now, how many are left today, and the wait a newcomer would have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteServiceDto {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub service: String,
    /// A number can be taken from home now.
    pub open: bool,
    /// Why not (a rejection code: hours, holiday, intake close, cap, stopped, or
    /// `remote_share_reached`) and when it opens next (`YYYY-MM-DD HH:MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::RemoteClosedReasonCode>))]
    pub closed_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"
        )
    )]
    pub opens_at: Option<String>,
    /// Numbers still to be had from home today.
    pub remote_left: u32,
    pub waiting: u32,
    pub estimate: EstimateDto,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub session: Option<SessionDto>,
}

impl RemoteServiceDto {
    pub fn of(site: &core::Site, service: &core::Service, now: &core::Now) -> RemoteServiceDto {
        let stats = ServiceStatsDto::of(site, service, now);
        let remote_left = site.remote_left(service.code);
        let closed_reason = match stats.closed_reason {
            None if remote_left == 0 => Some("remote_share_reached".to_string()),
            other => other,
        };
        RemoteServiceDto {
            service: stats.service,
            open: closed_reason.is_none(),
            closed_reason,
            opens_at: stats.opens_at,
            remote_left,
            waiting: stats.waiting,
            estimate: stats.estimate,
            session: stats.session,
        }
    }
}

impl ServiceStatsDto {
    pub fn of(site: &core::Site, service: &core::Service, now: &core::Now) -> ServiceStatsDto {
        let intake = if site.config().holidays.contains(&now.day) {
            Err(core::Rejection::Holiday)
        } else {
            site.intake(service.code, now)
        };
        let issued = site.issued_for(service.code);
        let daily_cap = site.daily_cap(service.code).unwrap_or(service.daily_cap);
        let (closed_reason, opens_at) = match &intake {
            Ok(()) if issued >= daily_cap => (Some("daily_cap_reached".to_string()), None),
            Ok(()) => (None, None),
            Err(r) => {
                let opens = match r {
                    core::Rejection::ServiceClosed {
                        next_open: Some((d, m)),
                    }
                    | core::Rejection::IntakeClosed {
                        next_open: Some((d, m)),
                        ..
                    } => Some(format!("{d} {:02}:{:02}", m / 60, m % 60)),
                    _ => None,
                };
                (Some(r.code().to_string()), opens)
            }
        };
        ServiceStatsDto {
            service: service.code.to_string(),
            waiting: site.waiting_for(service.code),
            issued,
            daily_cap,
            open: closed_reason.is_none(),
            closed_reason,
            opens_at,
            paused_reason: site.service_paused(service.code).map(str::to_string),
            estimate: site
                .estimate_service(service.code)
                .map(EstimateDto::from)
                .unwrap_or(EstimateDto {
                    ahead: 0,
                    counters: 0,
                    low_s: None,
                    high_s: None,
                    uncertain: false,
                }),
            session: site.session(service.code, now).map(SessionDto::from),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CounterView {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub code: String,
    /// The number read aloud and shown.
    pub number: u16,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CounterStatusCode))]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub pause_reason: Option<String>,
    /// Login of the official signed in at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
    pub official: Option<String>,
    /// The ticket being called or served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub current: Option<TicketView>,
    pub served_today: u32,
    pub service_s_today: u64,
    /// The services it serves, for the roles that get the waiting list; empty (and not sent)
    /// for the public sockets, which read them from the setup: configuration, not state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Since when the counter has had nothing to do (opened, or its last ticket ended), while it
    /// is open or paused without a ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub idle_since_ms: Option<i64>,
    /// No-shows in a row since the counter last started or completed a service.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub no_show_streak: u32,
}

/// The whole live state of one site, as of `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSnapshot {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Day>) )]
    pub day: Option<String>,
    pub counters: Vec<CounterView>,
    /// Waiting tickets in queue order per lane, for the roles that list them (counter consoles,
    /// managers); empty for displays, kiosks, phones and tablets, which show only the counts in
    /// `services` (see [`Role::lists_waiting`](crate::Role::lists_waiting)).
    pub waiting: Vec<TicketView>,
    /// Most recent calls, newest first.
    #[cfg_attr(feature = "openapi", schema(max_items = 12))]
    pub recent_calls: Vec<TicketView>,
    /// Today's no-shows that may still be put back in the queue (their `no_show_return_s` window
    /// has not passed), newest first, at most [`NO_SHOWS_MAX`], each with the `counter` that
    /// marked it: the console's "came back" list. Listed for the same roles as `waiting`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub no_shows: Vec<TicketView>,
    pub services: Vec<ServiceStatsDto>,
    /// Issuing stopped by a fault (storage); kiosks show "tạm ngưng cấp số".
    pub intake_open: bool,
}

/// How many recent calls a snapshot carries.
pub const RECENT_CALLS_MAX: usize = core::RECENT_CALLS_KEPT;
/// How many returnable no-shows a snapshot carries.
pub const NO_SHOWS_MAX: usize = 50;

impl SiteSnapshot {
    /// `list_waiting`: include every waiting ticket and each counter's services (see the
    /// fields). Without it the snapshot stays a few KiB however long the queue, for the thousands
    /// of sockets that only count.
    pub fn of(
        site: &core::Site,
        now: &core::Now,
        intake_open: bool,
        list_waiting: bool,
    ) -> SiteSnapshot {
        let cfg = site.config();
        let counters = site
            .counters()
            .iter()
            .zip(&cfg.counters)
            .map(|(c, def)| CounterView {
                code: c.code.to_string(),
                number: def.number,
                status: c.status.as_str().into(),
                pause_reason: match &c.status {
                    core::CounterStatus::Paused { reason } => Some(reason.clone()),
                    _ => None,
                },
                official: c.official.map(|o| o.to_string()),
                current: c
                    .current
                    .and_then(|id| site.ticket(id))
                    .map(TicketView::brief),
                served_today: c.served_today,
                service_s_today: c.service_s_today,
                services: if list_waiting {
                    def.services.iter().map(|s| s.service.to_string()).collect()
                } else {
                    Vec::new()
                },
                idle_since_ms: site.idle_since_ms(c.code),
                no_show_streak: site.no_show_streak(c.code),
            })
            .collect();
        let mut waiting: Vec<&core::Ticket> = if list_waiting {
            site.tickets()
                .iter()
                .filter(|t| t.state == core::TicketState::Waiting)
                .collect()
        } else {
            Vec::new()
        };
        waiting.sort_by_key(|t| (t.enqueued_at_ms, t.id));
        // Kept by the core from `ticket_called` events in their order (§5.1), not re-sorted by
        // time: two calls in the same millisecond keep the order of their `seq`.
        let called: Vec<&core::Ticket> = site.recent_calls().take(RECENT_CALLS_MAX).collect();
        let window_ms = cfg.policy.no_show_return_s as i64 * 1000;
        let mut no_shows: Vec<&core::Ticket> = if list_waiting {
            site.tickets()
                .iter()
                .filter(|t| {
                    t.state == core::TicketState::NoShow
                        && t.no_show_at_ms
                            .is_some_and(|at| now.at_ms - at <= window_ms)
                })
                .collect()
        } else {
            Vec::new()
        };
        no_shows.sort_by_key(|t| std::cmp::Reverse((t.no_show_at_ms, t.id)));
        no_shows.truncate(NO_SHOWS_MAX);
        SiteSnapshot {
            site: cfg.code.to_string(),
            day: site.day().map(|d| d.to_string()),
            counters,
            waiting: waiting.into_iter().map(TicketView::brief).collect(),
            recent_calls: called.into_iter().map(TicketView::brief).collect(),
            no_shows: no_shows.into_iter().map(TicketView::brief).collect(),
            services: cfg
                .services
                .iter()
                .map(|s| ServiceStatsDto::of(site, s, now))
                .collect(),
            intake_open,
        }
    }
}
