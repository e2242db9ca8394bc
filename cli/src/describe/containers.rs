//! The `Containers:` section of `describe` (kubectl's `describeContainers`): image, ports, command, state, last state, probes, resources and environment.

use std::collections::BTreeMap;

use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, ContainerState, ContainerStatus};

use super::Writer;
use crate::output::age::Clock;

/// Writes every container; `statuses` is `None` for a pod template (no state to show).
/// `space` is the indentation of the section heading (two spaces inside a pod template,
/// where kubectl puts the container names at three).
pub fn describe_containers(
    w: &mut Writer,
    label: &str,
    containers: &[Container],
    statuses: Option<&[ContainerStatus]>,
    space: &str,
    clock: &Clock,
) {
    if containers.is_empty() {
        w.raw(&format!("{space}{label}: <none>\n"));
        return;
    }
    w.raw(&format!("{space}{label}:\n"));
    for container in containers {
        let status = statuses.and_then(|all| all.iter().find(|s| s.name == container.name));
        basic_info(w, container, status, space);
        command(w, container);
        if let Some(status) = status {
            describe_state(w, "State", &status.state, clock);
            if status.last_state.terminated.is_some() {
                describe_state(w, "Last State", &status.last_state, clock);
            }
            w.write(
                2,
                &format!("Ready:\t{}\n", if status.ready { "True" } else { "False" }),
            );
            w.write(2, &format!("Restart Count:\t{}\n", status.restart_count));
        }
        resources(w, "Limits", &container.resources.limits);
        resources(w, "Requests", &container.resources.requests);
        if let Some(probe) = &container.liveness_probe {
            w.write(2, &format!("Liveness:\t{}\n", probe.describe()));
        }
        if let Some(probe) = &container.readiness_probe {
            w.write(2, &format!("Readiness:\t{}\n", probe.describe()));
        }
        environment(w, container);
    }
}

fn basic_info(
    w: &mut Writer,
    container: &Container,
    status: Option<&ContainerStatus>,
    space: &str,
) {
    let name_indent = if space.is_empty() { "" } else { " " };
    w.write(1, &format!("{name_indent}{}:\n", container.name));
    if let Some(status) = status {
        w.write(2, &format!("Container ID:\t{}\n", status.container_id));
    }
    w.write(2, &format!("Image:\t{}\n", container.image));
    let protocol = |p: &str| {
        if p.is_empty() {
            "TCP".to_string()
        } else {
            p.to_string()
        }
    };
    let ports: Vec<String> = container
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.container_port, protocol(&p.protocol)))
        .collect();
    let host_ports: Vec<String> = container
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.host_port, protocol(&p.protocol)))
        .collect();
    let (port_label, host_label) = if ports.len() > 1 {
        ("Ports", "Host Ports")
    } else {
        ("Port", "Host Port")
    };
    w.write(
        2,
        &format!("{port_label}:\t{}\n", or_none(&ports.join(", "))),
    );
    w.write(
        2,
        &format!("{host_label}:\t{}\n", or_none(&host_ports.join(", "))),
    );
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "<none>"
    } else {
        s
    }
}

fn command(w: &mut Writer, container: &Container) {
    for (title, words) in [("Command", &container.command), ("Args", &container.args)] {
        if words.is_empty() {
            continue;
        }
        w.write(2, &format!("{title}:\n"));
        for word in words {
            for line in word.split('\n') {
                w.write(3, &format!("{line}\n"));
            }
        }
    }
}

/// kubectl's `describeStatus`: Running with Started, Waiting with Reason, Terminated with
/// Reason, Message, Exit Code, Signal, Started and Finished.
fn describe_state(w: &mut Writer, name: &str, state: &ContainerState, clock: &Clock) {
    if let Some(running) = &state.running {
        w.write(2, &format!("{name}:\tRunning\n"));
        w.write(
            3,
            &format!(
                "Started:\t{}\n",
                clock.rfc1123z_opt(running.started_at.as_ref())
            ),
        );
    } else if let Some(waiting) = &state.waiting {
        w.write(2, &format!("{name}:\tWaiting\n"));
        if !waiting.reason.is_empty() {
            w.write(3, &format!("Reason:\t{}\n", waiting.reason));
        }
    } else if let Some(t) = &state.terminated {
        w.write(2, &format!("{name}:\tTerminated\n"));
        if !t.reason.is_empty() {
            w.write(3, &format!("Reason:\t{}\n", t.reason));
        }
        if !t.message.is_empty() {
            w.write(3, &format!("Message:\t{}\n", t.message));
        }
        w.write(3, &format!("Exit Code:\t{}\n", t.exit_code));
        if t.signal > 0 {
            w.write(3, &format!("Signal:\t{}\n", t.signal));
        }
        w.write(
            3,
            &format!("Started:\t{}\n", clock.rfc1123z_opt(t.started_at.as_ref())),
        );
        w.write(
            3,
            &format!(
                "Finished:\t{}\n",
                clock.rfc1123z_opt(t.finished_at.as_ref())
            ),
        );
    } else {
        w.write(2, &format!("{name}:\tWaiting\n"));
    }
}

fn resources(w: &mut Writer, title: &str, list: &BTreeMap<String, Quantity>) {
    if list.is_empty() {
        return;
    }
    w.write(2, &format!("{title}:\n"));
    for (name, quantity) in list {
        w.write(3, &format!("{name}:\t{quantity}\n"));
    }
}

fn environment(w: &mut Writer, container: &Container) {
    if container.env.is_empty() {
        w.write(2, "Environment:\t<none>\n");
        return;
    }
    w.write(2, "Environment:\n");
    for var in &container.env {
        match var.value_from.as_ref().and_then(|f| f.field_ref.as_ref()) {
            Some(field) => {
                let version = if field.api_version.is_empty() {
                    "v1"
                } else {
                    field.api_version.as_str()
                };
                w.write(
                    3,
                    &format!("{}:\t ({version}:{})\n", var.name, field.field_path),
                );
            }
            None => {
                for (i, line) in var.value.split('\n').enumerate() {
                    if i == 0 {
                        w.write(3, &format!("{}:\t{line}\n", var.name));
                    } else {
                        w.write(3, &format!("\t{line}\n"));
                    }
                }
            }
        }
    }
}
