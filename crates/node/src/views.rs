//! Read-only views of the state for clients (the metagraph).

use serde_json::{json, Value};
use tao_primitives::NetUid;
use tao_runtime::State;

/// The whole metagraph of a subnet in one document: per-UID arrays indexed by UID, and the
/// subnet's hyperparameters and pool.
pub fn metagraph(state: &State, netuid: NetUid) -> Option<Value> {
    let subnet = state.subnet(netuid)?;
    let info = subnet.info.get();
    let neurons = &subnet.neurons.get().neurons;
    let stakes = subnet.stakes.get();
    let p = &info.params;
    let col =
        |f: &dyn Fn(&tao_runtime::Neuron) -> Value| Value::Array(neurons.iter().map(f).collect());
    Some(json!({
        "netuid": netuid.get(),
        "block": state.block().get(),
        "n": neurons.len(),
        "owner_hotkey": info.owner_hotkey.to_ss58(),
        "owner_coldkey": info.owner_coldkey.to_ss58(),
        "tempo": p.tempo,
        "last_epoch_block": info.last_epoch_block.get(),
        "pool": {"tao": info.pool.tao, "alpha_in": info.pool.alpha, "alpha_out": info.alpha_out.get(),
                 "price": info.pool.price().to_num::<f64>(), "moving_price": info.moving_price.to_num::<f64>()},
        "hotkeys": col(&|n| json!(n.hotkey.to_ss58())),
        "coldkeys": col(&|n| json!(n.coldkey.to_ss58())),
        "alpha_stake": col(&|n| json!(stakes.get(&n.hotkey).map_or(0, |s| s.total))),
        "root_stake": col(&|n| json!(state.root_stake(&n.hotkey).map_or(0, |r| r.total))),
        "active": col(&|n| json!(n.epoch.active)),
        "validator_permit": col(&|n| json!(n.epoch.validator_permit)),
        "consensus": col(&|n| json!(n.epoch.consensus)),
        "incentive": col(&|n| json!(n.epoch.incentive)),
        "dividends": col(&|n| json!(n.epoch.dividends)),
        "validator_trust": col(&|n| json!(n.epoch.validator_trust)),
        "emission": col(&|n| json!(n.epoch.emission)),
        "last_update": col(&|n| json!(n.last_update.get())),
        "block_at_registration": col(&|n| json!(n.block_at_registration.get())),
        "axons": col(&|n| match n.axon {
            Some((block, a)) => json!({"block": block.get(), "version": a.version, "ip": a.ip_addr().to_string(), "port": a.port,
                                       "ip_type": a.ip_type.number(), "protocol": a.protocol}),
            None => Value::Null,
        }),
        "weights": col(&|n| json!(n.weights.iter().map(|(u, w)| [u.get(), *w]).collect::<Vec<_>>())),
        "bonds": col(&|n| json!(n.bonds.iter().map(|(u, b)| [u.get(), *b]).collect::<Vec<_>>())),
        "hyperparameters": hyperparameters(info),
    }))
}

fn hyperparameters(info: &tao_runtime::SubnetInfo) -> Value {
    let p = &info.params;
    json!({
        "rho": p.rho, "kappa": p.kappa, "immunity_period": p.immunity_period, "min_allowed_weights": p.min_allowed_weights,
        "tempo": p.tempo, "activity_cutoff_factor": p.activity_cutoff_factor, "weights_version": p.weights_version,
        "weights_rate_limit": p.weights_rate_limit, "registration_allowed": p.registration_allowed,
        "pow_registration_allowed": p.pow_registration_allowed, "difficulty": p.difficulty,
        "min_burn": p.min_burn.get(), "max_burn": p.max_burn.get(), "burn": info.burn.get(),
        "burn_half_life": p.burn_half_life, "bonds_moving_avg": p.bonds_moving_average, "bonds_penalty": p.bonds_penalty,
        "serving_rate_limit": p.serving_rate_limit, "max_validators": p.max_allowed_validators,
        "max_allowed_uids": p.max_allowed_uids, "commit_reveal_period": p.commit_reveal_period,
        "commit_reveal_weights_enabled": p.commit_reveal_enabled, "liquid_alpha_enabled": p.liquid_alpha_enabled,
        "alpha_low": p.alpha_low, "alpha_high": p.alpha_high, "alpha_sigmoid_steepness": p.alpha_sigmoid_steepness,
        "yuma_version": if p.yuma3 { 3 } else { 2 }, "transfers_enabled": p.transfers_enabled,
        "owner_cut_enabled": p.owner_cut_enabled, "fee_rate": info.fee_rate,
    })
}
