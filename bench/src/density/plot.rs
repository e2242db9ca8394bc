//! `skiff-bench density-plot`: draws the density runs of a JSON-lines file (written by
//! `skiff-bench density --record FILE`) as an SVG: pod startup p99 and control-plane memory
//! against the pod count, one line per store, with the scale targets as dashed lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use plotters::prelude::*;

use super::record::{read_all, RunRecord};
use crate::BenchError;

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// The JSON-lines file of runs (`skiff-bench density --record FILE`).
    #[arg(long)]
    pub runs: PathBuf,
    /// The SVG to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// The targets, drawn beside the measured lines.
const STARTUP_P99_TARGET_MS: f64 = 1000.0;
const CONTROL_PLANE_TARGET_MB: f64 = 600.0;

pub fn run(args: PlotArgs) -> Result<(), BenchError> {
    let runs = read_all(&args.runs)?;
    if runs.is_empty() {
        return Err(BenchError::Invalid(format!(
            "{}: no runs to draw",
            args.runs.display()
        )));
    }
    draw(&runs, &args.out).map_err(|e| BenchError::Invalid(format!("{}: {e}", args.out.display())))
}

/// One line: (pods, value) points of one store, the latest run per pod count.
type Series = BTreeMap<String, Vec<(f64, f64)>>;

/// The latest run of each (store, pod count), as points of `value` per store.
pub fn series(runs: &[RunRecord], value: impl Fn(&RunRecord) -> f64) -> Series {
    let mut latest: BTreeMap<(String, usize), &RunRecord> = BTreeMap::new();
    for run in runs {
        let slot = latest.entry((run.store.clone(), run.pods)).or_insert(run);
        if run.finished >= slot.finished {
            *slot = run;
        }
    }
    let mut out = Series::new();
    for ((store, pods), run) in latest {
        out.entry(store)
            .or_default()
            .push((pods as f64, value(run)));
    }
    out
}

fn draw(runs: &[RunRecord], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(out, (1200, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    panel(
        &left,
        "pod startup p99 (ms)",
        &series(runs, |r| r.startup_p99_ms),
        STARTUP_P99_TARGET_MS,
    )?;
    panel(
        &right,
        "control plane RSS (MB)",
        &series(runs, |r| r.control_plane_mb),
        CONTROL_PLANE_TARGET_MB,
    )?;
    root.present()?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    lines: &Series,
    target: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let points = lines.values().flatten();
    let max_x = points.clone().map(|p| p.0).fold(0.0, f64::max) * 1.05;
    let max_y = points.map(|p| p.1).fold(target, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..max_x, 0.0..max_y)?;
    chart
        .configure_mesh()
        .x_desc("pods")
        .light_line_style(WHITE)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for (i, (store, pts)) in lines.iter().enumerate() {
        let colour = colours[i % colours.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?
            .label(store.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, target), (max_x, target)],
            8,
            6,
            BLACK.stroke_width(1),
        ))?
        .label("target")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::record::sample as run;
    use super::*;

    #[test]
    fn the_latest_run_of_each_size_is_drawn_per_store() {
        let runs = [
            run("skiff", 3000, "2026-12-04T10:00:00Z", 900.0),
            run("skiff", 1000, "2026-12-04T10:00:00Z", 400.0),
            run("skiff", 3000, "2026-12-04T11:00:00Z", 500.0),
            run("etcd", 1000, "2026-12-04T10:00:00Z", 200.0),
        ];
        let s = series(&runs, |r| r.startup_p99_ms);
        assert_eq!(s["skiff"], vec![(1000.0, 400.0), (3000.0, 500.0)]);
        assert_eq!(s["etcd"], vec![(1000.0, 200.0)]);
    }

    #[test]
    fn an_svg_is_written_with_every_store_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("density.svg");
        let runs = [
            run("skiff", 1000, "a", 400.0),
            run("skiff", 10000, "a", 300.0),
            run("etcd", 1000, "a", 200.0),
        ];
        draw(&runs, &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        let texts = texts(&svg);
        for label in ["skiff", "etcd", "target", "pods", "10000"] {
            // Twice: once in each panel.
            assert_eq!(
                texts.iter().filter(|t| *t == label).count(),
                2,
                "{label}: {texts:?}"
            );
        }
        assert!(texts.contains(&"pod startup p99 (ms)".to_string()));
        assert!(texts.contains(&"control plane RSS (MB)".to_string()));
    }

    /// The contents of every <text> element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                Some(
                    t.split_once('>')?
                        .1
                        .split_once("</text>")?
                        .0
                        .trim()
                        .to_string(),
                )
            })
            .collect()
    }
}
