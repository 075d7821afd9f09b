//! The validator's scorer and its report.
//!
//! Each round samples fresh positions of the held-out text, asks for the next character
//! after each context, and scores a miner by `2^(−mean bits)` (its geometric-mean
//! probability of the truth), times a latency factor from 1 (instant) down to 0.75 (at the
//! timeout). A miner that fails or times out scores 0 that round.

use crate::{
    corpus::Rng,
    model::Alphabet,
    protocol::{self, CONTEXT_CHARS},
};
use serde_json::{json, Value};
use std::{collections::BTreeMap, time::Duration};
use tao_sdk::{
    chain::Neuron,
    dendrite::{Query, Reply},
    neuron::{RoundReport, Scorer},
};

/// What the validator measured of one miner.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Moving mean of bits per character over answered rounds.
    pub bits: Option<f64>,
    /// Bits in the last answered round.
    pub last_bits: Option<f64>,
}

/// The text-prediction scorer.
pub struct TextScorer {
    heldout: Vec<u8>,
    alphabet: Alphabet,
    rng: Rng,
    contexts: usize,
    timeout: Duration,
    /// By UID.
    pub measured: BTreeMap<u16, Measured>,
}

impl TextScorer {
    /// A scorer sampling `contexts` positions per round from `heldout` with `seed`.
    pub fn new(
        heldout: &str,
        alphabet: Alphabet,
        seed: u64,
        contexts: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            heldout: heldout.as_bytes().to_vec(),
            alphabet,
            rng: Rng::new(seed),
            contexts: contexts.clamp(1, protocol::MAX_CONTEXTS),
            timeout,
            measured: BTreeMap::new(),
        }
    }
}

impl Scorer for TextScorer {
    /// The true next characters.
    type Task = Vec<u8>;

    fn next_query(&mut self, _round: u64) -> (Query, Vec<u8>) {
        let mut contexts = Vec::with_capacity(self.contexts);
        let mut truths = Vec::with_capacity(self.contexts);
        while contexts.len() < self.contexts && self.heldout.len() > CONTEXT_CHARS {
            let pos = CONTEXT_CHARS + self.rng.below(self.heldout.len() - CONTEXT_CHARS);
            if self.alphabet.index(self.heldout[pos]).is_none() {
                continue;
            }
            contexts.push(
                String::from_utf8_lossy(&self.heldout[pos - CONTEXT_CHARS..pos]).into_owned(),
            );
            truths.push(self.heldout[pos]);
        }
        (protocol::query(&contexts, self.timeout), truths)
    }

    fn score(&mut self, truths: &Vec<u8>, miner: &Neuron, reply: &Reply) -> f64 {
        if !reply.is_success() {
            return 0.0;
        }
        let bits = protocol::mean_bits(reply.synapse.as_ref(), truths, &self.alphabet);
        let m = self.measured.entry(miner.uid).or_default();
        m.bits = Some(m.bits.map_or(bits, |b| 0.8 * b + 0.2 * bits));
        m.last_bits = Some(bits);
        let lateness =
            (reply.latency.as_secs_f64() / self.timeout.as_secs_f64().max(1e-3)).min(1.0);
        2f64.powf(-bits) * (1.0 - 0.25 * lateness)
    }
}

/// The report a validator writes each round (`--report FILE`), read by `tao localnet`.
pub fn report(
    hotkey: &str,
    scorer: &TextScorer,
    round: &RoundReport<'_>,
    last_weights: &Value,
) -> Value {
    let miners: Vec<Value> = round
        .scores
        .iter()
        .map(|(uid, s)| {
            let m = scorer.measured.get(uid).cloned().unwrap_or_default();
            json!({
                "uid": uid, "hotkey": s.hotkey, "score": s.moving, "last_score": s.last,
                "bits_per_char": m.bits, "last_bits_per_char": m.last_bits,
                "latency_ms": s.latency.as_secs_f64() * 1e3, "answered": s.answered, "asked": s.asked,
            })
        })
        .collect();
    json!({"hotkey": hotkey, "round": round.round, "miners": miners, "weights": last_weights})
}
