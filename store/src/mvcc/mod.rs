//! The MVCC state machine (owned by the state-machine work; see mod docs).
