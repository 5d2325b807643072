//! Why a command was refused. Each reason has a stable code that clients translate.

use crate::ids::{Code, TicketNumber};
use crate::ticket::TicketState;
use crate::time::{Day, Minute};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    UnknownService(Code),
    UnknownCounter(Code),
    UnknownPriorityCategory(Code),
    UnknownTicket,
    DayNotOpen,
    DayAlreadyOpen {
        day: Day,
    },
    /// Outside the service's hours; when it opens next (within two weeks), if known.
    ServiceClosed {
        next_open: Option<(Day, Minute)>,
    },
    Holiday,
    /// Past one of the policy's `intake_close` times, before the service's next session: the
    /// kiosk takes no new numbers; when it opens next, if known.
    IntakeClosed {
        from: Minute,
        next_open: Option<(Day, Minute)>,
    },
    DailyCapReached {
        cap: u32,
    },
    SiteTicketLimit {
        max: u32,
    },
    WaitingLimit {
        max: u32,
    },
    NumbersExhausted,
    PersonLimit {
        max: u8,
    },
    PersonDepartmentLimit {
        max: u8,
    },
    AppointmentInvalid,
    /// The numbers a service gives out from home today are all taken: the rest of its daily
    /// cap is kept for citizens in the hall.
    RemoteShareReached {
        max: u32,
    },
    /// Check-in of a ticket that was taken in the hall or is checked in already.
    AlreadyPresent,
    CounterClosed,
    CounterPaused,
    CounterAlreadyOpen,
    CounterBusy {
        current: TicketNumber,
    },
    CounterIdle,
    OfficialElsewhere {
        counter: Code,
    },
    ServiceNotAtCounter,
    QueueEmpty,
    TicketNotWaiting {
        state: TicketState,
    },
    TicketNotCalled,
    TicketNotNoShow,
    ReturnWindowPassed,
    RecallLimit {
        max: u8,
    },
    TransferToSelf,
    /// A transfer to a counter that is closed or paused: the ticket would wait unseen for a
    /// counter nobody works at. Transfer it to the service, or to an open counter.
    TransferTargetClosed {
        counter: Code,
        /// The counter's announced number, for the message.
        number: u16,
        paused: bool,
    },
    TicketNotDone,
    AlreadyRated,
    RatingWindowPassed,
    ScoreOutOfRange {
        levels: u8,
    },
    TextTooLong {
        max: usize,
    },
    TextEmpty,
    /// Empty, too long, or a character outside letters, digits and `. - / _`.
    DossierInvalid {
        max: usize,
    },
    /// The ticket was not called or served at this counter.
    TicketNotAtCounter,
    /// A manager stopped issuing for this service; their reason.
    ServicePaused {
        reason: String,
    },
    ServiceAlreadyPaused,
    ServiceNotPaused,
    /// A raised cap must be more than the cap in force (`cap`) and at most `max`.
    CapInvalid {
        cap: u32,
        max: u32,
    },
}

impl Rejection {
    /// Stable machine code; the UI keys its translated message on it.
    pub fn code(&self) -> &'static str {
        use Rejection::*;
        match self {
            UnknownService(_) => "unknown_service",
            UnknownCounter(_) => "unknown_counter",
            UnknownPriorityCategory(_) => "unknown_priority_category",
            UnknownTicket => "unknown_ticket",
            DayNotOpen => "day_not_open",
            DayAlreadyOpen { .. } => "day_already_open",
            ServiceClosed { .. } => "service_closed",
            Holiday => "holiday",
            IntakeClosed { .. } => "intake_closed",
            DailyCapReached { .. } => "daily_cap_reached",
            SiteTicketLimit { .. } => "site_ticket_limit",
            WaitingLimit { .. } => "waiting_limit",
            NumbersExhausted => "numbers_exhausted",
            PersonLimit { .. } => "person_limit",
            PersonDepartmentLimit { .. } => "person_department_limit",
            AppointmentInvalid => "appointment_invalid",
            RemoteShareReached { .. } => "remote_share_reached",
            AlreadyPresent => "already_checked_in",
            CounterClosed => "counter_closed",
            CounterPaused => "counter_paused",
            CounterAlreadyOpen => "counter_already_open",
            CounterBusy { .. } => "counter_busy",
            CounterIdle => "counter_idle",
            OfficialElsewhere { .. } => "official_elsewhere",
            ServiceNotAtCounter => "service_not_at_counter",
            QueueEmpty => "queue_empty",
            TicketNotWaiting { .. } => "ticket_not_waiting",
            TicketNotCalled => "ticket_not_called",
            TicketNotNoShow => "ticket_not_no_show",
            ReturnWindowPassed => "return_window_passed",
            RecallLimit { .. } => "recall_limit",
            TransferToSelf => "transfer_to_self",
            TransferTargetClosed { .. } => "transfer_target_closed",
            TicketNotDone => "ticket_not_done",
            AlreadyRated => "already_rated",
            RatingWindowPassed => "rating_window_passed",
            ScoreOutOfRange { .. } => "score_out_of_range",
            TextTooLong { .. } => "text_too_long",
            TextEmpty => "text_empty",
            DossierInvalid { .. } => "dossier_invalid",
            TicketNotAtCounter => "ticket_not_at_counter",
            ServicePaused { .. } => "service_paused",
            ServiceAlreadyPaused => "service_already_paused",
            ServiceNotPaused => "service_not_paused",
            CapInvalid { .. } => "cap_invalid",
        }
    }

    /// The message in Vietnamese and English, for logs, the CLI and clients without a table.
    pub fn message(&self) -> (String, String) {
        use Rejection::*;
        let (vi, en): (String, String) = match self {
            UnknownService(c) => (
                format!("Không có thủ tục '{c}'"),
                format!("No service '{c}'"),
            ),
            UnknownCounter(c) => (format!("Không có quầy '{c}'"), format!("No counter '{c}'")),
            UnknownPriorityCategory(c) => (
                format!("Không có đối tượng ưu tiên '{c}'"),
                format!("No priority category '{c}'"),
            ),
            UnknownTicket => ("Không tìm thấy số thứ tự".into(), "No such ticket".into()),
            DayNotOpen => ("Ngày làm việc chưa mở".into(), "The day is not open".into()),
            DayAlreadyOpen { day } => (
                format!("Ngày {day} đã mở"),
                format!("Day {day} is already open"),
            ),
            ServiceClosed {
                next_open: Some((d, m)),
            } => (
                format!(
                    "Ngoài giờ tiếp nhận. Mở lại {:02}:{:02} ngày {d}",
                    m / 60,
                    m % 60
                ),
                format!(
                    "Outside opening hours. Opens again {d} at {:02}:{:02}",
                    m / 60,
                    m % 60
                ),
            ),
            ServiceClosed { next_open: None } => {
                ("Ngoài giờ tiếp nhận".into(), "Outside opening hours".into())
            }
            IntakeClosed { from, next_open } => {
                let hm = |m: &Minute| format!("{:02}:{:02}", m / 60, m % 60);
                match next_open {
                    Some((d, m)) => (
                        format!("Đã ngừng cấp số từ {}. Mở lại {} ngày {d}", hm(from), hm(m)),
                        format!(
                            "No more tickets from {}. Opens again {d} at {}",
                            hm(from),
                            hm(m)
                        ),
                    ),
                    None => (
                        format!("Đã ngừng cấp số từ {}", hm(from)),
                        format!("No more tickets from {}", hm(from)),
                    ),
                }
            }
            Holiday => (
                "Hôm nay là ngày nghỉ".into(),
                "Closed today (holiday)".into(),
            ),
            DailyCapReached { cap } => (
                format!("Đã hết số trong ngày ({cap} số)"),
                format!("Today's tickets for this service are all taken ({cap})"),
            ),
            SiteTicketLimit { max } => (
                format!("Trung tâm đã cấp tối đa {max} số hôm nay"),
                format!("The center has issued its maximum of {max} tickets today"),
            ),
            WaitingLimit { max } => (
                format!("Hàng chờ đã đầy ({max} người)"),
                format!("The queue is full ({max} waiting)"),
            ),
            NumbersExhausted => (
                "Đã hết số thứ tự cho dãy này".into(),
                "No numbers left for this prefix".into(),
            ),
            PersonLimit { max } => (
                format!("Mỗi người chỉ được lấy {max} số mỗi ngày"),
                format!("At most {max} tickets per person per day"),
            ),
            PersonDepartmentLimit { max } => (
                format!("Mỗi người chỉ được lấy {max} số cho mỗi lĩnh vực mỗi ngày"),
                format!("At most {max} tickets per person per department per day"),
            ),
            AppointmentInvalid => (
                "Khung giờ hẹn không hợp lệ".into(),
                "Invalid appointment window".into(),
            ),
            RemoteShareReached { max: 0 } => (
                "Thủ tục này không cấp số trực tuyến; mời đến trung tâm lấy số".into(),
                "Numbers for this procedure are not given out online; please take one at the center".into(),
            ),
            RemoteShareReached { max } => (
                format!(
                    "Hôm nay đã hết {max} số lấy trực tuyến cho thủ tục này; số còn lại dành cho người đến trực tiếp"
                ),
                format!(
                    "All {max} numbers that can be taken online for this procedure today are taken; the rest are kept for citizens at the center"
                ),
            ),
            AlreadyPresent => (
                "Số này đã được xác nhận có mặt".into(),
                "This ticket is already checked in".into(),
            ),
            CounterClosed => ("Quầy đang đóng".into(), "The counter is closed".into()),
            CounterPaused => ("Quầy đang tạm dừng".into(), "The counter is paused".into()),
            CounterAlreadyOpen => ("Quầy đã mở".into(), "The counter is already open".into()),
            CounterBusy { current } => (
                format!("Quầy đang phục vụ số {current}: hãy hoàn thành hoặc báo vắng trước"),
                format!("The counter is serving {current}: complete it or mark a no-show first"),
            ),
            CounterIdle => (
                "Quầy chưa gọi số nào".into(),
                "The counter has no current ticket".into(),
            ),
            OfficialElsewhere { counter } => (
                format!("Cán bộ đang làm việc ở quầy '{counter}'"),
                format!("The official is signed in at counter '{counter}'"),
            ),
            ServiceNotAtCounter => (
                "Quầy này không phục vụ thủ tục đó".into(),
                "This counter does not serve that service".into(),
            ),
            // Numbers taken from home wait in line but are not in the hall until checked in.
            QueueEmpty => (
                "Không còn ai chờ tại trung tâm".into(),
                "Nobody is waiting at the center".into(),
            ),
            TicketNotWaiting { state } => (
                format!("Số này không ở trạng thái chờ ({})", state.as_str()),
                format!("That ticket is not waiting ({})", state.as_str()),
            ),
            TicketNotCalled => (
                "Số hiện tại chưa được gọi".into(),
                "The current ticket was not called".into(),
            ),
            TicketNotNoShow => (
                "Số này không bị báo vắng".into(),
                "That ticket was not a no-show".into(),
            ),
            ReturnWindowPassed => (
                "Đã quá thời gian quay lại".into(),
                "The time to come back has passed".into(),
            ),
            RecallLimit { max } => (
                format!("Đã gọi lại {max} lần"),
                format!("Already recalled {max} times"),
            ),
            TransferToSelf => (
                "Không thể chuyển về chính quầy này".into(),
                "Cannot transfer to itself".into(),
            ),
            TransferTargetClosed {
                number,
                paused: false,
                ..
            } => (
                format!(
                    "Quầy số {number} đang đóng: không chuyển số đến quầy này. Hãy chuyển sang thủ tục, hoặc đến một quầy đang mở"
                ),
                format!(
                    "Counter {number} is closed: tickets cannot be transferred to it. Transfer to the service, or to an open counter"
                ),
            ),
            TransferTargetClosed {
                number,
                paused: true,
                ..
            } => (
                format!(
                    "Quầy số {number} đang tạm dừng: không chuyển số đến quầy này. Hãy chuyển sang thủ tục, hoặc đến một quầy đang mở"
                ),
                format!(
                    "Counter {number} is paused: tickets cannot be transferred to it. Transfer to the service, or to an open counter"
                ),
            ),
            TicketNotDone => (
                "Số này chưa được phục vụ xong".into(),
                "That ticket is not finished".into(),
            ),
            AlreadyRated => ("Số này đã được đánh giá".into(), "Already rated".into()),
            RatingWindowPassed => (
                "Đã hết thời gian đánh giá".into(),
                "The time to rate has passed".into(),
            ),
            ScoreOutOfRange { levels } => (
                format!("Mức đánh giá phải từ 1 đến {levels}"),
                format!("The score must be from 1 to {levels}"),
            ),
            TextTooLong { max } => (
                format!("Nội dung dài quá {max} byte"),
                format!("Text longer than {max} bytes"),
            ),
            TextEmpty => ("Cần nhập nội dung".into(), "Text is required".into()),
            DossierInvalid { max } => (
                format!(
                    "Mã hồ sơ phải có từ 1 đến {max} ký tự, chỉ gồm chữ không dấu, chữ số và . - / _"
                ),
                format!(
                    "The dossier code must be 1 to {max} characters: unaccented letters, digits and . - / _"
                ),
            ),
            TicketNotAtCounter => (
                "Số này không được gọi hoặc phục vụ tại quầy này".into(),
                "That ticket was not called or served at this counter".into(),
            ),
            ServicePaused { reason } => (
                format!("Thủ tục này đang tạm ngừng cấp số: {reason}"),
                format!("No tickets for this service for now: {reason}"),
            ),
            ServiceAlreadyPaused => (
                "Thủ tục này đã tạm ngừng cấp số".into(),
                "Issuing for this service is already stopped".into(),
            ),
            ServiceNotPaused => (
                "Thủ tục này không bị tạm ngừng".into(),
                "Issuing for this service is not stopped".into(),
            ),
            CapInvalid { cap, max } if cap >= max => (
                format!(
                    "Số phiếu tối đa hôm nay đã là {cap}, bằng giới hạn cả trung tâm: không nâng thêm được"
                ),
                format!(
                    "Today's cap is already {cap}, the center's daily maximum: it cannot go higher"
                ),
            ),
            CapInvalid { cap, max } => (
                format!("Số phiếu tối đa mới phải lớn hơn {cap} và không quá {max}"),
                format!("The new cap must be more than {cap} and at most {max}"),
            ),
        };
        (vi, en)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message().1)
    }
}

impl std::error::Error for Rejection {}
