//! Graceful shutdown: the first SIGTERM or SIGINT cancels one token that every task of the
//! process watches; a second one exits at once (status 1), as Kubernetes' components do, for
//! when a drain hangs. SIGKILL needs no code: everything is built to survive it.

use tokio_util::sync::CancellationToken;

/// The status a second signal exits with.
pub const FORCED_EXIT_STATUS: i32 = 1;

/// A token cancelled on the first SIGTERM or SIGINT; the second exits the process.
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    // The handlers are installed before this returns, so no signal can slip between.
    let mut signals = Signals::install();
    tokio::spawn(async move {
        signals.next().await;
        tracing::info!("shutting down; a second SIGTERM or SIGINT exits at once");
        cancel.cancel();
        signals.next().await;
        tracing::warn!("second signal: exiting without finishing the shutdown");
        std::process::exit(FORCED_EXIT_STATUS);
    });
    token
}

/// SIGTERM and SIGINT, as one stream.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    #[cfg(not(unix))]
    fn install() -> Signals {
        Signals {}
    }

    #[cfg(unix)]
    async fn next(&mut self) {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.term) => {}
            _ = recv(&mut self.int) => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
