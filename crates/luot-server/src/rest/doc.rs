//! The API document's head (info, servers, tags, security schemes), the schemas no operation
//! names but clients need (the websocket messages), and the error answers many operations share.
//! The operations themselves come from the handlers' `#[utoipa::path]` (`super::routes`).

use super::ApiTokenScheme;
use luot_proto::ErrorDto;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Luot API",
        version = "1",
        // utoipa's `Info` has no `summary` (OpenAPI 3.1): it opens the description instead.
        description = "Queue ticketing for public service centers: commands, read models, accounts.\n\nThe REST API of a Luot server. The same commands exist on the websocket at /ws, which also streams the live state. Errors are ErrorDto objects with a stable `code` and messages in Vietnamese and English. Bodies are JSON, at most 16 KiB; unknown fields are refused (the configuration routes take up to 1 MiB; the voice clip routes take the .ogg file itself, up to 512 KiB). The protocol and every code are described in docs/protocol.md.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    servers((url = "/", description = "The Luot server itself.")),
    tags(
        (name = "health"),
        (name = "websocket"),
        (name = "pages"),
        (name = "meta"),
        (name = "read"),
        (name = "commands"),
        (name = "phone"),
        (name = "accounts"),
        (name = "reports"),
        (name = "administration"),
        (name = "remote"),
    ),
    components(
        schemas(ErrorDto, luot_proto::ClientMessage, luot_proto::ServerMessage),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            TooManyRequests,
            ServiceUnavailable
        ),
    ),
    modifiers(&SecuritySchemes, &ApiTokenScheme)
)]
pub(super) struct ApiDoc;

/// The two ways to prove who is asking (`security` of each operation names them).
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Set by POST /api/v1/login (HttpOnly, SameSite=Strict); officials, managers, admins.",
            ))),
        );
        components.add_security_scheme(
            "deviceToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A paired device's token (`Authorization: Bearer <token>`): kiosks issue with it.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(utoipa::ToResponse)]
#[response(
    description = "Malformed body (`bad_body`), a value that does not parse (`invalid_field`, with `field`), or a rule on a value (`invalid_person_id`, `appointment_invalid`, `score_out_of_range`, `text_too_long`, `text_empty`, `weak_password`)."
)]
#[allow(dead_code)]
pub(crate) struct BadRequest(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "`login_required`: no valid session cookie or device token (or `login_failed` at login)."
)]
#[allow(dead_code)]
pub(crate) struct Unauthorized(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "`forbidden`: the principal may not do this (wrong role, device or counter). `origin_refused`: a request with credentials, or one that changes something, came from a page of another origin."
)]
#[allow(dead_code)]
pub(crate) struct Forbidden(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "`unknown_site`, `unknown_service`, `unknown_counter`, `unknown_ticket`, `unknown_priority_category`, `ticket_unknown`, `device_unknown` or `no_route`."
)]
#[allow(dead_code)]
pub(crate) struct NotFound(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "A queue rule refused the command (`counter_busy`, `queue_empty`, `service_closed`, `daily_cap_reached`, `intake_closed`, …); see docs/protocol.md §12."
)]
#[allow(dead_code)]
pub(crate) struct Conflict(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "The body is larger than 16 KiB (plain text, from the HTTP layer).",
    content_type = "text/plain"
)]
#[allow(dead_code)]
pub(crate) struct PayloadTooLarge(String);

#[derive(utoipa::ToResponse)]
#[response(description = "`rate_limited` (kiosk issuing) or `login_backoff`.", headers(("Retry-After" = u64, description = "Seconds to wait.")))]
#[allow(dead_code)]
pub(crate) struct TooManyRequests(ErrorDto);

#[derive(utoipa::ToResponse)]
#[response(
    description = "`server_busy`, `server_stopping` or a `storage_*` code (the commit failed; nothing was changed)."
)]
#[allow(dead_code)]
pub(crate) struct ServiceUnavailable(ErrorDto);
