//! `tao yuma simulate` as a user runs it: the real binary on the shipped examples.

use std::{path::PathBuf, process::Command};

fn tao() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tao"))
}

fn examples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/yuma"))
}

fn vectors() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/vectors/chain.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("shared/ beside the repo")).unwrap()
}

#[test]
fn every_shipped_example_runs_as_table_and_json() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        let out = tao().args(["yuma", "simulate"]).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Epoch 1 (block"));
        let out = tao().args(["yuma", "simulate", "--json"]).arg(&path).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!doc["epochs"].as_array().unwrap().is_empty());
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} examples");
}

/// The shipped kappa-moves-first scenario is the reference's `test_yuma_3_kappa_moves_first`:
/// its dividends match the reference vector through the command line too.
#[test]
fn kappa_moves_first_matches_the_reference_through_the_cli() {
    let out = tao()
        .args(["--json", "yuma", "simulate"])
        .arg(examples().join("kappa_moves_first.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vectors = vectors();
    let vector = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "yuma3_kappa_moves_first")
        .unwrap();
    let expected = vector["expected"]["dividends_per_epoch"].as_array().unwrap();
    let epochs = doc["epochs"].as_array().unwrap();
    assert!(!epochs.is_empty() && epochs.len() == expected.len());
    for (got, want) in epochs.iter().zip(expected) {
        // The CLI reports the 3 validators' dividends; the vector lists every UID, the two
        // servers' (always 0) after them.
        let (got_dividends, want_dividends) =
            (got["dividends"].as_array().unwrap(), want.as_array().unwrap());
        assert_eq!(got_dividends.len(), 3, "{got}");
        assert_eq!(want_dividends.len(), 5, "{want}");
        assert!(want_dividends[3..].iter().all(|w| w.as_f64() == Some(0.0)), "{want}");
        for (g, w) in got_dividends.iter().zip(want_dividends) {
            assert!((g.as_f64().unwrap() - w.as_f64().unwrap()).abs() <= 1e-3, "{got} vs {want}");
        }
        assert_eq!(got["bonds"].as_array().unwrap().len(), 3);
        assert_eq!(got["incentive"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn plot_writes_an_svg() {
    let dir = std::env::temp_dir().join(format!("tao-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("plot.svg");
    let out = tao()
        .args(["yuma", "simulate"])
        .arg(examples().join("outlier_validator.json"))
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert!(out.status.success());
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("Dividends per validator") && svg.contains("Incentive per miner"));
    assert_eq!(svg.matches("<polyline").count(), 6, "3 validators + 3 miners");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_scenarios_exit_2_and_name_the_field() {
    let dir = std::env::temp_dir().join(format!("tao-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"validators": 2, "miners": 2, "epochs": [{"stake": [1, 1], "weights": [[1, 0], [1, 0, 3]]}]}"#)
        .unwrap();
    let out = tao().args(["yuma", "simulate"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`epochs[0].weights[1]`: has 3 entries, expected 2"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = tao().args(["yuma", "simulate"]).arg(dir.join("missing.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read scenario"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_plot_not_named_svg_is_refused() {
    let dir = std::env::temp_dir().join(format!("tao-plot-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plot = dir.join("plot.png");
    let out = tao()
        .args(["yuma", "simulate"])
        .arg(examples().join("outlier_validator.json"))
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the file .svg"));
    assert!(!plot.exists(), "no SVG under a .png name");
    std::fs::remove_dir_all(&dir).unwrap();
}
