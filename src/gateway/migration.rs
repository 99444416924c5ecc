//! The migration from the legacy to the new gateway: the new password waits on the legacy gateway in a dummy
//! service, `UID_<uid>/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt`.

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

/// The migration service folder on the legacy gateway.
pub const LOGIN_INFO_SERVICE: &str = "NyFTPSLoginInfo";
/// The file in it.
pub const LOGIN_INFO_FILE: &str = "Ny_FTPS_Login_Info.txt";

/// The id part of a user name: `CVR_12345678_UID_9876543210` -> `UID_9876543210` (also RID_, FID_, UI_).
pub fn id_folder(username: &str) -> Option<String> {
    let rest = username.strip_prefix("CVR_")?;
    let (_cvr, id) = rest.split_once('_')?;
    (!id.is_empty()).then(|| id.to_string())
}

/// Where the login info lies for `username`.
pub fn login_info_path(username: &str) -> Result<String> {
    let id = id_folder(username).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{username:?} is not a gateway user name (CVR_<cvr>_UID_<uid>); give the right one as username"),
        )
    })?;
    Ok(format!("{id}/{LOGIN_INFO_SERVICE}/{LOGIN_INFO_FILE}"))
}

/// Reads the password from the login-info file. Its published format is not known, so this accepts a line
/// `Password: ...` (also `Adgangskode`, `=` instead of `:`, any case) or a file holding only the password.
pub fn parse_login_info(content: &[u8], source: &str) -> Result<Secret> {
    let text = String::from_utf8_lossy(content);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let labelled = |line: &str| {
        line.split_once([':', '=']).and_then(|(key, value)| {
            let key = key.trim().to_ascii_lowercase();
            let known = ["password", "adgangskode", "new password", "ny adgangskode", "pwd", "username", "brugernavn", "user"];
            known.contains(&key.as_str()).then(|| (key, value.trim().to_string()))
        })
    };
    // The password is sent in the `PASS` command, where a control character would break the command (a CR
    // or LF even starts another one): a text holding one is not a password.
    let printable = |value: &str| !value.is_empty() && !value.chars().any(char::is_control);
    for line in &lines {
        if let Some((key, value)) = labelled(line) {
            if !matches!(key.as_str(), "username" | "brugernavn" | "user") && printable(&value) {
                return Ok(Secret::new(value));
            }
        }
    }
    if let [only] = lines.as_slice() {
        if !only.contains(char::is_whitespace) && labelled(only).is_none() && printable(only) {
            return Ok(Secret::new(*only));
        }
    }
    Err(Error::new(
        ErrorKind::UnexpectedReply,
        format!(
            "{source} holds no recognisable password ({} lines, no `Password:` line with a password of printable \
             characters); open it with an FTP client and pass the password on with --password-file",
            lines.len()
        ),
    ))
}

/// Writes a password to `path` readable by the owner only (mode 0600 on Unix), atomically: a temporary file
/// in the same folder, synced, then renamed. Refuses to overwrite an existing file unless `overwrite`.
pub fn save_password(path: &std::path::Path, password: &Secret, overwrite: bool) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("cannot write {}: {e}; check the folder and its permissions", path.display())).with_source(e)
    };
    if path.exists() && !overwrite {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{} exists already; give another file or --force to replace it", path.display()),
        ));
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let temp = folder.join(format!(".{}.{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(), std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(password.expose().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_folders_and_paths() {
        assert_eq!(id_folder("CVR_12345678_UID_9876543210").as_deref(), Some("UID_9876543210"));
        assert_eq!(id_folder("CVR_1_UI_1e2d-x").as_deref(), Some("UI_1e2d-x"));
        assert_eq!(id_folder("anonymous"), None);
        assert_eq!(login_info_path("CVR_1_UID_2").unwrap(), "UID_2/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt");
        assert_eq!(login_info_path("x").unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn passwords_in_several_shapes() {
        for text in ["Username: CVR_1_UID_2\nPassword: s3cr=t!\n", "adgangskode = s3cr=t!", "s3cr=t!\n", "\r\nPASSWORD:s3cr=t!\r\n"] {
            assert_eq!(parse_login_info(text.as_bytes(), "f").unwrap().expose(), "s3cr=t!", "{text:?}");
        }
        for text in ["", "Username: x\nsomething else\n", "Password:\n", "Password: a\rPASS b", "s3cr\u{1b}t", "pw\u{7}"] {
            // A control character (found by fuzzing, fuzz/fuzz_targets/ftp_reply.rs) would break `PASS`.
            let e = parse_login_info(text.as_bytes(), "f.txt").unwrap_err();
            assert!(e.message().contains("f.txt"));
        }
    }
}
