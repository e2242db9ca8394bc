//! The httpGet probe: a minimal HTTP/1.1 GET over a TCP stream, as the kubelet sends it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{dial_error, host_port, HttpGetAction, ProbeOutcome, Scheme};

/// The kubelet reads at most this much of a probe's response body.
const MAX_BODY: usize = 10 * 1024;
/// A status line and headers longer than this are not a plausible probe answer.
const MAX_HEAD: usize = 16 * 1024;

pub(super) async fn probe(action: &HttpGetAction, timeout: Duration) -> ProbeOutcome {
    let path = if action.path.is_empty() {
        "/"
    } else {
        action.path.as_str()
    };
    let addr = host_port(&action.host, action.port);
    if action.scheme == Scheme::Https {
        return ProbeOutcome::Failure(format!(
            "Get \"https://{addr}{path}\": HTTPS probes are not supported by skiff-nodelet"
        ));
    }
    let url = format!("http://{addr}{path}");
    match tokio::time::timeout(timeout, get(action, &addr, path)).await {
        Ok(Ok(status)) if (200..400).contains(&status) => ProbeOutcome::Success,
        Ok(Ok(status)) => {
            ProbeOutcome::Failure(format!("HTTP probe failed with statuscode: {status}"))
        }
        Ok(Err(message)) => ProbeOutcome::Failure(format!("Get \"{url}\": {message}")),
        Err(_) => ProbeOutcome::Failure(format!(
            "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

/// Sends the request and returns the response status, having read (and dropped) at
/// most [`MAX_BODY`] bytes of body.
async fn get(action: &HttpGetAction, addr: &str, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect((action.host.as_str(), action.port))
        .await
        .map_err(|e| dial_error(addr, &e))?;
    let has = |name: &str| {
        action
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    if !has("host") {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    if !has("user-agent") {
        request.push_str("User-Agent: kube-probe/1.30\r\n");
    }
    if !has("accept") {
        request.push_str("Accept: */*\r\n");
    }
    for (name, value) in &action.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;

    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err("net/http: response headers too long".into());
        }
        let mut chunk = [0u8; 2048];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("EOF".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status =
        parse_status(&head).ok_or_else(|| "net/http: malformed HTTP response".to_string())?;

    // Read the body like the kubelet, up to its cap; the status decides the outcome.
    let content_length = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let want = content_length.unwrap_or(MAX_BODY).min(MAX_BODY);
    let mut body = buf.len() - head_end;
    let mut chunk = [0u8; 2048];
    while body < want {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body += n,
        }
    }
    Ok(status)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The code from `HTTP/1.1 200 OK`.
fn parse_status(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code: u16 = parts.next()?.parse().ok()?;
    (100..1000).contains(&code).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status("HTTP/1.0 500 Internal Server Error\r\n\r\n"),
            Some(500)
        );
        assert_eq!(parse_status("HTTP/1.1 302\r\n"), Some(302));
        assert_eq!(parse_status("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status("HTTP/1.1 abc\r\n"), None);
    }
}
