//! What the server sends that this library interprets: listing lines (`gateway::ftp::parse_mlsd_line`,
//! `parse_list_line`, `parse_nlst_line`), reply texts turned into errors (the session's classification of
//! an unexpected reply), and the migration's login-info file (`gateway::gateway::migration`).
//!
//! Input: one flag byte (the session phase, whether a path is involved), then the server's text.
//! Properties:
//! - a listing entry is something the client can fetch and delete under its own name: a non-empty name,
//!   not `.` or `..`, without a folder part (`/`, `\`) or control characters, taken from the line itself;
//!   a folder has no size; NLST entries are files without size;
//! - a name the gateway could hand out (one `names::validate` accepts) in a well-formed MLSD, LIST or NLST
//!   line reads back exactly, with its size;
//! - an unexpected reply becomes an FTP or network error kind, keeps the reply's code (the digits the server
//!   sent) and its text, names the path for path errors, and its message holds no control characters
//!   (a hostile server must not write escape sequences to a terminal or forge log lines); never a panic;
//! - the login-info file gives a password without surrounding blanks or control characters (it is sent in
//!   `PASS`), or an error that does not repeat the file's content.

#![no_main]

use gateway::ftp::{parse_list_line, parse_mlsd_line, parse_nlst_line, RemoteEntry};
use gateway::gateway::{migration, names};
use gateway::ErrorKind;
use libfuzzer_sys::fuzz_target;

fn check_entry(entry: &RemoteEntry, line: &str, parser: &str) {
    let name = &entry.name;
    assert!(!name.is_empty() && name != "." && name != "..", "{parser}: name {name:?} from {line:?}");
    assert!(!name.contains(['/', '\\']), "{parser}: name {name:?} has a folder part (line {line:?})");
    assert!(!name.chars().any(char::is_control), "{parser}: name {name:?} has control characters (line {line:?})");
    assert!(line.contains(name.as_str()), "{parser}: name {name:?} is not in the line {line:?}");
    if entry.is_dir {
        assert_eq!(entry.size, None, "{parser}: a folder with a size: {line:?}");
    }
}

fn listing(text: &str) {
    for line in text.split('\n') {
        if let Some(entry) = parse_mlsd_line(line) {
            check_entry(&entry, line, "MLSD");
            assert!(line.ends_with(entry.name.as_str()), "MLSD: the name is the end of the line: {line:?}");
        }
        if let Some(entry) = parse_list_line(line) {
            check_entry(&entry, line, "LIST");
        }
        if let Some(entry) = parse_nlst_line(line) {
            check_entry(&entry, line, "NLST");
            assert!(!entry.is_dir && entry.size.is_none());
        }
        // Round trips for names the gateway could hand out.
        let name: String = line.chars().filter(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c)).take(78).collect();
        if names::validate(&name).is_ok() {
            let size = line.len() as u64 * 7919;
            let expect = RemoteEntry { name: name.clone(), is_dir: false, size: Some(size) };
            assert_eq!(parse_mlsd_line(&format!("type=file;size={size};modify=20261128150140; {name}")), Some(expect.clone()));
            assert_eq!(parse_list_line(&format!("-rw-------    1 1000     1000 {size:>12} Nov 28 15:01 {name}")), Some(expect));
            assert_eq!(parse_nlst_line(&format!("out/{name}")).map(|e| e.name), Some(name.clone()));
            let folder = RemoteEntry { name: name.clone(), is_dir: true, size: None };
            assert_eq!(parse_mlsd_line(&format!("type=dir;sizd=4096; {name}")), Some(folder.clone()));
            assert_eq!(parse_list_line(&format!("drwxr-xr-x    2 0        0            6 Jan 01  2024 {name}")), Some(folder));
        }
    }
}

fn reply(flags: u8, body: &[u8]) {
    let path = (flags & 0x80 != 0).then_some("out/status_FTPSGW.Heartbeat_ping.xml_1.xml");
    let error = gateway::ftp::fuzzing::classify_reply(body, flags & 0x7f, path);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Authentication
                | ErrorKind::TlsSessionReuseRequired
                | ErrorKind::Tls
                | ErrorKind::PermissionDenied
                | ErrorKind::NotFound
                | ErrorKind::ConnectionLost
                | ErrorKind::UnexpectedReply
        ),
        "reply {body:?} gave {:?}: {error}",
        error.kind()
    );
    let message = error.to_string();
    assert!(!message.chars().any(char::is_control), "control characters in the error message {message:?}");
    let reply = error.server_reply().expect("the error keeps the reply");
    if let Some(code) = body.get(..3).filter(|c| c.iter().all(u8::is_ascii_digit)) {
        let code: u32 = std::str::from_utf8(code).unwrap().parse().unwrap();
        assert_eq!(reply.code, code, "the reply code is not the one the server sent");
    }
    assert!(!reply.text.chars().any(char::is_control), "control characters in the kept reply text {:?}", reply.text);
    assert_eq!(reply.text.trim(), reply.text);
    if let Some(path) = path {
        if matches!(error.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound) {
            assert!(message.contains(path), "the error does not name the path: {message}");
        }
    }
}

fn login_info(content: &[u8]) {
    match migration::parse_login_info(content, "Ny_FTPS_Login_Info.txt") {
        Ok(password) => {
            let p = password.expose();
            assert!(!p.is_empty() && p.trim() == p, "password {p:?} has blanks around it");
            assert!(!p.chars().any(char::is_control), "password {p:?} has control characters: PASS would break");
        }
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::UnexpectedReply);
            // The message depends on the content only through numbers (the count of lines): it cannot leak it.
            let without_digits = |e: &gateway::Error| e.to_string().replace(|c: char| c.is_ascii_digit(), "");
            let reference = migration::parse_login_info(b"", "Ny_FTPS_Login_Info.txt").expect_err("empty is refused");
            assert_eq!(without_digits(&error), without_digits(&reference), "the error depends on the file's text");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    reply(flags, body);
    login_info(body);
    listing(&String::from_utf8_lossy(body));
});
