//! The processes of a local cluster: starting them detached (a session of their own), recognising them by `/proc`, stopping them and whatever they left behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::state::{ClusterState, Component, SupervisorRecord};
use crate::error::CliError;

/// What `/proc/PID/stat` and `/proc/PID/cmdline` say about a process.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcInfo {
    pub state: char,
    pub session: i32,
    pub start_time: u64,
    pub cmdline: Vec<String>,
}

/// Every process of the machine that has not exited (zombies left out), as `/proc` lists
/// them now.
pub fn live_processes() -> Vec<(u32, ProcInfo)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, proc_info(pid)?)))
        .filter(|(_, info)| info.state != 'Z')
        .collect()
}

/// Reads `/proc/PID`; `None` when there is no such process.
pub fn proc_info(pid: u32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (state, session, start_time) = parse_stat(&stat)?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = cmdline
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    Some(ProcInfo {
        state,
        session,
        start_time,
        cmdline,
    })
}

/// State, session and start time from a `/proc/PID/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted from its closing parenthesis.
pub fn parse_stat(stat: &str) -> Option<(char, i32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let session = fields.get(3)?.parse().ok()?;
    let start_time = fields.get(19)?.parse().ok()?;
    Some((state, session, start_time))
}

fn runs_program(cmdline: &[String], program: &str) -> bool {
    cmdline
        .first()
        .is_some_and(|argv0| Path::new(argv0).file_name().and_then(|f| f.to_str()) == Some(program))
}

/// True while the recorded process still runs and still is that component: same start time,
/// and its command line runs the component's program.
pub fn is_running(component: &Component) -> bool {
    let (Some(pid), Some(start)) = (component.pid, component.start_time) else {
        return false;
    };
    match proc_info(pid) {
        Some(info) => {
            info.state != 'Z'
                && info.start_time == start
                && runs_program(&info.cmdline, &component.program)
        }
        None => false,
    }
}

/// Waits (at most `within`) until `pid` shows the command line `done` accepts: a process
/// started by [`spawn`] is a copy of its parent, then `skiff __spawn`, and only then the
/// program. Until then [`is_running`] would not recognise it, so its PID is not handed to
/// anyone (`skiff down`, `skiff status`) before. False when it exited or took too long.
fn wait_exec(pid: u32, within: Duration, done: impl Fn(&[String]) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match proc_info(pid) {
            Some(info) if info.state != 'Z' => {
                if done(&info.cmdline) {
                    return true;
                }
            }
            _ => return false,
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How long a started process may take to become its program.
const EXEC_WITHIN: Duration = Duration::from_secs(5);

/// The `skiff` executable that runs now. When it was rebuilt meanwhile, Linux names the old
/// file `PATH (deleted)`: the new file at PATH is the one to run.
pub fn skiff_exe() -> Result<PathBuf, CliError> {
    let me = std::env::current_exe()
        .map_err(|e| CliError::msg(format!("cannot find the skiff executable: {e}")))?;
    if !me.exists() {
        if let Some(replaced) = me
            .to_str()
            .and_then(|p| p.strip_suffix(" (deleted)"))
            .map(PathBuf::from)
            .filter(|p| p.is_file())
        {
            return Ok(replaced);
        }
    }
    Ok(me)
}

/// Starts `component` from `binary`, detached: `skiff __spawn` gives it a session of its own
/// (so a Ctrl-C or a closed terminal does not reach it) and then becomes it, keeping its PID.
/// Its output is appended to its log.
/// Returns once the process runs the program (or failed to: its exit is seen later).
pub fn spawn(component: &Component, binary: &Path, dir: &Path) -> Result<Child, CliError> {
    let child = spawn_detached(
        &component.name,
        binary,
        &component.args,
        &component.log,
        dir,
    )?;
    wait_exec(child.id(), EXEC_WITHIN, |cmdline| {
        runs_program(cmdline, &component.program)
    });
    Ok(child)
}

/// Starts `skiff __supervise --dir DIR`, detached (see [`spawn`]), its output appended to
/// `log`; returns once it runs as the supervisor (or failed to).
pub fn spawn_supervisor(dir: &Path, log: &Path) -> Result<Child, CliError> {
    let args = [
        SUPERVISE_COMMAND.to_string(),
        "--dir".to_string(),
        dir.display().to_string(),
    ];
    let child = spawn_detached("the supervisor", &skiff_exe()?, &args, log, dir)?;
    wait_exec(child.id(), EXEC_WITHIN, |cmdline| {
        cmdline.get(1).map(String::as_str) == Some(SUPERVISE_COMMAND)
    });
    Ok(child)
}

/// Starts `program ARGS` detached (see [`spawn`]), in `dir`, its output appended to `log`.
pub fn spawn_detached(
    name: &str,
    program: &Path,
    args: &[String],
    log: &Path,
    dir: &Path,
) -> Result<Child, CliError> {
    let me = skiff_exe()?;
    let log_error =
        |e: std::io::Error| CliError::msg(format!("cannot open the log {}: {e}", log.display()));
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent).map_err(log_error)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(log_error)?;
    let err = out.try_clone().map_err(log_error)?;
    Command::new(me)
        .arg("__spawn")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| CliError::msg(format!("cannot start {name}: {e}")))
}

/// True while the recorded supervisor still runs: same start time, not a zombie, and its
/// command line is `skiff __supervise`.
pub fn supervisor_running(record: &SupervisorRecord) -> bool {
    proc_info(record.pid).is_some_and(|info| {
        info.state != 'Z'
            && info.start_time == record.start_time
            && info.cmdline.get(1).map(String::as_str) == Some(SUPERVISE_COMMAND)
    })
}

/// The hidden subcommand the supervisor runs as.
pub const SUPERVISE_COMMAND: &str = "__supervise";

/// The `__spawn` side: a new session, then the program in place of this process.
pub fn exec_detached(command: &[String]) -> CliError {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = command.split_first() else {
        return CliError::msg("__spawn needs a program");
    };
    if let Err(e) = rustix::process::setsid() {
        return CliError::msg(format!("setsid: {e}"));
    }
    let error = Command::new(program).args(args).exec();
    CliError::msg(format!("cannot run {program}: {error}"))
}

fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, sig);
    }
}

fn gone(pid: u32, start_time: u64) -> bool {
    match proc_info(pid) {
        None => true,
        Some(info) => info.state == 'Z' || info.start_time != start_time,
    }
}

/// SIGTERM to every process, SIGKILL to those still there after `grace`, then waits (briefly)
/// until all are gone. Processes are given as (pid, start time) so a reused PID is never hit.
pub fn terminate(processes: &[(u32, u64)], grace: Duration) -> Vec<u32> {
    for (pid, _) in processes {
        signal(*pid, Signal::TERM);
    }
    let wait_all = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if processes.iter().all(|(pid, start)| gone(*pid, *start)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    if wait_all(grace) {
        return Vec::new();
    }
    for (pid, start) in processes {
        if !gone(*pid, *start) {
            signal(*pid, Signal::KILL);
        }
    }
    wait_all(Duration::from_secs(5));
    processes
        .iter()
        .filter(|(pid, start)| !gone(*pid, *start))
        .map(|(pid, _)| *pid)
        .collect()
}

/// Every live process whose command line mentions `data_dir` (the containers' supervisors,
/// whose state dirs live under it), and every process in their sessions or in the sessions
/// of `sessions` (the components, each the leader of its own): what a cluster leaves behind
/// once its components are stopped.
pub fn leftovers(data_dir: &Path, sessions: &[i32]) -> Vec<(u32, u64)> {
    let data = data_dir.display().to_string();
    let me = std::process::id();
    let all: Vec<(u32, ProcInfo)> = live_processes()
        .into_iter()
        .filter(|(pid, _)| *pid != me)
        .collect();
    let inside = format!("{data}/");
    // `--state-dir DIR/...` or `--state-dir=DIR/...`.
    let mentions = |info: &ProcInfo| {
        info.cmdline.iter().any(|arg| {
            let value = arg.split_once('=').map_or(arg.as_str(), |(_, v)| v);
            [arg.as_str(), value]
                .iter()
                .any(|a| *a == data || a.starts_with(&inside))
        })
    };
    let mut sessions: Vec<i32> = sessions.to_vec();
    for (_, info) in &all {
        if mentions(info) {
            sessions.push(info.session);
        }
    }
    all.into_iter()
        .filter(|(_, info)| sessions.contains(&info.session) || mentions(info))
        .map(|(pid, info)| (pid, info.start_time))
        .collect()
}

/// Ends the cluster of `dir` for good, as a test's cleanup must even when `skiff down`
/// fails: the supervisor first (so it restarts nothing), then `down` (the caller's way of
/// running `skiff down --dir DIR`), then by PID whatever the state file recorded and
/// whatever still runs in those sessions or mentions the data dir.
pub fn tear_down(dir: &Path, down: impl FnOnce()) {
    let grace = Duration::from_secs(1);
    let recorded = ClusterState::load(dir).ok().flatten();
    if let Some(s) = recorded.as_ref().and_then(|s| s.supervisor) {
        terminate(&[(s.pid, s.start_time)], grace);
    }
    down();
    if let Some(state) = recorded {
        let pids: Vec<(u32, u64)> = state
            .components
            .iter()
            .filter_map(|c| Some((c.pid?, c.start_time?)))
            .collect();
        let sessions: Vec<i32> = pids
            .iter()
            .filter_map(|(p, _)| i32::try_from(*p).ok())
            .collect();
        terminate(&pids, grace);
        terminate(&leftovers(&dir.join("data"), &sessions), grace);
    }
}

/// The directory holding the component binaries: the one of the running `skiff`.
pub fn binary_dir() -> Result<PathBuf, CliError> {
    let me = skiff_exe()?;
    me.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| CliError::msg("the skiff executable has no directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names() {
        let line = "4242 (skiff (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 50 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 4242, 987654)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_visible_in_proc() {
        let info = proc_info(std::process::id()).unwrap();
        assert_ne!(info.state, 'Z');
        assert!(info.start_time > 0);
        assert!(!info.cmdline.is_empty());
    }

    #[test]
    fn a_detached_child_is_stopped_by_pid() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        // Between fork and exec the child still shows the test's command line.
        let deadline = Instant::now() + Duration::from_secs(5);
        while proc_info(pid).is_some_and(|i| i.cmdline.first().map(String::as_str) != Some("sleep"))
        {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("sleep did not start");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let start = proc_info(pid).unwrap().start_time;
        let component = Component {
            name: "sleeper".into(),
            program: "sleep".into(),
            args: vec![],
            log: PathBuf::from("/dev/null"),
            health: super::super::state::Health::Node { name: "n".into() },
            path: None,
            pid: Some(pid),
            start_time: Some(start),
            restarts: 0,
        };
        assert!(is_running(&component));
        let wrong = Component {
            start_time: Some(start + 1),
            ..component.clone()
        };
        assert!(!is_running(&wrong), "a reused PID is not the component");
        // Reap in the background so the kill is seen as a disappearance.
        let reaper = std::thread::spawn(move || child.wait());
        assert!(terminate(&[(pid, start)], Duration::from_secs(5)).is_empty());
        reaper.join().unwrap().unwrap();
        assert!(!is_running(&component));
    }
}
