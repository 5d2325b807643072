//! What each error says to a person, in Vietnamese and in English (docs/protocol.md §12).

use super::*;

impl ApiError {
    /// The Vietnamese and the English text.
    pub(super) fn texts(&self) -> (String, String) {
        use ApiError as E;
        let s = |vi: &str, en: &str| (vi.to_string(), en.to_string());
        match self {
            E::Rejected(r) => r.message(),
            E::AppointmentWindow(AppointmentFault::Backwards) => s(
                "Khung giờ hẹn không hợp lệ: from_ms phải trước to_ms",
                "Invalid appointment window: from_ms must be before to_ms",
            ),
            E::AppointmentWindow(AppointmentFault::Ended) => s(
                "Khung giờ hẹn đã kết thúc (to_ms không ở tương lai)",
                "The appointment window has already ended (to_ms is not in the future)",
            ),
            E::AppointmentWindow(AppointmentFault::TooFar { hours: h }) => (
                format!("Khung giờ hẹn phải bắt đầu trong vòng {h} giờ tới"),
                format!("The appointment window must start within the next {h} hours"),
            ),
            E::UnknownTicket(TicketKey::Number) => {
                s("Không có số thứ tự này hôm nay", "No such ticket today")
            }
            E::UnknownTicket(TicketKey::Token) => s("Không tìm thấy số thứ tự", "No such ticket"),
            E::UnknownTicket(TicketKey::ExpiredToken) => s(
                "Không tìm thấy số thứ tự (có thể đã hết hạn)",
                "No such ticket (it may have expired)",
            ),
            E::ServerBusy => s(
                "Máy chủ đang quá tải, vui lòng thử lại",
                "The server is busy, try again",
            ),
            E::ServerStopping => s("Máy chủ đang dừng", "The server is shutting down"),
            E::Storage { detail, .. } => (
                "Tạm ngưng: không ghi được dữ liệu. Vui lòng báo cán bộ.".into(),
                format!("Paused: the data could not be saved ({detail})"),
            ),
            E::ConfigRefused { vi, en } => (vi.clone(), en.clone()),
            E::ConfigInvalid(e) => {
                let n = e.errors.len();
                let at = |m: &dyn Fn(&luot_proto::config::ConfigError) -> &str| {
                    e.errors
                        .first()
                        .map(|e| format!("{}:{}: {}", e.line, e.column, m(e)))
                        .unwrap_or_default()
                };
                (
                    format!(
                        "Cấu hình có {n} lỗi. Lỗi đầu tiên, dòng {}",
                        at(&|e| &e.message_vi)
                    ),
                    format!(
                        "The configuration has {n} error(s). First, line {}",
                        at(&|e| &e.message)
                    ),
                )
            }
            E::UnknownSite => s("Không có điểm tiếp nhận này", "No such site"),
            E::AtHello(e) => match **e {
                E::DeviceUnknown => s(
                    "Thiết bị chưa được ghép nối hoặc đã bị thu hồi",
                    "This device is not paired or was revoked",
                ),
                ref e => e.texts(),
            },
            E::OriginRefused => s("Nguồn kết nối không được phép", "Origin not allowed"),
            E::NoRoute { action: false } => s("Không có đường dẫn API này", "No such API route"),
            E::NoRoute { action: true } => s("Không có thao tác này", "No such action"),
            E::InvalidRange => s("Ngày bắt đầu sau ngày kết thúc", "`from` is after `to`"),
            E::RangeTooLong { days_max } => (
                format!("Khoảng thời gian quá dài (tối đa {days_max} ngày)"),
                format!("Range too long ({days_max} days at most)"),
            ),
            E::UnsupportedMediaType { got } => (
                format!("Nội dung phải là JSON (Content-Type: application/json), không phải {got}"),
                format!("The body must be JSON (Content-Type: application/json), not {got}"),
            ),
            E::BodyTimeout { secs } => (
                format!("Nội dung yêu cầu không đến đủ trong {secs} giây"),
                format!("The request body did not arrive within {secs} s"),
            ),
            E::TooManyConnections { per_address: None } => {
                s("Máy chủ đã đủ kết nối", "Too many connections")
            }
            E::TooManyConnections {
                per_address: Some(max),
            } => (
                format!(
                    "Địa chỉ này đã mở quá nhiều kết nối (tối đa {max}); hãy đóng bớt rồi thử lại"
                ),
                format!(
                    "Too many connections from this address (at most {max}); close some and try again"
                ),
            ),
            E::InvalidField(f) => match f {
                FieldFault::Wire(e) => (format!("Dữ liệu không hợp lệ: {e}"), e.to_string()),
                FieldFault::LoginTooLong => s(
                    "Tên đăng nhập hoặc mật khẩu quá dài",
                    "Login or password too long",
                ),
                FieldFault::RequestIdTooLong => {
                    let max = luot_proto::REQUEST_ID_LEN_MAX;
                    (
                        format!("Mã yêu cầu quá dài (tối đa {max} byte)"),
                        format!("Request id too long (at most {max} bytes)"),
                    )
                }
                FieldFault::UnknownParameter(k) => (
                    format!("Tham số không biết: “{k}”"),
                    format!("Unknown parameter “{k}”"),
                ),
            },
            E::BadBody(j) => json_texts(j, "Nội dung không hợp lệ", "Malformed body"),
            E::BadMessage(j) => json_texts(j, "Tin nhắn không hợp lệ", "Malformed message"),
            E::InvalidPersonId => s(
                "Số định danh cá nhân phải có 12 chữ số (hoặc CMND 9 số)",
                "The ID number must have 12 digits (or 9 for an old ID card)",
            ),
            E::StaffOnlyField(field) => (
                format!("Chỉ cán bộ mới được đặt trường `{field}`"),
                format!("Only staff may set the field `{field}`"),
            ),
            E::LoginRequired => s("Cần đăng nhập", "Login required"),
            E::Forbidden => s("Không có quyền thực hiện", "Not allowed"),
            E::RateLimited => s(
                "Thao tác quá nhanh, vui lòng chờ",
                "Too many requests, slow down",
            ),
            E::QrFailed(why) => ("Không tạo được mã QR".into(), why.clone()),
            E::ExportFailed(why)
            | E::ReportFailed(why)
            | E::PlanFailed(why)
            | E::HashFailed(why) => (why.clone(), why.clone()),
            E::InvalidPageSize { max } => (
                format!("Số dòng mỗi trang phải từ 1 đến {max}"),
                format!("page_size must be 1 to {max}"),
            ),
            E::PlanBusy => s(
                "Đang lập một kế hoạch khác; thử lại sau ít giây",
                "Another plan is being made; try again in a few seconds",
            ),
            E::DayNotPast => s(
                "Chọn một ngày đã qua: kế hoạch lập theo một ngày trọn vẹn trong lịch sử",
                "Pick a past day: the plan replays a whole day of the history",
            ),
            E::InvalidTarget { minutes: m, max } => (
                format!("Mục tiêu chờ {m} phút: phải trong 1–{max} phút"),
                format!("Wait target {m} min: must be within 1–{max} minutes"),
            ),
            E::InvalidOfficials { officials: n, max } => (
                format!("Số cán bộ {n}: phải trong 1–{max}"),
                format!("{n} officials: must be within 1–{max}"),
            ),
            E::NoHistory => s(
                "Ngày này không có vé nào để lập kế hoạch",
                "That day has no tickets to plan from",
            ),
            E::LoginBackoff { wait_s } => (
                format!("Sai quá nhiều lần, thử lại sau {wait_s} giây"),
                format!("Too many failures, try again in {wait_s} s"),
            ),
            E::LoginFailed => s("Sai tên đăng nhập hoặc mật khẩu", "Wrong login or password"),
            E::WeakPassword(why) => (format!("Mật khẩu yếu: {why}"), why.clone()),
            E::UserExists(detail) => ("Tên đăng nhập đã có".into(), detail.clone()),
            E::UserUnknown => s("Không có tài khoản này", "No such account"),
            E::UserCounterUnknown(c) => {
                (format!("Không có quầy '{c}'"), format!("No counter '{c}'"))
            }
            E::TooManyCounters { max } => (
                format!("Tối đa {max} quầy cho một tài khoản"),
                format!("At most {max} counters per account"),
            ),
            E::LastAdmin => s(
                "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng",
                "The last active admin cannot be disabled or lose the admin role",
            ),
            E::CannotDisableSelf => s(
                "Không thể tự khóa tài khoản của mình",
                "You cannot disable your own account",
            ),
            E::DeviceUnknown => s("Không có thiết bị này", "No such device"),
            E::NoPrinter(NoPrinter::Kiosk) => s(
                "Kiosk này không có máy in mạng",
                "This kiosk has no network printer",
            ),
            E::NoPrinter(NoPrinter::Site) => s(
                "Điểm tiếp nhận này không có máy in mạng",
                "This site has no network printer",
            ),
            E::NoPrinter(NoPrinter::Several) => s(
                "Có nhiều máy in: hãy chọn máy in (printer)",
                "Several printers: say which one (printer)",
            ),
            E::UnknownPrinter => s("Không có máy in này", "No such printer"),
            E::TicketFinished => s(
                "Số thứ tự này đã xong hoặc đã hủy, không in lại",
                "This ticket is finished or cancelled; it is not printed again",
            ),
            E::PrinterBusy => {
                let (vi, en) = crate::printer::PrinterState::Busy.message();
                (vi.to_string(), en.to_string())
            }
            E::PrintFailed(st) => (st.message.clone(), st.message_en.clone()),
            E::ClipManifest(None) => s(
                "Không tìm thấy danh sách giọng đọc (audio/manifest.json)",
                "The voice manifest (audio/manifest.json) is missing",
            ),
            E::ClipManifest(Some(why)) => (
                format!("audio/manifest.json không hợp lệ: {why}"),
                format!("audio/manifest.json is invalid: {why}"),
            ),
            E::ClipLanguage(l) => (
                format!("Không có giọng đọc cho ngôn ngữ “{l}”"),
                format!("No voice for the language “{l}”"),
            ),
            E::ClipUnknown {
                lang: Some(l),
                name: n,
            } => (
                format!(
                    "Không có đoạn âm thanh “{n}” trong giọng đọc “{l}” (muốn thêm một câu mới thì gửi kèm nội dung của câu)"
                ),
                format!(
                    "No clip “{n}” in the “{l}” voice (to add a phrase, send its text with it)"
                ),
            ),
            E::ClipUnknown {
                lang: None,
                name: n,
            } => (
                format!("Không có đoạn âm thanh “{n}”"),
                format!("No clip “{n}”"),
            ),
            E::ClipTooLarge { max } => (
                format!("Tệp quá lớn: tối đa {max} byte ({} KiB)", max / 1024),
                format!(
                    "The file is too large: at most {max} bytes ({} KiB)",
                    max / 1024
                ),
            ),
            E::ClipRefused(f) => clip_texts(f),
            E::ClipTooLong { seconds, max } => (
                format!("Đoạn âm thanh dài {seconds:.1} giây; tối đa {max} giây"),
                format!("The clip lasts {seconds:.1} s; at most {max} s"),
            ),
            E::ClipTextInvalid { max } => (
                format!("Nội dung của câu phải có chữ, tối đa {max} ký tự"),
                format!("A phrase's text needs words, at most {max} characters"),
            ),
            E::ClipTextTaken { other, text } => (
                format!("Đoạn “{other}” đã đọc câu “{text}”: hãy thay đoạn đó"),
                format!("The clip “{other}” already says “{text}”: replace that one"),
            ),
            E::ClipTextFixed(Some((name, text))) => (
                format!(
                    "Nội dung của đoạn có sẵn “{name}” không đổi được: hãy thu đúng câu “{text}”"
                ),
                format!("The text of the built-in clip “{name}” cannot change: record “{text}”"),
            ),
            E::ClipTextFixed(None) => s(
                "Tiếng chuông không có nội dung đọc",
                "The chime has no text",
            ),
            E::ClipNameInvalid { name, max } => (
                format!(
                    "Tên đoạn “{name}” không dùng được: chữ thường không dấu, số và _ (tối đa {max}), không bắt đầu bằng letter_, digit_, number_"
                ),
                format!(
                    "The clip name “{name}” cannot be used: lowercase a-z, digits and _ (at most {max}), not starting with letter_, digit_, number_"
                ),
            ),
            E::ClipTooMany { lang: l, max } => (
                format!("Đã có {max} câu thêm cho giọng “{l}”: hãy xóa bớt"),
                format!("The “{l}” voice already has {max} added phrases: remove one"),
            ),
            E::ClipStorage(why) => (
                format!("Không lưu được đoạn âm thanh vào thư mục dữ liệu: {why}"),
                format!("Could not store the clip in the data folder: {why}"),
            ),
            E::HelloFirst => s("Cần gửi hello trước", "Send hello first"),
            E::HelloTwice => s("Đã gửi hello", "Hello was already sent"),
            E::TooManyAnonymous => s(
                "Quá nhiều kết nối chưa xác thực",
                "Too many anonymous connections",
            ),
            E::SessionEnded => s(
                "Phiên đăng nhập đã kết thúc (đã đăng xuất, đổi mật khẩu hoặc tài khoản bị khóa); hãy đăng nhập lại",
                "Your session has ended (logged out, password changed or account disabled); log in again",
            ),
            E::AccountChanged => s(
                "Quyền của tài khoản vừa thay đổi; hãy kết nối lại",
                "The account's rights just changed; reconnect",
            ),
            E::DeviceRevoked => s(
                "Thiết bị này đã bị thu hồi; cần ghép nối lại",
                "This device was revoked; it must be paired again",
            ),
            E::InvalidPhone => s(
                "Số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912 345 678)",
                "Not a valid mobile number (10 digits, e.g. 0912 345 678)",
            ),
            E::InvalidPhoneLast4 => s(
                "Nhập đúng 4 số cuối của số điện thoại đã dùng khi lấy số",
                "Enter the last 4 digits of the phone number the ticket was taken with",
            ),
            E::CheckInNoMatch => s(
                "Không tìm thấy số lấy trực tuyến khớp với số phiếu và 4 số cuối điện thoại này",
                "No number taken online matches this ticket number and these 4 digits",
            ),
            E::TokenUnknown => s("Mã truy cập API không đúng", "Unknown API token"),
            E::TokenRevoked => s(
                "Mã truy cập API đã bị thu hồi",
                "This API token was revoked",
            ),
            E::TokenScope(scope) => (
                format!("Mã truy cập API không có phạm vi `{scope}`"),
                format!("The API token lacks the scope `{scope}`"),
            ),
            E::TokenNotAllowed => s(
                "Mã truy cập API không dùng được cho việc này; cần quản trị viên đăng nhập",
                "API tokens cannot do this; an admin must sign in",
            ),
            E::TokenRateLimited => s(
                "Quá nhiều yêu cầu với mã truy cập API này, vui lòng chờ",
                "Too many requests with this API token, slow down",
            ),
            E::TokenNotFound => s("Không có mã truy cập API này", "No such API token"),
            E::IntegrationLimit { vi, en, max } => (
                format!("Đã đủ {max} {vi}; hãy xoá bớt trước"),
                format!("There are already {max} {en}; remove one first"),
            ),
            E::WebhookNotFound => s("Không có webhook này", "No such webhook"),
            E::DeliveryNotFound => s("Không có lần gửi này", "No such delivery"),
        }
    }
}
