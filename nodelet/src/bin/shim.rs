//! `skiff-nodelet-shim`: the small binary a node runs once per container, as the
//! container's supervisor (`supervise --state-dir DIR`), as a pod's namespace holder
//! (`pause --hostname NAME`), to run a command inside a container (`enter --pid PID --cwd
//! DIR -- CMD...`) and as the built-in image stand-ins (`image NAME [ARGS...]`). It holds
//! none of the agent (no async runtime, no API client), so each of these processes costs
//! little memory.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("supervise") => match (args.get(1).map(String::as_str), args.get(2)) {
            (Some("--state-dir"), Some(dir)) if args.len() == 3 => {
                skiff_nodelet::runtime::supervisor::run(&PathBuf::from(dir))
            }
            _ => usage(),
        },
        // `--state-dir` only names the process as its node's (see `skiff down`).
        Some("pause") => match (args.get(1).map(String::as_str), args.get(2), args.get(3)) {
            (Some("--hostname"), Some(name), Some(flag))
                if flag == "--state-dir" && args.len() == 5 =>
            {
                skiff_nodelet::sandbox::pause::run(name)
            }
            _ => usage(),
        },
        Some("enter") => match (
            args.get(1).map(String::as_str),
            args.get(2).and_then(|p| p.parse::<u32>().ok()),
            args.get(3).map(String::as_str),
            args.get(4),
            args.get(5).map(String::as_str),
        ) {
            (Some("--pid"), Some(pid), Some("--cwd"), Some(cwd), Some("--")) => {
                skiff_nodelet::runtime::enter::run(pid, &PathBuf::from(cwd), &args[6..])
            }
            _ => usage(),
        },
        Some("image") => match args.get(1) {
            Some(name) => skiff_nodelet::images::standins::run(name, &args[2..]),
            None => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: skiff-nodelet-shim supervise --state-dir DIR | \
         pause --hostname NAME --state-dir DIR | enter --pid PID --cwd DIR -- CMD... | image NAME [ARGS...]"
    );
    ExitCode::from(2)
}
