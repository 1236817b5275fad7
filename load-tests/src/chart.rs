//! The run's timeline as an SVG: the SFU's packet rates above, CPU and connected sites below.

use std::path::Path;

use plotters::prelude::*;

use crate::result::RunResult;
use crate::timeline::TimelinePoint;

type Series<'a> = (&'a str, RGBColor, fn(&TimelinePoint) -> Option<f64>);

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    points: &[TimelinePoint],
    series: &[Series<'_>],
) -> anyhow::Result<()> {
    let t_max = points.last().map_or(1.0, |p| p.t_s).max(1.0);
    let y_max = points
        .iter()
        .flat_map(|p| series.iter().filter_map(move |s| (s.2)(p)))
        .fold(1.0f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the ramp started")
        .y_desc(y_desc)
        .draw()?;
    for (name, color, f) in series {
        let color = *color;
        let data: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t_s, v)))
            .collect();
        chart
            .draw_series(LineSeries::new(data, color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Draws `result`'s timeline into `path`.
pub fn draw(result: &RunResult, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(350);
    let title = format!(
        "{}: 1 chair + {} sites",
        result.scenario.name, result.scenario.sites
    );
    panel(
        &top,
        &title,
        "packets/s",
        &result.timeline,
        &[
            ("SFU out", BLUE, |p| p.tx_pps),
            ("SFU in", GREEN, |p| p.rx_pps),
        ],
    )?;
    panel(
        &bottom,
        "CPU (% of one core) and connected participants",
        "",
        &result.timeline,
        &[
            ("SFU CPU %", RED, |p| p.sfu_cpu_pct),
            ("generator CPU %", MAGENTA, |p| p.generator_cpu_pct),
            ("connected", BLACK, |p| Some(p.sites_connected as f64)),
        ],
    )?;
    root.present()?;
    Ok(())
}
