//! What every API command needs: the client, the namespace, and where output goes.

use std::io::Write;
use std::time::Duration;

use skiff_client::{Client, ClientConfig};

use crate::args::GlobalArgs;
use crate::config::{resolve, ConfigFlags, Resolved};
use crate::error::CliError;
use crate::output::age::Clock;

/// A command's view of the cluster.
pub struct Ctx {
    pub client: Client,
    pub config: Resolved,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Result<Ctx, CliError> {
        let flags = ConfigFlags {
            config: global.config.clone(),
            server: global.server.clone(),
            token: global.token.clone(),
            namespace: global.namespace.clone(),
            certificate_authority: global.certificate_authority.clone(),
        };
        let env = std::env::var("SKIFF_CONFIG").ok();
        let config = resolve(&flags, env.as_deref())?;
        let mut client_config = ClientConfig::new(config.endpoints.clone())
            .with_timeout(Duration::from_secs(15))
            .with_user_agent(format!("skiff/{}", env!("CARGO_PKG_VERSION")))
            .with_ca_pem(config.ca_pem.clone());
        if let Some(token) = &config.token {
            client_config = client_config.with_token(token.clone());
        }
        let client = Client::new(client_config).map_err(|e| CliError::msg(e.to_string()))?;
        Ok(Ctx { client, config })
    }

    /// The namespace of this request (`-n`, the config's, or `default`).
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    pub fn clock(&self) -> Clock {
        Clock::system()
    }
}

/// Writes to stdout; a closed pipe (`skiff get po | head`) ends the program quietly, as
/// kubectl does, instead of panicking.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// A line on stdout.
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// A line on stderr.
pub fn errln(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
