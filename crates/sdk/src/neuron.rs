//! The miner and validator loops a subnet is built from.
//!
//! A miner is an [`Axon`] with the subnet's synapses attached: [`run_miner`] serves it,
//! publishes it on chain (retrying until the chain has it) and runs until SIGINT/SIGTERM.
//!
//! A validator implements [`Scorer`] ("make a query, score each answer in [0, 1]");
//! [`run_validator`] does the rest, round after round: sync the metagraph, query every
//! served miner concurrently, keep a moving score per miner (an exponential moving average;
//! a miner that does not answer scores 0), and set weights proportional to the moving scores
//! every few rounds within the subnet's rules ([`WeightSetter`]: direct or commit-reveal).

use crate::{
    axon::{Axon, Serving},
    chain::{ChainClient, ChainError, Neuron, WeightSetter, WeightsOutcome},
    dendrite::{Dendrite, Query, Reply, Target},
};
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};
use tao_wallet::Keypair;

/// Serves `axon` on `addr`, publishes it for `key` on subnet `netuid`, and runs until the
/// process is asked to stop (SIGINT or SIGTERM). `on_published` hears about the publication.
pub async fn run_miner(
    chain: &ChainClient,
    key: &Keypair,
    netuid: u16,
    axon: Axon,
    addr: SocketAddr,
    on_published: impl FnOnce(&Serving, u64),
) -> std::io::Result<()> {
    let serving = axon.serve(addr).await?;
    let mut wait = Duration::from_millis(250);
    let block = loop {
        match chain.serve_axon(key, netuid, serving.addr).await {
            Ok(receipt) => break receipt.block,
            Err(e) => {
                eprintln!("miner: publishing the axon failed ({e}); retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    };
    on_published(&serving, block);
    stopped().await;
    serving.stop();
    Ok(())
}

/// Resolves when the process receives SIGINT or SIGTERM.
pub async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// What a validator's subnet-specific part does.
pub trait Scorer {
    /// What scoring a round's replies needs (e.g. the expected answers).
    type Task;
    /// The query of round `round`, and its task.
    fn next_query(&mut self, round: u64) -> (Query, Self::Task);
    /// The score in [0, 1] of one miner's reply (values outside are clamped; NaN is 0).
    fn score(&mut self, task: &Self::Task, miner: &Neuron, reply: &Reply) -> f64;
}

/// How a validator runs.
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// The subnet.
    pub netuid: u16,
    /// Time between rounds.
    pub round: Duration,
    /// Rounds between weight updates.
    pub weights_every: u64,
    /// Weight of the newest score in the moving score (0 < smoothing ≤ 1).
    pub smoothing: f64,
    /// Stop after this many rounds (0: never).
    pub rounds: u64,
}

/// A miner as a validator sees it.
#[derive(Clone, Debug, Default)]
pub struct MinerScore {
    /// Its hotkey.
    pub hotkey: String,
    /// The moving score.
    pub moving: f64,
    /// This round's score.
    pub last: f64,
    /// This round's latency.
    pub latency: Duration,
    /// Queries answered successfully.
    pub answered: u64,
    /// Queries sent.
    pub asked: u64,
}

/// What happened in a round.
#[derive(Debug)]
pub struct RoundReport<'a> {
    /// The round (from 1).
    pub round: u64,
    /// The moving scores by UID.
    pub scores: &'a BTreeMap<u16, MinerScore>,
    /// This round's weight submission, if any.
    pub weights: Option<Result<WeightsOutcome, String>>,
}

/// The weights for moving scores: proportional, the best at `u16::MAX`; UIDs scoring 0 left out.
pub fn weights_from_scores(scores: &BTreeMap<u16, MinerScore>) -> Vec<(u16, u16)> {
    let best = scores.values().map(|s| s.moving).fold(0.0, f64::max);
    if best <= 0.0 {
        return Vec::new();
    }
    scores
        .iter()
        .map(|(uid, s)| (*uid, ((s.moving / best) * f64::from(u16::MAX)).round() as u16))
        .filter(|(_, w)| *w > 0)
        .collect()
}

/// Runs a validator with `key` until `config.rounds` rounds have run (or forever), or the
/// process is asked to stop. `on_round` hears every round (for logs and reports).
pub async fn run_validator<S: Scorer>(
    chain: &ChainClient,
    key: &Keypair,
    scorer: &mut S,
    config: &ValidatorConfig,
    mut on_round: impl FnMut(&S, &RoundReport<'_>),
) -> Result<(), ChainError> {
    let dendrite = Dendrite::new(key.clone());
    let mut setter = WeightSetter::new(config.netuid);
    let mut scores: BTreeMap<u16, MinerScore> = BTreeMap::new();
    let smoothing = config.smoothing.clamp(1e-6, 1.0);
    let me = key.ss58();
    let mut round = 0u64;
    let stop = stopped();
    tokio::pin!(stop);
    loop {
        round += 1;
        let neurons = match chain.neurons(config.netuid).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("validator: reading the metagraph failed: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(config.round.max(Duration::from_millis(500))) => continue,
                    _ = &mut stop => return Ok(()),
                }
            }
        };
        // A UID whose hotkey changed is a new miner: it starts from 0.
        scores
            .retain(|uid, s| neurons.get(usize::from(*uid)).is_some_and(|n| n.hotkey == s.hotkey));
        let miners: Vec<&Neuron> =
            neurons.iter().filter(|n| n.axon.is_some() && n.hotkey != me).collect();
        let targets: Vec<Target> = miners
            .iter()
            .filter_map(|n| Some(Target { addr: n.axon?, hotkey: n.hotkey.clone() }))
            .collect();
        let (query, task) = scorer.next_query(round);
        let replies = dendrite.query_all(&targets, &query).await;
        for (miner, reply) in miners.iter().zip(&replies) {
            let score = scorer.score(&task, miner, reply);
            let score = if score.is_nan() { 0.0 } else { score.clamp(0.0, 1.0) };
            let entry = scores.entry(miner.uid).or_insert_with(|| MinerScore {
                hotkey: miner.hotkey.clone(),
                ..Default::default()
            });
            entry.moving = (1.0 - smoothing) * entry.moving + smoothing * score;
            entry.last = score;
            entry.latency = reply.latency;
            entry.asked += 1;
            entry.answered += u64::from(reply.is_success());
        }
        let permitted = neurons.iter().any(|n| n.hotkey == me && n.validator_permit);
        let weights = if !permitted {
            None
        } else if round % config.weights_every.max(1) == 0 {
            let weights = weights_from_scores(&scores);
            if weights.is_empty() {
                None
            } else {
                Some(setter.offer(chain, key, &weights).await.map_err(|e| e.to_string()))
            }
        } else {
            setter.reveal_due(chain, key).await.map_err(|e| e.to_string()).transpose()
        };
        on_round(scorer, &RoundReport { round, scores: &scores, weights });
        if config.rounds != 0 && round >= config.rounds {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(config.round) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(moving: f64) -> MinerScore {
        MinerScore { moving, ..Default::default() }
    }

    #[test]
    fn weights_are_proportional_to_moving_scores() {
        let scores: BTreeMap<u16, MinerScore> =
            [(0, score(0.5)), (3, score(0.25)), (4, score(0.0))].into_iter().collect();
        assert_eq!(weights_from_scores(&scores), vec![(0, u16::MAX), (3, 32768)]);
        let none: BTreeMap<u16, MinerScore> = [(1, score(0.0))].into_iter().collect();
        assert!(weights_from_scores(&none).is_empty());
    }
}
