//! The report's charts, drawn by plotters into SVG strings that the page inlines. Each chart is a
//! function of plain rows, so what it shows is what the page's table beside it lists.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the {chart} chart: {message}")]
pub struct ChartError {
    chart: &'static str,
    message: String,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 300;
const FONT: &str = "sans-serif";
/// Colors of series, in order (color-blind safe: Okabe–Ito).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];

/// One bar of a stacked bar chart: its label and one value per series.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Under the bar.
    pub label: String,
    /// One per series, stacked bottom up.
    pub values: Vec<f64>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws one chart into an SVG string: a white canvas, `draw`, and the finished document.
fn svg_of(
    chart: &'static str,
    draw: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
            .map_err(|message| ChartError { chart, message })?;
    }
    Ok(svg)
}

/// A chart on `root` with its title and room for the axes' labels.
fn builder<'a, 'b>(root: &'a Area<'b>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, (FONT, 16))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(64);
    b
}

/// The legend, top left.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    c: &mut ChartContext<'a, SVGBackend<'a>, CT>,
) -> Result<(), String> {
    c.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 12))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())
}

/// A bar chart, stacked when there are several series. `series` names them (the legend).
pub fn bars(
    chart: &'static str,
    title: &str,
    y_label: &str,
    series: &[String],
    bars: &[Bar],
) -> Result<String, ChartError> {
    svg_of(chart, |root| {
        let top = bars
            .iter()
            .map(|b| b.values.iter().filter(|v| **v > 0.0).sum::<f64>())
            .fold(0.0f64, f64::max);
        let bottom = bars
            .iter()
            .map(|b| b.values.iter().filter(|v| **v < 0.0).sum::<f64>())
            .fold(0.0f64, f64::min);
        let top = if top <= 0.0 && bottom >= 0.0 {
            1.0
        } else {
            top * 1.1
        };
        // A segmented range of 0..k has k + 1 segments: one per bar.
        let last = bars.len().saturating_sub(1) as u32;
        let mut c = builder(root, title)
            .build_cartesian_2d((0u32..last).into_segmented(), (bottom * 1.1)..top)
            .map_err(|e| e.to_string())?;
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let label_of = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                labels.get(*i as usize).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        };
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(bars.len().clamp(1, 24))
            .x_label_formatter(&label_of)
            .y_desc(y_label)
            .y_label_formatter(&|v| short_number(*v))
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for (s, name) in series.iter().enumerate() {
            let color = PALETTE[s % PALETTE.len()];
            let rects = bars.iter().enumerate().filter_map(|(i, b)| {
                let v = *b.values.get(s)?;
                // Stack positives up from the sum of the series below, negatives down.
                let below: f64 = b.values[..s]
                    .iter()
                    .filter(|x| (**x >= 0.0) == (v >= 0.0))
                    .sum();
                // The last bar ends at the plot's end (a single bar's range has no next value).
                let end = if i + 1 == bars.len() {
                    SegmentValue::Last
                } else {
                    SegmentValue::Exact(i as u32 + 1)
                };
                let mut r = Rectangle::new(
                    [(SegmentValue::Exact(i as u32), below), (end, below + v)],
                    color.filled(),
                );
                r.set_margin(0, 0, 6, 6);
                Some(r)
            });
            c.draw_series(rects)
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        if series.len() > 1 {
            legend(&mut c)?;
        }
        Ok(())
    })
}

/// Lines over days: one point per day given, `series` names the lines.
pub fn lines(
    chart: &'static str,
    title: &str,
    y_label: &str,
    series: &[String],
    days: &[(i64, Vec<f64>)],
) -> Result<String, ChartError> {
    svg_of(chart, |root| {
        // At least a week wide, so that a short history still has distinct days on its axis.
        const DAY: i64 = 86_400;
        let first = days.first().map_or(0, |d| d.0);
        let last = days.last().map_or(first, |d| d.0);
        let pad = ((7 * DAY - (last - first)) / 2).max(DAY / 2);
        let (first, last) = (first - pad, last + pad);
        let top = days
            .iter()
            .flat_map(|d| d.1.iter().copied())
            .fold(1.0f64, f64::max)
            * 1.1;
        let mut c = builder(root, title)
            .build_cartesian_2d(first..last, 0.0..top)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .light_line_style(WHITE)
            .x_labels(6)
            .x_label_formatter(&|t| crate::time::date(*t))
            .y_desc(y_label)
            .y_label_formatter(&|v| short_number(*v))
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for (s, name) in series.iter().enumerate() {
            let color = PALETTE[s % PALETTE.len()];
            let points: Vec<(i64, f64)> = days
                .iter()
                .filter_map(|(t, v)| Some((*t, *v.get(s)?)))
                .collect();
            c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            c.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| e.to_string())?;
        }
        legend(&mut c)
    })
}

/// A number for an axis: 1234567 → "1.23M", 0.0012 → "0.0012".
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let (n, unit) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if n.fract().abs() < 1e-9 {
        format!("{n:.0}{unit}")
    } else if a < 0.1 {
        format!("{n:.4}")
    } else if a < 1.0 {
        format!("{n:.3}")
    } else if n.abs() < 10.0 {
        format!("{n:.2}{unit}")
    } else {
        format!("{n:.1}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stacked_bar_chart_is_svg_with_one_rectangle_per_value_and_its_labels() {
        let svg = bars(
            "test",
            "Savings",
            "USD",
            &["GLACIER".into(), "DEEP_ARCHIVE".into()],
            &[
                Bar {
                    label: "2026-01".into(),
                    values: vec![1.0, 2.0],
                },
                Bar {
                    label: "2026-02".into(),
                    values: vec![3.0, 4.0],
                },
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("2026-01") && svg.contains("2026-02"));
        assert!(svg.contains("DEEP_ARCHIVE") && svg.contains("Savings"));
    }

    /// Widths of the bars of the first series (fill #0072B2; a single series has no legend).
    fn bar_widths(svg: &str) -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .filter(|r| r.contains("fill=\"#0072B2\""))
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_share_the_width_of_the_plot_with_no_empty_slot() {
        let bar = |label: &str| Bar {
            label: label.into(),
            values: vec![1.0],
        };
        let one = bars("t", "One", "USD", &["GLACIER".into()], &[bar("a")]).unwrap();
        let two = bars(
            "t",
            "Two",
            "USD",
            &["GLACIER".into()],
            &[bar("a"), bar("b")],
        )
        .unwrap();
        let (one, two) = (bar_widths(&one), bar_widths(&two));
        assert_eq!((one.len(), two.len()), (1, 2), "{one:?} {two:?}");
        // Each bar's slot is the plot's width over the number of bars, less the same margins.
        assert!(
            (one[0] + 12.0 - 2.0 * (two[0] + 12.0)).abs() <= 2.0,
            "{one:?} {two:?}"
        );
    }

    #[test]
    fn short_numbers_keep_their_magnitude() {
        assert_eq!(short_number(1_234_567.0), "1.23M");
        assert_eq!(short_number(20_000.0), "20k");
        assert_eq!(short_number(0.5), "0.500");
        assert_eq!(short_number(0.0012), "0.0012");
    }
}
