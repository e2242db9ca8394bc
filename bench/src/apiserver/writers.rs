//! What recording writers costs: create throughput with `metadata.managedFields` recorded and with `--record-managed-fields=false`, side by side.
//!
//! Each round starts a fresh local cluster (3 store members, one apiserver) per side, in
//! alternating order (on, off, off, on, ...) so that a machine getting busier or quieter
//! during the run weighs on both; the median round of each side is compared.

use std::path::Path;

use super::{
    measure_creates, ApiTarget, ApiserverArgs, ApiserverBenchError, LocalCluster, LOCAL_TOKEN,
};

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

pub async fn compare(a: &ApiserverArgs, apiserver_bin: &Path) -> Result<(), ApiserverBenchError> {
    if a.apiserver.is_some() {
        return Err(ApiserverBenchError::Setup(
            "--compare-managed-fields starts its own local clusters; leave out --apiserver".into(),
        ));
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..a.rounds.max(1) {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for record in order {
            let flag = format!("--record-managed-fields={record}");
            let local =
                LocalCluster::start_with(&a.store_bin, apiserver_bin, a.tls, &[&flag]).await?;
            let api = ApiTarget::new(&local.url, LOCAL_TOKEN, local.ca_pem.as_deref())?;
            let c = measure_creates(&api, &a.namespace, a.clients, a.creates).await?;
            let label = if record { "recorded" } else { "off" };
            println!(
                "round {}: writers {label}: {:.0} creates/s, {} errors, {}",
                round + 1,
                c.per_second(),
                c.errors,
                c.latency
            );
            if record {
                on.push(c.per_second());
            } else {
                off.push(c.per_second());
            }
        }
    }
    let (on, off) = (median(on), median(off));
    let cost = if off > 0.0 {
        (off - on) / off * 100.0
    } else {
        0.0
    };
    println!(
        "median creates/s: writers recorded {on:.0}, off {off:.0}: recording costs {cost:.1}% (target < 5%)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![4.0, 1.0]), 4.0);
    }
}
