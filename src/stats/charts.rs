//! Charts for the statistics page, drawn on the server as SVG with
//! plotters: stacked bars, one bar per category and one colour per series.
//! Text is left to the browser (SVG `<text>`), so Chinese labels show in
//! whatever font the reader has.

use plotters::prelude::*;

/// Colours of the series, in order (colour-blind-safe first).
const PALETTE: [RGBColor; 12] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x39, 0x3b, 0x79),
    RGBColor(0x63, 0x79, 0x39),
];

/// A series' colour by name: risk levels and outcomes get their meaning's
/// colour, the rest the palette's.
fn colour(name: &str, i: usize) -> RGBColor {
    match name {
        "绿色" | "已完成" | "已满足" => RGBColor(0x2f, 0x85, 0x5a),
        "黄色预警" | "已接收" | "已对接" => RGBColor(0xd9, 0xa4, 0x06),
        "红色风险" | "已谢绝" => RGBColor(0xb4, 0x23, 0x18),
        "未评估" | "已关闭" => RGBColor(0x9a, 0xa5, 0xb1),
        _ => PALETTE[i % PALETTE.len()],
    }
}

/// A stacked bar chart: `categories` along the axis, each bar the sum of
/// `series` (name, one value per category). Horizontal bars suit long
/// category names; vertical ones suit months. An empty chart says so.
pub fn stacked_bars(
    title: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
    horizontal: bool,
) -> String {
    let mut svg = String::new();
    let totals: Vec<f64> = (0..categories.len())
        .map(|c| {
            series
                .iter()
                .map(|(_, v)| v.get(c).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().fold(0.0_f64, f64::max);
    let n = categories.len().max(1);
    let (width, height) = if horizontal {
        (760_u32, (90 + 26 * n as u32).max(160))
    } else {
        (760_u32, 320_u32)
    };
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let label_style = ("sans-serif", 13).into_font();
        if categories.is_empty() || max <= 0.0 {
            root.draw(&Text::new(
                format!("{title}：暂无数据"),
                (20, 30),
                label_style.clone(),
            ))?;
            root.present()?;
            return Ok(());
        }
        let top = (max * 1.1).ceil().max(1.0);
        let legend_rows = series.len().div_ceil(6) as u32;
        let (chart_area, legend_area) = root.split_vertically(height - 8 - 20 * legend_rows);
        // Each category is one segment of the category axis; its label
        // sits at the segment's centre and its bar fills the segment, less
        // a margin.
        let name_of = |v: &SegmentValue<usize>, reversed: bool| match v {
            SegmentValue::CenterOf(i) => {
                let i = if reversed {
                    n.saturating_sub(1 + i)
                } else {
                    *i
                };
                categories.get(i).cloned().unwrap_or_default()
            }
            _ => String::new(),
        };
        if horizontal {
            let mut chart = ChartBuilder::on(&chart_area)
                .caption(title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(26)
                .y_label_area_size(150)
                .build_cartesian_2d(0.0..top, (0..n - 1).into_segmented())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&|v| name_of(v, true))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .label_style(label_style.clone())
                .draw()?;
            let mut base = vec![0.0; n];
            for (s, (name, values)) in series.iter().enumerate() {
                let fill = colour(name, s).filled();
                chart.draw_series((0..categories.len()).map(|c| {
                    let v = values.get(c).copied().unwrap_or(0.0);
                    let from = base[c];
                    base[c] += v;
                    // The first category at the top.
                    let row = n - 1 - c;
                    let mut bar = Rectangle::new(
                        [
                            (from, SegmentValue::Exact(row)),
                            (from + v, SegmentValue::Exact(row + 1)),
                        ],
                        fill,
                    );
                    bar.set_margin(3, 3, 0, 0);
                    bar
                }))?;
            }
            // Totals at the end of each bar.
            for (c, t) in totals.iter().enumerate() {
                let row = n - 1 - c;
                chart.draw_series(std::iter::once(Text::new(
                    format!("{t:.0}"),
                    (t + top * 0.01, SegmentValue::CenterOf(row)),
                    label_style.clone(),
                )))?;
            }
        } else {
            let mut chart = ChartBuilder::on(&chart_area)
                .caption(title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(44)
                .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|v| name_of(v, false))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style(label_style.clone())
                .draw()?;
            let mut base = vec![0.0; n];
            for (s, (name, values)) in series.iter().enumerate() {
                let fill = colour(name, s).filled();
                chart.draw_series((0..categories.len()).map(|c| {
                    let v = values.get(c).copied().unwrap_or(0.0);
                    let from = base[c];
                    base[c] += v;
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(c), from),
                            (SegmentValue::Exact(c + 1), from + v),
                        ],
                        fill,
                    );
                    bar.set_margin(0, 0, 4, 4);
                    bar
                }))?;
            }
        }
        // Legend: a swatch and the series name, six to a row.
        for (s, (name, _)) in series.iter().enumerate() {
            let x = 20 + (s % 6) as i32 * 122;
            let y = 4 + (s / 6) as i32 * 20;
            legend_area.draw(&Rectangle::new(
                [(x, y), (x + 12, y + 12)],
                colour(name, s).filled(),
            ))?;
            legend_area.draw(&Text::new(name.clone(), (x + 16, y), label_style.clone()))?;
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => {
            tracing::warn!("chart {title}: {e}");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_bars_labels_and_legend() {
        let svg = stacked_bars(
            "家庭风险",
            &["香花桥街道".into(), "盈浦街道".into()],
            &[
                ("绿色".into(), vec![3.0, 1.0]),
                ("红色风险".into(), vec![1.0, 0.0]),
            ],
            true,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("香花桥街道") && svg.contains("红色风险"));
        assert!(svg.matches("<rect").count() >= 4, "{svg}");
        let hostile = stacked_bars(
            "对接会",
            &["<script>alert(1)</script>".into()],
            &[("已满足".into(), vec![1.0])],
            true,
        );
        assert!(!hostile.contains("<script>"), "labels are escaped");
        let empty = stacked_bars("需求", &[], &[], false);
        assert!(empty.contains("暂无数据"));
    }
}
