"""The official Kubernetes Python client against skiff (run by python.rs).

  client.py resume        list pods, watch from the list's resourceVersion, disconnect,
                          change things, resume from the last event: nothing missed, nothing
                          repeated. Prints a JSON summary with the last resourceVersion seen.
  client.py kindless      a pod built without apiVersion and kind (as V1Pod(...) leaves them)
                          is created: the server takes them from the URL, as Kubernetes does.
  client.py expired RV    a watch from RV (older than the apiserver's window) gets 410 Gone;
                          the client relists and watches from the new resourceVersion.
"""

import json
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"
SELECTOR = "suite=python"

config.load_kube_config()
v1 = client.CoreV1Api()


def pod(name):
    # A nodeSelector no node has: the pod stays Pending, so few status writes.
    return client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(name=name, labels={"suite": "python"}),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="main", image="busybox", command=["sleep", "3600"])],
            node_selector={"nowhere": "true"},
        ),
    )


def watch_until(resource_version, done, timeout=60):
    """(type, name, resourceVersion) of every event after resource_version, until done(events)."""
    w = watch.Watch()
    seen = []
    for event in w.stream(
        v1.list_namespaced_pod,
        NS,
        label_selector=SELECTOR,
        resource_version=resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=timeout,
    ):
        if event["type"] == "BOOKMARK":
            continue
        meta = event["object"].metadata
        seen.append((event["type"], meta.name, meta.resource_version))
        if done(seen):
            w.stop()
            return seen
    raise SystemExit(f"watch from {resource_version} ended before its events arrived: {seen}")


def has(events, kind, name):
    return any(t == kind and n == name for t, n, _ in events)


def resume():
    listed = v1.list_namespaced_pod(NS, label_selector=SELECTOR)
    assert listed.items == [], listed.items
    start = listed.metadata.resource_version
    assert start, "a list carries its resourceVersion"
    v1.create_namespaced_pod(NS, pod("py-1"))
    v1.create_namespaced_pod(NS, pod("py-2"))
    first = watch_until(start, lambda e: has(e, "ADDED", "py-1") and has(e, "ADDED", "py-2"))
    last = first[-1][2]
    # Disconnected: these happen while nobody watches.
    v1.create_namespaced_pod(NS, pod("py-3"))
    v1.delete_namespaced_pod("py-1", NS, grace_period_seconds=0)
    second = watch_until(last, lambda e: has(e, "ADDED", "py-3") and has(e, "DELETED", "py-1"))
    events = first + second
    assert len(set(events)) == len(events), f"an event came twice: {events}"
    versions = [int(rv) for _, _, rv in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), f"out of order: {events}"
    assert int(second[0][2]) > int(last), f"resumed at or before {last}: {second}"
    added = [n for t, n, _ in events if t == "ADDED"]
    assert added == ["py-1", "py-2", "py-3"], added
    assert [n for t, n, _ in events if t == "DELETED"] == ["py-1"], events
    names = sorted(p.metadata.name for p in v1.list_namespaced_pod(NS, label_selector=SELECTOR).items)
    assert names == ["py-2", "py-3"], names
    print(json.dumps({"events": events, "last": events[-1][2]}))


def kindless():
    body = pod("py-kindless")
    body.api_version = None
    body.kind = None
    created = v1.create_namespaced_pod(NS, body)
    assert created.kind == "Pod" and created.metadata.uid, created
    print(json.dumps({"created": created.metadata.name}))


def expired(old):
    try:
        for event in watch.Watch().stream(v1.list_namespaced_pod, NS, resource_version=old, timeout_seconds=10):
            raise SystemExit(f"a watch from {old} should get 410, got {event['type']}")
        raise SystemExit(f"a watch from {old} should get 410, it ended quietly")
    except ApiException as e:
        assert e.status == 410, f"status {e.status}: {e}"
        gone = str(e.reason)
    listed = v1.list_namespaced_pod(NS, label_selector=SELECTOR)
    names = sorted(p.metadata.name for p in listed.items)
    v1.create_namespaced_pod(NS, pod("py-4"))
    after = watch_until(listed.metadata.resource_version, lambda e: has(e, "ADDED", "py-4"))
    assert not any(n in names for t, n, _ in after if t == "ADDED"), f"relisted pods came again: {after}"
    print(json.dumps({"gone": gone, "relisted": names}))


if __name__ == "__main__":
    if sys.argv[1] == "resume":
        resume()
    elif sys.argv[1] == "kindless":
        kindless()
    elif sys.argv[1] == "expired":
        expired(sys.argv[2])
    else:
        raise SystemExit(f"unknown step {sys.argv[1]}")
