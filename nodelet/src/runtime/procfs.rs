//! Process identity from `/proc`: a PID plus its start time and the boot id, so a PID that
//! the kernel handed to some other process is never signalled or waited on by mistake.

use std::io;
use std::sync::OnceLock;

use super::types::ProcessIdentity;

/// The kernel's boot id (empty if unreadable, which then matches only other empty ids).
pub(crate) fn boot_id() -> &'static str {
    static BOOT_ID: OnceLock<String> = OnceLock::new();
    BOOT_ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// State letter and start ticks of a live process, from `/proc/PID/stat`.
fn stat_of(pid: u32) -> io::Result<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unparsable /proc/{pid}/stat"),
        )
    })
}

/// Parses `pid (comm) S ppid ... starttime ...`; `comm` may itself contain spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) comes field 4; starttime is field 22.
    let start_ticks = fields.nth(22 - 4)?.parse().ok()?;
    Some((state, start_ticks))
}

/// The identity of a process that is running now.
pub(crate) fn identity_of(pid: u32) -> io::Result<ProcessIdentity> {
    let (_, start_ticks) = stat_of(pid)?;
    Ok(ProcessIdentity {
        pid,
        start_ticks,
        boot_id: boot_id().to_string(),
    })
}

/// True while the very process named by `who` exists and has not exited (a zombie that
/// nobody reaped yet counts as exited).
pub(crate) fn is_alive(who: &ProcessIdentity) -> bool {
    if who.boot_id != boot_id() {
        return false;
    }
    match stat_of(who.pid) {
        Ok((state, start)) => start == who.start_ticks && state != 'Z' && state != 'X',
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comm_with_spaces_and_parens() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 98765)));
    }

    #[test]
    fn own_process_is_alive_and_a_changed_start_time_is_not() {
        let me = identity_of(std::process::id()).unwrap();
        assert!(is_alive(&me));
        let other = ProcessIdentity {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!is_alive(&other));
        let rebooted = ProcessIdentity {
            boot_id: "another-boot".into(),
            ..me
        };
        assert!(!is_alive(&rebooted));
    }
}
