//! `skiff version` and `skiff completion bash|zsh|fish`.

use clap::CommandFactory;

use crate::args::{Cli, CompletionArgs, Shell, VersionArgs};
use crate::ctx::{outln, Ctx};
use crate::error::CliError;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The client version, and (unless `--client`) which apiserver answers and as whom.
pub async fn version(ctx: Option<&Ctx>, args: &VersionArgs) -> Result<(), CliError> {
    outln(&format!("Client Version: v{VERSION}"));
    if args.client {
        return Ok(());
    }
    let Some(ctx) = ctx else {
        return Ok(());
    };
    let user = ctx.client.who_am_i().await?;
    outln(&format!(
        "Server: {} (reachable; you are {:?}, role {})",
        ctx.client.current_endpoint(),
        user.user,
        user.role
    ));
    Ok(())
}

pub fn completion(args: &CompletionArgs) {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "skiff", &mut std::io::stdout());
}
