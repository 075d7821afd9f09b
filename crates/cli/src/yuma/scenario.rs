//! The scenario file of `tao yuma simulate`: parsed by hand so every error names the field.
//!
//! ```json
//! {"params": {"kappa": 0.5, "bonds_penalty": 1.0, "bonds_moving_average": 0.9,
//!             "yuma3": true, "liquid_alpha": false, "alpha_low": 0.7, "alpha_high": 0.9,
//!             "alpha_sigmoid_steepness": 10.0, "max_allowed_validators": 64},
//!  "validators": 3, "miners": 2,
//!  "epochs": [{"stake": [0.8, 0.1, 0.1], "weights": [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]],
//!              "reset_bonds": [1]}]}
//! ```
//! Fractions are stored as the chain stores them (`floor(x · 65535)`, bonds moving average
//! in millionths). A later epoch may leave out `stake` or `weights` to keep the previous ones.

use serde_json::{Map, Value};
use std::fmt;
use tao_primitives::{
    fixed::{fixed_proportion_to_u16, I32F32},
    Rao, RAO_PER_TAO,
};
use tao_yuma::{BondModel, LiquidAlpha, Params};

/// The most neurons a scenario may have (validators + miners).
pub const MAX_NEURONS: usize = 4096;
/// The most epochs a scenario may run.
pub const MAX_EPOCHS: usize = 100_000;

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Yuma hyperparameters.
    pub params: Params,
    /// Number of validators (UIDs `0..validators`).
    pub validators: usize,
    /// Number of miners (UIDs `validators..validators + miners`).
    pub miners: usize,
    /// The epochs, in order.
    pub epochs: Vec<EpochSpec>,
}

/// What changes at one epoch.
#[derive(Debug, Clone)]
pub struct EpochSpec {
    /// Stake per validator.
    pub stake: Vec<Rao>,
    /// Raw scores per validator over the miners.
    pub weights: Vec<Vec<f64>>,
    /// Miner indices whose bonds are reset before the epoch.
    pub reset_bonds: Vec<usize>,
}

/// A scenario error: where in the file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// JSON path of the offending field, e.g. `epochs[2].weights[0][1]`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

fn err(path: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError { path: path.to_owned(), message: message.into() }
}

const PARAM_NAMES: [&str; 9] = [
    "kappa",
    "bonds_penalty",
    "bonds_moving_average",
    "yuma3",
    "liquid_alpha",
    "alpha_low",
    "alpha_high",
    "alpha_sigmoid_steepness",
    "max_allowed_validators",
];

/// Parses a scenario from JSON text.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
    let root = object(&root, "")?;
    for key in root.keys() {
        if !["params", "validators", "miners", "epochs"].contains(&key.as_str()) {
            return Err(err(key, "unknown field; expected params, validators, miners, epochs"));
        }
    }
    let params = match root.get("params") {
        Some(value) => parse_params(value)?,
        None => default_params(),
    };
    let validators = count(root.get("validators"), "validators")?;
    let miners = count(root.get("miners"), "miners")?;
    if validators + miners > MAX_NEURONS {
        return Err(err(
            "miners",
            format!("{} neurons in all; at most {MAX_NEURONS}", validators + miners),
        ));
    }
    let epochs_value =
        root.get("epochs").ok_or_else(|| err("epochs", "missing; a list of epochs"))?;
    let epochs_list =
        epochs_value.as_array().ok_or_else(|| err("epochs", "expected a list of epochs"))?;
    if epochs_list.is_empty() {
        return Err(err("epochs", "empty; give at least one epoch"));
    }
    if epochs_list.len() > MAX_EPOCHS {
        return Err(err("epochs", format!("{} epochs; at most {MAX_EPOCHS}", epochs_list.len())));
    }
    let mut epochs: Vec<EpochSpec> = Vec::with_capacity(epochs_list.len());
    for (e, value) in epochs_list.iter().enumerate() {
        let spec = parse_epoch(value, &format!("epochs[{e}]"), validators, miners, epochs.last())?;
        epochs.push(spec);
    }
    Ok(Scenario { params, validators, miners, epochs })
}

/// The reference chain's defaults for a newly created subnet (Yuma3 on, liquid alpha off).
pub fn default_params() -> Params {
    Params { liquid_alpha: LiquidAlpha::Off, ..Params::default() }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ScenarioError> {
    value.as_object().ok_or_else(|| err(path, format!("expected an object, found {}", kind(value))))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn number(value: &Value, path: &str) -> Result<f64, ScenarioError> {
    let x = value
        .as_f64()
        .ok_or_else(|| err(path, format!("expected a number, found {}", kind(value))))?;
    if !x.is_finite() || x < 0.0 {
        return Err(err(path, format!("{x} must be a non-negative number")));
    }
    Ok(x)
}

fn fraction(value: &Value, path: &str) -> Result<u16, ScenarioError> {
    let x = number(value, path)?;
    if x > 1.0 {
        return Err(err(path, format!("{x} is not a fraction in [0, 1]")));
    }
    Ok(fixed_proportion_to_u16(I32F32::from_num(x)))
}

fn boolean(value: &Value, path: &str) -> Result<bool, ScenarioError> {
    value
        .as_bool()
        .ok_or_else(|| err(path, format!("expected true or false, found {}", kind(value))))
}

fn integer(value: &Value, path: &str, min: i64, max: i64) -> Result<i64, ScenarioError> {
    let x = value
        .as_f64()
        .ok_or_else(|| err(path, format!("expected a whole number, found {}", kind(value))))?;
    if x.fract() != 0.0 || x < min as f64 || x > max as f64 {
        return Err(err(path, format!("{x} must be a whole number from {min} to {max}")));
    }
    Ok(x as i64)
}

fn count(value: Option<&Value>, path: &str) -> Result<usize, ScenarioError> {
    let value = value.ok_or_else(|| err(path, "missing; how many there are"))?;
    Ok(integer(value, path, 1, MAX_NEURONS as i64)? as usize)
}

fn parse_params(value: &Value) -> Result<Params, ScenarioError> {
    let map = object(value, "params")?;
    let mut params = default_params();
    let (mut liquid, mut low, mut high, mut steepness) = (false, 45_875u16, 58_982u16, 1_000i16);
    for (key, value) in map {
        let path = format!("params.{key}");
        match key.as_str() {
            "kappa" => params.kappa = fraction(value, &path)?,
            "bonds_penalty" => params.bonds_penalty = fraction(value, &path)?,
            "bonds_moving_average" => {
                let x = number(value, &path)?;
                if x > 1.0 {
                    return Err(err(&path, format!("{x} is not a fraction in [0, 1]")));
                }
                params.bonds_moving_average = (x * 1_000_000.0).round() as u64;
            }
            "yuma3" => {
                params.bond_model =
                    if boolean(value, &path)? { BondModel::Yuma3 } else { BondModel::Classic }
            }
            "liquid_alpha" => liquid = boolean(value, &path)?,
            "alpha_low" => low = fraction(value, &path)?,
            "alpha_high" => high = fraction(value, &path)?,
            "alpha_sigmoid_steepness" => {
                steepness = integer(value, &path, i64::from(i16::MIN), i64::from(i16::MAX))? as i16
            }
            "max_allowed_validators" => {
                params.max_allowed_validators =
                    integer(value, &path, 1, i64::from(u16::MAX))? as u16
            }
            _ => {
                return Err(err(
                    &path,
                    format!("unknown parameter; known: {}", PARAM_NAMES.join(", ")),
                ));
            }
        }
    }
    if low > high {
        return Err(err("params.alpha_low", "must not be above alpha_high"));
    }
    if liquid {
        params.liquid_alpha = LiquidAlpha::On { alpha_low: low, alpha_high: high, steepness };
    }
    Ok(params)
}

fn parse_epoch(
    value: &Value,
    path: &str,
    validators: usize,
    miners: usize,
    previous: Option<&EpochSpec>,
) -> Result<EpochSpec, ScenarioError> {
    let map = object(value, path)?;
    for key in map.keys() {
        if !["stake", "weights", "reset_bonds"].contains(&key.as_str()) {
            return Err(err(
                &format!("{path}.{key}"),
                "unknown field; expected stake, weights, reset_bonds",
            ));
        }
    }
    let stake = match (map.get("stake"), previous) {
        (Some(value), _) => parse_stake(value, &format!("{path}.stake"), validators)?,
        (None, Some(previous)) => previous.stake.clone(),
        (None, None) => return Err(err(&format!("{path}.stake"), "missing in the first epoch")),
    };
    let weights = match (map.get("weights"), previous) {
        (Some(value), _) => parse_weights(value, &format!("{path}.weights"), validators, miners)?,
        (None, Some(previous)) => previous.weights.clone(),
        (None, None) => return Err(err(&format!("{path}.weights"), "missing in the first epoch")),
    };
    let reset_bonds = match map.get("reset_bonds") {
        None => Vec::new(),
        Some(value) => {
            let p = format!("{path}.reset_bonds");
            let list =
                value.as_array().ok_or_else(|| err(&p, "expected a list of miner indices"))?;
            list.iter()
                .enumerate()
                .map(|(k, x)| Ok(integer(x, &format!("{p}[{k}]"), 0, miners as i64 - 1)? as usize))
                .collect::<Result<_, _>>()?
        }
    };
    Ok(EpochSpec { stake, weights, reset_bonds })
}

fn list_of<'a>(
    value: &'a Value,
    path: &str,
    len: usize,
    what: &str,
) -> Result<&'a Vec<Value>, ScenarioError> {
    let list =
        value.as_array().ok_or_else(|| err(path, format!("expected a list of {len} {what}")))?;
    if list.len() != len {
        return Err(err(path, format!("has {} entries, expected {len} ({what})", list.len())));
    }
    Ok(list)
}

fn parse_stake(value: &Value, path: &str, validators: usize) -> Result<Vec<Rao>, ScenarioError> {
    let max_tao = 21_000_000.0;
    list_of(value, path, validators, "one stake in TAO per validator")?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let p = format!("{path}[{i}]");
            let tao = number(x, &p)?;
            if tao > max_tao {
                return Err(err(&p, format!("{tao} TAO is more than the 21M supply")));
            }
            Ok(Rao::new((tao * RAO_PER_TAO as f64).round() as u64))
        })
        .collect()
}

fn parse_weights(
    value: &Value,
    path: &str,
    validators: usize,
    miners: usize,
) -> Result<Vec<Vec<f64>>, ScenarioError> {
    list_of(value, path, validators, "one row per validator")?
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let p = format!("{path}[{i}]");
            list_of(row, &p, miners, "one score per miner")?
                .iter()
                .enumerate()
                .map(|(j, x)| number(x, &format!("{p}[{j}]")))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"params": {"kappa": 0.5, "bonds_penalty": 1.0, "bonds_moving_average": 0.9,
        "yuma3": true, "liquid_alpha": false, "alpha_low": 0.7, "alpha_high": 0.9,
        "alpha_sigmoid_steepness": 10.0},
        "validators": 3, "miners": 2,
        "epochs": [{"stake": [0.8, 0.1, 0.1], "weights": [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]],
                    "reset_bonds": [1]}, {}]}"#;

    #[test]
    fn parses_the_documented_format() {
        let s = parse(GOOD).unwrap();
        assert_eq!((s.validators, s.miners, s.epochs.len()), (3, 2, 2));
        assert_eq!(s.params.kappa, 32_767);
        assert_eq!(s.params.bonds_penalty, 65_535);
        assert_eq!(s.params.bonds_moving_average, 900_000);
        assert_eq!(s.params.bond_model, BondModel::Yuma3);
        assert_eq!(s.params.liquid_alpha, LiquidAlpha::Off);
        assert_eq!(s.epochs[0].stake[0], Rao::new(800_000_000));
        assert_eq!(s.epochs[0].reset_bonds, vec![1]);
        // An empty epoch keeps the previous stake and weights and resets nothing.
        assert_eq!(s.epochs[1].stake, s.epochs[0].stake);
        assert_eq!(s.epochs[1].weights, s.epochs[0].weights);
        assert!(s.epochs[1].reset_bonds.is_empty());
    }

    #[test]
    fn missing_params_take_chain_defaults() {
        let s = parse(
            r#"{"validators": 1, "miners": 1, "epochs": [{"stake": [1], "weights": [[1]]}]}"#,
        )
        .unwrap();
        assert_eq!(s.params, default_params());
        assert_eq!(s.params.bond_model, BondModel::Yuma3);
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let base =
            |epochs: &str| format!(r#"{{"validators": 2, "miners": 2, "epochs": {epochs}}}"#);
        assert!(error_of(&base(r#"[{"stake": [1, 1], "weights": [[1, 0], [1]]}]"#))
            .starts_with("`epochs[0].weights[1]`: has 1 entries, expected 2"));
        assert!(error_of(&base(r#"[{"stake": [1, -1], "weights": [[1, 0], [1, 0]]}]"#))
            .starts_with("`epochs[0].stake[1]`"));
        assert!(error_of(&base(r#"[{"stake": [1, 1], "weights": [[1, 0], [1, "x"]]}]"#))
            .contains("`epochs[0].weights[1][1]`: expected a number, found a string"));
        assert!(error_of(&base(r#"[{"weights": [[1, 0], [1, 0]]}]"#))
            .starts_with("`epochs[0].stake`: missing"));
        assert!(error_of(&base(
            r#"[{"stake": [1, 1], "weights": [[1, 0], [1, 0]], "reset_bonds": [2]}]"#
        ))
        .starts_with("`epochs[0].reset_bonds[0]`"));
        assert!(error_of(&base(r#"[{"stake": [1, 1], "weigths": []}]"#))
            .starts_with("`epochs[0].weigths`: unknown"));
        assert!(error_of(&base("[]")).starts_with("`epochs`: empty"));
        assert!(error_of(
            r#"{"params": {"kapa": 0.5}, "validators": 1, "miners": 1, "epochs": []}"#
        )
        .starts_with("`params.kapa`: unknown parameter"));
        assert!(error_of(
            r#"{"params": {"kappa": 2}, "validators": 1, "miners": 1, "epochs": []}"#
        )
        .starts_with("`params.kappa`: 2 is not a fraction"));
        assert!(
            error_of(r#"{"validators": 0, "miners": 1, "epochs": []}"#).starts_with("`validators`")
        );
        assert!(error_of(r#"{"validators": 1, "epochs": []}"#).starts_with("`miners`: missing"));
        assert!(error_of("{").starts_with("not valid JSON"));
        assert!(error_of("[]").starts_with("expected an object"));
    }
}
