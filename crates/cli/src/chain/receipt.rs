//! What a transaction did, in words and numbers, from its receipt's events (`event_details`,
//! the node's typed events): the amount and receiver of a transfer, TAO in and alpha out of a
//! stake with its average price, the UID and burn of a registration, the lock of a subnet.

use tao_primitives::{AlphaRao, Rao};
use tao_sdk::chain::api::{Event, StakeLocation, Tally};

/// TAO per alpha of `tao` RAO against `alpha` (10⁻⁹) as a decimal string with 9 places,
/// exact (integer arithmetic); `None` for no alpha.
pub fn average_price(tao: u64, alpha: u64) -> Option<String> {
    if alpha == 0 {
        return None;
    }
    let scaled = u128::from(tao) * 1_000_000_000 / u128::from(alpha);
    Some(format!("{}.{:09}", scaled / 1_000_000_000, scaled % 1_000_000_000))
}

fn at(location: &StakeLocation) -> String {
    format!("{} on subnet {} (coldkey {})", location.hotkey, location.netuid, location.coldkey)
}

/// One line per event a user acted for (block-level events, such as minting, are left out).
pub fn lines(events: &[Event]) -> Vec<String> {
    events.iter().filter_map(line).collect()
}

fn line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Transfer { from, to, amount } => {
            format!("sent {} TAO from {from} to {to}", Rao::new(*amount))
        }
        Event::NetworkAdded { netuid, owner, lock } => {
            format!("created subnet {netuid}, owner {owner}, locking {} TAO", Rao::new(*lock))
        }
        Event::NetworkRemoved { netuid, refund } => {
            format!("removed subnet {netuid}, refunding {} TAO", Rao::new(*refund))
        }
        Event::EmissionStarted { netuid, block } => {
            format!("emission of subnet {netuid} starts at block #{block}")
        }
        Event::HyperparameterSet { netuid, name, value } => {
            format!("subnet {netuid}: {name} is now {value}")
        }
        Event::GlobalParameterSet { parameter } => format!("chain parameter set: {parameter}"),
        Event::NeuronRegistered { netuid, uid, hotkey, replaced, cost } => {
            let replacing = replaced.map(|r| format!(", replacing {r}")).unwrap_or_default();
            format!(
                "registered {hotkey} as UID {uid} on subnet {netuid} for {} TAO{replacing}",
                Rao::new(*cost)
            )
        }
        Event::AxonServed { netuid, hotkey } => {
            format!("axon of {hotkey} published on subnet {netuid}")
        }
        Event::WeightsSet { netuid, uid } => format!("weights of UID {uid} set on subnet {netuid}"),
        Event::WeightsCommitted { netuid, hotkey, commit_hash } => {
            format!("weights of {hotkey} committed on subnet {netuid} (hash {commit_hash})")
        }
        Event::StakeAdded { hotkey, netuid: 0, tao, .. } => {
            format!("staked {} TAO to {hotkey} on root (1:1)", Rao::new(*tao))
        }
        Event::StakeRemoved { hotkey, netuid: 0, tao, .. } => {
            format!("unstaked {} TAO from {hotkey} on root (1:1)", Rao::new(*tao))
        }
        Event::StakeAdded { hotkey, netuid, tao, alpha, .. } => format!(
            "staked {} TAO (fee included) to {hotkey} on subnet {netuid}: {} α received, {} TAO per α on average",
            Rao::new(*tao),
            AlphaRao::new(*alpha),
            average_price(*tao, *alpha).unwrap_or_else(|| "-".into())
        ),
        Event::StakeRemoved { hotkey, netuid, alpha, tao, .. } => format!(
            "unstaked {} α from {hotkey} on subnet {netuid}: {} TAO received, {} TAO per α on average",
            AlphaRao::new(*alpha),
            Rao::new(*tao),
            average_price(*tao, *alpha).unwrap_or_else(|| "-".into())
        ),
        Event::StakeMoved { from, to, alpha } => format!(
            "moved stake from {} to {}: {} α credited",
            at(from),
            at(to),
            AlphaRao::new(*alpha)
        ),
        Event::TakeChanged { hotkey, take } => format!(
            "take of {hotkey} is now {:.2}% ({take}/65535)",
            f64::from(*take) * 100.0 / 65_535.0
        ),
        Event::EpochTriggered { netuid, at } => {
            format!("the epoch of subnet {netuid} will run at block #{at}")
        }
        Event::SudoChanged { key: Some(key) } => format!("the root key is now {key}"),
        Event::SudoChanged { key: None } => {
            "the root key is removed: governance is the only privileged path".to_owned()
        }
        Event::ProposalSubmitted { proposal, track, deposit, voting_ends, .. } => format!(
            "proposal #{proposal} submitted ({track} track), {} TAO deposit held, open for votes until block #{voting_ends}",
            Rao::new(*deposit)
        ),
        Event::Voted { proposal, voter, choice } => {
            format!("{voter} voted {choice} on proposal #{proposal}; its stake is locked until the vote ends")
        }
        Event::ProposalCancelled { proposal } => format!("proposal #{proposal} withdrawn"),
        Event::ProposalPassed { proposal, tally, enact_at } => format!(
            "proposal #{proposal} passed ({}), enacted at block #{enact_at}",
            tally_text(tally)
        ),
        Event::ProposalRejected { proposal, tally, reason } => format!(
            "proposal #{proposal} rejected: {} ({})",
            reason.replace('_', " "),
            tally_text(tally)
        ),
        Event::DepositReturned { proposal, to, amount } => format!(
            "deposit of proposal #{proposal} returned: {} TAO to {to}",
            Rao::new(*amount)
        ),
        Event::DepositBurned { proposal, amount } => {
            format!("deposit of proposal #{proposal} burned: {} TAO", Rao::new(*amount))
        }
        Event::ProposalEnacted { proposal } => format!("proposal #{proposal} enacted"),
        Event::ProposalEnactmentFailed { proposal, index, error } => format!(
            "proposal #{proposal} not enacted: its call {index} failed ({}), so none took effect",
            error.message
        ),
        Event::EpochCompleted { .. } | Event::EpochDeferred { .. } | Event::Minted { .. } => {
            return None
        }
        Event::ChannelOpened { channel, payee, deposit, expiry, .. } => format!(
            "opened payment channel {channel} to {payee}: {} TAO locked until block #{expiry}",
            Rao::new(*deposit)
        ),
        Event::ChannelToppedUp { channel, amount, deposit, expiry } => format!(
            "topped up channel {channel} by {} TAO: {} TAO locked until block #{expiry}",
            Rao::new(*amount),
            Rao::new(*deposit)
        ),
        Event::ChannelClaimed { channel, payee, amount, claimed } => format!(
            "channel {channel} paid {} TAO to {payee} ({} TAO claimed in total)",
            Rao::new(*amount),
            Rao::new(*claimed)
        ),
        Event::ChannelClosed { channel, refund, claimed, .. } => format!(
            "closed channel {channel}: {} TAO refunded, {} TAO was claimed by the payee",
            Rao::new(*refund),
            Rao::new(*claimed)
        ),
        Event::ValidatorRegistered { controller, consensus_key, p2p_address, commission } => {
            format!(
                "registered validator candidate {controller} with consensus key {consensus_key} at {p2p_address}, commission {}",
                commission_text(*commission)
            )
        }
        Event::ValidatorInfoSet { controller, p2p_address, commission } => {
            let mut changes = Vec::new();
            if let Some(address) = p2p_address {
                changes.push(format!("p2p address {address}"));
            }
            if let Some(c) = commission {
                changes.push(format!("commission {} from the next epoch", commission_text(*c)));
            }
            format!("validator {controller}: {}", changes.join(", "))
        }
        Event::Bonded { bonder, validator, amount } if bonder == validator => {
            format!("bonded {} TAO to your own candidate {validator}", Rao::new(*amount))
        }
        Event::Bonded { bonder, validator, amount } => {
            format!("{bonder} nominated {validator} with {} TAO", Rao::new(*amount))
        }
        Event::Unbonded { validator, amount, release_at, .. } => format!(
            "unbonding {} TAO from {validator}: free at block #{release_at}",
            Rao::new(*amount)
        ),
        Event::UnbondingReleased { account, amount } => {
            format!("{} TAO unbonded is free again for {account}", Rao::new(*amount))
        }
        Event::ValidatorSetElected { epoch, members } => {
            format!("validator set of epoch {epoch} elected: {} members", members.len())
        }
        Event::ValidatorSetKept { epoch } => {
            format!("no candidate qualified: the validator set continues into epoch {epoch}")
        }
        Event::ValidatorRewarded { epoch, validator, signed, reward, commission } => format!(
            "validator {validator} rewarded {} TAO for {signed} blocks of epoch {epoch} ({} TAO commission)",
            Rao::new(*reward),
            Rao::new(*commission)
        ),
        Event::EpochFeesBurned { epoch, amount } => {
            format!("fees of epoch {epoch} burned: {} TAO (no block credited)", Rao::new(*amount))
        }
        Event::ValidatorSlashed { validator, epoch, view, amount } => format!(
            "validator {validator} slashed {} TAO for equivocating in epoch {epoch}, view {view}",
            Rao::new(*amount)
        ),
        Event::ValidatorJailed { validator, until } => {
            format!("validator {validator} jailed; it may unjail from block #{until}")
        }
        Event::ValidatorUnjailed { validator } => format!("validator {validator} left jail"),
        Event::FinalityCredited { .. } => return None,
    })
}

/// A commission in parts per 10,000 as a percent: `12.50 %`.
pub fn commission_text(parts: u16) -> String {
    format!("{}.{:02} %", parts / 100, parts % 100)
}

/// A tally in TAO: `yes 1.5 / no 0 / abstain 0 / veto 0 of 10 TAO`.
pub fn tally_text(tally: &Tally) -> String {
    format!(
        "yes {} / no {} / abstain {} / veto {} of {} TAO staked",
        Rao::new(tally.yes.0),
        Rao::new(tally.no.0),
        Rao::new(tally.abstain.0),
        Rao::new(tally.veto.0),
        Rao::new(tally.total.0)
    )
}

/// The slippage of paying `average` TAO per α where the spot price was `spot` (decimal
/// strings), in percent; `None` when either is not a positive number.
pub fn slippage_percent(average: &str, spot: &str) -> Option<f64> {
    let (average, spot): (f64, f64) = (average.parse().ok()?, spot.parse().ok()?);
    (spot > 0.0 && average > 0.0).then(|| (average / spot - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_prices_are_exact_decimals() {
        assert_eq!(
            average_price(10_000_000_000, 18_183_058_538).unwrap(),
            "0.549962481",
            "cut, not rounded"
        );
        assert_eq!(average_price(1, 1).unwrap(), "1.000000000");
        assert_eq!(average_price(1, 0), None);
        assert_eq!(average_price(u64::MAX, 1).unwrap(), format!("{}.000000000", u64::MAX));
    }

    #[test]
    fn validator_events_read_as_words_with_their_numbers() {
        use tao_sdk::chain::api::Address;
        let account = |b: u8| Address(tao_primitives::AccountId::new([b; 32]));
        let (a, b) = (account(1), account(2));
        let own = Event::Bonded { bonder: a, validator: a, amount: 1_500_000_000_000 };
        let nomination = Event::Bonded { bonder: b, validator: a, amount: 300_000_000_000 };
        let unbond =
            Event::Unbonded { bonder: b, validator: a, amount: 100_000_000_000, release_at: 138 };
        let registered = Event::ValidatorRegistered {
            controller: a,
            consensus_key: "0xbb".into(),
            p2p_address: "10.0.0.1:30333".into(),
            commission: 1_050,
        };
        let credited = Event::FinalityCredited { epoch: 1, height: 5, signers: 1 };
        let lines = lines(&[own, nomination, unbond, registered, credited]);
        assert_eq!(lines.len(), 4, "a finality credit is the block's, not the user's: {lines:?}");
        assert_eq!(lines[0], format!("bonded 1500 TAO to your own candidate {a}"));
        assert_eq!(lines[1], format!("{b} nominated {a} with 300 TAO"));
        assert_eq!(lines[2], format!("unbonding 100 TAO from {a}: free at block #138"));
        assert!(lines[3].ends_with("at 10.0.0.1:30333, commission 10.50 %"), "{}", lines[3]);
    }

    #[test]
    fn slippage_is_relative_to_the_spot_price() {
        let s = slippage_percent("1.05", "1.0").unwrap();
        assert!((s - 5.0).abs() < 1e-9, "{s}");
        assert_eq!(slippage_percent("1", "0"), None);
        assert_eq!(slippage_percent("x", "1"), None);
    }
}
