//! skiff-apiserver against real processes: a 3-member store and two apiservers on loopback.
//!
//! One module per scenario; `util` starts and kills the processes.

mod auth;
mod crud;
mod deletion;
mod event_watch;
mod lifecycle;
mod limits;
mod list_cache;
mod logs;
mod rest;
mod stale_cache_deletes;
mod store_retry;
mod updates;
mod util;
mod watch;
mod watch_failover;
