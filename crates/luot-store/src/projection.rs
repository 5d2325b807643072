//! Keeps the `tickets` table (one row per ticket per day, every timestamp) in step with the
//! events, inside the same transaction as the events themselves.

use crate::Record;
use luot_core::{Event, TransferTarget};
use rusqlite::{Transaction, params};

/// `UPDATE tickets SET … WHERE site = ?1 AND id = ?2`, as one literal: the statement cache
/// finds it without building the text for every event.
macro_rules! update_sql {
    ($set:literal) => {
        concat!("UPDATE tickets SET ", $set, " WHERE site = ?1 AND id = ?2")
    };
}

/// `day` is `r.day` as stored (the caller formats it once per record).
pub(crate) fn apply(tx: &Transaction<'_>, r: &Record, day: &str) -> rusqlite::Result<()> {
    let site = r.site.as_str();
    let at = r.at_ms;
    let update =
        |sql: &'static str, ticket: u64, args: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<()> {
            let mut stmt = tx.prepare_cached(sql)?;
            let id = ticket as i64;
            let mut all: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(2 + args.len());
            all.extend_from_slice(&[&site, &id]);
            all.extend_from_slice(args);
            stmt.execute(all.as_slice())?;
            Ok(())
        };
    const INSERT: &str = "INSERT INTO tickets (site, id, day, number, service, first_service, channel, priority, state, issued_day, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, 'waiting', ?8, ?9)";
    match &r.event {
        Event::TicketIssued {
            ticket,
            number,
            service,
            channel,
            priority,
            ..
        } => {
            tx.prepare_cached(INSERT)?.execute(params![
                site,
                ticket.0 as i64,
                day,
                number.to_string(),
                service.as_str(),
                channel.as_str(),
                priority.as_ref().map(|p| p.as_str()),
                day,
                at
            ])?;
        }
        Event::DayOpened {
            day,
            first_ticket_id,
            carried,
            ..
        } => {
            for (i, c) in carried.iter().enumerate() {
                tx.prepare_cached(INSERT)?.execute(params![
                    site,
                    (first_ticket_id.0 + i as u64) as i64,
                    day.to_string(),
                    c.number.to_string(),
                    c.service.as_str(),
                    c.channel.as_str(),
                    c.priority.map(|p| p.to_string()),
                    c.issued_day.to_string(),
                    c.issued_at_ms
                ])?;
            }
        }
        Event::DayClosed {
            expired, carried, ..
        } => {
            for t in expired {
                update(update_sql!("state = 'expired'"), t.0, &[])?;
            }
            for t in carried {
                update(update_sql!("state = 'carried'"), t.0, &[])?;
            }
        }
        Event::TicketCalled {
            ticket,
            counter,
            official,
            reason,
        } => update(
            update_sql!(
                "state = 'called', called_at = coalesce(called_at, ?3), last_called_at = ?3, counter = ?4, official = ?5, call_reason = ?6"
            ),
            ticket.0,
            &[
                &at,
                &counter.as_str(),
                &official.map(|o| o.to_string()),
                &reason.code(),
            ],
        )?,
        Event::TicketCheckedIn { ticket, .. } => {
            update(update_sql!("checked_in_at = ?3"), ticket.0, &[&at])?
        }
        Event::TicketRecalled {
            ticket, recalls, ..
        } => update(update_sql!("recalls = ?3"), ticket.0, &[&(*recalls as i64)])?,
        Event::ServiceStarted { ticket, .. } => update(
            update_sql!("state = 'serving', started_at = ?3"),
            ticket.0,
            &[&at],
        )?,
        Event::ServiceCompleted {
            ticket, service_s, ..
        } => update(
            update_sql!(
                "state = 'done', finished_at = ?3, started_at = coalesce(started_at, last_called_at), service_s = ?4"
            ),
            ticket.0,
            &[&at, &(*service_s as i64)],
        )?,
        Event::TicketNoShow { ticket, .. } => update(
            update_sql!("state = 'no_show', no_show_at = ?3"),
            ticket.0,
            &[&at],
        )?,
        Event::TicketReturned { ticket } => {
            update(update_sql!("state = 'waiting'"), ticket.0, &[])?
        }
        Event::TicketTransferred {
            ticket, to, note, ..
        } => {
            let service = match to {
                TransferTarget::Service(s) => Some(s.to_string()),
                TransferTarget::Counter(_) => None,
            };
            update(
                update_sql!(
                    "state = 'waiting', transfers = transfers + 1, service = coalesce(?3, service), transfer_note = ?4, started_at = NULL"
                ),
                ticket.0,
                &[&service, note],
            )?
        }
        Event::TicketCancelled { ticket } => update(
            update_sql!("state = 'cancelled', finished_at = ?3"),
            ticket.0,
            &[&at],
        )?,
        Event::TicketRated {
            ticket,
            score,
            reason,
        } => update(
            update_sql!("rating = ?3, rating_reason = ?4, rated_at = ?5"),
            ticket.0,
            &[&(*score as i64), reason, &at],
        )?,
        Event::DossierAttached {
            ticket, dossier, ..
        } => update(update_sql!("dossier = ?3"), ticket.0, &[dossier])?,
        Event::CounterPaused {
            requeued: Some(ticket),
            ..
        } => update(update_sql!("state = 'waiting'"), ticket.0, &[])?,
        Event::CounterOpened { .. }
        | Event::CounterPaused { .. }
        | Event::CounterResumed { .. }
        | Event::CounterClosed { .. }
        | Event::ServicePaused { .. }
        | Event::ServiceResumed { .. }
        | Event::DailyCapRaised { .. } => {}
    }
    Ok(())
}
