//! `describe pod` in kubectl's layout (`describePod`), less the sections skiff has nothing for (volumes, QoS, tolerations, service accounts).

use skiff_api::types::Pod;

use super::{
    annotations_multiline, controlled_by, describe_containers, describe_events, labels_multiline,
    Related, Writer,
};
use crate::output::age::Clock;

pub fn describe_pod(pod: &Pod, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &pod.metadata;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(0, &format!("Namespace:\t{}\n", meta.namespace));
    if pod.spec.node_name.is_empty() {
        w.write(0, "Node:\t<none>\n");
    } else {
        w.write(
            0,
            &format!("Node:\t{}/{}\n", pod.spec.node_name, pod.status.host_ip),
        );
    }
    if let Some(start) = &pod.status.start_time {
        w.write(0, &format!("Start Time:\t{}\n", clock.rfc1123z(&start.0)));
    }
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    let terminal = pod.status.phase == "Failed" || pod.status.phase == "Succeeded";
    match (&meta.deletion_timestamp, terminal) {
        (Some(deleted), false) => {
            w.write(
                0,
                &format!(
                    "Status:\tTerminating (lasts {})\n",
                    clock.since(Some(deleted))
                ),
            );
            w.write(
                0,
                &format!(
                    "Termination Grace Period:\t{}s\n",
                    meta.deletion_grace_period_seconds.unwrap_or_default()
                ),
            );
        }
        _ => w.write(0, &format!("Status:\t{}\n", pod.status.phase)),
    }
    if !pod.status.reason.is_empty() {
        w.write(0, &format!("Reason:\t{}\n", pod.status.reason));
    }
    if !pod.status.message.is_empty() {
        w.write(0, &format!("Message:\t{}\n", pod.status.message));
    }
    w.write(0, &format!("IP:\t{}\n", pod.status.pod_ip));
    if pod.status.pod_ip.is_empty() {
        w.write(0, "IPs:\t<none>\n");
    } else {
        w.write(0, "IPs:\n");
        w.write(1, &format!("IP:\t{}\n", pod.status.pod_ip));
    }
    if let Some(owner) = controlled_by(meta) {
        w.write(0, &format!("Controlled By:\t{owner}\n"));
    }
    describe_containers(
        &mut w,
        "Containers",
        &pod.spec.containers,
        Some(&pod.status.container_statuses),
        "",
        clock,
    );
    if !pod.status.conditions.is_empty() {
        w.write(0, "Conditions:\n  Type\tStatus\n");
        for c in &pod.status.conditions {
            w.write(1, &format!("{} \t{} \n", c.type_, c.status));
        }
    }
    labels_multiline(&mut w, "", "Node-Selectors", &pod.spec.node_selector);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}
