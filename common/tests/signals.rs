//! A real process under `skiff_common::shutdown::on_signals`: the first SIGTERM starts the
//! shutdown, a second signal (SIGTERM or SIGINT) ends the process at once even while its
//! shutdown hangs.
//!
//! The process is this test binary run again with only the ignored `hanging_server` test,
//! which plays a server whose drain never finishes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

const CHILD_ENV: &str = "SKIFF_SIGNALS_TEST_CHILD";

/// Runs only when the test below starts it: waits for the token, then hangs "draining".
#[test]
#[ignore = "a helper process for a_second_signal_forces_the_exit, not a test on its own"]
fn hanging_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let shutdown = skiff_common::shutdown::on_signals();
        println!("ready");
        shutdown.cancelled().await;
        println!("draining");
        std::future::pending::<()>().await;
    });
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(child.id() as i32).unwrap();
    kill_process(pid, signal).unwrap();
}

/// The next line the child prints, within 10 s.
fn expect_line(lines: &mpsc::Receiver<String>, want: &str) {
    let line = lines
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("the child did not print {want:?}"));
    assert_eq!(line, want);
}

fn start() -> (Guard, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "hanging_server",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // libtest may print `test hanging_server ... ` before the first line.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for word in ["ready", "draining"] {
                if line.ends_with(word) {
                    let _ = tx.send(word.to_string());
                }
            }
        }
    });
    (Guard(child), rx)
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_second_signal_forces_the_exit() {
    for second in [Signal::TERM, Signal::INT] {
        let (mut child, lines) = start();
        expect_line(&lines, "ready");
        signal(&child.0, Signal::TERM);
        expect_line(&lines, "draining");
        assert!(
            wait_exit(&mut child.0, Duration::from_millis(500)).is_none(),
            "the first signal only starts the shutdown"
        );
        signal(&child.0, second);
        let status = wait_exit(&mut child.0, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("still running 10 s after a second signal ({second:?})"));
        assert_eq!(
            status.code(),
            Some(skiff_common::shutdown::FORCED_EXIT_STATUS),
            "{status}"
        );
    }
}
