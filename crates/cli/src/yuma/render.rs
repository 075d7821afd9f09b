//! Output of `tao yuma simulate`: a table per epoch, the JSON document, and an SVG plot.

use super::simulate::EpochResult;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The stable JSON schema: `{"epochs": [{"consensus": [M], "incentive": [M],
/// "dividends": [V], "validator_trust": [V], "bonds": [[V x M]]}]}`.
pub fn json(results: &[EpochResult]) -> Value {
    let epochs: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "consensus": r.consensus,
                "incentive": r.incentive,
                "dividends": r.dividends,
                "validator_trust": r.validator_trust,
                "bonds": r.bonds,
            })
        })
        .collect();
    json!({ "epochs": epochs })
}

/// A readable table per epoch.
pub fn table(results: &[EpochResult], validators: usize) -> String {
    let mut out = String::new();
    for (e, r) in results.iter().enumerate() {
        let _ = writeln!(out, "Epoch {} (block {})", e + 1, r.block);
        let _ = writeln!(
            out,
            "  {:<12} {:>10} {:>10} {:>14}",
            "miner", "consensus", "incentive", "earned α"
        );
        for j in 0..r.incentive.len() {
            let _ = writeln!(
                out,
                "  {:<12} {:>10.4} {:>10.4} {:>14}",
                format!("M{j} (uid {})", validators + j),
                r.consensus[j],
                r.incentive[j],
                r.miner_emission[j].to_string(),
            );
        }
        let bond_heads: String =
            (0..r.incentive.len()).map(|j| format!(" {:>7}", format!("B→M{j}"))).collect();
        let _ = writeln!(
            out,
            "  {:<12} {:>10} {:>10} {:>10} {:>14}{bond_heads}",
            "validator", "stake τ", "dividends", "v-trust", "earned α"
        );
        for i in 0..r.dividends.len() {
            let bonds: String = r.bonds[i].iter().map(|b| format!(" {b:>7.4}")).collect();
            let _ = writeln!(
                out,
                "  {:<12} {:>10} {:>10.4} {:>10.4} {:>14}{bonds}",
                format!("V{i} (uid {i})"),
                r.stake[i].to_string(),
                r.dividends[i],
                r.validator_trust[i],
                r.validator_emission[i].to_string(),
            );
        }
        out.push('\n');
    }
    out
}

const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];

/// One panel of the plot: a line per series over the epochs, values in [0, 1].
fn panel(svg: &mut String, top: f64, title: &str, series: &[(String, Vec<f64>)]) {
    let (left, width, height) = (60.0, 560.0, 200.0);
    let epochs = series.first().map_or(0, |(_, v)| v.len());
    let x = |e: usize| {
        left + if epochs > 1 { width * e as f64 / (epochs - 1) as f64 } else { width / 2.0 }
    };
    let y = |v: f64| top + height * (1.0 - v.clamp(0.0, 1.0));
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="{}" font-size="14" font-weight="bold">{title}</text>"#,
        top - 10.0
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>"##
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#eee"/><text x="{}" y="{}" font-size="10" text-anchor="end">{tick:.2}</text>"##,
            left + width,
            left - 5.0,
            y(tick) + 3.0,
            y = y(tick),
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">epoch 1 … {epochs}</text>"#,
        left + width / 2.0,
        top + height + 15.0
    );
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<String> =
            values.iter().enumerate().map(|(e, v)| format!("{:.1},{:.1}", x(e), y(*v))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let legend_y = top + 12.0 + 14.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{legend_y}" font-size="11" fill="{color}">{name}</text>"#,
            left + width + 10.0
        );
    }
}

/// An SVG with dividends per validator and incentive per miner over the epochs.
pub fn svg(results: &[EpochResult]) -> String {
    let validators = results.first().map_or(0, |r| r.dividends.len());
    let miners = results.first().map_or(0, |r| r.incentive.len());
    let dividends: Vec<(String, Vec<f64>)> = (0..validators)
        .map(|i| (format!("V{i}"), results.iter().map(|r| r.dividends[i]).collect()))
        .collect();
    let incentive: Vec<(String, Vec<f64>)> = (0..miners)
        .map(|j| (format!("M{j}"), results.iter().map(|r| r.incentive[j]).collect()))
        .collect();
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="720" height="540" font-family="sans-serif">
<rect width="720" height="540" fill="white"/>
"#,
    );
    panel(&mut svg, 40.0, "Dividends per validator", &dividends);
    panel(&mut svg, 300.0, "Incentive per miner", &incentive);
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::{AlphaRao, Rao};

    fn result() -> EpochResult {
        EpochResult {
            block: 3,
            stake: vec![Rao::new(1_000_000_000)],
            consensus: vec![1.0, 0.0],
            incentive: vec![1.0, 0.0],
            dividends: vec![1.0],
            validator_trust: vec![1.0],
            bonds: vec![vec![0.1, 0.0]],
            miner_emission: vec![AlphaRao::new(500_000_000), AlphaRao::ZERO],
            validator_emission: vec![AlphaRao::new(500_000_000)],
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let doc = json(&[result(), result()]);
        let epochs = doc["epochs"].as_array().unwrap();
        assert_eq!(epochs.len(), 2);
        let keys: Vec<&String> = epochs[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["bonds", "consensus", "dividends", "incentive", "validator_trust"]);
        assert_eq!(epochs[0]["bonds"], json!([[0.1, 0.0]]));
    }

    #[test]
    fn table_and_plot_show_every_neuron() {
        let text = table(&[result()], 1);
        assert!(
            text.contains("M0 (uid 1)")
                && text.contains("M1 (uid 2)")
                && text.contains("V0 (uid 0)")
        );
        assert!(text.contains("0.5"), "{text}");
        let plot = svg(&[result(), result()]);
        assert!(plot.starts_with("<svg") && plot.trim_end().ends_with("</svg>"));
        assert_eq!(plot.matches("<polyline").count(), 3);
    }
}
