//! The one error type of the server's edge. Each meaning has one constructor here, which fixes
//! its stable code, its HTTP status (what a REST answer carries), the websocket close code when
//! the error ends a socket, and its Vietnamese and English text; REST answers, websocket error
//! messages, command replies and closes are all built from an `ApiError`. The queue rules'
//! refusals (`luot_core::Rejection`) take their status from their variant here, never from
//! their code's text.

use axum::Json;
use axum::extract::ws::close_code;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_core::Rejection;
use luot_proto::ErrorDto;

/// An error with the HTTP status REST answers with; a websocket sends the body (`error`), and
/// closes with `close` when it is set.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: ErrorDto,
    /// How the websocket ends when this error ends it.
    pub close: Option<Close>,
}

/// Why a socket is closed after an error: each has its close code and reason (protocol §13).
/// An enum rather than the pair, so an `ApiError` stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    SessionEnded,
    DeviceRevoked,
    AccountChanged,
    /// The first message was not a hello.
    HelloFirst,
    /// The hello was not a valid message.
    BadHello,
    UnknownSite,
    DeviceUnknown,
    TicketUnknown,
    TooManyAnonymous,
}

impl Close {
    /// The close frame's code and reason.
    pub fn frame(self) -> (u16, &'static str) {
        match self {
            Close::SessionEnded => (close_code::POLICY, "session ended"),
            Close::DeviceRevoked => (close_code::POLICY, "device revoked"),
            Close::AccountChanged => (close_code::RESTART, "account changed"),
            Close::HelloFirst => (close_code::POLICY, "hello first"),
            Close::BadHello => (close_code::POLICY, "bad hello"),
            Close::UnknownSite => (close_code::POLICY, "unknown site"),
            Close::DeviceUnknown => (close_code::POLICY, "device unknown"),
            Close::TicketUnknown => (close_code::POLICY, "ticket unknown"),
            Close::TooManyAnonymous => (close_code::AGAIN, "too many anonymous"),
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, error: ErrorDto) -> ApiError {
        ApiError {
            status,
            error,
            close: None,
        }
    }

    /// The same error, ending the socket it is sent on.
    pub fn closing(mut self, close: Close) -> ApiError {
        self.close = Some(close);
        self
    }

    pub fn code(&self) -> &str {
        &self.error.code
    }

    /// A refusal from the queue rules: 404 for what does not exist, 400 for a value out of
    /// range, 409 for the state of the queue.
    pub fn rejected(r: &Rejection) -> ApiError {
        use Rejection as R;
        let status = match r {
            R::UnknownService(_)
            | R::UnknownCounter(_)
            | R::UnknownTicket
            | R::UnknownPriorityCategory(_) => StatusCode::NOT_FOUND,
            R::TextTooLong { .. }
            | R::TextEmpty
            | R::ScoreOutOfRange { .. }
            | R::AppointmentInvalid
            | R::DossierInvalid { .. }
            | R::CapInvalid { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, ErrorDto::from_rejection(r))
    }

    /// The broker's queue is full.
    pub fn busy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorDto::new(
                "server_busy",
                "Máy chủ đang quá tải, vui lòng thử lại",
                "The server is busy, try again",
            ),
        )
    }

    /// The broker has stopped: the server is shutting down.
    pub fn stopping() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorDto::new(
                "server_stopping",
                "Máy chủ đang dừng",
                "The server is shutting down",
            ),
        )
    }

    /// Storage failed (`storage_*` codes, from `StoreError::code`).
    pub fn storage(e: &luot_store::StoreError) -> ApiError {
        ApiError::storage_reason(storage_reason(e))
    }

    /// Storage is failing, for the reason already recorded (the broker's intake pause).
    pub fn storage_reason(reason: ErrorDto) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason)
    }

    /// A new configuration that would strand a citizen's ticket.
    pub fn config_refused(vi: String, en: String) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new("config_refused", vi, en),
        )
    }

    pub fn unknown_site() -> ApiError {
        ApiError::not_found(
            "unknown_site",
            "Không có điểm tiếp nhận này",
            "No such site",
        )
    }

    /// No ticket with this number today (the core's `unknown_ticket`).
    pub fn unknown_ticket() -> ApiError {
        ApiError::not_found(
            "unknown_ticket",
            "Không có số thứ tự này hôm nay",
            "No such ticket today",
        )
    }

    /// No ticket with this token (a phone's link, a hello's `ticket_token`). The meaning is
    /// `unknown_ticket`'s; it keeps the code `ticket_unknown`, a documented alias (protocol §3,
    /// §11), because phone pages and sockets already open stop retrying on that code.
    pub fn unknown_ticket_token() -> ApiError {
        ApiError::not_found(
            TICKET_UNKNOWN_ALIAS,
            "Không tìm thấy số thứ tự",
            "No such ticket",
        )
    }

    /// `unknown_ticket_token` where the ticket may have existed: tokens end with their day.
    pub fn expired_ticket_token() -> ApiError {
        ApiError::not_found(
            TICKET_UNKNOWN_ALIAS,
            "Không tìm thấy số thứ tự (có thể đã hết hạn)",
            "No such ticket (it may have expired)",
        )
    }

    pub fn origin_refused() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new(
                "origin_refused",
                "Nguồn kết nối không được phép",
                "Origin not allowed",
            ),
        )
    }

    // ----- requests -----

    /// A path no API route knows (`no_action` is the same code for an unknown action word).
    pub fn no_route() -> ApiError {
        ApiError::not_found(
            "no_route",
            "Không có đường dẫn API này",
            "No such API route",
        )
    }

    /// A `from` day after the `to` day (reports, the audit log).
    pub fn invalid_range() -> ApiError {
        ApiError::bad_request(
            "invalid_range",
            "Ngày bắt đầu sau ngày kết thúc",
            "`from` is after `to`",
        )
    }

    /// A report over more than `days_max` days.
    pub fn range_too_long(days_max: i64) -> ApiError {
        ApiError::bad_request(
            "range_too_long",
            format!("Khoảng thời gian quá dài (tối đa {days_max} ngày)"),
            format!("Range too long ({days_max} days at most)"),
        )
    }

    /// A body not declared `Content-Type: application/json` (`got`: the type sent).
    pub fn unsupported_media_type(got: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorDto::new(
                "unsupported_media_type",
                format!("Nội dung phải là JSON (Content-Type: application/json), không phải {got}"),
                format!("The body must be JSON (Content-Type: application/json), not {got}"),
            )
            .with_field("content-type"),
        )
    }

    /// A request body that did not arrive within `s` seconds (`HttpLimits`).
    pub fn body_timeout(s: f64) -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorDto::new(
                "body_timeout",
                format!("Nội dung yêu cầu không đến đủ trong {s} giây"),
                format!("The request body did not arrive within {s} s"),
            ),
        )
    }

    /// One address over its connection cap (`HttpLimits`); `too_many_connections` is the
    /// server's own cap on sockets, with the same code.
    pub fn too_many_connections_from_address(max: usize) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorDto::new(
                "too_many_connections",
                format!(
                    "Địa chỉ này đã mở quá nhiều kết nối (tối đa {max}); hãy đóng bớt rồi thử lại"
                ),
                format!(
                    "Too many connections from this address (at most {max}); close some and try again"
                ),
            ),
        )
    }

    /// A staff appointment's window the server refuses before the core sees it; the text says
    /// which rule (`dispatch::check_appointment`).
    pub fn appointment_invalid(vi: String, en: String) -> ApiError {
        ApiError::bad_request("appointment_invalid", vi, en).into_field("appointment")
    }

    /// A person's ID number that is not 12 digits (or 9, an old ID card).
    pub fn invalid_person_id() -> ApiError {
        ApiError::bad_request(
            "invalid_person_id",
            "Số định danh cá nhân phải có 12 chữ số (hoặc CMND 9 số)",
            "The ID number must have 12 digits (or 9 for an old ID card)",
        )
    }

    pub fn qr_failed(why: String) -> ApiError {
        ApiError::bad_request("qr_failed", "Không tạo được mã QR", why)
    }

    /// A CSV or XLSX export that could not be written.
    pub fn export_failed(why: String) -> ApiError {
        ApiError::bad_request("export_failed", why.clone(), why)
    }

    /// The report's reading task failed.
    pub fn report_failed(why: String) -> ApiError {
        ApiError::bad_request("report_failed", why.clone(), why)
    }

    // ----- accounts and devices -----

    /// A login request whose login or password is over its limit (`auth::LOGIN_BYTES_MAX`,
    /// `auth::PASSWORD_BYTES_MAX`); refused before any password check.
    pub fn login_too_long() -> ApiError {
        ApiError::bad_request(
            "invalid_field",
            "Tên đăng nhập hoặc mật khẩu quá dài",
            "Login or password too long",
        )
    }

    /// Too many failed logins for this login or address: wait `wait_s` seconds.
    pub fn login_backoff(wait_s: u64) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDto::new(
                "login_backoff",
                format!("Sai quá nhiều lần, thử lại sau {wait_s} giây"),
                format!("Too many failures, try again in {wait_s} s"),
            ),
        )
    }

    pub fn login_failed() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "login_failed",
                "Sai tên đăng nhập hoặc mật khẩu",
                "Wrong login or password",
            ),
        )
    }

    /// A new password `auth::check_password_strength` refused, saying why.
    pub fn weak_password(why: String) -> ApiError {
        ApiError::bad_request("weak_password", format!("Mật khẩu yếu: {why}"), why)
            .into_field("password")
    }

    pub fn hash_failed(why: String) -> ApiError {
        ApiError::bad_request("hash_failed", why.clone(), why)
    }

    pub fn user_exists(detail: String) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new("user_exists", "Tên đăng nhập đã có", detail),
        )
    }

    pub fn user_unknown() -> ApiError {
        ApiError::not_found("user_unknown", "Không có tài khoản này", "No such account")
    }

    pub fn last_admin() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "last_admin",
                "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng",
                "The last active admin cannot be disabled or lose the admin role",
            ),
        )
    }

    pub fn cannot_disable_self() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "cannot_disable_self",
                "Không thể tự khóa tài khoản của mình",
                "You cannot disable your own account",
            ),
        )
    }

    /// No paired device with this id (`/admin/devices/{id}`).
    pub fn device_unknown() -> ApiError {
        ApiError::not_found("device_unknown", "Không có thiết bị này", "No such device")
    }

    // ----- printers -----

    /// No network printer to print on; the text says which is missing.
    pub fn no_printer(vi: &str, en: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new("no_printer", vi, en).with_field("printer"),
        )
    }

    pub fn unknown_printer() -> ApiError {
        ApiError::not_found("unknown_printer", "Không có máy in này", "No such printer")
    }

    pub fn ticket_finished() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "ticket_finished",
                "Số thứ tự này đã xong hoặc đã hủy, không in lại",
                "This ticket is finished or cancelled; it is not printed again",
            ),
        )
    }

    /// A printer's queue refused a job (full, or the printer is failing): its own error.
    pub fn printer_refused(e: ErrorDto) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
    }

    // ----- websocket -----

    /// A message that is not valid JSON for the protocol; the message says where.
    pub fn bad_message(e: &serde_json::Error) -> ApiError {
        // serde_json knows no position (line 0) for errors inside tagged enums, which every
        // message is: say what is wrong rather than "line 0, column 0".
        let dto = if e.line() == 0 {
            ErrorDto::new(
                "bad_message",
                format!("Tin nhắn không hợp lệ: {e}"),
                format!("Malformed message: {e}"),
            )
        } else {
            ErrorDto::new(
                "bad_message",
                format!(
                    "Tin nhắn không hợp lệ (dòng {}, cột {}): {e}",
                    e.line(),
                    e.column()
                ),
                format!(
                    "Malformed message (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        };
        ApiError::new(StatusCode::BAD_REQUEST, dto)
    }

    pub fn hello_first() -> ApiError {
        ApiError::bad_request("hello_first", "Cần gửi hello trước", "Send hello first")
            .closing(Close::HelloFirst)
    }

    pub fn hello_twice() -> ApiError {
        ApiError::bad_request("hello_twice", "Đã gửi hello", "Hello was already sent")
    }

    /// A hello's `device_token` that no paired device of this site holds.
    pub fn device_unknown_hello() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "device_unknown",
                "Thiết bị chưa được ghép nối hoặc đã bị thu hồi",
                "This device is not paired or was revoked",
            ),
        )
        .into_field("device_token")
        .closing(Close::DeviceUnknown)
    }

    /// The reports page's staffing plan: one is made at a time.
    pub fn plan_busy() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDto::new(
                "plan_busy",
                "Đang lập một kế hoạch khác; thử lại sau ít giây",
                "Another plan is being made; try again in a few seconds",
            ),
        )
    }

    pub fn too_many_anonymous() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorDto::new(
                "too_many_anonymous",
                "Quá nhiều kết nối chưa xác thực",
                "Too many anonymous connections",
            ),
        )
        .closing(Close::TooManyAnonymous)
    }

    pub fn too_many_connections() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorDto::new(
                "too_many_connections",
                "Máy chủ đã đủ kết nối",
                "Too many connections",
            ),
        )
    }

    /// A command's `id` over `REQUEST_ID_LEN_MAX` bytes.
    pub fn request_id_too_long() -> ApiError {
        let max = luot_proto::REQUEST_ID_LEN_MAX;
        ApiError::bad_request(
            "invalid_field",
            format!("Mã yêu cầu quá dài (tối đa {max} byte)"),
            format!("Request id too long (at most {max} bytes)"),
        )
        .into_field("id")
    }

    /// The session behind a socket or request ended: logged out, password changed, disabled.
    pub fn session_ended() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "session_ended",
                "Phiên đăng nhập đã kết thúc (đã đăng xuất, đổi mật khẩu hoặc tài khoản bị khóa); hãy đăng nhập lại",
                "Your session has ended (logged out, password changed or account disabled); log in again",
            ),
        )
        .closing(Close::SessionEnded)
    }

    /// The reply to a command in hand when the account's rights just changed; the socket
    /// reconnects to take the new rights (1012).
    pub fn account_changed() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "account_changed",
                "Quyền của tài khoản vừa thay đổi; hãy kết nối lại",
                "The account's rights just changed; reconnect",
            ),
        )
        .closing(Close::AccountChanged)
    }

    pub fn device_revoked() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "device_revoked",
                "Thiết bị này đã bị thu hồi; cần ghép nối lại",
                "This device was revoked; it must be paired again",
            ),
        )
        .closing(Close::DeviceRevoked)
    }

    pub fn bad_request(code: &str, vi: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorDto::new(code, vi, en))
    }

    pub fn login_required() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new("login_required", "Cần đăng nhập", "Login required"),
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new("forbidden", "Không có quyền thực hiện", "Not allowed"),
        )
    }

    /// A field only staff may set, sent by someone else: refused (never silently dropped),
    /// naming the field.
    pub fn staff_only_field(field: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new(
                "forbidden",
                format!("Chỉ cán bộ mới được đặt trường `{field}`"),
                format!("Only staff may set the field `{field}`"),
            )
            .with_field(field),
        )
    }

    pub fn rate_limited() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDto::new(
                "rate_limited",
                "Thao tác quá nhanh, vui lòng chờ",
                "Too many requests, slow down",
            ),
        )
    }

    /// An action word in a path that no route knows (`…/counters/{c}/{action}`).
    pub fn no_action() -> ApiError {
        ApiError::not_found("no_route", "Không có thao tác này", "No such action")
    }

    /// The same error, naming the field at fault.
    pub fn into_field(mut self, f: &str) -> ApiError {
        self.error.field = Some(f.into());
        self
    }

    pub fn not_found(code: &str, vi: &str, en: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorDto::new(code, vi, en))
    }

    /// A mobile number that is not a Vietnamese one (`luot_core::phone`).
    pub fn invalid_phone() -> ApiError {
        ApiError::bad_request(
            "invalid_phone",
            "Số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912 345 678)",
            "Not a valid mobile number (10 digits, e.g. 0912 345 678)",
        )
    }

    /// Check-in by number and the phone's last 4 digits: not exactly 4 digits, or missing.
    pub fn invalid_phone_last4() -> ApiError {
        ApiError::bad_request(
            "invalid_phone_last4",
            "Nhập đúng 4 số cuối của số điện thoại đã dùng khi lấy số",
            "Enter the last 4 digits of the phone number the ticket was taken with",
        )
    }

    /// No number taken from home matches this number and these 4 digits. The same answer for
    /// an unknown number, so that the kiosk does not tell which numbers exist.
    pub fn check_in_no_match() -> ApiError {
        ApiError::not_found(
            "check_in_no_match",
            "Không tìm thấy số lấy trực tuyến khớp với số phiếu và 4 số cuối điện thoại này",
            "No number taken online matches this ticket number and these 4 digits",
        )
    }
}

impl From<luot_proto::WireError> for ApiError {
    fn from(e: luot_proto::WireError) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorDto::new(
                "invalid_field",
                format!("Dữ liệu không hợp lệ: {e}"),
                e.to_string(),
            )
            .with_field(e.field()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.error)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

/// The code `unknown_ticket` is also sent as for a ticket token (see `unknown_ticket_token`).
pub const TICKET_UNKNOWN_ALIAS: &str = "ticket_unknown";

/// Why storage failed, as clients and `/healthz` are told.
pub fn storage_reason(e: &luot_store::StoreError) -> ErrorDto {
    ErrorDto::new(
        e.code(),
        "Tạm ngưng: không ghi được dữ liệu. Vui lòng báo cán bộ.",
        format!("Paused: the data could not be saved ({e})"),
    )
}

/// For `map_err` on the accounts connection.
pub fn store_error(e: luot_store::StoreError) -> ApiError {
    ApiError::storage(&e)
}

// ----- integrations: API tokens and webhooks (rest/tokens.rs, rest/webhooks.rs) -----

impl ApiError {
    /// A bearer token of the API-token kind (`luot_…`) that no admin made.
    pub fn token_unknown() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "token_unknown",
                "Mã truy cập API không đúng",
                "Unknown API token",
            ),
        )
    }

    /// A bearer token an admin revoked.
    pub fn token_revoked() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorDto::new(
                "token_revoked",
                "Mã truy cập API đã bị thu hồi",
                "This API token was revoked",
            ),
        )
    }

    /// A valid token without the scope the route needs.
    pub fn token_scope(scope: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new(
                "token_scope",
                format!("Mã truy cập API không có phạm vi `{scope}`"),
                format!("The API token lacks the scope `{scope}`"),
            ),
        )
    }

    /// Accounts, devices, tokens, configuration: only a person signed in may change them.
    pub fn token_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new(
                "token_not_allowed",
                "Mã truy cập API không dùng được cho việc này; cần quản trị viên đăng nhập",
                "API tokens cannot do this; an admin must sign in",
            ),
        )
    }

    /// Too many requests with one API token (`auth::TOKEN_REQUESTS_PER_S`).
    pub fn token_rate_limited() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDto::new(
                "token_rate_limited",
                "Quá nhiều yêu cầu với mã truy cập API này, vui lòng chờ",
                "Too many requests with this API token, slow down",
            ),
        )
    }

    pub fn token_not_found() -> ApiError {
        ApiError::not_found(
            "token_not_found",
            "Không có mã truy cập API này",
            "No such API token",
        )
    }

    /// More active tokens or webhooks than the named limit.
    pub fn integration_limit(what_vi: &str, what_en: &str, max: usize) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "integration_limit",
                format!("Đã đủ {max} {what_vi}; hãy xoá bớt trước"),
                format!("There are already {max} {what_en}; remove one first"),
            ),
        )
    }

    pub fn webhook_not_found() -> ApiError {
        ApiError::not_found(
            "webhook_not_found",
            "Không có webhook này",
            "No such webhook",
        )
    }

    pub fn delivery_not_found() -> ApiError {
        ApiError::not_found(
            "delivery_not_found",
            "Không có lần gửi này",
            "No such delivery",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statuses `dispatch::status_for` chose from the code's text, now by variant.
    #[test]
    fn refusals_keep_the_status_their_code_had() {
        let code = luot_core::Code::new("x").unwrap();
        let cases = [
            (Rejection::UnknownService(code), StatusCode::NOT_FOUND),
            (Rejection::UnknownCounter(code), StatusCode::NOT_FOUND),
            (Rejection::UnknownTicket, StatusCode::NOT_FOUND),
            (
                Rejection::UnknownPriorityCategory(code),
                StatusCode::NOT_FOUND,
            ),
            (Rejection::TextTooLong { max: 1 }, StatusCode::BAD_REQUEST),
            (Rejection::TextEmpty, StatusCode::BAD_REQUEST),
            (
                Rejection::ScoreOutOfRange { levels: 5 },
                StatusCode::BAD_REQUEST,
            ),
            (Rejection::AppointmentInvalid, StatusCode::BAD_REQUEST),
            (
                Rejection::DossierInvalid { max: 40 },
                StatusCode::BAD_REQUEST,
            ),
            (Rejection::QueueEmpty, StatusCode::CONFLICT),
            (Rejection::CounterClosed, StatusCode::CONFLICT),
            (Rejection::AlreadyRated, StatusCode::CONFLICT),
        ];
        for (r, status) in cases {
            let e = ApiError::rejected(&r);
            assert_eq!(e.status, status, "{}", r.code());
            assert_eq!(e.code(), r.code());
            assert!(e.close.is_none());
        }
    }

    /// Protocol §13: a credential that is gone closes 1008, changed rights 1012.
    #[test]
    fn errors_that_end_a_socket_carry_their_close() {
        let frame = |e: ApiError| e.close.map(Close::frame);
        assert_eq!(
            frame(ApiError::session_ended()),
            Some((1008, "session ended"))
        );
        assert_eq!(
            frame(ApiError::device_revoked()),
            Some((1008, "device revoked"))
        );
        assert_eq!(
            frame(ApiError::account_changed()),
            Some((1012, "account changed"))
        );
        assert_eq!(frame(ApiError::hello_first()), Some((1008, "hello first")));
        assert_eq!(
            frame(ApiError::too_many_anonymous()),
            Some((1013, "too many anonymous"))
        );
        assert_eq!(frame(ApiError::rate_limited()), None);
        assert_eq!(
            ApiError::unknown_ticket_token().code(),
            TICKET_UNKNOWN_ALIAS
        );
        assert_eq!(ApiError::unknown_ticket().code(), "unknown_ticket");
    }
}
