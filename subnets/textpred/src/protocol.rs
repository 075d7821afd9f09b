//! The `TextPrediction` synapse and how answers are scored.
//!
//! Request: `contexts: list[str]`, each the last [`CONTEXT_CHARS`] characters before a
//! position of held-out text (a hash field, so the body hash covers it). Reply:
//! `predictions: list[dict[str, float]]`, one distribution over the next character per
//! context. A validator scores a reply by the log-likelihood of the true next characters:
//! probabilities must be finite and non-negative (a distribution summing above 1 is scaled
//! down to 1); mass left unassigned is spread evenly over the alphabet's other characters;
//! a character gets at least 2^-[`MAX_BITS`].

use crate::model::{Alphabet, Model};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::{sync::Arc, time::Duration};
use tao_sdk::{
    axon::SynapseSpec,
    dendrite::Query,
    synapse::{typed_spec, Synapse},
};

/// The synapse's name.
pub const SYNAPSE: &str = "TextPrediction";
/// Characters of context per question.
pub const CONTEXT_CHARS: usize = 32;
/// The most a wrong or missing prediction costs, in bits.
pub const MAX_BITS: f64 = 16.0;
/// Probabilities below this are left out of replies (their mass is spread evenly).
pub const MIN_SENT: f64 = 1e-4;
/// Most contexts per request.
pub const MAX_CONTEXTS: usize = 256;

/// The request: Python `class TextPrediction(bt.Synapse): contexts: list[str];
/// predictions: Optional[list[dict[str, float]]] = None; required_hash_fields = ("contexts",)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TextPrediction {
    /// The texts to continue.
    pub contexts: Vec<String>,
}

/// The reply: one distribution per context (validators read it defensively, as raw JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Predictions {
    /// `{char: probability}` per context.
    pub predictions: Vec<Value>,
}

impl Synapse for TextPrediction {
    const NAME: &'static str = SYNAPSE;
    const REQUIRED: &'static [&'static str] = &["contexts"];
    const HASH_FIELDS: &'static [&'static str] = &["contexts"];
    type Output = Predictions;
}

/// The axon side: answers with `model`'s distributions.
pub fn spec(model: Arc<dyn Model>, alphabet: Alphabet) -> SynapseSpec {
    typed_spec(move |request: TextPrediction| {
        if request.contexts.len() > MAX_CONTEXTS {
            return Err(format!("at most {MAX_CONTEXTS} contexts per request"));
        }
        let predictions = request
            .contexts
            .iter()
            .map(|context| encode(&model.predict(context.as_bytes()), &alphabet))
            .collect();
        Ok(Predictions { predictions })
    })
}

/// A distribution as the wire carries it: `{char: probability}`, tiny ones left out.
pub fn encode(probs: &[f64], alphabet: &Alphabet) -> Value {
    let mut out = Map::new();
    for (i, p) in probs.iter().enumerate() {
        if *p >= MIN_SENT {
            let c = char::from(alphabet.symbol(i)).to_string();
            // Six significant digits are plenty for scoring and keep replies small.
            out.insert(c, Value::from((p * 1e6).round() / 1e6));
        }
    }
    Value::Object(out)
}

/// The validator's query for `contexts`.
pub fn query(contexts: &[String], timeout: Duration) -> Query {
    let request = TextPrediction { contexts: contexts.to_vec() };
    request.query(timeout).expect("a list of strings always serializes to a JSON object")
}

/// Bits (−log2 p) a prediction pays for the true next character `truth`.
pub fn bits(prediction: Option<&Value>, truth: u8, alphabet: &Alphabet) -> f64 {
    let Some(Value::Object(map)) = prediction else { return MAX_BITS };
    let truth = char::from(truth).to_string();
    let (mut listed, mut total, mut p_truth) = (0usize, 0.0f64, None);
    for (c, p) in map {
        let Some(p) = p.as_f64().filter(|p| p.is_finite() && *p >= 0.0) else { return MAX_BITS };
        let mut chars = c.chars();
        let (Some(ch), None) = (chars.next(), chars.next()) else { return MAX_BITS };
        if !ch.is_ascii() || alphabet.index(ch as u8).is_none() {
            continue;
        }
        listed += 1;
        total += p;
        if *c == truth {
            p_truth = Some(p);
        }
    }
    let p = match p_truth {
        Some(p) => p / total.max(1.0),
        None => {
            let others = alphabet.len().saturating_sub(listed).max(1);
            (1.0 - total).max(0.0) / others as f64
        }
    };
    (-p.log2()).clamp(0.0, MAX_BITS)
}

/// Mean bits over a reply's predictions for `truths` (missing ones cost [`MAX_BITS`]).
pub fn mean_bits(reply: Option<&Map<String, Value>>, truths: &[u8], alphabet: &Alphabet) -> f64 {
    if truths.is_empty() {
        return MAX_BITS;
    }
    let predictions = reply.and_then(|r| r.get("predictions")).and_then(Value::as_array);
    let total: f64 = truths
        .iter()
        .enumerate()
        .map(|(i, t)| bits(predictions.and_then(|p| p.get(i)), *t, alphabet))
        .sum();
    total / truths.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scoring_follows_the_stated_rules() {
        let alphabet = Alphabet::of("abcd");
        assert_eq!(bits(Some(&json!({"a": 0.5, "b": 0.5})), b'a', &alphabet), 1.0);
        // Unassigned mass spread over the two other characters.
        assert_eq!(bits(Some(&json!({"a": 0.5, "b": 0.25})), b'c', &alphabet), 3.0);
        // Over-confident replies are scaled down to a distribution.
        assert_eq!(bits(Some(&json!({"a": 2.0, "b": 2.0})), b'a', &alphabet), 1.0);
        assert_eq!(bits(Some(&json!({"a": -1.0})), b'a', &alphabet), MAX_BITS);
        assert_eq!(bits(Some(&json!({"ab": 1.0})), b'a', &alphabet), MAX_BITS);
        assert_eq!(bits(Some(&json!({"a": 1.0})), b'b', &alphabet), MAX_BITS);
        assert_eq!(bits(None, b'a', &alphabet), MAX_BITS);
        assert_eq!(bits(Some(&json!([0.5])), b'a', &alphabet), MAX_BITS);
        let reply = json!({"predictions": [{"a": 1.0}]});
        let mean = mean_bits(reply.as_object(), b"ab", &alphabet);
        assert_eq!(mean, MAX_BITS / 2.0, "the missing second prediction costs the maximum");
    }

    #[test]
    fn encoding_keeps_what_matters() {
        let alphabet = Alphabet::of("ab");
        let v = encode(&[0.99995, 0.00005], &alphabet);
        assert_eq!(v, json!({"a": 0.99995}));
        assert!(bits(Some(&v), b'b', &alphabet) > 14.0);
    }
}
