//! Watching the control plane think, against real clusters (3 store members, an apiserver, a
//! scheduler, a controller-manager, two nodelets): `skiff history` shows each revision of an
//! object with its writer and field diffs, old revisions by `--revision`, and says when the
//! apiserver's history retention compacted them; `skiff trace` gives kubia-unhealthy's life
//! in causal order with millisecond offsets, and the scheduler's reasons for a pod that fits
//! nowhere; `skiff dashboard`, loaded in headless Chromium, follows the cluster live.

#[path = "observe/util.rs"]
mod util;

#[path = "observe/history.rs"]
mod history;

#[path = "observe/trace.rs"]
mod trace;

#[path = "observe/cdp.rs"]
mod cdp;

#[path = "observe/dashboard.rs"]
mod dashboard;
