//! The errors the server's edge answers with: an `ErrorDto` (stable code, Vietnamese and English
//! text, the field at fault) and the HTTP status a REST answer carries; a websocket sends the
//! body only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_proto::ErrorDto;

/// An error with the HTTP status REST answers with (websockets send only the body).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: ErrorDto,
}

impl ApiError {
    pub fn new(status: StatusCode, error: ErrorDto) -> ApiError {
        ApiError { status, error }
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

pub fn store_error(e: luot_store::StoreError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::broker::storage_error(&e),
    )
}

pub fn broker_error(e: ErrorDto) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
}
