//! The first admin password, made when `luot serve` starts on an empty data folder, handed to a
//! person. On a terminal it is printed once. Otherwise (a systemd service, whose standard output
//! is the journal; a pipe; a file) it goes to a file only the server's user can read, in the data
//! folder, and the banner and the log say where, never the password itself: a log is kept,
//! copied and read by many.

use luot_server::FirstStart;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The file in the data folder that holds the first admin password when standard output is not
/// a terminal.
pub const PASSWORD_FILE: &str = "first-admin-password.txt";

/// Prints the first-start part of the banner: the password itself on a terminal, else where the
/// password file is. A password file that cannot be written is reported with the way to set a
/// password by hand; the server keeps running.
pub fn announce(data: &Path, first: &FirstStart) {
    println!();
    if std::io::stdout().is_terminal() {
        println!(
            "  Lần chạy đầu · First start: tài khoản quản trị · admin login \"{}\", mật khẩu · password: {}",
            first.admin_login, first.admin_password
        );
        println!(
            "  (chỉ hiện một lần; đổi bằng `luot user passwd {0}` · shown once; change it with `luot user passwd {0}`)",
            first.admin_login
        );
    } else {
        match write_password_file(data, &first.admin_login, &first.admin_password) {
            Ok(path) => {
                println!(
                    "  Lần chạy đầu · First start: tài khoản quản trị · admin login \"{}\", password file: {}",
                    first.admin_login,
                    path.display()
                );
                println!(
                    "  (mật khẩu nằm trong tệp trên, chỉ người dùng chạy máy chủ đọc được; đăng nhập, đổi mật khẩu rồi xóa tệp · \
                     the password is in that file, readable by the server's user only; log in, change it, then delete the file)"
                );
                tracing::warn!(
                    file = %path.display(),
                    "first start: the admin password is in this file (mode 0600), not in the log; \
                     mật khẩu quản trị lần đầu nằm trong tệp này"
                );
            }
            Err(e) => {
                let file = data.join(PASSWORD_FILE);
                println!(
                    "  Lần chạy đầu · First start: không ghi được mật khẩu quản trị vào {0} ({e}); \
                     đặt mật khẩu bằng `luot user passwd {1} --data {2}` · could not write the admin password to {0} ({e}); \
                     set one with `luot user passwd {1} --data {2}`",
                    file.display(),
                    first.admin_login,
                    data.display()
                );
                tracing::error!(file = %file.display(), error = %e, "cannot write the first admin password");
            }
        }
    }
    println!(
        "  (liên kết thiết bị ở trên dùng được khi thiết bị đã mở chúng · the device links above work once each device has opened them)"
    );
}

/// Writes the password file, readable and writable by this process's user only (0600 from the
/// moment it exists, whatever the umask), and returns its absolute path. An older file (from an
/// earlier first start on a folder whose database was removed) is replaced: its password no
/// longer exists.
pub fn write_password_file(data: &Path, login: &str, password: &str) -> std::io::Result<PathBuf> {
    let path = std::path::absolute(data.join(PASSWORD_FILE))?;
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    write!(
        file,
        "# Luot: mật khẩu quản trị lần đầu · first admin password\n\
         # Đăng nhập tại /admin, đổi mật khẩu (`luot user passwd {login}` hoặc trang Tài khoản), rồi xóa tệp này.\n\
         # Log in at /admin, change the password (`luot user passwd {login}` or the Accounts tab), then delete this file.\n\
         login: {login}\n\
         password: {password}\n"
    )?;
    file.sync_all()?;
    Ok(path)
}
