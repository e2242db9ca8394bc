//! From a container's `livenessProbe` / `readinessProbe` to the prober's [`ProbeSpec`]:
//! Kubernetes' defaults, named ports resolved from the container's ports, the pod IP as the
//! default host.

use std::time::Duration;

use skiff_api::meta::IntOrString;
use skiff_api::types::{Container, Probe};

use crate::probe::{
    ExecAction, ExecContext, HttpGetAction, ProbeHandler, ProbeSpec, Scheme, TcpSocketAction,
};

/// Why a probe cannot even be attempted; every attempt then fails with this message, as the
/// kubelet's do (`unknown port "http"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprobeable(pub String);

/// The port a probe names: a number, or the name of one of the container's ports.
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, Unprobeable> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .find(|p| p.name == *name)
                .map(|p| p.container_port)
                .ok_or_else(|| {
                    Unprobeable(format!(
                        "unknown port {name:?} (container {:?} has no port of that name)",
                        container.name
                    ))
                })?,
        },
    };
    u16::try_from(number)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Unprobeable(format!("invalid port number {number}")))
}

fn seconds(value: i32, default: u64) -> Duration {
    if value > 0 {
        Duration::from_secs(value as u64)
    } else {
        Duration::from_secs(default)
    }
}

fn threshold(value: i32, default: u32) -> u32 {
    if value > 0 {
        value as u32
    } else {
        default
    }
}

/// The probe as the prober runs it. `exec_context` is asked only for exec probes (it is the
/// running instance's environment).
pub fn probe_spec(
    probe: &Probe,
    container: &Container,
    pod_ip: &str,
    exec_context: impl FnOnce() -> Option<ExecContext>,
) -> Result<ProbeSpec, Unprobeable> {
    let host = |h: &str| {
        if h.is_empty() {
            pod_ip.to_string()
        } else {
            h.to_string()
        }
    };
    let handler = if let Some(http) = &probe.http_get {
        ProbeHandler::HttpGet(HttpGetAction {
            host: host(&http.host),
            port: resolve_port(&http.port, container)?,
            path: if http.path.is_empty() {
                "/".to_string()
            } else {
                http.path.clone()
            },
            scheme: if http.scheme.eq_ignore_ascii_case("https") {
                Scheme::Https
            } else {
                Scheme::Http
            },
            headers: http
                .http_headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        })
    } else if let Some(tcp) = &probe.tcp_socket {
        ProbeHandler::TcpSocket(TcpSocketAction {
            host: host(&tcp.host),
            port: resolve_port(&tcp.port, container)?,
        })
    } else if let Some(exec) = &probe.exec {
        let context = exec_context().ok_or_else(|| {
            Unprobeable("the container's environment is not available".to_string())
        })?;
        ProbeHandler::Exec(ExecAction {
            command: exec.command.clone(),
            context,
        })
    } else {
        return Err(Unprobeable(
            "the probe has no handler (exec, httpGet or tcpSocket)".to_string(),
        ));
    };
    Ok(with_timing(probe, handler))
}

/// `handler` with the probe's timing and thresholds (Kubernetes' defaults for unset ones).
pub fn with_timing(probe: &Probe, handler: ProbeHandler) -> ProbeSpec {
    ProbeSpec {
        handler,
        initial_delay: Duration::from_secs(probe.initial_delay_seconds.max(0) as u64),
        timeout: seconds(probe.timeout_seconds, 1),
        period: seconds(probe.period_seconds, 10),
        success_threshold: threshold(probe.success_threshold, 1),
        failure_threshold: threshold(probe.failure_threshold, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::{
        ContainerPort, HttpGetAction as ApiHttp, HttpHeader, TcpSocketAction as ApiTcp,
    };

    fn container() -> Container {
        Container {
            name: "kubia".into(),
            ports: vec![ContainerPort {
                name: "http".into(),
                container_port: 8080,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn ports_resolve_by_number_or_name() {
        let c = container();
        let table: Vec<(IntOrString, Result<u16, ()>)> = vec![
            (IntOrString::Int(8080), Ok(8080)),
            (IntOrString::String("http".into()), Ok(8080)),
            (IntOrString::String("9090".into()), Ok(9090)),
            (IntOrString::String("metrics".into()), Err(())),
            (IntOrString::Int(0), Err(())),
            (IntOrString::Int(70000), Err(())),
        ];
        for (port, want) in table {
            assert_eq!(resolve_port(&port, &c).map_err(|_| ()), want, "{port:?}");
        }
        let err = resolve_port(&IntOrString::String("metrics".into()), &c).unwrap_err();
        assert!(err.0.contains("unknown port \"metrics\""), "{}", err.0);
    }

    #[test]
    fn http_probes_default_to_the_pod_ip_and_kubernetes_timings() {
        let probe = Probe {
            http_get: Some(ApiHttp {
                port: IntOrString::String("http".into()),
                http_headers: vec![HttpHeader {
                    name: "X-Test".into(),
                    value: "1".into(),
                }],
                ..Default::default()
            }),
            initial_delay_seconds: 15,
            ..Default::default()
        };
        let spec = probe_spec(&probe, &container(), "127.42.0.3", || None).unwrap();
        let ProbeHandler::HttpGet(h) = &spec.handler else {
            panic!("not http")
        };
        assert_eq!(
            (h.host.as_str(), h.port, h.path.as_str()),
            ("127.42.0.3", 8080, "/")
        );
        assert_eq!(h.headers, vec![("X-Test".to_string(), "1".to_string())]);
        assert_eq!(spec.initial_delay, Duration::from_secs(15));
        assert_eq!(spec.timeout, Duration::from_secs(1));
        assert_eq!(spec.period, Duration::from_secs(10));
        assert_eq!((spec.success_threshold, spec.failure_threshold), (1, 3));
    }

    #[test]
    fn tcp_and_exec_probes() {
        let tcp = Probe {
            tcp_socket: Some(ApiTcp {
                port: IntOrString::Int(8080),
                host: "127.0.0.9".into(),
            }),
            period_seconds: 2,
            failure_threshold: 5,
            ..Default::default()
        };
        let spec = probe_spec(&tcp, &container(), "127.42.0.3", || None).unwrap();
        assert_eq!(
            spec.handler,
            ProbeHandler::TcpSocket(TcpSocketAction {
                host: "127.0.0.9".into(),
                port: 8080
            })
        );
        assert_eq!(
            (spec.period, spec.failure_threshold),
            (Duration::from_secs(2), 5)
        );

        let exec = Probe {
            exec: Some(skiff_api::types::ExecAction {
                command: vec!["cat".into(), "/tmp/healthy".into()],
            }),
            ..Default::default()
        };
        let ctx = ExecContext {
            env: vec![("A".into(), "1".into())],
            working_dir: "/".into(),
            enter: None,
        };
        let spec = probe_spec(&exec, &container(), "127.42.0.3", || Some(ctx.clone())).unwrap();
        assert_eq!(
            spec.handler,
            ProbeHandler::Exec(ExecAction {
                command: vec!["cat".into(), "/tmp/healthy".into()],
                context: ctx
            })
        );
        assert!(probe_spec(&exec, &container(), "x", || None).is_err());
        assert!(probe_spec(&Probe::default(), &container(), "x", || None).is_err());
    }
}
