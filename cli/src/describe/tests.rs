//! Golden `describe` texts against a fixed clock (UTC).

use chrono::{TimeZone, Utc};
use serde_json::json;
use skiff_api::types::{CronJob, Event, Job, Node, Pod, ReplicationController};

use super::*;

fn clock() -> Clock {
    Clock::fixed(Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap())
}

/// An event: (kind, name) it is about, (type, reason, from, message), count, (first, last) times.
fn event(
    about: (&str, &str),
    what: (&str, &str, &str, &str),
    count: i32,
    times: (&str, &str),
) -> Event {
    let ((kind, name), (type_, reason, from, message), (first, last)) = (about, what, times);
    serde_json::from_value(json!({
        "metadata": {"name": format!("{name}.{reason}"), "namespace": "default"},
        "involvedObject": {"kind": kind, "name": name},
        "type": type_, "reason": reason, "source": {"component": from}, "message": message, "count": count,
        "firstTimestamp": first, "lastTimestamp": last}))
    .unwrap()
}

fn liveness_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kubia-liveness", "namespace": "default", "creationTimestamp": "2024-05-05T09:55:00Z",
                     "labels": {"app": "kubia", "rel": "beta"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ReplicationController", "name": "kubia", "uid": "u1", "controller": true}]},
        "spec": {"nodeName": "node-1", "containers": [{
            "name": "kubia", "image": "luksa/kubia-unhealthy", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "livenessProbe": {"httpGet": {"path": "/", "port": 8080}, "initialDelaySeconds": 15, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
            "env": [{"name": "GREETING", "value": "hi"}]}]},
        "status": {"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.42.0.3", "startTime": "2024-05-05T09:55:01Z",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "kubia", "ready": true, "restartCount": 1, "image": "luksa/kubia-unhealthy", "containerID": "skiff://abc",
                "state": {"running": {"startedAt": "2024-05-05T09:57:20Z"}},
                "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "Error", "startedAt": "2024-05-05T09:55:02Z", "finishedAt": "2024-05-05T09:57:19Z"}}}]}
    }))
    .unwrap()
}

#[test]
fn golden_pod() {
    let related = Related {
        events: vec![
            event(
                ("Pod", "kubia-liveness"),
                (
                    "Warning",
                    "Unhealthy",
                    "kubelet",
                    "Liveness probe failed: HTTP probe failed with statuscode: 500",
                ),
                3,
                ("2024-05-05T09:56:50Z", "2024-05-05T09:57:10Z"),
            ),
            event(
                ("Pod", "kubia-liveness"),
                (
                    "Normal",
                    "Scheduled",
                    "default-scheduler",
                    "Successfully assigned default/kubia-liveness to node-1",
                ),
                1,
                ("2024-05-05T09:55:00Z", "2024-05-05T09:55:00Z"),
            ),
            event(
                ("Pod", "kubia-liveness"),
                (
                    "Normal",
                    "Killing",
                    "kubelet",
                    "Container kubia failed liveness probe, will be restarted",
                ),
                1,
                ("2024-05-05T09:57:10Z", "2024-05-05T09:57:10Z"),
            ),
        ],
        ..Related::default()
    };
    let want = "\
Name:         kubia-liveness
Namespace:    default
Node:         node-1/127.0.0.1
Start Time:   Sun, 05 May 2024 09:55:01 +0000
Labels:       app=kubia
              rel=beta
Annotations:  <none>
Status:       Running
IP:           127.42.0.3
IPs:
  IP:           127.42.0.3
Controlled By:  ReplicationController/kubia
Containers:
  kubia:
    Container ID:   skiff://abc
    Image:          luksa/kubia-unhealthy
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Sun, 05 May 2024 09:57:20 +0000
    Last State:     Terminated
      Reason:       Error
      Exit Code:    137
      Signal:       9
      Started:      Sun, 05 May 2024 09:55:02 +0000
      Finished:     Sun, 05 May 2024 09:57:19 +0000
    Ready:          True
    Restart Count:  1
    Liveness:       http-get http://:8080/ delay=15s timeout=1s period=10s #success=1 #failure=3
    Environment:
      GREETING:  hi
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Node-Selectors:     <none>
Events:
  Type     Reason     Age                    From               Message
  ----     ------     ----                   ----               -------
  Normal   Scheduled  5m                     default-scheduler  Successfully assigned default/kubia-liveness to node-1
  Warning  Unhealthy  2m50s (x3 over 3m10s)  kubelet            Liveness probe failed: HTTP probe failed with statuscode: 500
  Normal   Killing    2m50s                  kubelet            Container kubia failed liveness probe, will be restarted
";
    let got = describe_pod(&liveness_pod(), &related, &clock());
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn golden_replication_controller() {
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "crane", "namespace": "default", "labels": {"app": "crane"}},
        "spec": {"replicas": 3, "selector": {"app": "crane"}, "template": {"metadata": {"labels": {"app": "crane"}},
            "spec": {"containers": [{"name": "crane", "image": "heejeong/crane", "ports": [{"containerPort": 8080}]}]}}},
        "status": {"replicas": 3}})).unwrap();
    let mut running = liveness_pod();
    running.status.phase = "Running".into();
    let mut pending = liveness_pod();
    pending.status.phase = "Pending".into();
    let related = Related {
        pods: vec![running.clone(), running, pending],
        events: vec![event(
            ("ReplicationController", "crane"),
            (
                "Normal",
                "SuccessfulCreate",
                "replication-controller",
                "Created pod: crane-5xq2v",
            ),
            1,
            ("2024-05-05T09:59:00Z", "2024-05-05T09:59:00Z"),
        )],
        ..Related::default()
    };
    let want = "\
Name:         crane
Namespace:    default
Selector:     app=crane
Labels:       app=crane
Annotations:  <none>
Replicas:     3 current / 3 desired
Pods Status:  2 Running / 1 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=crane
  Containers:
   crane:
    Image:         heejeong/crane
    Port:          8080/TCP
    Host Port:     0/TCP
    Environment:   <none>
  Node-Selectors:  <none>
Events:
  Type    Reason            Age   From                    Message
  ----    ------            ----  ----                    -------
  Normal  SuccessfulCreate  60s   replication-controller  Created pod: crane-5xq2v
";
    let got = describe_rc(&rc, &related, &clock());
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn golden_job_and_cronjob() {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "batch-job", "namespace": "default"},
        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6, "selector": {"matchLabels": {"controller-uid": "u2"}},
                 "template": {"metadata": {"labels": {"app": "batch-job"}}, "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main", "image": "luksa/batch-job"}]}}},
        "status": {"startTime": "2024-05-05T09:57:00Z", "completionTime": "2024-05-05T09:59:00Z", "succeeded": 1}})).unwrap();
    let want = "\
Name:           batch-job
Namespace:      default
Selector:       controller-uid=u2
Labels:         <none>
Annotations:    <none>
Parallelism:    1
Completions:    1
Backoff Limit:  6
Start Time:     Sun, 05 May 2024 09:57:00 +0000
Completed At:   Sun, 05 May 2024 09:59:00 +0000
Duration:       2m
Pods Statuses:  0 Active / 1 Succeeded / 0 Failed
Pod Template:
  Labels:  app=batch-job
  Containers:
   main:
    Image:         luksa/batch-job
    Port:          <none>
    Host Port:     <none>
    Environment:   <none>
  Node-Selectors:  <none>
Events:            <none>
";
    let got = describe_job(&job, &Related::default(), &clock());
    assert_eq!(got, want, "\n{got}");

    let cj: CronJob = serde_json::from_value(json!({
        "metadata": {"name": "batch-job-every-fifteen-minutes", "namespace": "default"},
        "spec": {"schedule": "0,15,30,45 * * * *", "startingDeadlineSeconds": 15, "concurrencyPolicy": "Allow", "suspend": false,
                 "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                 "jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "periodic-batch-job"}},
                     "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main", "image": "luksa/batch-job"}]}}}}},
        "status": {"lastScheduleTime": "2024-05-05T09:45:00Z", "active": [{"name": "batch-job-every-fifteen-minutes-28581345"}]}})).unwrap();
    let want = "\
Name:                          batch-job-every-fifteen-minutes
Namespace:                     default
Labels:                        <none>
Annotations:                   <none>
Schedule:                      0,15,30,45 * * * *
Concurrency Policy:            Allow
Suspend:                       False
Successful Job History Limit:  3
Failed Job History Limit:      1
Starting Deadline Seconds:     15s
Selector:                      <unset>
Parallelism:                   <unset>
Completions:                   <unset>
Pod Template:
  Labels:  app=periodic-batch-job
  Containers:
   main:
    Image:           luksa/batch-job
    Port:            <none>
    Host Port:       <none>
    Environment:     <none>
  Node-Selectors:    <none>
Last Schedule Time:  Sun, 05 May 2024 09:45:00 +0000
Active Jobs:         batch-job-every-fifteen-minutes-28581345
Events:              <none>
";
    let got = describe_cronjob(&cj, &Related::default(), &clock());
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn golden_node() {
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "node-1", "creationTimestamp": "2024-05-05T09:00:00Z", "labels": {"disk": "ssd", "kubernetes.io/hostname": "node-1"}},
        "spec": {"podCIDR": "127.42.0.0/16"},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}, "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "NodeletReady", "message": "nodelet is posting ready status",
                            "lastHeartbeatTime": "2024-05-05T09:59:58Z", "lastTransitionTime": "2024-05-05T09:00:01Z"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
            "nodeInfo": {"kubeletVersion": "v0.1.0", "operatingSystem": "linux", "architecture": "x86_64"}}})).unwrap();
    let mut pod = liveness_pod();
    pod.spec.containers[0]
        .resources
        .requests
        .insert("cpu".into(), skiff_api::quantity::Quantity("500m".into()));
    pod.spec.containers[0]
        .resources
        .requests
        .insert("memory".into(), skiff_api::quantity::Quantity("1Gi".into()));
    let related = Related {
        pods: vec![pod],
        ..Related::default()
    };
    let got = describe_node(&node, &related, &clock());
    let want = "\
Name:               node-1
Roles:              <none>
Labels:             disk=ssd
                    kubernetes.io/hostname=node-1
Annotations:        <none>
CreationTimestamp:  Sun, 05 May 2024 09:00:00 +0000
Taints:             <none>
Unschedulable:      false
Conditions:
  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason         Message
  ----    ------  -----------------                 ------------------                ------         -------
  Ready   True    Sun, 05 May 2024 09:59:58 +0000   Sun, 05 May 2024 09:00:01 +0000   NodeletReady   nodelet is posting ready status
Addresses:
  InternalIP:  127.0.0.1
  Hostname:    node-1
Capacity:
  cpu:     4
  memory:  8Gi
  pods:    110
Allocatable:
  cpu:     4
  memory:  8Gi
  pods:    110
System Info:
  Machine ID:                 
  System UUID:                
  Boot ID:                    
  Kernel Version:             
  OS Image:                   
  Operating System:           linux
  Architecture:               x86_64
  Container Runtime Version:  
  Kubelet Version:            v0.1.0
  Kube-Proxy Version:         
PodCIDR:                      127.42.0.0/16
Non-terminated Pods:          (1 in total)
  Namespace                   Name              CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----              ------------  ----------  ---------------  -------------  ---
  default                     kubia-liveness    500m (12%)    0 (0%)      1Gi (12%)        0 (0%)         5m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource  Requests    Limits
  --------  --------    ------
  cpu       500m (12%)  0 (0%)
  memory    1Gi (12%)   0 (0%)
Events:     <none>
";
    assert_eq!(got, want, "\n{got}");
}
