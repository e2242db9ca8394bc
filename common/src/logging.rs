//! Tracing to stderr: human-readable by default, one JSON object per line with
//! `--log-format json`. `RUST_LOG` overrides the default level (info).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `format` is "text" or "json".
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,raft=warn,slog=warn,sled=warn,h2=warn,tower=warn,hyper=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a terminal: log files (skiff up, compose, tests) stay plain text.
        .with_ansi(std::io::stderr().is_terminal());
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests starting several servers in one process) is harmless.
    let _ = result;
}
