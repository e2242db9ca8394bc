//! The end-to-end tests (in `tests/`) run whole skiff clusters of real processes
//! (store members, apiservers, schedulers, controller-managers, nodelets) through
//! `skiff_testkit`; this library holds nothing of its own.
