//! `luot device`: paired kiosks, displays and rating tablets.

use crate::{now_ms, open_db, parse_public_url, pick_site};
use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use luot_server::{auth, config_in_force};
use luot_store::{Accounts, NewDevice};
use std::path::Path;

/// A paired device's kind, as `luot device pair` takes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceKind {
    Kiosk,
    Display,
    #[value(name = "counter_display", alias = "counter-display")]
    CounterDisplay,
    Rating,
}

impl DeviceKind {
    fn kind(self) -> luot_store::DeviceKind {
        match self {
            DeviceKind::Kiosk => luot_store::DeviceKind::Kiosk,
            DeviceKind::Display => luot_store::DeviceKind::Display,
            DeviceKind::CounterDisplay => luot_store::DeviceKind::CounterDisplay,
            DeviceKind::Rating => luot_store::DeviceKind::Rating,
        }
    }

    fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The page the device opens.
    fn page(self) -> &'static str {
        match self {
            DeviceKind::CounterDisplay => "counter-display",
            k => k.as_str(),
        }
    }

    fn belongs_to_a_counter(self) -> bool {
        self.kind().needs_counter()
    }
}
#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Pair a device and print its token and the URL to open on it (shown once).
    Pair {
        #[arg(long, value_enum)]
        kind: DeviceKind,
        #[arg(long)]
        name: String,
        /// Site code (the first site when omitted).
        #[arg(long)]
        site: Option<String>,
        /// Counter code, for counter displays and rating tablets.
        #[arg(long)]
        counter: Option<String>,
        /// The server's address as devices reach it, for the printed URL (default: the
        /// configuration's public_url, else the address the server last announced).
        #[arg(long, value_parser = parse_public_url)]
        url: Option<String>,
    },
    /// List devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: i64 },
}
pub fn device_cmd(command: DeviceCmd, data: &Path) -> anyhow::Result<()> {
    let store = open_db(data)?;
    match command {
        DeviceCmd::Pair {
            kind,
            name,
            site,
            counter,
            url,
        } => {
            let center = config_in_force::for_commands(store.connection())?.0;
            let settings = pick_site(&center, site.as_deref())?;
            let site = settings.core.code.to_string();
            if kind.belongs_to_a_counter() && counter.is_none() {
                bail!(
                    "thiết bị {k} thuộc về một quầy: thêm --counter MÃ · a {k} device belongs to a counter: add --counter CODE",
                    k = kind.as_str()
                );
            }
            if let Some(c) = &counter
                && !settings.core.counters.iter().any(|k| k.code.as_str() == c)
            {
                bail!(
                    "--counter: không có quầy {c:?} ở điểm {site} · no counter {c:?} at site {site} in the configuration in force"
                );
            }
            let base = match url.or_else(|| center.public_url.clone()) {
                Some(u) => u,
                None => config_in_force::announced_url(store.connection())?.with_context(|| {
                    "không biết địa chỉ máy chủ: thêm --url · the server's address is unknown (no public_url, and no server has started here): add --url"
                })?,
            };
            let token = auth::new_token();
            let id = store.add_device(
                &NewDevice {
                    kind: kind.kind(),
                    name: &name,
                    site: &site,
                    counter: counter.as_deref(),
                    token_hash: &auth::token_hash(&token),
                },
                now_ms(),
            )?;
            store.audit(
                now_ms(),
                "cli",
                "device_pair",
                &format!("{id} {} {name}", kind.as_str()),
            )?;
            let extra = counter.map(|c| format!("&counter={c}")).unwrap_or_default();
            println!("paired device {id} ({}, {name})", kind.as_str());
            println!(
                "open on the device: {}/{}?device={token}{extra}",
                base.trim_end_matches('/'),
                kind.page()
            );
        }
        DeviceCmd::List => {
            println!(
                "{:<4} {:<16} {:<24} {:<12} {:<10} state",
                "id", "kind", "name", "site", "counter"
            );
            for d in store.devices()? {
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<4} {:<16} {:<24} {:<12} {:<10} {state}",
                    d.id,
                    d.kind,
                    d.name,
                    d.site,
                    d.counter.unwrap_or_default()
                );
            }
        }
        DeviceCmd::Revoke { id } => {
            if !store.revoke_device(id, now_ms())? {
                bail!("không có thiết bị đang dùng số {id} · no active device {id}");
            }
            store.audit(now_ms(), "cli", "device_revoke", &id.to_string())?;
            println!("revoked device {id}");
        }
    }
    Ok(())
}
