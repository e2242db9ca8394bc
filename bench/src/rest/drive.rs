//! N concurrent clients working through a shared count of requests, each request timed.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::apiserver::Latency;

/// The outcome of one batch of requests.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub samples: Vec<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Batch {
    /// Adds another batch's requests to this one (their wall-clock times add up).
    pub fn absorb(&mut self, other: Batch) {
        self.samples.extend(other.samples);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.elapsed += other.elapsed;
    }

    pub fn latency(&self) -> Latency {
        Latency::of(self.samples.clone())
    }

    pub fn per_second(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs request numbers `first..first + total` over `clients` (one task each, each with its
/// own client value and so its own connection), timing every call of `request`.
pub async fn drive<C, F, Fut>(clients: Vec<C>, first: usize, total: usize, request: F) -> Batch
where
    C: Clone + Send + 'static,
    F: Fn(C, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let (next, request) = (next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut batch = Batch::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return batch;
                }
                let t = Instant::now();
                match request(client.clone(), first + i).await {
                    Ok(()) => batch.samples.push(t.elapsed()),
                    Err(e) => {
                        batch.errors += 1;
                        batch.first_error.get_or_insert(e);
                    }
                }
            }
        }));
    }
    let mut all = Batch::default();
    for task in tasks {
        match task.await {
            Ok(b) => all.absorb(b),
            Err(e) => {
                all.errors += 1;
                all.first_error
                    .get_or_insert(format!("a client task failed: {e}"));
            }
        }
    }
    all.elapsed = started.elapsed();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_number_is_issued_once_and_failures_are_counted() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let batch = drive(vec![(); 4], 100, 10, move |(), i| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(i);
                if i % 5 == 0 {
                    Err(format!("request {i} refused"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (100..110).collect::<Vec<_>>());
        assert_eq!((batch.samples.len(), batch.errors), (8, 2));
        assert!(batch.first_error.unwrap().contains("refused"));
    }
}
