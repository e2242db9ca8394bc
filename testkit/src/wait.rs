//! Bounded waits: every condition a test waits for has a deadline and a message saying
//! what did not happen.

use std::future::Future;
use std::time::{Duration, Instant};

/// Prints a step marker so a test's log can be followed.
pub fn step(what: &str) {
    eprintln!("=== {what}");
}

/// Polls `check` every 100 ms until it returns Some, or panics after `within` with `what`
/// in the message.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `f`, or a panic naming `what` after `within`.
pub async fn within<T>(within: Duration, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(within, f).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {within:?}"),
    }
}
