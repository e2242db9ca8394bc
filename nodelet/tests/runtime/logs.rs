//! Container logs: current and previous instance, tail, follow, retention.

use futures::StreamExt;
use skiff_nodelet::logs::LogOptions;
use skiff_nodelet::runtime::{ContainerStatus, RuntimeError};

use crate::util::{within, TestNode};

fn opts(previous: bool, tail_lines: Option<usize>) -> LogOptions {
    LogOptions {
        previous,
        tail_lines,
        timestamps: false,
    }
}

#[tokio::test]
async fn current_previous_and_tail() {
    let node = TestNode::new();
    let read = |previous, tail| {
        node.runtime
            .read_log("uid-p", "app", &opts(previous, tail))
            .map(|b| String::from_utf8(b).unwrap())
    };
    println!("=== instance 0");
    let first = node
        .runtime
        .start(node.spec(
            "p",
            "app",
            0,
            &["sh", "-c", "echo one; echo two; echo three; exit 1"],
        ))
        .await
        .unwrap();
    within(10, "instance 0", node.runtime.wait(&first))
        .await
        .unwrap();
    assert_eq!(read(false, None).unwrap(), "one\ntwo\nthree\n");
    assert!(matches!(
        read(true, None),
        Err(RuntimeError::NoLogs { previous: true, .. })
    ));
    let message = read(true, None).unwrap_err().to_string();
    assert_eq!(
        message,
        "previous terminated container \"app\" in pod uid-p not found"
    );

    println!("=== instance 1 (a restart)");
    let second = node
        .runtime
        .start(node.spec("p", "app", 1, &["sh", "-c", "echo four; echo five"]))
        .await
        .unwrap();
    within(10, "instance 1", node.runtime.wait(&second))
        .await
        .unwrap();
    assert_eq!(read(false, None).unwrap(), "four\nfive\n");
    assert_eq!(read(true, None).unwrap(), "one\ntwo\nthree\n");
    assert_eq!(read(true, Some(2)).unwrap(), "two\nthree\n");
    assert_eq!(read(false, Some(1)).unwrap(), "five\n");

    println!("=== instance 2: instance 0 is deleted, 1 becomes previous");
    let third = node
        .runtime
        .start(node.spec("p", "app", 2, &["sh", "-c", "echo six"]))
        .await
        .unwrap();
    within(10, "instance 2", node.runtime.wait(&third))
        .await
        .unwrap();
    assert_eq!(read(true, None).unwrap(), "four\nfive\n");
    assert!(matches!(
        node.runtime.status(&first),
        Err(RuntimeError::NotFound(_))
    ));
    let kept: Vec<u32> = node
        .runtime
        .list()
        .unwrap()
        .iter()
        .map(|c| c.id.instance)
        .collect();
    assert_eq!(kept, vec![1, 2]);
}

#[tokio::test]
async fn follow_streams_new_output_until_the_container_exits() {
    let node = TestNode::new();
    let id = node
        .runtime
        .start(node.spec(
            "p",
            "app",
            0,
            &[
                "sh",
                "-c",
                "echo a; echo b; sleep 0.5; echo c; sleep 0.5; echo d",
            ],
        ))
        .await
        .unwrap();
    node.wait_for_log(&id, "b\n").await;
    let follower = node
        .runtime
        .follow_log("uid-p", "app", &opts(false, Some(1)))
        .unwrap();
    let chunks: Vec<bytes::Bytes> = within(10, "follow to the end", async {
        follower
            .into_stream()
            .map(|c| c.unwrap())
            .collect::<Vec<_>>()
            .await
    })
    .await;
    let text: String = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert_eq!(text, "b\nc\nd\n");
    // Output arrived as it was written, not all at once at the end.
    assert!(chunks.len() >= 3, "{chunks:?}");

    // Following a finished (previous) instance returns its log and ends.
    node.runtime
        .start(node.spec("p", "app", 1, &["sleep", "1000"]))
        .await
        .unwrap();
    let previous = node
        .runtime
        .follow_log("uid-p", "app", &opts(true, None))
        .unwrap();
    let all: Vec<bytes::Bytes> = within(
        5,
        "follow previous",
        previous.into_stream().map(|c| c.unwrap()).collect(),
    )
    .await;
    assert_eq!(all.concat(), b"a\nb\nc\nd\n");
}

#[tokio::test]
async fn the_log_is_capped_keeping_the_newest_output() {
    let node = TestNode::with_config(|c| c.log_max_bytes = 64 * 1024);
    // 5000 numbered lines of 102 bytes: ~500 KiB through a 64 KiB cap.
    let script = "i=0; while [ $i -lt 5000 ]; do printf '%05d %095d\\n' $i 0; i=$((i+1)); done";
    let id = node
        .runtime
        .start(node.spec("p", "chatty", 0, &["sh", "-c", script]))
        .await
        .unwrap();
    let status = within(60, "chatty exit", node.runtime.wait(&id))
        .await
        .unwrap();
    assert!(
        matches!(status, ContainerStatus::Exited(ref r) if r.exit_code == 0),
        "{status:?}"
    );
    let log = node.log(&id);
    // At most the cap, at least one half of it (less the line that did not fit).
    assert!(log.len() >= 32 * 1024 - 102, "{} bytes kept", log.len());
    assert!(log.len() <= 64 * 1024, "{} bytes kept", log.len());
    assert!(log.ends_with(&format!("04999 {}\n", "0".repeat(95))));
    // What is kept is whole lines, contiguous up to the last one.
    let numbers: Vec<u32> = log.lines().map(|l| l[..5].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
}
