//! Probes against real processes: httpGet, tcpSocket and exec, and a liveness prober
//! noticing kubia-unhealthy with real timers.

use std::time::{Duration, Instant};

use skiff_nodelet::probe::{
    run_once, ExecAction, HttpGetAction, ProbeHandler, ProbeKind, ProbeOutcome, ProbeSpec, Prober,
    Scheme, TcpSocketAction,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::standins::start_server;
use crate::util::{within, TestNode};

fn http(host: &str, port: u16, path: &str) -> ProbeHandler {
    ProbeHandler::HttpGet(HttpGetAction {
        host: host.into(),
        port,
        path: path.into(),
        scheme: Scheme::Http,
        headers: Vec::new(),
    })
}

fn failure(outcome: ProbeOutcome) -> String {
    match outcome {
        ProbeOutcome::Failure(message) => message,
        ProbeOutcome::Success => panic!("expected a failure"),
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// A port with nothing listening on it.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn http_probe_against_kubia_and_kubia_unhealthy() {
    let node = TestNode::new();
    let (_id, ip) = start_server(&node, "sick", "luksa/kubia-unhealthy").await;
    let probe = http(&ip.to_string(), 8080, "/");
    for _ in 0..5 {
        assert_eq!(run_once(&probe, SECOND).await, ProbeOutcome::Success);
    }
    assert_eq!(
        failure(run_once(&probe, SECOND).await),
        "HTTP probe failed with statuscode: 500"
    );
}

#[tokio::test]
async fn http_probe_refused_and_timed_out() {
    let port = closed_port().await;
    let message = failure(run_once(&http("127.0.0.1", port, "/healthz"), SECOND).await);
    assert_eq!(
        message,
        format!("Get \"http://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused")
    );

    // Accepts connections (the kernel's backlog) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let begun = Instant::now();
    let message = failure(run_once(&http("127.0.0.1", port, ""), Duration::from_millis(300)).await);
    let took = begun.elapsed();
    assert!(
        message.starts_with(&format!(
            "Get \"http://127.0.0.1:{port}/\": context deadline exceeded"
        )),
        "{message}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(800),
        "{took:?}"
    );

    let https = ProbeHandler::HttpGet(HttpGetAction {
        host: "127.0.0.1".into(),
        port,
        path: "/".into(),
        scheme: Scheme::Https,
        headers: Vec::new(),
    });
    assert!(failure(run_once(&https, SECOND).await).contains("HTTPS probes are not supported"));
}

/// Serves one connection with `response`, returning the request head it got.
async fn serve_once(response: Vec<u8>) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            head.extend_from_slice(&buf[..n]);
        }
        let _ = conn.write_all(&response).await;
        String::from_utf8(head).unwrap()
    });
    (port, task)
}

#[tokio::test]
async fn http_probe_sends_kubelet_like_requests_and_accepts_200_to_399() {
    let (port, server) =
        serve_once(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n".to_vec())
            .await;
    let probe = ProbeHandler::HttpGet(HttpGetAction {
        host: "127.0.0.1".into(),
        port,
        path: "/healthz".into(),
        scheme: Scheme::Http,
        headers: vec![("X-Custom".into(), "yes".into())],
    });
    assert_eq!(run_once(&probe, SECOND).await, ProbeOutcome::Success);
    let head = server.await.unwrap();
    assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{head}"
    );
    assert!(head.contains("User-Agent: kube-probe/"), "{head}");
    assert!(head.contains("X-Custom: yes\r\n"), "{head}");

    // A huge body is not read to its end: the probe answers quickly anyway.
    let mut big = b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 64 * 1024));
    let (port, _server) = serve_once(big).await;
    let began = Instant::now();
    assert_eq!(
        run_once(&http("127.0.0.1", port, "/"), SECOND).await,
        ProbeOutcome::Success
    );
    assert!(began.elapsed() < Duration::from_millis(900));

    let (port, _server) =
        serve_once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()).await;
    assert_eq!(
        failure(run_once(&http("127.0.0.1", port, "/"), SECOND).await),
        "HTTP probe failed with statuscode: 404"
    );
}

#[tokio::test]
async fn tcp_probe_connects_or_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let tcp = |port| {
        ProbeHandler::TcpSocket(TcpSocketAction {
            host: "127.0.0.1".into(),
            port,
        })
    };
    assert_eq!(run_once(&tcp(open), SECOND).await, ProbeOutcome::Success);
    let port = closed_port().await;
    assert_eq!(
        failure(run_once(&tcp(port), SECOND).await),
        format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
    );
}

#[tokio::test]
async fn exec_probe_runs_in_the_containers_environment() {
    let node = TestNode::new();
    let workdir = node.dir.path().join("app");
    std::fs::create_dir(&workdir).unwrap();
    let mut spec = node.image_spec("p", "c", "busybox", &["sleep", "1000"]);
    spec.env.push(("MODE".into(), "healthy".into()));
    spec.working_dir = Some(workdir.clone());
    let id = node.runtime.start(spec).await.unwrap();
    let context = node.runtime.exec_context(&id).unwrap();
    let exec = |cmd: &[&str]| {
        ProbeHandler::Exec(ExecAction {
            command: cmd.iter().map(|s| s.to_string()).collect(),
            context: context.clone(),
        })
    };
    let ip = node.pod_ip("p");
    let check = format!(
        "test \"$MODE\" = healthy && test \"$POD_IP\" = {ip} && test \"$(pwd)\" = {}",
        workdir.display()
    );
    assert_eq!(
        run_once(&exec(&["sh", "-c", &check]), SECOND).await,
        ProbeOutcome::Success
    );

    let message = failure(run_once(&exec(&["cat", "healthy"]), SECOND).await);
    assert!(
        message.contains("healthy") && message.contains("No such file"),
        "{message}"
    );
    std::fs::write(workdir.join("healthy"), "ok").unwrap();
    assert_eq!(
        run_once(&exec(&["cat", "healthy"]), SECOND).await,
        ProbeOutcome::Success
    );

    assert_eq!(
        failure(run_once(&exec(&["sh", "-c", "exit 3"]), SECOND).await),
        "command \"sh -c exit 3\" exited with code 3"
    );
    let begun = Instant::now();
    assert_eq!(
        failure(run_once(&exec(&["sleep", "5"]), Duration::from_millis(300)).await),
        "command \"sleep 5\" timed out"
    );
    assert!(begun.elapsed() < Duration::from_secs(2));
    node.runtime.kill(&id).await.unwrap();
}

#[tokio::test]
async fn liveness_prober_catches_kubia_unhealthy_on_time() {
    let node = TestNode::new();
    let (id, ip) = start_server(&node, "crane", "luksa/kubia-unhealthy").await;
    let spec = ProbeSpec {
        initial_delay: Duration::from_millis(300),
        period: Duration::from_millis(200),
        ..ProbeSpec::new(http(&ip.to_string(), 8080, "/"))
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let started = tokio::time::Instant::now();
    let _prober = Prober::spawn(id.clone(), ProbeKind::Liveness, spec, started, tx);
    let mut seen = Vec::new();
    let verdict = within(10, "liveness verdict", async {
        loop {
            let update = rx.recv().await.expect("prober ended without a verdict");
            seen.push((started.elapsed(), update.outcome.clone()));
            if update.changed {
                return update;
            }
        }
    })
    .await;
    assert!(!verdict.healthy);
    assert_eq!(verdict.consecutive, 3);
    assert_eq!(
        verdict.outcome,
        ProbeOutcome::Failure("HTTP probe failed with statuscode: 500".into())
    );
    // 5 successes then 3 failures, one attempt every 200 ms from 300 ms on.
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert!(seen[..5].iter().all(|(_, o)| o.is_success()));
    for (i, (at, _)) in seen.iter().enumerate() {
        let expected = Duration::from_millis(300 + 200 * i as u64);
        let off = at.abs_diff(expected);
        assert!(
            off < Duration::from_millis(100),
            "attempt {i} at {at:?}, expected {expected:?}"
        );
    }
    // Kubernetes then restarts the container; the runtime's kill gives exit code 137.
    let status = node.runtime.kill(&id).await.unwrap();
    assert!(
        matches!(status, skiff_nodelet::runtime::ContainerStatus::Exited(ref r) if r.exit_code == 137)
    );
}
