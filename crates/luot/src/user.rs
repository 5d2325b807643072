//! `luot user`: officials, managers and admins.

use crate::{now_ms, open_db};
use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use luot_proto::config::CenterConfig;
use luot_server::{auth, config_in_force};
use luot_store::{Accounts, User};
use std::io::BufRead;
use std::path::Path;

/// A user's role, as `luot user` takes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Official,
    Manager,
    Admin,
}

impl RoleArg {
    fn role(self) -> luot_store::Role {
        match self {
            RoleArg::Official => luot_store::Role::Official,
            RoleArg::Manager => luot_store::Role::Manager,
            RoleArg::Admin => luot_store::Role::Admin,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user. The password is read from standard input with --password-stdin, otherwise a
    /// random one is made and printed once.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Official)]
        role: RoleArg,
        /// Counters an official works at, comma separated (e.g. quay-1,quay-2); each must be a
        /// counter of the configuration in force.
        #[arg(long, value_delimiter = ',')]
        counters: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ends the user's sessions).
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's display name, role or counters (what is given).
    Edit {
        login: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Counters, comma separated; an empty value clears them.
        #[arg(long, value_delimiter = ',')]
        counters: Option<Vec<String>>,
    },
    /// Disable a user: no more logins, and their sessions end (a running server's open
    /// websockets notice within seconds, at their next command).
    Disable { login: String },
    /// Enable a disabled user again.
    Enable { login: String },
    /// List users.
    List,
}
/// Refuses counters the configuration in force does not have, naming them and the ones it has.
fn check_counters(center: &CenterConfig, counters: &[String]) -> anyhow::Result<()> {
    let known: Vec<&str> = center
        .sites
        .iter()
        .flat_map(|s| s.core.counters.iter().map(|c| c.code.as_str()))
        .collect();
    let unknown: Vec<&str> = counters
        .iter()
        .map(String::as_str)
        .filter(|c| !known.contains(c))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "--counters: không có quầy {u} trong cấu hình đang áp dụng · no counter {u} in the configuration in force (counters: {k})",
            u = unknown.join(", "),
            k = known.join(", ")
        );
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        auth::check_password_strength(&p).map_err(anyhow::Error::msg)?;
        Ok((p, false))
    } else {
        Ok((auth::new_password(), true))
    }
}
pub fn user_cmd(command: UserCmd, data: &Path) -> anyhow::Result<()> {
    let store = open_db(data)?;
    match command {
        UserCmd::Add {
            login,
            name,
            role,
            counters,
            password_stdin,
        } => {
            luot_core::Code::new(&login)
                .with_context(|| format!("tên đăng nhập · login {login:?}"))?;
            if store.user(&login)?.is_some() {
                bail!("đã có tài khoản {login:?} · a user {login:?} already exists");
            }
            check_counters(
                &config_in_force::for_commands(store.connection())?.0,
                &counters,
            )?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            store.add_user(&User {
                login: login.clone(),
                display_name: name,
                role: role.role(),
                password_hash: hash,
                counters,
                disabled: false,
                created_at: now_ms(),
            })?;
            store.audit(now_ms(), "cli", "user_add", &login)?;
            println!("added {login}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::Passwd {
            login,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            if !store.set_password(&login, &hash)? {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            }
            store.audit(now_ms(), "cli", "user_passwd", &login)?;
            println!("password changed for {login}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::Edit {
            login,
            name,
            role,
            counters,
        } => {
            if name.as_ref().is_some_and(|n| {
                n.trim().is_empty() || n.len() > luot_server::rest::DISPLAY_NAME_LEN_MAX
            }) {
                bail!(
                    "--name phải dài 1 đến {n} byte · --name must be 1 to {n} bytes",
                    n = luot_server::rest::DISPLAY_NAME_LEN_MAX
                );
            }
            let counters: Option<Vec<String>> =
                counters.map(|c| c.into_iter().filter(|c| !c.is_empty()).collect());
            if let Some(c) = &counters {
                check_counters(&config_in_force::for_commands(store.connection())?.0, c)?;
            }
            let role = role.map(RoleArg::role);
            let Some(before) = store.user(&login)? else {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            };
            if before.role.administers()
                && role.is_some_and(|r| !r.administers())
                && !before.disabled
                && store.active_admins()? <= 1
            {
                bail!(
                    "{login} là quản trị viên cuối cùng đang hoạt động: hãy tạo quản trị viên khác trước · {login} is the last active admin: make another admin first"
                );
            }
            store.update_user(
                &login,
                name.as_deref().map(str::trim),
                role,
                counters.as_deref(),
            )?;
            let mut what = vec![login.clone()];
            if let Some(n) = &name {
                what.push(format!("display_name={}", n.trim()));
            }
            if let Some(r) = &role {
                what.push(format!("role={r}"));
            }
            if let Some(c) = &counters {
                what.push(format!("counters={}", c.join(",")));
            }
            store.audit(now_ms(), "cli", "user_edit", &what.join(" "))?;
            println!("changed {login}");
        }
        UserCmd::Disable { login } => {
            let Some(before) = store.user(&login)? else {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            };
            if before.role.administers() && !before.disabled && store.active_admins()? <= 1 {
                bail!(
                    "{login} là quản trị viên cuối cùng đang hoạt động: không khóa được · {login} is the last active admin: it cannot be disabled"
                );
            }
            store.set_disabled(&login, true)?;
            store.audit(now_ms(), "cli", "user_disable", &login)?;
            println!("disabled {login}; their sessions have ended");
        }
        UserCmd::Enable { login } => {
            if !store.set_disabled(&login, false)? {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            }
            store.audit(now_ms(), "cli", "user_enable", &login)?;
            println!("enabled {login}");
        }
        UserCmd::List => {
            println!(
                "{:<20} {:<9} {:<9} {:<30} counters",
                "login", "role", "state", "name"
            );
            for u in store.users()? {
                println!(
                    "{:<20} {:<9} {:<9} {:<30} {}",
                    u.login,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.display_name,
                    u.counters.join(",")
                );
            }
        }
    }
    Ok(())
}
