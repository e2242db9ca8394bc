//! One module per command.

pub mod apply;
pub mod delete;
pub mod describe;
pub mod edit;
pub mod exec;
pub mod get;
pub mod label;
pub mod logs;
pub mod manifests;
pub mod misc;
pub mod scale;
pub mod status;
