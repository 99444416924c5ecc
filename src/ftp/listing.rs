//! Directory listings: MLSD facts (RFC 3659) where the server offers them, else the `ls -l`-style LIST output
//! that vsftpd and most gateways send, with the names-only NLST as the last resort.

use suppaftp::list::ListParser;

/// One entry of a remote folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEntry {
    /// The entry's name: never empty, `.` or `..`, without a folder part (`/`, `\`) and without control
    /// characters, so that it can be fetched, deleted and stored locally under its own name.
    pub name: String,
    pub is_dir: bool,
    /// The size in bytes of a file, when the listing tells it (NLST does not); always `None` for a folder.
    pub size: Option<u64>,
}

/// Parses one MLSD line: `fact=value;fact=value; name`. Returns `None` for the `.`/`..` entries (`cdir`,
/// `pdir`) and for lines that are not MLSD at all.
pub fn parse_mlsd_line(line: &str) -> Option<RemoteEntry> {
    // Facts never contain a space; the name starts after the first one and may contain anything.
    let (facts, name) = line.split_once(' ')?;
    if name.is_empty() {
        return None;
    }
    let mut is_dir = false;
    let mut size = None;
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let (key, value) = fact.split_once('=')?;
        match key.to_ascii_lowercase().as_str() {
            "type" => match value.to_ascii_lowercase().as_str() {
                "cdir" | "pdir" => return None,
                "dir" => is_dir = true,
                _ => {}
            },
            "size" => size = value.parse().ok(),
            _ => {}
        }
    }
    // A folder has no size, as in the LIST parser: Pure-FTPd's `sizd` (the folder's own inode size) and any
    // `size` a server sends for a folder say nothing about its contents.
    usable_name(name)?;
    Some(RemoteEntry { name: name.to_owned(), is_dir, size: if is_dir { None } else { size } })
}

/// `None` for a name no entry may have: empty, `.` or `..`, with a folder part or control characters. A server
/// that lists such a name is broken or hostile; the entry is skipped (and logged by the caller) rather than
/// handed to code that joins it to a local folder or sends it back in a command.
fn usable_name(name: &str) -> Option<()> {
    let odd = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) || name.chars().any(char::is_control);
    (!odd).then_some(())
}

/// Parses one LIST line (Unix `ls -l` or DOS/IIS style). Returns `None` for `total N`, `.`, `..` and lines
/// that cannot be understood (the caller logs them).
pub fn parse_list_line(line: &str) -> Option<RemoteEntry> {
    let trimmed = line.trim_end();
    if trimmed.is_empty() || trimmed.starts_with("total ") {
        return None;
    }
    // Only the LIST formats: suppaftp's `File::from_str` falls back to MLST syntax, which takes any line
    // at all ("garbage", a greeting, `out/x.xml`) for a file of that name with size 0.
    let file = ListParser::parse_posix(trimmed).or_else(|_| ListParser::parse_dos(trimmed)).ok()?;
    let name = file.name().to_owned();
    usable_name(&name)?;
    Some(RemoteEntry {
        name,
        is_dir: file.is_directory(),
        size: if file.is_directory() { None } else { Some(file.size() as u64) },
    })
}

/// Parses one NLST line: a bare name, or a path (some servers repeat the folder) of which the last part counts.
pub fn parse_nlst_line(line: &str) -> Option<RemoteEntry> {
    let trimmed = line.trim_end_matches(['\r', '\n']);
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    usable_name(name)?;
    Some(RemoteEntry { name: name.to_owned(), is_dir: false, size: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlsd_lines() {
        assert_eq!(
            parse_mlsd_line("type=file;size=1234;modify=20201210143002; status_a b;c.xml"),
            Some(RemoteEntry { name: "status_a b;c.xml".into(), is_dir: false, size: Some(1234) })
        );
        assert_eq!(
            parse_mlsd_line("Type=dir;Modify=20201210143002; FTPSGW.Heartbeat"),
            Some(RemoteEntry { name: "FTPSGW.Heartbeat".into(), is_dir: true, size: None })
        );
        // Pure-FTPd 1.0.50: `sizd` for folders, which is not the size of anything in them.
        assert_eq!(
            parse_mlsd_line("type=dir;sizd=4096;modify=20261128181755;UNIX.mode=0755;UNIX.uid=1001;UNIX.gid=0;unique=fe00g9ba006; sub"),
            Some(RemoteEntry { name: "sub".into(), is_dir: true, size: None })
        );
        assert_eq!(
            parse_mlsd_line("type=file;size=3;modify=20261128181755;UNIX.mode=0644;UNIX.uid=1001;UNIX.gid=0;unique=fe00g9b40b2; p.txt"),
            Some(RemoteEntry { name: "p.txt".into(), is_dir: false, size: Some(3) })
        );
        assert_eq!(parse_mlsd_line("type=dir;size=4096; sub").map(|e| e.size), Some(None));
        assert_eq!(parse_mlsd_line("type=cdir; ."), None);
        assert_eq!(parse_mlsd_line("type=pdir; .."), None);
        assert_eq!(parse_mlsd_line("garbage"), None);
    }

    #[test]
    fn list_lines() {
        assert_eq!(
            parse_list_line("-rw-------    1 1000     1000         4096 Nov 28 15:01 ping.xml"),
            Some(RemoteEntry { name: "ping.xml".into(), is_dir: false, size: Some(4096) })
        );
        assert_eq!(
            parse_list_line("drwxr-xr-x    2 0        0               6 Jan 01  2024 out"),
            Some(RemoteEntry { name: "out".into(), is_dir: true, size: None })
        );
        assert_eq!(
            parse_list_line("-rw-r--r--    1 ftp      ftp      107374182400 Nov 28 15:01 a file with spaces.xml"),
            Some(RemoteEntry { name: "a file with spaces.xml".into(), is_dir: false, size: Some(107374182400) })
        );
        assert_eq!(
            parse_list_line("10-20-20  02:30PM       <DIR>          Manifest.AfgangsdeklarationOpret"),
            Some(RemoteEntry { name: "Manifest.AfgangsdeklarationOpret".into(), is_dir: true, size: None })
        );
        // ProFTPD 1.3.8 (owner names) and Pure-FTPd 1.0.50 (numeric ids).
        assert_eq!(
            parse_list_line("-rw-r--r--   1 CVR_12345678_UID_1234567890 root            6 Nov 28 18:08 a.txt"),
            Some(RemoteEntry { name: "a.txt".into(), is_dir: false, size: Some(6) })
        );
        assert_eq!(
            parse_list_line("drwxr-xr-x   2 CVR_12345678_UID_1234567890 root         4096 Nov 28 18:08 sub"),
            Some(RemoteEntry { name: "sub".into(), is_dir: true, size: None })
        );
        assert_eq!(
            parse_list_line("-rw-r--r--    1 1001       0                   3 Nov 28 18:17 p.txt"),
            Some(RemoteEntry { name: "p.txt".into(), is_dir: false, size: Some(3) })
        );
        assert_eq!(parse_list_line("total 12"), None);
        assert_eq!(parse_list_line("drwxr-xr-x    2 0 0 6 Jan 01  2024 ."), None);
    }

    #[test]
    fn list_lines_that_are_not_list_output_are_refused() {
        // Found by fuzzing (fuzz/fuzz_targets/ftp_reply.rs): any line came back as a file of size 0.
        for line in ["out/status_1.xml", "garbage", "220 Welcome", "type=file;size=3; x.xml"] {
            assert_eq!(parse_list_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn names_that_cannot_be_entries_are_refused() {
        // Found by fuzzing (fuzz/fuzz_targets/ftp_reply.rs): names with a folder part or control characters.
        for name in ["a/b.xml", "../x", "/etc/passwd", "a\\b", "a\rb", "x\u{1b}[2J", "\u{9b}x"] {
            assert_eq!(parse_mlsd_line(&format!("type=file;size=1; {name}")), None, "MLSD {name:?}");
            assert_eq!(parse_list_line(&format!("-rw-r--r--    1 0 0 1 Nov 28 15:01 {name}")), None, "LIST {name:?}");
        }
        assert_eq!(parse_nlst_line("a\\b"), None);
        assert_eq!(parse_nlst_line("x\u{7}"), None);
        assert_eq!(parse_nlst_line("out/x.xml").map(|e| e.name), Some("x.xml".into()));
    }

    #[test]
    fn nlst_lines() {
        assert_eq!(parse_nlst_line("out/status_1.xml").map(|e| e.name), Some("status_1.xml".into()));
        assert_eq!(parse_nlst_line("ping.xml").map(|e| e.name), Some("ping.xml".into()));
        assert_eq!(parse_nlst_line(".."), None);
    }
}
