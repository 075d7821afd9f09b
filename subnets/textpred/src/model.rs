//! The miners' language models: character-level, trained on the corpus's training text.
//!
//! * [`NGram`] of order n: interpolated Witten-Bell smoothing from the uniform distribution
//!   up through contexts of length 1..n-1 (order 1 is the unigram model).
//! * [`Mlp`]: a small neural model: embeddings of the last few characters, one tanh
//!   hidden layer, a softmax over the alphabet, trained by SGD at start-up.
//!
//! Every model gives a full distribution over the [`Alphabet`] for any context.

use crate::corpus::Rng;
use std::collections::HashMap;

/// The characters a model predicts: every byte of the training text, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alphabet {
    symbols: Vec<u8>,
    index: [Option<u8>; 256],
}

impl Alphabet {
    /// The bytes of `text`.
    pub fn of(text: &str) -> Self {
        let mut seen = [false; 256];
        for b in text.bytes() {
            seen[usize::from(b)] = true;
        }
        let symbols: Vec<u8> = (0..=255u8).filter(|b| seen[usize::from(*b)]).collect();
        let mut index = [None; 256];
        for (i, b) in symbols.iter().enumerate() {
            index[usize::from(*b)] = Some(i as u8);
        }
        Self { symbols, index }
    }
    /// How many symbols.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
    /// The index of byte `b`.
    pub fn index(&self, b: u8) -> Option<usize> {
        self.index[usize::from(b)].map(usize::from)
    }
    /// The byte at index `i`.
    pub fn symbol(&self, i: usize) -> u8 {
        self.symbols[i]
    }
    /// Every symbol, in index order.
    pub fn symbols(&self) -> &[u8] {
        &self.symbols
    }
}

/// A next-character model.
pub trait Model: Send + Sync {
    /// A short name ("trigram", "mlp").
    fn name(&self) -> String;
    /// P(next symbol | context), over the alphabet's indices; sums to 1.
    fn predict(&self, context: &[u8]) -> Vec<f64>;
}

/// A character n-gram model with interpolated Witten-Bell smoothing.
pub struct NGram {
    order: usize,
    alphabet: Alphabet,
    /// Counts of the next symbol by context (all lengths 0..order-1).
    counts: HashMap<Vec<u8>, Counts>,
}

struct Counts {
    next: Vec<u32>,
    total: u32,
    types: u32,
}

impl NGram {
    /// Trains an order-`order` model (≥ 1) on `text`.
    pub fn train(order: usize, text: &str, alphabet: &Alphabet) -> Self {
        let order = order.max(1);
        let bytes = text.as_bytes();
        let mut counts: HashMap<Vec<u8>, Counts> = HashMap::new();
        for (pos, b) in bytes.iter().enumerate() {
            let Some(symbol) = alphabet.index(*b) else { continue };
            for k in 0..order.min(pos + 1) {
                let context = &bytes[pos - k..pos];
                let entry = counts.entry(context.to_vec()).or_insert_with(|| Counts {
                    next: vec![0; alphabet.len()],
                    total: 0,
                    types: 0,
                });
                if entry.next[symbol] == 0 {
                    entry.types += 1;
                }
                entry.next[symbol] += 1;
                entry.total += 1;
            }
        }
        Self { order, alphabet: alphabet.clone(), counts }
    }
}

impl Model for NGram {
    fn name(&self) -> String {
        match self.order {
            1 => "unigram".into(),
            2 => "bigram".into(),
            3 => "trigram".into(),
            n => format!("{n}-gram"),
        }
    }

    fn predict(&self, context: &[u8]) -> Vec<f64> {
        let v = self.alphabet.len();
        let mut p = vec![1.0 / v as f64; v];
        for k in 0..self.order.min(context.len() + 1) {
            let Some(c) = self.counts.get(&context[context.len() - k..]) else { break };
            let (total, types) = (f64::from(c.total), f64::from(c.types));
            for (pi, n) in p.iter_mut().zip(&c.next) {
                *pi = (f64::from(*n) + types * *pi) / (total + types);
            }
        }
        p
    }
}

/// A small neural model: the last `CONTEXT` characters' embeddings → tanh layer → softmax.
pub struct Mlp {
    alphabet: Alphabet,
    embed: Vec<f32>, // [v][EMBED]
    w1: Vec<f32>,    // [HIDDEN][CONTEXT*EMBED]
    b1: Vec<f32>,    // [HIDDEN]
    w2: Vec<f32>,    // [v][HIDDEN]
    b2: Vec<f32>,    // [v]
}

const CONTEXT: usize = 5;
const EMBED: usize = 12;
const HIDDEN: usize = 64;
const INPUT: usize = CONTEXT * EMBED;

impl Mlp {
    /// Trains on `text` for `steps` SGD steps on random positions (deterministic seed).
    pub fn train(text: &str, alphabet: &Alphabet, steps: usize) -> Self {
        let v = alphabet.len();
        let mut rng = Rng::new(0x5eed_0f3a_1e00);
        let mut init = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * scale)
                .collect()
        };
        let mut m = Self {
            alphabet: alphabet.clone(),
            embed: init(v * EMBED, 0.5),
            w1: init(HIDDEN * INPUT, 1.0 / (INPUT as f32).sqrt()),
            b1: vec![0.0; HIDDEN],
            w2: init(v * HIDDEN, 1.0 / (HIDDEN as f32).sqrt()),
            b2: vec![0.0; v],
        };
        let symbols: Vec<usize> = text.bytes().filter_map(|b| alphabet.index(b)).collect();
        if symbols.len() <= CONTEXT {
            return m;
        }
        let mut pick = Rng::new(0x0dd_ba11);
        let mut x = [0f32; INPUT];
        let mut h = [0f32; HIDDEN];
        let mut dh = [0f32; HIDDEN];
        let mut dx = [0f32; INPUT];
        let mut probs = vec![0f32; v];
        for step in 0..steps {
            let lr = 0.05 * (1.0 - step as f32 / steps as f32) + 0.002;
            let pos = CONTEXT + pick.below(symbols.len() - CONTEXT);
            let context = &symbols[pos - CONTEXT..pos];
            let target = symbols[pos];
            m.forward(context, &mut x, &mut h, &mut probs);
            // Backward: softmax cross-entropy.
            probs[target] -= 1.0;
            dh.fill(0.0);
            for (o, g) in probs.iter().enumerate() {
                let row = &mut m.w2[o * HIDDEN..(o + 1) * HIDDEN];
                for j in 0..HIDDEN {
                    dh[j] += g * row[j];
                    row[j] -= lr * g * h[j];
                }
                m.b2[o] -= lr * g;
            }
            dx.fill(0.0);
            for j in 0..HIDDEN {
                let g = dh[j] * (1.0 - h[j] * h[j]);
                let row = &mut m.w1[j * INPUT..(j + 1) * INPUT];
                for i in 0..INPUT {
                    dx[i] += g * row[i];
                    row[i] -= lr * g * x[i];
                }
                m.b1[j] -= lr * g;
            }
            for (c, s) in context.iter().enumerate() {
                let e = &mut m.embed[s * EMBED..(s + 1) * EMBED];
                for k in 0..EMBED {
                    e[k] -= lr * dx[c * EMBED + k];
                }
            }
        }
        m
    }

    fn forward(
        &self,
        context: &[usize],
        x: &mut [f32; INPUT],
        h: &mut [f32; HIDDEN],
        probs: &mut [f32],
    ) {
        for (c, s) in context.iter().enumerate() {
            x[c * EMBED..(c + 1) * EMBED].copy_from_slice(&self.embed[s * EMBED..(s + 1) * EMBED]);
        }
        for ((hj, row), b) in h.iter_mut().zip(self.w1.chunks_exact(INPUT)).zip(&self.b1) {
            let z: f32 = b + row.iter().zip(x.iter()).map(|(w, xi)| w * xi).sum::<f32>();
            *hj = z.tanh();
        }
        let mut max = f32::MIN;
        for (o, p) in probs.iter_mut().enumerate() {
            let row = &self.w2[o * HIDDEN..(o + 1) * HIDDEN];
            *p = self.b2[o] + row.iter().zip(h.iter()).map(|(w, hj)| w * hj).sum::<f32>();
            max = max.max(*p);
        }
        let mut sum = 0.0;
        for p in probs.iter_mut() {
            *p = (*p - max).exp();
            sum += *p;
        }
        for p in probs.iter_mut() {
            *p /= sum;
        }
    }
}

impl Model for Mlp {
    fn name(&self) -> String {
        "mlp".into()
    }

    fn predict(&self, context: &[u8]) -> Vec<f64> {
        let v = self.alphabet.len();
        // Unknown or missing characters read as the first symbol (a space, in practice).
        let mut window = [0usize; CONTEXT];
        let tail = &context[context.len().saturating_sub(CONTEXT)..];
        let offset = CONTEXT - tail.len();
        for (i, b) in tail.iter().enumerate() {
            window[offset + i] = self.alphabet.index(*b).unwrap_or(0);
        }
        let (mut x, mut h, mut probs) = ([0f32; INPUT], [0f32; HIDDEN], vec![0f32; v]);
        self.forward(&window, &mut x, &mut h, &mut probs);
        probs.into_iter().map(f64::from).collect()
    }
}

/// The models a miner can run, by name: `unigram`, `bigram`, `trigram`, `N-gram`, `mlp`.
pub fn build(name: &str, train: &str, alphabet: &Alphabet) -> Result<Box<dyn Model>, String> {
    let order = match name {
        "unigram" => 1,
        "bigram" => 2,
        "trigram" => 3,
        "mlp" => return Ok(Box::new(Mlp::train(train, alphabet, 400_000))),
        other => other
            .strip_suffix("-gram")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=12).contains(n))
            .ok_or_else(|| {
                format!(
                    "unknown model {other:?}: use unigram, bigram, trigram, N-gram (N ≤ 12) or mlp"
                )
            })?,
    };
    Ok(Box::new(NGram::train(order, train, alphabet)))
}

/// Mean negative log-likelihood, in bits per character, of `model` on `samples` positions
/// of `text` spaced evenly (each predicted from the `context` characters before it).
pub fn heldout_bits(
    model: &dyn Model,
    text: &str,
    alphabet: &Alphabet,
    context: usize,
    samples: usize,
) -> f64 {
    let bytes = text.as_bytes();
    if bytes.len() <= context || samples == 0 {
        return f64::NAN;
    }
    let span = bytes.len() - context;
    let step = (span / samples).max(1);
    let (mut total, mut n) = (0.0, 0usize);
    for pos in (context..bytes.len()).step_by(step) {
        let Some(truth) = alphabet.index(bytes[pos]) else { continue };
        let p = model.predict(&bytes[pos - context..pos])[truth];
        total += -p.max(1e-12).log2();
        n += 1;
    }
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::generate;

    #[test]
    fn distributions_sum_to_one() {
        let text = generate(3, 20_000);
        let alphabet = Alphabet::of(&text);
        for name in ["unigram", "trigram", "5-gram"] {
            let m = build(name, &text, &alphabet).unwrap();
            for context in [&b""[..], b"the ", b"zzzz", b"The old riv"] {
                let p = m.predict(context);
                assert_eq!(p.len(), alphabet.len());
                assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{name} on {context:?}");
                assert!(p.iter().all(|x| *x > 0.0), "smoothing leaves no zero");
            }
        }
        let m = Mlp::train(&text, &alphabet, 2_000);
        let p = m.predict(b"the ");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn longer_contexts_predict_better_on_heldout_text() {
        let (train, heldout) = (generate(1, 100_000), generate(2, 10_000));
        let alphabet = Alphabet::of(&train);
        let bits: Vec<f64> = ["unigram", "trigram", "6-gram"]
            .iter()
            .map(|n| {
                heldout_bits(
                    build(n, &train, &alphabet).unwrap().as_ref(),
                    &heldout,
                    &alphabet,
                    32,
                    2_000,
                )
            })
            .collect();
        assert!(bits[0] > bits[1] + 0.5 && bits[1] > bits[2] + 0.3, "{bits:?}");
        assert!(bits[0] < (alphabet.len() as f64).log2(), "unigram beats uniform: {bits:?}");
    }

    #[test]
    fn unknown_models_are_refused_by_name() {
        let alphabet = Alphabet::of("ab");
        let err = build("transformer", "ab", &alphabet).err().unwrap();
        assert!(err.contains("unknown model \"transformer\""), "{err}");
        assert!(build("13-gram", "ab", &alphabet).is_err());
    }
}
