//! A dense `f64` Yuma epoch written straight from the equations of `chain-protocol.md` §4:
//! an independent oracle for the fixed-point sparse `tao_yuma::epoch` (tests) and the
//! peer it is measured against (bench). Not consensus code: floats, dense n×n matrices.

#![allow(dead_code, clippy::needless_range_loop)]

use tao_yuma::{BondModel, CommitReveal, LiquidAlpha, YumaInput};

/// The oracle's outputs (fractions as `f64`). Bonds are a dense block over the rows that
/// can hold one and the columns any row names (0 elsewhere): see [`Oracle::bond`].
pub struct Oracle {
    pub consensus: Vec<f64>,
    pub incentive: Vec<f64>,
    pub dividends: Vec<f64>,
    pub validator_trust: Vec<f64>,
    /// Block row → UID, block column → UID, and the block's bonds.
    rows: Vec<usize>,
    row_of: Vec<Option<usize>>,
    col_of: Vec<Option<usize>>,
    bonds: Vec<Vec<f64>>,
}

impl Oracle {
    /// The bond of UID `i` to UID `j` (0 where there is none).
    pub fn bond(&self, i: usize, j: usize) -> f64 {
        match (self.row_of[i], self.col_of[j]) {
            (Some(r), Some(c)) => self.bonds[r][c],
            _ => 0.0,
        }
    }
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

/// Runs the epoch densely in `f64` on the validator × miner block: the rows that may hold a
/// weight or a bond (permitted, or with stored bonds) by the columns any of them names.
/// Every other cell is 0 in every matrix, so leaving it out changes nothing.
pub fn epoch(input: &YumaInput) -> Oracle {
    let n = input.stake.len();
    let p = &input.params;
    let block = input.block.get();
    let u16f = |x: u16| f64::from(x) / 65535.0;

    let active: Vec<bool> =
        input.last_update.iter().map(|u| u.get() + input.activity_cutoff >= block).collect();
    // A stake whose whole units fall below the threshold counts as none, unless the owner's.
    let mut stake: Vec<f64> = input
        .stake
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let own = input.owner.is_some_and(|o| o.index() == i);
            let whole = s.to_num::<f64>().floor();
            if !own && whole < input.stake_threshold as f64 {
                0.0
            } else {
                s.to_num::<f64>()
            }
        })
        .collect();
    normalize(&mut stake);
    let mut permit = input.validator_permit.clone();
    if let Some(owner) = input.owner {
        permit[owner.index()] = true;
    }
    let mut active_stake: Vec<f64> =
        (0..n).map(|i| if active[i] && permit[i] { stake[i] } else { 0.0 }).collect();
    normalize(&mut active_stake);

    // The block: V rows by M columns.
    let rows: Vec<usize> = (0..n).filter(|&i| permit[i] || !input.bonds[i].is_empty()).collect();
    let mut named = vec![false; n];
    for &i in &rows {
        let weights = if permit[i] { &input.weights[i][..] } else { &[][..] };
        for (uid, _) in weights.iter().chain(&input.bonds[i]) {
            named[uid.index()] = true;
        }
    }
    let cols: Vec<usize> = (0..n).filter(|&j| named[j]).collect();
    let mut row_of = vec![None; n];
    for (r, &i) in rows.iter().enumerate() {
        row_of[i] = Some(r);
    }
    let mut col_of = vec![None; n];
    for (c, &j) in cols.iter().enumerate() {
        col_of[j] = Some(c);
    }
    let (v, m) = (rows.len(), cols.len());
    let row_stake: Vec<f64> = rows.iter().map(|&i| active_stake[i]).collect();

    // Weights, with a presence mask (explicit zeros are entries too).
    let registered: Vec<u64> = input.block_at_registration.iter().map(|b| b.get()).collect();
    let mut w = vec![vec![0.0; m]; v];
    let mut present = vec![vec![false; m]; v];
    for (r, &i) in rows.iter().enumerate() {
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
            let c = col_of[j].unwrap();
            w[r][c] = f64::from(*value);
            present[r][c] = true;
        }
        let sum: f64 = w[r].iter().sum();
        if sum > 0.0 {
            w[r].iter_mut().for_each(|x| *x /= sum);
        }
    }

    let kappa = u16f(p.kappa);
    let voters: Vec<usize> = (0..v).filter(|&r| row_stake[r] > 0.0).collect();
    let mut voter_stake: Vec<f64> = voters.iter().map(|&r| row_stake[r]).collect();
    normalize(&mut voter_stake);
    let block_consensus: Vec<f64> = (0..m)
        .map(|c| {
            let scores: Vec<f64> = voters.iter().map(|&r| w[r][c]).collect();
            stake_weighted_median(&voter_stake, &scores, kappa)
        })
        .collect();

    let mut clipped = w.clone();
    let mut clipped_present = present.clone();
    for r in 0..v {
        for c in 0..m {
            if present[r][c] && w[r][c] > block_consensus[c] {
                if block_consensus[c] > 0.0 {
                    clipped[r][c] = block_consensus[c];
                } else {
                    clipped[r][c] = 0.0;
                    clipped_present[r][c] = false;
                }
            }
        }
    }
    let row_trust: Vec<f64> = clipped.iter().map(|r| r.iter().sum()).collect();
    let mut block_incentive: Vec<f64> =
        (0..m).map(|c| (0..v).map(|r| row_stake[r] * clipped[r][c]).sum()).collect();
    normalize(&mut block_incentive);

    let beta = u16f(p.bonds_penalty);
    let (wb, wb_present) = if p.bonds_penalty == 0 {
        (w.clone(), present.clone())
    } else if p.bonds_penalty == u16::MAX {
        (clipped.clone(), clipped_present.clone())
    } else {
        let wb: Vec<Vec<f64>> = (0..v)
            .map(|r| (0..m).map(|c| w[r][c] + beta * (clipped[r][c] - w[r][c])).collect())
            .collect();
        let pr = wb.iter().map(|r| r.iter().map(|x| *x > 0.0).collect()).collect();
        (wb, pr)
    };

    let last_tempo = if input.last_epoch_block.get() == 0 {
        block.saturating_sub(u64::from(input.tempo))
    } else {
        input.last_epoch_block.get() + 1
    };
    let mut bonds = vec![vec![0.0; m]; v];
    for (r, &i) in rows.iter().enumerate() {
        for (uid, b) in &input.bonds[i] {
            let j = uid.index();
            if last_tempo > registered[j] {
                bonds[r][col_of[j].unwrap()] = match p.bond_model {
                    BondModel::Yuma3 => u16f(*b),
                    BondModel::Classic => f64::from(*b),
                };
            }
        }
    }
    let rate = 1.0 - p.bonds_moving_average as f64 / 1e6;

    let (block_dividends, stored) = match p.bond_model {
        BondModel::Yuma3 => {
            let liquid = match p.liquid_alpha {
                LiquidAlpha::On { alpha_low, alpha_high, steepness }
                    if block_consensus.iter().any(|c| *c != 0.0) =>
                {
                    Some((u16f(alpha_low), u16f(alpha_high), f64::from(steepness)))
                }
                _ => None,
            };
            let mut ema = vec![vec![0.0; m]; v];
            for r in 0..v {
                for c in 0..m {
                    ema[r][c] = match liquid {
                        Some((low, high, steep)) if wb_present[r][c] => {
                            let a = sigmoid_alpha(
                                block_consensus[c],
                                wb[r][c],
                                bonds[r][c],
                                low,
                                high,
                                steep,
                            );
                            ((1.0 - a) * bonds[r][c] + (a * wb[r][c]).max(0.0)).min(1.0)
                        }
                        Some(_) => 0.0,
                        None => rate * wb[r][c] + (1.0 - rate) * bonds[r][c],
                    };
                }
            }
            let mut share = ema.clone();
            col_normalize(&mut share);
            let d: Vec<f64> = (0..v)
                .map(|r| {
                    (0..m).map(|c| share[r][c] * block_incentive[c]).sum::<f64>() * row_stake[r]
                })
                .collect();
            (d, ema)
        }
        BondModel::Classic => {
            col_normalize(&mut bonds);
            let mut delta: Vec<Vec<f64>> =
                (0..v).map(|r| (0..m).map(|c| wb[r][c] * row_stake[r]).collect()).collect();
            col_normalize(&mut delta);
            let mut ema: Vec<Vec<f64>> = (0..v)
                .map(|r| (0..m).map(|c| rate * delta[r][c] + (1.0 - rate) * bonds[r][c]).collect())
                .collect();
            col_normalize(&mut ema);
            let d: Vec<f64> =
                (0..v).map(|r| (0..m).map(|c| ema[r][c] * block_incentive[c]).sum()).collect();
            for c in 0..m {
                let max = (0..v).map(|r| ema[r][c]).fold(0.0, f64::max);
                if max > 0.0 {
                    ema.iter_mut().for_each(|row| row[c] /= max);
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
    let bonds: Vec<Vec<f64>> = rows
        .iter()
        .zip(stored)
        .map(|(&i, row)| if new_permit[i] { row } else { vec![0.0; m] })
        .collect();

    // Back from the block to UIDs.
    let spread = |values: &[f64], at: &[usize]| {
        let mut out = vec![0.0; n];
        for (x, &k) in values.iter().zip(at) {
            out[k] = *x;
        }
        out
    };
    let mut dividends = spread(&block_dividends, &rows);
    normalize(&mut dividends);
    dividends.iter_mut().for_each(|d| *d = d.max(0.0));
    Oracle {
        consensus: spread(&block_consensus, &cols),
        incentive: spread(&block_incentive, &cols),
        dividends,
        validator_trust: spread(&row_trust, &rows),
        rows,
        row_of,
        col_of,
        bonds,
    }
}
