//! The workloads that run during the faults: store clients ([`store`]), apiserver watchers and read-modify-write updaters ([`api`]), controller objects and their churn ([`controllers`]), and the store's own history to check watches against ([`truth`]).

pub mod api;
pub mod controllers;
pub mod store;
pub mod truth;
