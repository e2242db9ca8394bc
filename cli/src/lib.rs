//! skiff-cli: `skiff`, the command-line client of skiff, with kubectl's verbs, flags, columns
//! and error wording, and `skiff up` / `skiff down` for a local cluster of real processes.
//!
//! # Layout
//! - [`args`], [`help`]: the command line and the examples of every `--help`.
//! - [`config`]: the client config file (`--config`, `SKIFF_CONFIG`, `~/.skiff/config`).
//! - [`ctx`]: the client and namespace a command works with; stdout and stderr.
//! - [`resources`]: resource arguments (`po`, `rc,rs`, `pod/x`, `all`).
//! - [`cmd`]: one module per command.
//! - [`table`], [`describe`], [`output`]: pure formatting: `get` tables, `describe` texts,
//!   tab alignment, ages, YAML.
//! - [`apply_patch`]: `apply`'s three-way merge.
//! - [`history`], [`trace`]: an object's revisions from the store's history and the causal
//!   timeline of a pod (history, events, probe results).
//! - [`dashboard`]: `skiff dashboard`, the live web page built from watches.
//! - [`up`]: `skiff up` / `skiff down`: plans, processes, health checks, state, and the
//!   supervisor that starts again what exits.
//! - [`error`]: errors and their kubectl wording.

pub mod apply_patch;
pub mod args;
pub mod cmd;
pub mod config;
pub mod ctx;
pub mod dashboard;
pub mod describe;
pub mod error;
pub mod help;
pub mod history;
pub mod output;
pub mod resources;
pub mod table;
pub mod trace;
pub mod up;

use std::ffi::OsString;

use clap::Parser;

use args::{Cli, Command};
use cmd::apply::Mode;
use ctx::{errln, Ctx};
use error::CliError;

/// Runs `skiff` with `args` (the program name first); returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout with status 0; usage errors exit 1 as kubectl's do.
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    if let Command::Spawn(spawn) = &cli.command {
        // Only returns when the program could not be started.
        errln(&up::procs::exec_detached(&spawn.command).to_string());
        return 1;
    }
    if let Command::Supervise(args) = &cli.command {
        // Synchronous: a loop that sleeps between rounds needs no async runtime.
        return match up::supervise::run(&args.dir) {
            Ok(()) => 0,
            Err(e) => {
                errln(&e.to_string());
                1
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            errln(&format!("error: cannot start the async runtime: {e}"));
            return 1;
        }
    };
    match runtime.block_on(dispatch(&cli)) {
        Ok(()) => 0,
        Err(CliError::AlreadyReported) => 1,
        Err(CliError::Exit(code)) => {
            errln(&CliError::Exit(code).to_string());
            code
        }
        Err(e) => {
            errln(&e.to_string());
            1
        }
    }
}

async fn dispatch(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Up(args) => return up::up(args).await,
        Command::Down(args) => return up::down(args),
        Command::Certs(args) => return up::certs(args),
        Command::Completion(args) => {
            cmd::misc::completion(args);
            return Ok(());
        }
        Command::Version(args) if args.client => return cmd::misc::version(None, args).await,
        Command::Spawn(_) | Command::Supervise(_) => return Ok(()),
        _ => {}
    }
    let ctx = Ctx::new(&cli.global)?;
    match &cli.command {
        Command::Create(args) => cmd::apply::run(&ctx, args, Mode::Create).await,
        Command::Apply(args) => cmd::apply::run(&ctx, args, Mode::Apply).await,
        Command::Get(args) => cmd::get::run(&ctx, args).await,
        Command::Describe(args) => cmd::describe::run(&ctx, args).await,
        Command::Delete(args) => cmd::delete::run(&ctx, args).await,
        Command::Label(args) => cmd::label::run(&ctx, args).await,
        Command::Scale(args) => cmd::scale::run(&ctx, args).await,
        Command::Edit(args) => cmd::edit::run(&ctx, args).await,
        Command::Logs(args) => cmd::logs::run(&ctx, args).await,
        Command::Exec(args) => cmd::exec::run(&ctx, args).await,
        Command::History(args) => history::run(&ctx, args).await,
        Command::Trace(args) => trace::run(&ctx, args).await,
        Command::Dashboard(args) => dashboard::run(&ctx, args).await,
        Command::Status(args) => cmd::status::run(&ctx, args).await,
        Command::Version(args) => cmd::misc::version(Some(&ctx), args).await,
        Command::Up(_)
        | Command::Down(_)
        | Command::Certs(_)
        | Command::Completion(_)
        | Command::Spawn(_)
        | Command::Supervise(_) => Ok(()),
    }
}
