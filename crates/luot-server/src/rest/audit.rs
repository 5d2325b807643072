//! The audit log viewer and its CSV export.

use crate::App;
use crate::error::{ApiError, store_error};
use crate::http::require_user;
use crate::report::Lang;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use luot_store::Accounts;
use luot_store::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Default and largest page of the audit viewer.
pub const AUDIT_PAGE_DEFAULT: usize = 50;
pub const AUDIT_PAGE_MAX: usize = 500;
/// Longest `actor` or `action` filter, in bytes (both are codes).
pub const AUDIT_FILTER_BYTES_MAX: usize = 64;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParams {
    /// First day, `YYYY-MM-DD` in the first site's time zone.
    #[serde(default)]
    #[param(value_type = Option<luot_proto::schema::Day>, inline)]
    from: Option<String>,
    /// Last day, inclusive.
    #[serde(default)]
    #[param(value_type = Option<luot_proto::schema::Day>, inline)]
    to: Option<String>,
    /// Only this actor's lines (a login, or `system`).
    #[serde(default)]
    #[param(max_length = 64)]
    actor: Option<String>,
    /// Only this action's lines (`login`, `user_add`, …).
    #[serde(default)]
    #[param(max_length = 64)]
    action: Option<String>,
    /// Page number, from 1 (default 1).
    #[serde(default)]
    #[param(minimum = 1)]
    page: Option<usize>,
    /// Lines per page (default 50); larger than 500 is refused with `invalid_page_size`.
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<usize>,
    /// `json` (default) or `csv` (every matching line, up to 10,000).
    #[serde(default)]
    #[param(value_type = Option<AuditFormat>, inline)]
    format: Option<String>,
    /// The CSV's language (`vi`, the default, or `en`).
    #[serde(default)]
    #[param(value_type = Option<crate::rest::reports::LangParam>, inline)]
    lang: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum AuditFormat {
    Json,
    Csv,
}

/// A page of the audit log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct AuditPage {
    entries: Vec<luot_store::AuditEntry>,
    /// Lines matching the filter.
    total: u64,
    page: usize,
    page_size: usize,
    pages: usize,
    /// What each action code of `actions` and `entries` means, in Vietnamese and English.
    action_names: BTreeMap<String, super::read::Text>,
    /// Actions the log holds, for the filter (at most 200).
    actions: Vec<String>,
    /// Actors the log holds (at most 200).
    actors: Vec<String>,
}

/// Unix milliseconds of a day's midnight in the first site's time zone.
fn day_start_ms(app: &App, field: &'static str, s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::from(luot_proto::WireError::invalid(field, s));
    let day = luot_proto::parse_day(s).ok_or_else(bad)?;
    let (y, m, d) = day.ymd();
    let date = jiff::civil::Date::new(y as i16, m as i8, d as i8).map_err(|_| bad())?;
    let tz = &app.broker.runtime()[0].tz;
    let z = date.to_zoned(tz.clone()).map_err(|_| bad())?;
    Ok(z.timestamp().as_millisecond())
}

/// `GET /admin/audit`: the audit log, newest first, filtered and paged (managers and admins);
/// `format=csv` exports every matching line up to `AUDIT_READ_MAX`.
#[utoipa::path(
    get,
    path = "/admin/audit",
    operation_id = "getAudit",
    tag = "administration",
    summary = r#"The audit log, filtered and paged (managers, admins)"#,
    description = r#"Newest first. Logins, accounts, devices and configuration changes: who, when, what. `format=csv` exports every matching line, up to 10,000."#,
    security(("sessionCookie" = [])),
    params(
        AuditParams,
    ),
    responses(
        (status = 200, description = "A page (JSON) or the CSV export.", content((AuditPage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_field` (`from`, `to`, `actor`, `action`, `format`), `invalid_range`, `invalid_page_size` (ErrorDto); an unknown or malformed query parameter is answered in plain text.", content((luot_proto::ErrorDto = "application/json"), (String = "text/plain"))),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn audit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(p): axum::extract::Query<AuditParams>,
) -> Result<Response, ApiError> {
    require_user(&app, &headers, Role::manages).await?;
    let from_ms = p
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| day_start_ms(&app, "from", s))
        .transpose()?;
    let to_ms =
        p.to.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| day_start_ms(&app, "to", s).map(|ms| ms + 86_400_000))
            .transpose()?;
    if matches!((from_ms, to_ms), (Some(f), Some(t)) if f >= t) {
        return Err(ApiError::InvalidRange);
    }
    let text_filter =
        |field: &'static str, v: Option<String>| -> Result<Option<String>, ApiError> {
            match v.filter(|s| !s.is_empty()) {
                Some(s) if s.len() > AUDIT_FILTER_BYTES_MAX => {
                    Err(luot_proto::WireError::invalid(field, &s).into())
                }
                v => Ok(v),
            }
        };
    let filter = luot_store::AuditFilter {
        from_ms,
        to_ms,
        actor: text_filter("actor", p.actor)?,
        action: text_filter("action", p.action)?,
    };
    let lang = crate::http::lang_param(p.lang.as_deref())?;
    let csv_out = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(luot_proto::WireError::invalid("format", other).into()),
    };
    let page_size = p.page_size.unwrap_or(AUDIT_PAGE_DEFAULT);
    if page_size == 0 || page_size > AUDIT_PAGE_MAX {
        return Err(ApiError::InvalidPageSize {
            max: AUDIT_PAGE_MAX,
        });
    }
    let page = p.page.unwrap_or(1).max(1);
    let (offset, limit) = if csv_out {
        (0, luot_store::AUDIT_READ_MAX)
    } else {
        ((page - 1).saturating_mul(page_size), page_size)
    };
    let f = filter.clone();
    let ((entries, total), (actions, actors)) = app
        .accounts(move |c| Ok((c.audit_page(&f, offset, limit)?, c.audit_kinds()?)))
        .await
        .map_err(store_error)?;
    if csv_out {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let fail = |e: csv::Error| ApiError::ExportFailed(e.to_string());
        let header = match lang {
            Lang::Vi => [
                "STT",
                "Thời điểm",
                "Người thực hiện",
                "Thao tác",
                "Chi tiết",
                "Địa chỉ máy",
            ],
            Lang::En => ["No.", "Time", "Who", "Action", "Detail", "Address"],
        };
        w.write_record(header).map_err(fail)?;
        // People by their names ("Nguyễn Văn An (an)"), as the manager knows them.
        let names: std::collections::HashMap<String, String> = app
            .accounts(|c| c.users())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|u| (u.login.clone(), format!("{} ({})", u.display_name, u.login)))
            .collect();
        // Times in the site's time zone, as the manager reads a clock.
        let tz = app.broker.runtime()[0].tz.clone();
        for e in &entries {
            let at = jiff::Timestamp::from_millisecond(e.at_ms)
                .map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            w.write_record([
                e.id.to_string(),
                at,
                names
                    .get(&e.actor)
                    .cloned()
                    .unwrap_or_else(|| e.actor.clone()),
                audit_action_names(&e.action)
                    .map_or(e.action.as_str(), |(vi, en)| lang.pick(vi, en))
                    .to_string(),
                e.detail.clone(),
                e.address.clone(),
            ])
            .map_err(fail)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ApiError::ExportFailed(e.to_string()))?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"luot-audit.csv\"",
                ),
            ],
            bytes,
        )
            .into_response());
    }
    let action_names = actions
        .iter()
        .chain(entries.iter().map(|e| &e.action))
        .filter_map(|a| {
            audit_action_names(a).map(|(vi, en)| {
                let text = super::read::Text {
                    vi: vi.to_string(),
                    en: en.to_string(),
                };
                (a.clone(), text)
            })
        })
        .collect();
    Ok(Json(AuditPage {
        pages: (total as usize).div_ceil(page_size).max(1),
        entries,
        total: total as u64,
        page,
        page_size,
        action_names,
        actions,
        actors,
    })
    .into_response())
}

/// What an audit line's action code means, in Vietnamese and English: for the CSV export and,
/// through `action_names` in the JSON, for the admin page (one list, here).
fn audit_action_names(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "login" => ("Đăng nhập", "Login"),
        "login_failed" => ("Đăng nhập sai", "Failed login"),
        "login_backoff" => ("Tạm chặn đăng nhập", "Login held back"),
        "logout" => ("Đăng xuất", "Logout"),
        "user_add" => ("Thêm tài khoản", "Account added"),
        "user_edit" => ("Sửa tài khoản", "Account edited"),
        "user_disable" => ("Khóa tài khoản", "Account disabled"),
        "user_enable" => ("Mở khóa tài khoản", "Account enabled"),
        "user_password" => ("Đặt lại mật khẩu", "Password reset"),
        "user_passwd" => (
            "Đổi mật khẩu (dòng lệnh)",
            "Password changed (command line)",
        ),
        "device_pair" => ("Ghép nối thiết bị", "Device paired"),
        "device_revoke" => ("Thu hồi thiết bị", "Device revoked"),
        "config_apply" => ("Áp dụng cấu hình", "Configuration applied"),
        "config_import" => (
            "Nhập cấu hình (dòng lệnh)",
            "Configuration imported (command line)",
        ),
        "clip_replace" => ("Thay đoạn giọng đọc", "Voice clip replaced"),
        "clip_restore" => ("Dùng lại giọng đọc có sẵn", "Voice clip back to built-in"),
        "clip_add" => ("Thêm câu đọc", "Phrase added"),
        "clip_remove" => ("Xóa câu đọc", "Phrase removed"),
        "ticket_cancel" => ("Hủy số", "Ticket cancelled"),
        "ticket_transfer" => ("Chuyển số", "Ticket transferred"),
        "ticket_return" => (
            "Xếp lại số vắng mặt vào hàng",
            "Missed ticket put back in line",
        ),
        "counter_absent" => (
            "Tạm dừng quầy: cán bộ vắng mặt",
            "Counter paused: official absent",
        ),
        "counter_force_pause" => ("Quản lý tạm dừng quầy", "Counter paused by a manager"),
        "counter_force_close" => ("Quản lý đóng quầy", "Counter closed by a manager"),
        "service_pause" => ("Tạm ngừng cấp số thủ tục", "Issuing stopped for a service"),
        "service_resume" => ("Cấp số lại cho thủ tục", "Issuing resumed for a service"),
        "daily_cap_raise" => ("Nâng số phiếu tối đa hôm nay", "Today's cap raised"),
        "backup" => ("Sao lưu", "Backup"),
        "backup_daily" => ("Sao lưu hằng ngày", "Daily backup"),
        "backup_failed" => ("Sao lưu thất bại", "Backup failed"),
        "first_start" => ("Khởi động lần đầu", "First start"),
        "token_create" => ("Tạo mã truy cập API", "API token created"),
        "token_revoke" => ("Thu hồi mã truy cập API", "API token revoked"),
        "webhook_add" => ("Thêm webhook", "Webhook added"),
        "webhook_enable" => ("Bật webhook", "Webhook enabled"),
        "webhook_disable" => ("Tắt webhook", "Webhook disabled"),
        "webhook_remove" => ("Xóa webhook", "Webhook removed"),
        "webhook_resend" => ("Gửi lại webhook", "Webhook delivery sent again"),
        _ => return None,
    })
}
