//! The e2e harness: a cluster started by the real `skiff up` in a temporary directory, the `skiff` binary run against it, output masking for goldens.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use skiff_cli::up::procs;
use skiff_cli::up::state::ClusterState;

pub fn step(name: &str) {
    eprintln!("=== {name}");
}

/// The `skiff` under test.
pub fn skiff_bin() -> &'static str {
    env!("CARGO_BIN_EXE_skiff")
}

/// The seed manifests.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/seed")
        .join(name)
        .display()
        .to_string()
}

/// A `skiff up` cluster; `skiff down` (and a kill of every recorded PID) when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub home: tempfile::TempDir,
    /// Commands get `SKIFF_CONFIG=<dir>/config`; a cluster in the default directory is
    /// reached through `~/.skiff/config` instead.
    config_from_env: bool,
    _root: tempfile::TempDir,
}

/// A finished `skiff` run.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Cluster {
    /// `skiff up --dir <temp> --nodes 2`, with HOME pointing at a temporary directory so the
    /// user's ~/.skiff is never touched.
    pub fn up() -> Cluster {
        Cluster::up_with(&[])
    }

    /// [`Cluster::up`] with more `skiff up` flags.
    pub fn up_with(extra: &[&str]) -> Cluster {
        let root = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let dir = root.path().join("cluster");
        let cluster = Cluster {
            dir: dir.clone(),
            home,
            config_from_env: true,
            _root: root,
        };
        step("skiff up");
        let dir_arg = dir.display().to_string();
        // These scenarios time plain processes; sandboxes have their own
        // (tests/tests/sandbox).
        let mut args = vec![
            "up",
            "--dir",
            &dir_arg,
            "--timeout",
            "120s",
            "--sandbox",
            "none",
        ];
        args.extend_from_slice(extra);
        let run = cluster.run_env(&args, &[]);
        assert_eq!(
            run.status, 0,
            "skiff up failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        cluster
    }

    /// `skiff up` with no `--dir`: the cluster goes to `~/.skiff/local` (HOME being a
    /// temporary directory) and its config to `~/.skiff/config`, which commands then read.
    pub fn up_default() -> Cluster {
        let root = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let mut cluster = Cluster {
            dir: home.path().join(".skiff/local"),
            home,
            config_from_env: false,
            _root: root,
        };
        step("skiff up (default directory)");
        let run = cluster.run(&["up", "--timeout", "120s", "--sandbox", "none"]);
        assert_eq!(
            run.status, 0,
            "skiff up failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        cluster.dir = std::fs::canonicalize(&cluster.dir).expect("cluster dir");
        cluster
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .expect("state")
            .expect("state.json")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(skiff_bin());
        command.args(args).env("HOME", self.home.path());
        if self.config_from_env {
            command.env("SKIFF_CONFIG", self.config());
        } else {
            command.env_remove("SKIFF_CONFIG");
        }
        command
            .env_remove("KUBE_EDITOR")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        command
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::from(command.output().expect("run skiff"))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.status, 0,
            "skiff {args:?} failed:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// Runs and expects exit status 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.status, 1,
            "skiff {args:?} should fail:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stderr
    }

    /// `skiff ARGS` with `input` on stdin.
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let run = Run::from(child.wait_with_output().expect("wait"));
        assert_eq!(run.status, 0, "skiff {args:?} failed: {}", run.stderr);
        run.stdout
    }

    /// A long-running `skiff` (`get -w`, `logs -f`) whose stdout lines arrive on a channel.
    pub fn stream(&self, args: &[&str]) -> Streaming {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming { child, lines: rx }
    }

    /// Polls `skiff ARGS` until `check` accepts its stdout.
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        args: &[&str],
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let run = self.run(args);
            if run.status == 0 && check(&run.stdout) {
                return run.stdout;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last `skiff {args:?}`:\n{}{}",
                    run.stdout, run.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Every PID `skiff up` recorded.
    pub fn pids(&self) -> Vec<(u32, u64)> {
        self.state()
            .components
            .iter()
            .filter_map(|c| Some((c.pid?, c.start_time?)))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        procs::tear_down(&self.dir, || {
            let _ = self.run(&["down", "--dir", &dir]);
        });
    }
}

/// A running `skiff` whose output is read line by line.
pub struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Streaming {
    /// Lines until one satisfies `check` (all of them returned), or a panic after `within`.
    pub fn until(&self, within: Duration, check: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = check(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "no matching line within {within:?}; got:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True while a process with this PID and start time runs (a zombie has stopped running).
pub fn alive(pid: u32, start_time: u64) -> bool {
    procs::proc_info(pid).is_some_and(|i| i.state != 'Z' && i.start_time == start_time)
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
