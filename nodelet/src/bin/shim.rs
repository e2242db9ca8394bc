//! `skiff-nodelet-shim`: the small binary a node runs once per container, as the
//! container's supervisor (`supervise --state-dir DIR`) and as the built-in image stand-ins
//! (`image NAME [ARGS...]`). It holds none of the agent (no async runtime, no API client),
//! so each of these processes costs little memory.

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
        Some("image") => match args.get(1) {
            Some(name) => skiff_nodelet::images::standins::run(name, &args[2..]),
            None => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: skiff-nodelet-shim supervise --state-dir DIR | image NAME [ARGS...]");
    ExitCode::from(2)
}
