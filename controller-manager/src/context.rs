//! What every controller of one leadership term shares: the client, the flags, metrics, the clock and the informers' caches.

use std::sync::Arc;

use skiff_client::Client;
use skiff_runtime::events::EventRecorder;

use crate::clock::Clock;
use crate::config::Config;
use crate::informers::Stores;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub stores: Stores,
}

impl Context {
    /// An event recorder whose events name `component` as their source.
    pub fn recorder(&self, component: &str) -> EventRecorder {
        EventRecorder::new(self.client.clone(), component, "")
    }
}
