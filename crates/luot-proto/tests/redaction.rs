//! `EventDto::redacted()` (invariant 8: secrets never reach a public socket): every event
//! variant, built with every secret it can carry set, serializes after redaction with no public
//! token, no person key, no phone number and no dossier code, and with everything else kept.
//!
//! Shown to fail: with `*person = None;` removed from `redacted()`'s `TicketIssued` arm, the
//! test fails on `ticket_issued` ("the redacted JSON still holds the person key").

use luot_proto::event::ServiceTimeDto;
use luot_proto::{AppointmentDto, CarriedTicketDto, EventDto, TargetDto};
use serde_json::Value;

const TOKEN: &str = "5ec2e7005ec2e7005ec2e7005ec2e700";
const CARRIED_TOKEN: &str = "ca221ed0ca221ed0ca221ed0ca221ed0";
const PERSON: u64 = 7_301_001_234_567_890;
const CARRIED_PERSON: u64 = 7_301_009_876_543_210;
const DOSSIER: &str = "HS-BI-MAT-000123";
const PHONE: &str = "0912345678";
/// Keys a redacted event never has, at any depth.
const SECRET_KEYS: [&str; 4] = ["token", "person", "dossier", "phone"];

fn carried(n: u32) -> CarriedTicketDto {
    CarriedTicketDto {
        number: format!("A{n:03}"),
        issued_day: "2026-11-27".into(),
        issued_at_ms: 1_795_740_000_000,
        service: "khai-sinh".into(),
        channel: "kiosk".into(),
        priority: Some("nguoi-cao-tuoi".into()),
        token: Some(CARRIED_TOKEN.into()),
        person: Some(CARRIED_PERSON),
        appointment: Some(AppointmentDto {
            from_ms: 1_795_750_000_000,
            to_ms: 1_795_751_800_000,
        }),
    }
}

/// One event of each variant, every optional field set.
fn every_event() -> Vec<EventDto> {
    let t = 42;
    let c = || "quay-1".to_string();
    vec![
        EventDto::DayClosed {
            day: "2026-11-30".into(),
            expired: vec![1, 2],
            carried: vec![3],
        },
        EventDto::DayOpened {
            day: "2026-11-30".into(),
            first_ticket_id: 40,
            carried: vec![carried(7), carried(9)],
            service_times: vec![ServiceTimeDto {
                service: "khai-sinh".into(),
                mean_s: 300,
                dev_s: 60,
            }],
        },
        EventDto::TicketIssued {
            ticket: t,
            number: "A012".into(),
            service: "khai-sinh".into(),
            channel: "counter".into(),
            priority: Some("nguoi-cao-tuoi".into()),
            token: Some(TOKEN.into()),
            person: Some(PERSON),
            appointment: Some(AppointmentDto {
                from_ms: 1_796_004_000_000,
                to_ms: 1_796_005_800_000,
            }),
            phone: Some(PHONE.into()),
        },
        EventDto::TicketCheckedIn {
            ticket: t,
            kept_place: true,
        },
        EventDto::TicketCalled {
            ticket: t,
            counter: c(),
            official: Some("can-bo-1".into()),
            reason: "aged".into(),
            waited_s: Some(1_200),
        },
        EventDto::TicketRecalled {
            ticket: t,
            counter: c(),
            recalls: 2,
        },
        EventDto::ServiceStarted {
            ticket: t,
            counter: c(),
        },
        EventDto::ServiceCompleted {
            ticket: t,
            counter: c(),
            service_s: 310,
        },
        EventDto::TicketNoShow {
            ticket: t,
            counter: c(),
        },
        EventDto::TicketReturned { ticket: t },
        EventDto::TicketTransferred {
            ticket: t,
            from_counter: c(),
            to: TargetDto::Counter("quay-2".into()),
            note: "cần ký xác nhận".into(),
        },
        EventDto::TicketCancelled { ticket: t },
        EventDto::TicketRated {
            ticket: t,
            score: 2,
            reason: Some("cho-lau".into()),
        },
        EventDto::DossierAttached {
            ticket: t,
            counter: c(),
            dossier: Some(DOSSIER.into()),
        },
        EventDto::CounterOpened {
            counter: c(),
            official: "can-bo-1".into(),
        },
        EventDto::CounterPaused {
            counter: c(),
            reason: "nghi-trua".into(),
            requeued: Some(7),
        },
        EventDto::CounterResumed { counter: c() },
        EventDto::CounterClosed { counter: c() },
        EventDto::ServicePaused {
            service: "khai-sinh".into(),
            reason: "mất điện".into(),
        },
        EventDto::ServiceResumed {
            service: "khai-sinh".into(),
        },
        EventDto::DailyCapRaised {
            service: "khai-sinh".into(),
            cap: 120,
        },
    ]
}

/// Numbers the variants; no wildcard arm, so a new variant does not compile until it is added
/// here and to [`every_event`].
fn variant(e: &EventDto) -> usize {
    match e {
        EventDto::DayClosed { .. } => 0,
        EventDto::DayOpened { .. } => 1,
        EventDto::TicketIssued { .. } => 2,
        EventDto::TicketCalled { .. } => 3,
        EventDto::TicketRecalled { .. } => 4,
        EventDto::ServiceStarted { .. } => 5,
        EventDto::ServiceCompleted { .. } => 6,
        EventDto::TicketNoShow { .. } => 7,
        EventDto::TicketReturned { .. } => 8,
        EventDto::TicketTransferred { .. } => 9,
        EventDto::TicketCancelled { .. } => 10,
        EventDto::TicketRated { .. } => 11,
        EventDto::DossierAttached { .. } => 12,
        EventDto::CounterOpened { .. } => 13,
        EventDto::CounterPaused { .. } => 14,
        EventDto::CounterResumed { .. } => 15,
        EventDto::CounterClosed { .. } => 16,
        EventDto::ServicePaused { .. } => 17,
        EventDto::ServiceResumed { .. } => 18,
        EventDto::DailyCapRaised { .. } => 19,
        EventDto::TicketCheckedIn { .. } => 20,
    }
}
const VARIANTS: usize = 21;

/// The JSON with every secret key removed, at any depth.
fn without_secrets(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !SECRET_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_secrets(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

#[test]
fn redacted_events_hold_no_token_person_key_or_dossier_and_lose_nothing_else() {
    let events = every_event();
    let mut seen = [false; VARIANTS];
    for e in &events {
        seen[variant(e)] = true;
    }
    assert!(seen.iter().all(|s| *s), "every variant is built: {seen:?}");

    let mut secrets_held = 0;
    for e in &events {
        let full = serde_json::to_value(e).unwrap();
        let redacted = serde_json::to_value(e.redacted()).unwrap();
        let text = redacted.to_string();
        let kind = full["type"].as_str().unwrap().to_string();
        for (secret, what) in [
            (TOKEN.to_string(), "public token"),
            (CARRIED_TOKEN.to_string(), "carried ticket's public token"),
            (PERSON.to_string(), "person key"),
            (CARRIED_PERSON.to_string(), "carried ticket's person key"),
            (DOSSIER.to_string(), "dossier code"),
            (PHONE.to_string(), "phone number"),
        ] {
            if full.to_string().contains(&secret) {
                secrets_held += 1;
            }
            assert!(
                !text.contains(&secret),
                "{kind}: the redacted JSON still holds the {what}: {text}"
            );
        }
        assert_eq!(
            redacted,
            without_secrets(&full),
            "{kind}: redaction removes the secret fields and nothing else"
        );
        // Redacting twice changes nothing more.
        assert_eq!(e.redacted().redacted(), e.redacted(), "{kind}");
    }
    // The events really carried the secrets: 2 tokens and 2 person keys (day_opened's carried
    // tickets), 1 token, 1 person key and 1 phone number (ticket_issued), 1 dossier code.
    assert_eq!(secrets_held, 6, "each secret appears before redaction");
}
