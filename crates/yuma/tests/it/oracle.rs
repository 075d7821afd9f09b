//! A dense `f64` Yuma epoch written straight from the equations of `chain-protocol.md` §4:
//! an independent oracle for the fixed-point sparse `tao_yuma::epoch` (tests) and the
//! peer it is measured against (bench). Not consensus code: floats, dense n×n matrices.

#![allow(dead_code, clippy::needless_range_loop)]

use tao_yuma::{BondModel, CommitReveal, LiquidAlpha, YumaInput};

/// The oracle's outputs (fractions as `f64`; bonds dense n×n, 0 where absent).
pub struct Oracle {
    pub consensus: Vec<f64>,
    pub incentive: Vec<f64>,
    pub dividends: Vec<f64>,
    pub validator_trust: Vec<f64>,
    pub bonds: Vec<Vec<f64>>,
}

fn normalize(v: &mut [f64]) {
    let sum: f64 = v.iter().sum();
    if sum != 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

fn col_normalize(m: &mut [Vec<f64>]) {
    let n = m.first().map_or(0, Vec::len);
    for j in 0..n {
        let sum: f64 = m.iter().map(|r| r[j]).sum();
        if sum != 0.0 {
            m.iter_mut().for_each(|r| r[j] /= sum);
        }
    }
}

/// The smallest score whose cumulative stake (from the bottom) exceeds `total − κ`.
fn stake_weighted_median(stake: &[f64], score: &[f64], kappa: f64) -> f64 {
    let total: f64 = stake.iter().sum();
    if stake.is_empty() {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..stake.len()).collect();
    order.sort_by(|a, b| score[*a].partial_cmp(&score[*b]).unwrap());
    let mut cumulative = 0.0;
    let mut k = 0;
    while k < order.len() {
        let s = score[order[k]];
        while k < order.len() && score[order[k]] == s {
            cumulative += stake[order[k]];
            k += 1;
        }
        if cumulative > total - kappa {
            return s;
        }
    }
    score[order[order.len() - 1]]
}

fn sigmoid_alpha(c: f64, w: f64, b: f64, low: f64, high: f64, steepness: f64) -> f64 {
    let d = if w >= b { (w - c).clamp(0.0, 1.0) } else { (b - w).clamp(0.0, 1.0) };
    let exponent = ((steepness / -100.0) * (d - 0.5)).clamp(-20.0, 20.0);
    let sigmoid = 1.0 / (1.0 + exponent.exp());
    (low + sigmoid * (high - low)).clamp(low, high)
}

/// Runs the epoch densely in `f64`.
pub fn epoch(input: &YumaInput) -> Oracle {
    let n = input.stake.len();
    let p = &input.params;
    let block = input.block.get();
    let u16f = |x: u16| f64::from(x) / 65535.0;

    let active: Vec<bool> =
        input.last_update.iter().map(|u| u.get() + input.activity_cutoff >= block).collect();
    let mut stake: Vec<f64> = input.stake.iter().map(|s| s.to_num::<f64>()).collect();
    normalize(&mut stake);
    let mut permit = input.validator_permit.clone();
    if let Some(owner) = input.owner {
        permit[owner.index()] = true;
    }
    let mut active_stake: Vec<f64> =
        (0..n).map(|i| if active[i] && permit[i] { stake[i] } else { 0.0 }).collect();
    normalize(&mut active_stake);

    // Weights, with a presence mask (explicit zeros are entries too).
    let registered: Vec<u64> = input.block_at_registration.iter().map(|b| b.get()).collect();
    let mut w = vec![vec![0.0; n]; n];
    let mut present = vec![vec![false; n]; n];
    for i in 0..n {
        if !permit[i] {
            continue;
        }
        let commit = match &input.commit_reveal {
            CommitReveal::Off => None,
            CommitReveal::On { first_commit } => first_commit[i].map(|b| b.get()),
        };
        for (uid, value) in &input.weights[i] {
            let j = uid.index();
            let own = input.owner.is_some_and(|o| o.index() == j);
            if (i == j && !own)
                || input.last_update[i].get() <= registered[j]
                || commit.is_some_and(|c| c < registered[j])
            {
                continue;
            }
            w[i][j] = f64::from(*value);
            present[i][j] = true;
        }
        let sum: f64 = w[i].iter().sum();
        if sum > 0.0 {
            w[i].iter_mut().for_each(|x| *x /= sum);
        }
    }

    let kappa = u16f(p.kappa);
    let voters: Vec<usize> = (0..n).filter(|&i| active_stake[i] > 0.0).collect();
    let mut voter_stake: Vec<f64> = voters.iter().map(|&i| active_stake[i]).collect();
    normalize(&mut voter_stake);
    let consensus: Vec<f64> = (0..n)
        .map(|j| {
            let scores: Vec<f64> = voters.iter().map(|&i| w[i][j]).collect();
            stake_weighted_median(&voter_stake, &scores, kappa)
        })
        .collect();

    let mut clipped = w.clone();
    let mut clipped_present = present.clone();
    for i in 0..n {
        for j in 0..n {
            if present[i][j] && w[i][j] > consensus[j] {
                if consensus[j] > 0.0 {
                    clipped[i][j] = consensus[j];
                } else {
                    clipped[i][j] = 0.0;
                    clipped_present[i][j] = false;
                }
            }
        }
    }
    let validator_trust: Vec<f64> = clipped.iter().map(|r| r.iter().sum()).collect();
    let mut incentive: Vec<f64> =
        (0..n).map(|j| (0..n).map(|i| active_stake[i] * clipped[i][j]).sum()).collect();
    normalize(&mut incentive);

    let beta = u16f(p.bonds_penalty);
    let (wb, wb_present) = if p.bonds_penalty == 0 {
        (w.clone(), present.clone())
    } else if p.bonds_penalty == u16::MAX {
        (clipped.clone(), clipped_present.clone())
    } else {
        let wb: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| w[i][j] + beta * (clipped[i][j] - w[i][j])).collect())
            .collect();
        let pr = wb.iter().map(|r| r.iter().map(|x| *x > 0.0).collect()).collect();
        (wb, pr)
    };

    let last_tempo = if input.last_epoch_block.get() == 0 {
        block.saturating_sub(u64::from(input.tempo))
    } else {
        input.last_epoch_block.get() + 1
    };
    let mut bonds = vec![vec![0.0; n]; n];
    for (i, row) in input.bonds.iter().enumerate() {
        for (uid, b) in row {
            let j = uid.index();
            if last_tempo > registered[j] {
                bonds[i][j] = match p.bond_model {
                    BondModel::Yuma3 => u16f(*b),
                    BondModel::Classic => f64::from(*b),
                };
            }
        }
    }
    let rate = 1.0 - p.bonds_moving_average as f64 / 1e6;

    let (mut dividends, stored) = match p.bond_model {
        BondModel::Yuma3 => {
            let liquid = match p.liquid_alpha {
                LiquidAlpha::On { alpha_low, alpha_high, steepness }
                    if consensus.iter().any(|c| *c != 0.0) =>
                {
                    Some((u16f(alpha_low), u16f(alpha_high), f64::from(steepness)))
                }
                _ => None,
            };
            let mut ema = vec![vec![0.0; n]; n];
            for i in 0..n {
                for j in 0..n {
                    ema[i][j] = match liquid {
                        Some((low, high, steep)) if wb_present[i][j] => {
                            let a = sigmoid_alpha(
                                consensus[j],
                                wb[i][j],
                                bonds[i][j],
                                low,
                                high,
                                steep,
                            );
                            ((1.0 - a) * bonds[i][j] + (a * wb[i][j]).max(0.0)).min(1.0)
                        }
                        Some(_) => 0.0,
                        None => rate * wb[i][j] + (1.0 - rate) * bonds[i][j],
                    };
                }
            }
            let mut share = ema.clone();
            col_normalize(&mut share);
            let mut d: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| share[i][j] * incentive[j]).sum::<f64>() * active_stake[i])
                .collect();
            normalize(&mut d);
            (d, ema)
        }
        BondModel::Classic => {
            col_normalize(&mut bonds);
            let mut delta: Vec<Vec<f64>> =
                (0..n).map(|i| (0..n).map(|j| wb[i][j] * active_stake[i]).collect()).collect();
            col_normalize(&mut delta);
            let mut ema: Vec<Vec<f64>> = (0..n)
                .map(|i| (0..n).map(|j| rate * delta[i][j] + (1.0 - rate) * bonds[i][j]).collect())
                .collect();
            col_normalize(&mut ema);
            let mut d: Vec<f64> =
                (0..n).map(|i| (0..n).map(|j| ema[i][j] * incentive[j]).sum()).collect();
            normalize(&mut d);
            for j in 0..n {
                let max = (0..n).map(|i| ema[i][j]).fold(0.0, f64::max);
                if max > 0.0 {
                    ema.iter_mut().for_each(|r| r[j] /= max);
                }
            }
            (d, ema)
        }
    };
    let new_permit: Vec<bool> = {
        let k = usize::from(p.max_allowed_validators);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| stake[*a].partial_cmp(&stake[*b]).unwrap());
        let mut keep: Vec<bool> = stake.iter().map(|s| *s > 0.0).collect();
        if n >= k {
            for &i in order.iter().take(n - k) {
                keep[i] = false;
            }
        }
        if let Some(owner) = input.owner {
            keep[owner.index()] = true;
        }
        keep
    };
    let bonds: Vec<Vec<f64>> =
        (0..n).map(|i| if new_permit[i] { stored[i].clone() } else { vec![0.0; n] }).collect();
    dividends.iter_mut().for_each(|d| *d = d.max(0.0));
    Oracle { consensus, incentive, dividends, validator_trust, bonds }
}
