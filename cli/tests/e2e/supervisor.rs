//! The supervisor alone (`skiff __supervise`), over a one-component cluster whose component is `sleep`: it restarts what is killed with a growing back-off, waits for the state lock, stays idle between rounds, and stops once `state.json` no longer names it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use skiff_cli::up::lock::StateLock;
use skiff_cli::up::procs;
use skiff_cli::up::state::{ClusterState, Component, Health, SupervisorRecord};

use crate::util::{alive, skiff_bin, step};

fn sigkill(pid: u32) {
    let pid = Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    kill_process(pid, Signal::KILL).unwrap();
}

fn sleep_path() -> PathBuf {
    ["/bin/sleep", "/usr/bin/sleep"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("sleep")
}

/// Waits until `pid` runs `program` (after fork, before exec, it still runs its parent's).
fn start_time_of(pid: u32, program: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(info) = procs::proc_info(pid) {
            if info
                .cmdline
                .first()
                .is_some_and(|a| Path::new(a).file_name().and_then(|f| f.to_str()) == Some(program))
            {
                return info.start_time;
            }
        }
        assert!(Instant::now() < deadline, "pid {pid} never ran {program}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// CPU time (user + system, in clock ticks) a process used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Kills the first sleeper, and by PID the supervisor and the sleeper recorded in `dir`
/// (even when a test fails).
struct Guard {
    dir: PathBuf,
    first: Child,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // A no-op once it was waited for: a reused PID is never hit.
        let _ = self.first.kill();
        let _ = self.first.wait();
        if let Ok(Some(state)) = ClusterState::load(&self.dir) {
            let mut pids: Vec<(u32, u64)> = state
                .components
                .iter()
                .filter_map(|c| Some((c.pid?, c.start_time?)))
                .collect();
            pids.extend(state.supervisor.map(|s| (s.pid, s.start_time)));
            procs::terminate(&pids, Duration::from_secs(1));
        }
    }
}

fn update(dir: &Path, change: impl FnOnce(&mut ClusterState)) {
    let _lock = StateLock::acquire(dir, || {}).unwrap();
    let mut state = ClusterState::load(dir).unwrap().unwrap();
    change(&mut state);
    state.save().unwrap();
}

fn sleeper(dir: &Path) -> Component {
    ClusterState::load(dir).unwrap().unwrap().components[0].clone()
}

/// Waits until the sleeper runs with a PID other than `old` and `restarts` counted.
fn restarted(dir: &Path, old: u32, restarts: u32, log: &Path) -> Component {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let c = sleeper(dir);
        if c.pid != Some(old) && procs::is_running(&c) && c.restarts == restarts {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "not restarted: {c:?}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_supervisor_restarts_with_back_off_under_the_lock_and_stops_when_told() {
    let root = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(root.path()).unwrap();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    step("a cluster of one `sleep 300`, started by the test");
    let first = Command::new(sleep_path()).arg("300").spawn().unwrap();
    let first_pid = first.id();
    let mut guard = Guard {
        dir: dir.clone(),
        first,
    };
    let state = ClusterState {
        https_apiservers: vec![],
        dir: dir.clone(),
        apiservers: vec![],
        stores: vec![],
        pki: None,
        admin_token: "t".into(),
        nodes: vec![],
        components: vec![Component {
            name: "sleeper".into(),
            program: "sleep".into(),
            args: vec!["300".into()],
            log: logs.join("sleeper.log"),
            health: Health::Node { name: "n".into() },
            path: Some(sleep_path()),
            pid: Some(first_pid),
            start_time: Some(start_time_of(first_pid, "sleep")),
            restarts: 0,
        }],
        supervisor: None,
    };
    state.save().unwrap();

    step("skiff __supervise, detached, recorded in state.json");
    // As `skiff up` does: under the lock, so its first round sees itself recorded.
    let lock = StateLock::acquire(&dir, || {}).unwrap();
    let log = logs.join("supervisor.log");
    let out = std::fs::File::create(&log).unwrap();
    let supervisor = Command::new(skiff_bin())
        .args(["__spawn", skiff_bin(), "__supervise", "--dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let record = SupervisorRecord {
        pid: supervisor.id(),
        start_time: procs::proc_info(supervisor.id()).unwrap().start_time,
    };
    let mut state = ClusterState::load(&dir).unwrap().unwrap();
    state.supervisor = Some(record);
    state.save().unwrap();
    drop(lock);
    // Reaped by a thread of ours, so that its end is seen as an end and not as a zombie.
    let supervisor_reaper = std::thread::spawn(move || {
        let mut supervisor = supervisor;
        supervisor.wait()
    });

    step("idle, the supervisor uses next to no CPU");
    std::thread::sleep(Duration::from_millis(1500));
    let before = cpu_ticks(record.pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(record.pid) - before;
    assert!(used <= 5, "{used} clock ticks of CPU in 3s of idling");
    assert!(procs::supervisor_running(&record));

    step("kill -9 the sleeper: started again after 1s");
    sigkill(first_pid);
    guard.first.wait().unwrap();
    let second = restarted(&dir, first_pid, 1, &log);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!(
            "sleeper (pid {first_pid}) exited; restarting in 1s"
        )),
        "{text}"
    );
    assert_eq!(second.args, ["300"]);

    step("while the lock is held the supervisor waits; then it restarts after 2s");
    let second_pid = second.pid.unwrap();
    let lock = StateLock::acquire(&dir, || {}).unwrap();
    sigkill(second_pid);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sleeper(&dir).pid,
        Some(second_pid),
        "nothing changed under the lock"
    );
    let released = Instant::now();
    drop(lock);
    let third = restarted(&dir, second_pid, 2, &log);
    assert!(
        released.elapsed() >= Duration::from_millis(1900),
        "the second delay is 2s"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!(
            "sleeper (pid {second_pid}) exited (killed by signal 9); restarting in 2s"
        )),
        "{text}"
    );
    assert!(
        procs::proc_info(second_pid).is_none_or(|i| i.start_time != second.start_time.unwrap()),
        "the supervisor reaped its child: no zombie is left"
    );

    step("state.json naming no supervisor stops it; the sleeper is left for skiff down");
    update(&dir, |s| s.supervisor = None);
    let stopped = Instant::now();
    supervisor_reaper.join().unwrap().unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(5));
    assert!(!alive(record.pid, record.start_time));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("stopping: state.json names another supervisor or none"),
        "{text}"
    );
    assert!(procs::is_running(&third));
}
