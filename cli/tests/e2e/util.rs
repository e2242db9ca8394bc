//! The e2e harness: clusters started by the real `skiff up` (the test kit's
//! [`UpCluster`], without sandboxes: these scenarios time plain processes; sandboxes have
//! their own in tests/tests/sandbox), and output masking for goldens.

pub use skiff_testkit::step;
pub use skiff_testkit::up::{alive, fixture, UpCluster as Cluster};

/// The `skiff` under test.
pub fn skiff_bin() -> &'static str {
    env!("CARGO_BIN_EXE_skiff")
}

/// `skiff up --dir <temp> --nodes 2 --sandbox none`.
pub fn up() -> Cluster {
    up_with(&[])
}

/// [`up`] with more `skiff up` flags.
pub fn up_with(extra: &[&str]) -> Cluster {
    let mut args = vec!["--sandbox", "none"];
    args.extend_from_slice(extra);
    Cluster::up(&args)
}

/// `skiff up` in the default directory (`~/.skiff/local` under a temporary HOME).
pub fn up_default() -> Cluster {
    Cluster::up_default(&["--sandbox", "none"])
}

/// [`mask`], with the rows of the Events table sorted: events of the same second come from
/// different components (the scheduler's `Scheduled` may reach the store after the nodelet's
/// `Pulled`), so their order is not part of the golden.
pub fn mask_events_unordered(text: &str) -> String {
    let masked = mask(text);
    let Some(at) = masked.find("Events:\n") else {
        return masked;
    };
    let (head, events) = masked.split_at(at);
    let mut lines: Vec<&str> = events.lines().collect();
    let header = lines.len().min(3);
    lines[header..].sort();
    format!("{head}{}\n", lines.join("\n"))
}

/// Normalizes output for goldens: ages, IPs, uids, timestamps and generated name suffixes
/// are masked, and column gaps (two or more spaces) become exactly two spaces, so a golden
/// checks every cell without depending on how wide a masked value was.
pub fn mask(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        out.push_str(&line[..indent]);
        let cells: Vec<String> = split_cells(line.trim())
            .into_iter()
            .map(mask_cell)
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn split_cells(line: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("  ") {
        cells.push(&rest[..i]);
        rest = rest[i..].trim_start();
    }
    cells.push(rest);
    cells
}

fn mask_cell(cell: &str) -> String {
    if chrono::DateTime::parse_from_str(cell.trim(), "%a, %d %b %Y %H:%M:%S %z").is_ok() {
        return "<time>".to_string();
    }
    cell.split(' ').map(mask_word).collect::<Vec<_>>().join(" ")
}

fn is_age(w: &str) -> bool {
    let units = w.trim_start_matches(|c: char| c.is_ascii_digit());
    !w.is_empty()
        && w.starts_with(|c: char| c.is_ascii_digit())
        && !units.is_empty()
        && w.chars().all(|c| c.is_ascii_digit() || "smhdy".contains(c))
        && w.ends_with(|c: char| "smhdy".contains(c))
}

fn mask_word(word: &str) -> String {
    if word.contains('/') {
        return word.split('/').map(mask_word).collect::<Vec<_>>().join("/");
    }
    let core = word.trim_start_matches('(').trim_end_matches([')', ',']);
    let start = word.find(core).unwrap_or(0);
    let (before, after) = (&word[..start], &word[start + core.len()..]);
    let masked = if is_age(core) {
        "<age>".to_string()
    } else if core.split('.').count() == 4
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        "<ip>".to_string()
    } else if let Some(at) = find_uid(core) {
        format!("{}<uid>{}", &core[..at], mask_word(&core[at + 36..]))
    } else {
        mask_suffix(core)
    };
    format!("{before}{masked}{after}")
}

/// Where a uid starts in `s`, if it holds one.
fn find_uid(s: &str) -> Option<usize> {
    (0..s.len().saturating_sub(35))
        .find(|&i| s.is_char_boundary(i) && s.get(i..i + 36).is_some_and(is_uid))
}

fn is_uid(s: &str) -> bool {
    s.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

/// `crane-5xq2v` -> `crane-xxxxx`: the random suffix Kubernetes-style generated names carry.
fn mask_suffix(word: &str) -> String {
    const ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";
    match word.rsplit_once('-') {
        Some((prefix, suffix))
            if suffix.len() == 5 && suffix.chars().all(|c| ALPHABET.contains(c)) =>
        {
            format!("{prefix}-xxxxx")
        }
        _ => word.to_string(),
    }
}

#[test]
fn masking_keeps_cells_and_hides_what_varies() {
    let text = "NAME          READY   STATUS    RESTARTS      AGE\ncrane-5xq2v   1/1     Running   2 (25s ago)   3m2s\n    Started:      Sat, 28 Nov 2026 00:00:39 +0000\n  Normal  Pulled  2m50s (x3 over 3m10s)  kubelet  IP 127.0.0.1 uid=3ec7f801-6405-4bdb-b72c-b500a44e6c30 skiff://3ec7f801-6405-4bdb-b72c-b500a44e6c30/crane/0\n";
    assert_eq!(
        mask(text),
        "NAME  READY  STATUS  RESTARTS  AGE\ncrane-xxxxx  1/1  Running  2 (<age> ago)  <age>\n    Started:  <time>\n  Normal  Pulled  <age> (x3 over <age>)  kubelet  IP <ip> uid=<uid> skiff://<uid>/crane/0\n"
    );
}
