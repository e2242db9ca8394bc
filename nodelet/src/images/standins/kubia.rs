//! `luksa/kubia` (and `heejeong/crane`, `luksa/kubia-unhealthy`): the book's Node.js app
//! as a tiny blocking HTTP/1.1 server on `$POD_IP:8080`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PORT: u16 = 8080;
/// Requests are tiny GETs; a larger head is cut off rather than buffered.
const MAX_HEAD: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub(super) enum Behaviour {
    Healthy,
    /// Answer 500 to every request after this many.
    FailAfter(u64),
}

pub(super) fn serve(behaviour: Behaviour) -> ExitCode {
    println!("Kubia server starting...");
    let ip = std::env::var("POD_IP")
        .ok()
        .and_then(|v| v.parse::<IpAddr>().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let addr = SocketAddr::new(ip, PORT);
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("listen {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let hostname = hostname();
    let served = Arc::new(AtomicU64::new(0));
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let hostname = hostname.clone();
        let served = served.clone();
        // One small thread per connection: probes and clients never wait on each other.
        let spawned = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || handle(stream, &hostname, &served, behaviour));
        if let Err(e) = spawned {
            eprintln!("spawning a connection thread: {e}");
        }
    }
    ExitCode::SUCCESS
}

fn handle(mut stream: TcpStream, hostname: &str, served: &AtomicU64, behaviour: Behaviour) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    if !read_head(&mut stream) {
        return;
    }
    let peer = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "unknown".into());
    println!("Received request from {peer}");
    let count = served.fetch_add(1, Ordering::SeqCst) + 1;
    let (status, body) = match behaviour {
        Behaviour::FailAfter(n) if count > n => (
            "500 Internal Server Error",
            "I'm not well. Please restart me!".to_string(),
        ),
        _ => ("200 OK", format!("You've hit {hostname}\n")),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// Reads up to the end of the request head; false if the client went away first.
fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() >= MAX_HEAD {
            return true;
        }
    }
}

/// The pod name: containers get it as `HOSTNAME`.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}
