//! One code per meaning, both texts for every error, and the status, close and field each
//! variant carries.

use super::*;
use std::collections::BTreeMap;

/// The variant's name: a variant added to `ApiError` fails to compile here until it is
/// named, and `every_variant_has_a_sample` then fails until `samples` holds one.
fn name(e: &ApiError) -> &'static str {
    use ApiError as E;
    match e {
        E::Rejected(_) => "Rejected",
        E::AppointmentWindow(_) => "AppointmentWindow",
        E::UnknownTicket(_) => "UnknownTicket",
        E::ServerBusy => "ServerBusy",
        E::ServerStopping => "ServerStopping",
        E::Storage { .. } => "Storage",
        E::ConfigRefused { .. } => "ConfigRefused",
        E::ConfigInvalid(_) => "ConfigInvalid",
        E::UnknownSite => "UnknownSite",
        E::AtHello(_) => "AtHello",
        E::OriginRefused => "OriginRefused",
        E::NoRoute { .. } => "NoRoute",
        E::InvalidRange => "InvalidRange",
        E::RangeTooLong { .. } => "RangeTooLong",
        E::UnsupportedMediaType { .. } => "UnsupportedMediaType",
        E::BodyTimeout { .. } => "BodyTimeout",
        E::TooManyConnections { .. } => "TooManyConnections",
        E::InvalidField(_) => "InvalidField",
        E::BadBody(_) => "BadBody",
        E::InvalidPersonId => "InvalidPersonId",
        E::StaffOnlyField(_) => "StaffOnlyField",
        E::LoginRequired => "LoginRequired",
        E::Forbidden => "Forbidden",
        E::RateLimited => "RateLimited",
        E::QrFailed(_) => "QrFailed",
        E::ExportFailed(_) => "ExportFailed",
        E::ReportFailed(_) => "ReportFailed",
        E::InvalidPageSize { .. } => "InvalidPageSize",
        E::PlanBusy => "PlanBusy",
        E::DayNotPast => "DayNotPast",
        E::InvalidTarget { .. } => "InvalidTarget",
        E::InvalidOfficials { .. } => "InvalidOfficials",
        E::NoHistory => "NoHistory",
        E::PlanFailed(_) => "PlanFailed",
        E::LoginBackoff { .. } => "LoginBackoff",
        E::LoginFailed => "LoginFailed",
        E::WeakPassword(_) => "WeakPassword",
        E::HashFailed(_) => "HashFailed",
        E::UserExists(_) => "UserExists",
        E::UserUnknown => "UserUnknown",
        E::UserCounterUnknown(_) => "UserCounterUnknown",
        E::TooManyCounters { .. } => "TooManyCounters",
        E::LastAdmin => "LastAdmin",
        E::CannotDisableSelf => "CannotDisableSelf",
        E::DeviceUnknown => "DeviceUnknown",
        E::NoPrinter(_) => "NoPrinter",
        E::UnknownPrinter => "UnknownPrinter",
        E::TicketFinished => "TicketFinished",
        E::PrinterBusy => "PrinterBusy",
        E::PrintFailed(_) => "PrintFailed",
        E::ClipManifest(_) => "ClipManifest",
        E::ClipLanguage(_) => "ClipLanguage",
        E::ClipUnknown { .. } => "ClipUnknown",
        E::ClipTooLarge { .. } => "ClipTooLarge",
        E::ClipRefused(_) => "ClipRefused",
        E::ClipTooLong { .. } => "ClipTooLong",
        E::ClipTextInvalid { .. } => "ClipTextInvalid",
        E::ClipTextTaken { .. } => "ClipTextTaken",
        E::ClipTextFixed(_) => "ClipTextFixed",
        E::ClipNameInvalid { .. } => "ClipNameInvalid",
        E::ClipTooMany { .. } => "ClipTooMany",
        E::ClipStorage(_) => "ClipStorage",
        E::BadMessage(_) => "BadMessage",
        E::HelloFirst => "HelloFirst",
        E::HelloTwice => "HelloTwice",
        E::TooManyAnonymous => "TooManyAnonymous",
        E::SessionEnded => "SessionEnded",
        E::AccountChanged => "AccountChanged",
        E::DeviceRevoked => "DeviceRevoked",
        E::InvalidPhone => "InvalidPhone",
        E::InvalidPhoneLast4 => "InvalidPhoneLast4",
        E::CheckInNoMatch => "CheckInNoMatch",
        E::TokenUnknown => "TokenUnknown",
        E::TokenRevoked => "TokenRevoked",
        E::TokenScope(_) => "TokenScope",
        E::TokenNotAllowed => "TokenNotAllowed",
        E::TokenRateLimited => "TokenRateLimited",
        E::TokenNotFound => "TokenNotFound",
        E::IntegrationLimit { .. } => "IntegrationLimit",
        E::WebhookNotFound => "WebhookNotFound",
        E::DeliveryNotFound => "DeliveryNotFound",
    }
}

/// How many variants `name` knows: keep it equal to the arms above.
const VARIANTS: usize = 81;

/// Every variant, with every kind of the data that changes its code or text.
fn samples() -> Vec<ApiError> {
    use ApiError as E;
    let code = luot_core::Code::new("x").unwrap();
    let json = JsonFault {
        detail: "expected value".into(),
        line: 1,
        column: 2,
    };
    let status = PrinterStatusDto {
        name: "p1".into(),
        site: "s".into(),
        kiosk: "k".into(),
        state: "paper_out".into(),
        ok: false,
        message: "Hết giấy".into(),
        message_en: "Out of paper".into(),
        since_ms: 0,
        ticket: None,
        printed: 0,
        failed: 1,
    };
    let config = luot_proto::config::ConfigErrors {
        errors: vec![luot_proto::config::ConfigError {
            file: "config.toml".into(),
            line: 3,
            column: 1,
            message: "bad".into(),
            message_vi: "sai".into(),
        }],
    };
    let damaged = |why| E::ClipRefused(ClipFault::Damaged { at: 58, why });
    vec![
        E::Rejected(Rejection::UnknownCounter(code)),
        E::Rejected(Rejection::QueueEmpty),
        E::Rejected(Rejection::DossierInvalid { max: 40 }),
        E::Rejected(Rejection::AppointmentInvalid),
        E::Rejected(Rejection::UnknownTicket),
        E::AppointmentWindow(AppointmentFault::Backwards),
        E::AppointmentWindow(AppointmentFault::Ended),
        E::AppointmentWindow(AppointmentFault::TooFar { hours: 12 }),
        E::UnknownTicket(TicketKey::Number),
        E::UnknownTicket(TicketKey::Token),
        E::UnknownTicket(TicketKey::ExpiredToken),
        E::ServerBusy,
        E::ServerStopping,
        E::storage(&luot_store::StoreError::Other("failing".into())),
        E::ConfigRefused {
            vi: "không".into(),
            en: "no".into(),
        },
        E::ConfigInvalid(config),
        E::UnknownSite,
        E::UnknownSite.at_hello(),
        E::DeviceUnknown.at_hello(),
        E::UnknownTicket(TicketKey::Token).at_hello(),
        E::BadMessage(json.clone()).at_hello(),
        E::OriginRefused,
        E::NoRoute { action: false },
        E::NoRoute { action: true },
        E::InvalidRange,
        E::RangeTooLong { days_max: 366 },
        E::UnsupportedMediaType {
            got: "text/plain".into(),
        },
        E::BodyTimeout { secs: 30.0 },
        E::TooManyConnections { per_address: None },
        E::TooManyConnections {
            per_address: Some(64),
        },
        E::from(WireError::invalid("number", "A0")),
        E::from(WireError::missing("counter")),
        E::InvalidField(FieldFault::LoginTooLong),
        E::InvalidField(FieldFault::RequestIdTooLong),
        E::InvalidField(FieldFault::UnknownParameter("lang".into())),
        E::BadBody(json.clone()),
        E::BadBody(JsonFault {
            line: 0,
            ..json.clone()
        }),
        E::InvalidPersonId,
        E::StaffOnlyField("appointment"),
        E::LoginRequired,
        E::Forbidden,
        E::RateLimited,
        E::QrFailed("too long".into()),
        E::ExportFailed("disk".into()),
        E::ReportFailed("task".into()),
        E::InvalidPageSize { max: 500 },
        E::PlanBusy,
        E::DayNotPast,
        E::InvalidTarget {
            minutes: 0,
            max: 240,
        },
        E::InvalidOfficials {
            officials: 0,
            max: 500,
        },
        E::NoHistory,
        E::PlanFailed("task".into()),
        E::LoginBackoff { wait_s: 4 },
        E::LoginFailed,
        E::WeakPassword("too short".into()),
        E::HashFailed("argon2".into()),
        E::UserExists("login taken".into()),
        E::UserUnknown,
        E::UserCounterUnknown("C9".into()),
        E::TooManyCounters { max: 50 },
        E::LastAdmin,
        E::CannotDisableSelf,
        E::DeviceUnknown,
        E::NoPrinter(NoPrinter::Kiosk),
        E::NoPrinter(NoPrinter::Site),
        E::NoPrinter(NoPrinter::Several),
        E::UnknownPrinter,
        E::TicketFinished,
        E::PrinterBusy,
        E::PrintFailed(Box::new(status)),
        E::ClipManifest(None),
        E::ClipManifest(Some("eof".into())),
        E::ClipLanguage("fr".into()),
        E::ClipUnknown {
            lang: Some("vi".into()),
            name: "x".into(),
        },
        E::ClipUnknown {
            lang: None,
            name: "x".into(),
        },
        E::ClipTooLarge { max: 512 * 1024 },
        E::ClipRefused(ClipFault::Empty),
        E::ClipRefused(ClipFault::NotOgg),
        damaged(OggDamage::NoPage),
        damaged(OggDamage::Version),
        damaged(OggDamage::Truncated),
        damaged(OggDamage::Crc),
        damaged(OggDamage::NoBeginning),
        damaged(OggDamage::CodecHeader),
        E::ClipRefused(ClipFault::Streams),
        E::ClipRefused(ClipFault::Codec),
        E::ClipRefused(ClipFault::Silent),
        E::ClipTooLong {
            seconds: 11.0,
            max: 10.0,
        },
        E::ClipTextInvalid { max: 100 },
        E::ClipTextTaken {
            other: "a".into(),
            text: "b".into(),
        },
        E::ClipTextFixed(Some(("invite".into(), "Mời".into()))),
        E::ClipTextFixed(None),
        E::ClipNameInvalid {
            name: "Bad".into(),
            max: 40,
        },
        E::ClipTooMany {
            lang: "vi".into(),
            max: 50,
        },
        E::ClipStorage("disk full".into()),
        E::BadMessage(json),
        E::HelloFirst,
        E::HelloTwice,
        E::TooManyAnonymous,
        E::SessionEnded,
        E::AccountChanged,
        E::DeviceRevoked,
        E::InvalidPhone,
        E::InvalidPhoneLast4,
        E::CheckInNoMatch,
        E::TokenUnknown,
        E::TokenRevoked,
        E::TokenScope("read"),
        E::TokenNotAllowed,
        E::TokenRateLimited,
        E::TokenNotFound,
        E::IntegrationLimit {
            vi: "mã truy cập",
            en: "tokens",
            max: 50,
        },
        E::WebhookNotFound,
        E::DeliveryNotFound,
    ]
}

/// Codes several variants send, because they say the same thing: each such code lists
/// every variant allowed to send it. Any other code belongs to one variant.
const SAME_MEANING: &[(&str, &[&str])] = &[
    // The server checks a staff appointment's window before the core, saying which rule.
    ("appointment_invalid", &["Rejected", "AppointmentWindow"]),
    // The server's lookups by number say "today"; by token, the alias (protocol §12).
    ("unknown_ticket", &["Rejected", "UnknownTicket"]),
    // An account's counters naming a counter no site has.
    ("unknown_counter", &["Rejected", "UserCounterUnknown"]),
    // Not allowed, naming the field when a field is the reason.
    ("forbidden", &["Forbidden", "StaffOnlyField"]),
    // The hello says the same meanings, ending the socket.
    ("unknown_site", &["UnknownSite", "AtHello"]),
    ("device_unknown", &["DeviceUnknown", "AtHello"]),
    (TICKET_UNKNOWN_ALIAS, &["UnknownTicket", "AtHello"]),
    ("bad_message", &["BadMessage", "AtHello"]),
];

#[test]
fn every_variant_has_a_sample() {
    let named: std::collections::BTreeSet<_> = samples().iter().map(name).collect();
    assert_eq!(named.len(), VARIANTS, "{named:?}");
}

#[test]
fn each_code_has_one_meaning_and_every_error_both_texts() {
    let mut by_code: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for e in samples() {
        let dto = e.to_dto();
        assert!(!dto.message.trim().is_empty(), "{e:?}: no Vietnamese text");
        assert!(!dto.message_en.trim().is_empty(), "{e:?}: no English text");
        assert_eq!(dto.code, e.code());
        assert!(
            dto.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            dto.code
        );
        assert_eq!(e.text(Lang::Vi), dto.message);
        assert_eq!(e.text(Lang::En), dto.message_en);
        by_code.entry(e.code()).or_default().insert(name(&e));
    }
    for (code, variants) in by_code {
        if variants.len() == 1 {
            continue;
        }
        let allowed = SAME_MEANING
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.iter().copied().collect())
            .unwrap_or_default();
        assert!(
            variants.is_subset(&allowed),
            "code {code} is sent by {variants:?}: one code per meaning"
        );
    }
}

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
        assert_eq!(e.status(), status, "{}", r.code());
        assert_eq!(e.code(), r.code());
        assert!(e.close().is_none());
    }
}

/// Protocol §13: a credential that is gone closes 1008, changed rights 1012; a hello's
/// refusal closes with its own reason and names the hello's field.
#[test]
fn errors_that_end_a_socket_carry_their_close() {
    let frame = |e: ApiError| e.close().map(Close::frame);
    assert_eq!(frame(ApiError::SessionEnded), Some((1008, "session ended")));
    assert_eq!(
        frame(ApiError::DeviceRevoked),
        Some((1008, "device revoked"))
    );
    assert_eq!(
        frame(ApiError::AccountChanged),
        Some((1012, "account changed"))
    );
    assert_eq!(frame(ApiError::HelloFirst), Some((1008, "hello first")));
    assert_eq!(
        frame(ApiError::TooManyAnonymous),
        Some((1013, "too many anonymous"))
    );
    assert_eq!(frame(ApiError::RateLimited), None);
    assert_eq!(frame(ApiError::UnknownSite), None);
    let hello = ApiError::UnknownSite.at_hello();
    assert_eq!(
        hello.close().map(Close::frame),
        Some((1008, "unknown site"))
    );
    assert_eq!(hello.to_dto().field.as_deref(), Some("site"));
    let hello = ApiError::UnknownTicket(TicketKey::ExpiredToken).at_hello();
    assert_eq!(
        hello.close().map(Close::frame),
        Some((1008, "ticket unknown"))
    );
    assert_eq!(hello.code(), TICKET_UNKNOWN_ALIAS);
    assert_eq!(hello.to_dto().field.as_deref(), Some("ticket_token"));
    assert_eq!(
        ApiError::UnknownTicket(TicketKey::Number).code(),
        "unknown_ticket"
    );
}

/// A print that failed answers `printer_<state>`, the state's own code.
#[test]
fn a_failed_print_is_coded_by_the_printer_state() {
    use crate::printer::PrinterState;
    for s in PrinterState::ALL {
        assert_eq!(
            PrinterState::error_code(s.code()),
            format!("printer_{}", s.code())
        );
    }
}

/// What REST answers carry beyond the error: Retry-After, the configuration's findings,
/// the printer's status.
#[tokio::test]
async fn rest_answers_carry_what_their_error_adds() {
    let res = ApiError::LoginBackoff { wait_s: 7 }.into_response();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[header::RETRY_AFTER], "7");
    let res = ApiError::RateLimited.into_response();
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    let config = ApiError::ConfigInvalid(luot_proto::config::ConfigErrors {
        errors: vec![luot_proto::config::ConfigError {
            file: "config.toml".into(),
            line: 3,
            column: 5,
            message: "bad".into(),
            message_vi: "sai".into(),
        }],
    });
    let res = config.into_response();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["code"], "config_invalid");
    assert_eq!(
        v["message_en"],
        "The configuration has 1 error(s). First, line 3:5: bad"
    );
    assert_eq!(v["errors"][0]["message"], "sai");
    assert_eq!(v["errors"][0]["line"], 3);
}
