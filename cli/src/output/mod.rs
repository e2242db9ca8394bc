//! Pure output helpers: tab alignment, ages and timestamps, YAML.

pub mod age;
pub mod tabwriter;
pub mod yaml;
