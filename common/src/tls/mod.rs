//! TLS on every port: certificates and keys read and checked from PEM files (`files`),
//! rustls server configurations and an accept loop that logs refused clients (`server`),
//! and gRPC clients' configurations (`client`). One crypto provider, ring, everywhere.

mod client;
mod files;
mod server;

pub use client::{config_from_ca_pem, with_tls, ClientTlsFiles};
pub use files::{
    check_validity, load_certificates, load_key_pair, subject_names, KeyPairFiles, TlsError,
};
pub use server::{accept, root_store, server_config, why_refused, ALPN_H2};
