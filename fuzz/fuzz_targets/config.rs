//! The configuration file (`gateway::gateway::config`): TOML profiles, and the durations in them.
//!
//! Input: the text of a config file (also tried as a duration, and its first line as a service name to route).
//! Properties:
//! - `ConfigFile::parse` gives a file or a `Config` error that names the file and a line that exists;
//!   never a panic;
//! - a file that parses resolves every profile (parse resolves them all, so no mistake waits for later), and
//!   the default profile when there is one;
//! - a resolved profile can be used: non-zero time-outs, 1 to 100 upload attempts, ports that can be connected
//!   to (1-65535), data-port ranges that are ranges of such ports, routes that are service names or
//!   `prefix*` patterns, and routing any service name gives one of the two gateways without a panic;
//! - `parse_duration` is total: a duration or an error that says what to write; what it accepts reads back
//!   from the milliseconds it came to (`<n>ms`).

#![no_main]

use gateway::gateway::config::{parse_duration, Config, ConfigFile};
use gateway::ErrorKind;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::time::Duration;

const PATH: &str = "/etc/skat-gateway/client.toml";

fn check_profile(config: &Config, service: &str) {
    assert!(!config.connect_timeout.is_zero() && !config.io_timeout.is_zero(), "a zero time-out: {config:?}");
    assert!((1..=100).contains(&config.upload_attempts), "{} upload attempts", config.upload_attempts);
    for address in [&config.new_gateway, &config.legacy_gateway] {
        assert_ne!(address.port, 0, "profile {}: port 0 cannot be connected to", config.profile);
        if let Some(range) = &address.data_ports {
            assert!(*range.start() >= 1 && range.start() <= range.end(), "data ports {range:?}");
        }
    }
    for (pattern, _) in &config.routes {
        let stem = pattern.strip_suffix('*').unwrap_or(pattern);
        assert!(!pattern.trim().is_empty() && !stem.contains(['*', '/']) && !pattern.contains(char::is_whitespace));
    }
    let _ = config.route(service);
    // Relative paths resolve against the file's folder.
    for path in [&config.journal, &config.inbox] {
        assert!(path.is_absolute(), "{path:?} is not absolute");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    match parse_duration(text) {
        Ok(duration) => {
            let millis = duration.as_millis();
            if let Ok(millis) = u64::try_from(millis) {
                if Duration::from_millis(millis) == duration {
                    assert_eq!(parse_duration(&format!("{millis}ms")), Ok(duration));
                }
            }
        }
        Err(why) => assert!(!why.is_empty()),
    }

    let service = text.lines().next().unwrap_or("");
    match ConfigFile::parse(text, Path::new(PATH)) {
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::Config);
            let message = error.message();
            assert!(message.starts_with(&format!("config file {PATH}")), "{message}");
            if let Some(at) = message.find(", line ") {
                let digits: String = message[at + 7..].chars().take_while(char::is_ascii_digit).collect();
                let line: usize = digits.parse().expect("a line number");
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line} of a {}-line file", text.lines().count());
            }
        }
        Ok(file) => {
            for name in file.profile_names() {
                let config = file.profile(Some(&name)).unwrap_or_else(|e| panic!("profile {name} parsed, then failed: {e}"));
                assert_eq!(config.profile, name);
                check_profile(&config, service);
            }
            if let Some(default) = file.default_profile() {
                assert!(file.profile_names().contains(&default), "default profile {default:?} does not exist");
                assert!(file.profile(None).is_ok());
            }
        }
    }
});
