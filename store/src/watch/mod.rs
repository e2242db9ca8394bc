//! Watch hub: fans applied events out to watchers.
