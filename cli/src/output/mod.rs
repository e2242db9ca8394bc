//! Pure output helpers: tab alignment, ages and timestamps, YAML.

pub use skiff_api::table::age;
pub mod tabwriter;
pub mod yaml;
