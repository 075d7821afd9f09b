//! Governance: proposals pass, fail quorum, are vetoed, enact all or nothing; votes count
//! once and lock the voter's stake; nominators follow their validator unless they vote; a
//! chain without a root key changes its parameters by vote; tallies equal a recount.

use crate::chain::{config_with_subnet, id, key, Chain, NET, TAO};
use proptest::prelude::*;
use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid, Rao};
use tao_runtime::{governance, State};
use tao_types::{
    Call, DispatchError, Event, GenesisConfig, GenesisGovernance, GlobalParameter, Outcome,
    PrivilegedCall, ProposalId, Rejection, Tally, VoteChoice,
};

const DEPOSIT: u64 = 10 * TAO;
const VOTING: u64 = 5;
const DELAY: u64 = 3;

/// A subnet (tempo 360: no epoch within these tests, so only root stake moves) with
/// hotkeys 20 and 21, and short governance periods. Key 1 is root.
fn gov_config() -> GenesisConfig {
    gov_config_voting(VOTING)
}

/// [`gov_config`] with votes open for `voting` blocks.
fn gov_config_voting(voting: u64) -> GenesisConfig {
    let mut config = config_with_subnet(360, &[0, 0], false);
    config.governance = Some(GenesisGovernance {
        deposit: Some(DEPOSIT),
        voting_period: Some(voting),
        enactment_delay: Some(DELAY),
        ..GenesisGovernance::default()
    });
    config
}

/// Root stake: key 2 600 TAO and key 4 100 TAO on hotkey 20, key 3 300 TAO on hotkey 21.
fn staked(config: GenesisConfig) -> Chain {
    let mut chain = Chain::new(config);
    for (who, hotkey, tao) in [(2, 20, 600), (4, 20, 100), (3, 21, 300)] {
        chain.ok(
            &key(who),
            Call::AddStake {
                hotkey: id(hotkey),
                netuid: NetUid::ROOT,
                amount: Rao::from_whole(tao).unwrap(),
                limit_price: None,
            },
        );
    }
    chain
}

fn root_stake(chain: &Chain, coldkey: u8, hotkey: u8) -> u64 {
    chain
        .state
        .root_stake(&id(hotkey))
        .and_then(|r| r.by_coldkey.get(&id(coldkey)).copied())
        .unwrap_or(0)
}

fn set_limit(limit: u16) -> PrivilegedCall {
    PrivilegedCall::SetGlobalParameter(GlobalParameter::SubnetLimit(limit))
}

fn propose(calls: Vec<PrivilegedCall>) -> Call {
    Call::Propose { calls, title: "Change it".into(), description: "Because.".into() }
}

fn vote(proposal: u32, choice: VoteChoice) -> Call {
    Call::Vote { proposal: ProposalId(proposal), choice }
}

/// Runs empty blocks up to and including block `number`; the events of each.
fn run_to(chain: &mut Chain, number: u64) -> Vec<Event> {
    let mut events = Vec::new();
    while chain.state.block().get() < number {
        events.extend(chain.block(Vec::new()).events);
    }
    events
}

fn voting_ends(receipt: &tao_types::Receipt) -> u64 {
    receipt
        .events
        .iter()
        .find_map(|e| match e {
            Event::ProposalSubmitted { voting_ends, .. } => Some(voting_ends.get()),
            _ => None,
        })
        .expect("a ProposalSubmitted event")
}

/// The count of `proposal`'s votes, recounted here from the recorded votes and the stake
/// as it stands (root stake only in these tests, plus alpha at its moving price).
fn recount(state: &State, proposal: ProposalId) -> Tally {
    let p = &state.governance().proposals[&proposal];
    let mut positions: Vec<(AccountId, AccountId, u64)> = Vec::new();
    for (hotkey, root) in state.root_stakes() {
        positions.extend(root.by_coldkey.iter().map(|(c, tao)| (*hotkey, *c, *tao)));
    }
    for (_, subnet) in state.subnets() {
        let price = subnet.info.get().moving_price;
        for (hotkey, pool) in subnet.stakes.get() {
            for c in pool.coldkeys() {
                let value = (substrate_fixed::types::I96F32::from_num(pool.value(c)) * price)
                    .max(substrate_fixed::types::I96F32::from_num(0))
                    .to_num::<u64>();
                positions.push((*hotkey, *c, value));
            }
        }
    }
    let mut tally = Tally::default();
    for (hotkey, coldkey, value) in positions {
        let value = Rao::new(value);
        tally.total = tally.total.checked_add(value).unwrap();
        match p.votes.get(&coldkey).or_else(|| p.votes.get(&hotkey)) {
            Some(VoteChoice::Yes) => tally.yes = tally.yes.checked_add(value).unwrap(),
            Some(VoteChoice::No) => tally.no = tally.no.checked_add(value).unwrap(),
            Some(VoteChoice::Abstain) => tally.abstain = tally.abstain.checked_add(value).unwrap(),
            Some(VoteChoice::Veto) => tally.veto = tally.veto.checked_add(value).unwrap(),
            None => {}
        }
    }
    tally
}

#[test]
fn a_passed_proposal_changes_a_parameter_exactly_at_enactment() {
    let mut chain = staked(gov_config());
    let before = chain.free(5);
    let limit_before = chain.state.chain().params.subnet_limit;
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    let ends = voting_ends(&receipt);
    assert_eq!(ends, chain.state.block().get() + VOTING, "open {VOTING} blocks after submission");
    assert_eq!(
        chain.free(5),
        before.checked_sub(receipt.fee).unwrap().checked_sub(Rao::new(DEPOSIT)).unwrap()
    );
    assert_eq!(chain.state.tao_holdings().deposits, u128::from(DEPOSIT));

    let yes = chain.ok(&key(2), vote(0, VoteChoice::Yes));
    let live = governance::tally(&chain.state, &chain.state.governance().proposals[&ProposalId(0)]);
    assert_eq!(live.yes, Rao::new(root_stake(&chain, 2, 20)));
    assert_eq!(
        live.total.get(),
        [(2, 20), (4, 20), (3, 21)].iter().map(|(c, h)| root_stake(&chain, *c, *h)).sum::<u64>()
    );

    // Votes end with block `ends`: passed, deposit back, enacted DELAY blocks later.
    let events = run_to(&mut chain, ends);
    let passed = events.iter().find_map(|e| match e {
        Event::ProposalPassed { tally, enact_at, .. } => Some((*tally, enact_at.get())),
        _ => None,
    });
    let (tally, enact_at) = passed.expect("passed");
    assert_eq!(tally, live);
    assert_eq!(enact_at, ends + DELAY);
    assert!(events.contains(&Event::DepositReturned {
        proposal: ProposalId(0),
        to: id(5),
        amount: Rao::new(DEPOSIT)
    }));
    assert_eq!(chain.free(5), before.checked_sub(receipt.fee).unwrap());
    run_to(&mut chain, enact_at - 1);
    assert_eq!(chain.state.chain().params.subnet_limit, limit_before, "not before enactment");
    let events = run_to(&mut chain, enact_at);
    assert!(events.contains(&Event::ProposalEnacted { proposal: ProposalId(0) }), "{events:?}");
    assert!(events.contains(&Event::GlobalParameterSet(GlobalParameter::SubnetLimit(7))));
    assert_eq!(chain.state.chain().params.subnet_limit, 7);
    assert!(yes.fee > Rao::ZERO, "votes pay a fee");
    // Voting is over: the voter's stake moves again.
    chain.ok(
        &key(2),
        Call::RemoveStake {
            hotkey: id(20),
            netuid: NetUid::ROOT,
            amount: AlphaRao::new(TAO),
            limit_price: None,
        },
    );
}

#[test]
fn a_proposal_short_of_quorum_is_rejected_and_its_deposit_returned() {
    let mut chain = staked(gov_config());
    let before = chain.free(5);
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    chain.ok(&key(4), vote(0, VoteChoice::Yes)); // 100 of 1,000 TAO: below a third
    let events = run_to(&mut chain, voting_ends(&receipt));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ProposalRejected { reason: Rejection::NoQuorum, .. })),
        "{events:?}"
    );
    assert_eq!(chain.free(5), before.checked_sub(receipt.fee).unwrap(), "the deposit came back");
    let later = chain.state.block().get() + DELAY + 1;
    run_to(&mut chain, later);
    assert_eq!(chain.state.chain().params.subnet_limit, gov_config().subnet_limit.unwrap_or(128));
}

#[test]
fn a_vetoed_proposal_burns_its_deposit() {
    let mut chain = staked(gov_config());
    let before = chain.free(5);
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    chain.ok(&key(2), vote(0, VoteChoice::Yes)); // 600
    chain.ok(&key(3), vote(0, VoteChoice::Veto)); // 300
    chain.ok(&key(4), vote(0, VoteChoice::Veto)); // 100: 400 of 1,000 veto > 33.4 %
    let issuance = chain.state.total_issuance();
    let events = run_to(&mut chain, voting_ends(&receipt));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ProposalRejected { reason: Rejection::Vetoed, .. })));
    assert!(events
        .contains(&Event::DepositBurned { proposal: ProposalId(0), amount: Rao::new(DEPOSIT) }));
    let minted: u64 = events
        .iter()
        .map(|e| if let Event::Minted { amount } = e { amount.get() } else { 0 })
        .sum();
    assert_eq!(
        chain.state.total_issuance().get(),
        issuance.get() + minted - DEPOSIT,
        "burned, to the RAO"
    );
    assert_eq!(chain.state.chain().total_deposit_burn, Rao::new(DEPOSIT));
    assert_eq!(
        chain.free(5),
        before.checked_sub(receipt.fee).unwrap().checked_sub(Rao::new(DEPOSIT)).unwrap()
    );
}

#[test]
fn a_proposal_whose_second_call_fails_enacts_neither() {
    let mut chain = staked(gov_config());
    let receipt = chain
        .ok(&key(5), propose(vec![set_limit(7), PrivilegedCall::DissolveNetwork { netuid: NET }]));
    chain.ok(&key(2), vote(0, VoteChoice::Yes));
    // Meanwhile root dissolves the subnet itself: the proposal's second call will fail.
    chain.ok(&key(1), Call::DissolveNetwork { netuid: NET });
    let events = run_to(&mut chain, voting_ends(&receipt) + DELAY);
    assert!(
        events.contains(&Event::ProposalEnactmentFailed {
            proposal: ProposalId(0),
            index: 1,
            error: DispatchError::SubnetNotExists
        }),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Event::GlobalParameterSet(_))));
    assert_eq!(
        chain.state.chain().params.subnet_limit,
        128,
        "the first call did not take effect either"
    );
}

#[test]
fn a_vote_counts_once_and_locks_the_stake_it_counted() {
    let mut chain = staked(gov_config_voting(40));
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    let ends = voting_ends(&receipt);
    chain.ok(&key(2), vote(0, VoteChoice::Yes));
    let until = BlockNumber::new(ends);
    // Moving the stake to another coldkey (to vote with it again) is refused, as is
    // unstaking, moving or swapping it, until the vote ends.
    let give = Call::TransferStake {
        destination_coldkey: id(6),
        hotkey: id(20),
        origin_netuid: NetUid::ROOT,
        destination_netuid: NetUid::ROOT,
        amount: AlphaRao::new(100 * TAO),
    };
    chain.fails(&key(2), give.clone(), DispatchError::StakeLockedByVote { until });
    let unstake = Call::RemoveStake {
        hotkey: id(20),
        netuid: NetUid::ROOT,
        amount: AlphaRao::new(TAO),
        limit_price: None,
    };
    chain.fails(&key(2), unstake.clone(), DispatchError::StakeLockedByVote { until });
    chain.fails(
        &key(2),
        Call::UnstakeAll { hotkey: id(20) },
        DispatchError::StakeLockedByVote { until },
    );
    // The other coldkey has nothing to vote with.
    chain.ok(&key(1), Call::Transfer { dest: id(6), amount: Rao::from_whole(1).unwrap() });
    chain.fails(&key(6), vote(0, VoteChoice::Yes), DispatchError::NoVotingPower);
    // Voting again replaces the vote: counted once.
    chain.ok(&key(2), vote(0, VoteChoice::No));
    let p = &chain.state.governance().proposals[&ProposalId(0)];
    let live = governance::tally(&chain.state, p);
    assert_eq!((live.yes, live.no), (Rao::ZERO, Rao::new(root_stake(&chain, 2, 20))));
    assert_eq!(live, recount(&chain.state, ProposalId(0)));
    run_to(&mut chain, ends);
    chain.ok(&key(2), give);
}

#[test]
fn nominators_follow_their_validator_unless_they_vote_themselves() {
    let mut chain = staked(gov_config());
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    // Hotkey 20 (the validator keys 2 and 4 nominate) votes yes: both stakes follow it.
    chain.ok(&key(1), Call::Transfer { dest: id(20), amount: Rao::from_whole(1).unwrap() });
    chain.ok(&key(20), vote(0, VoteChoice::Yes));
    let p = || chain_tally(&chain);
    fn chain_tally(chain: &Chain) -> Tally {
        governance::tally(&chain.state, &chain.state.governance().proposals[&ProposalId(0)])
    }
    let (s2, s4, s3) =
        (root_stake(&chain, 2, 20), root_stake(&chain, 4, 20), root_stake(&chain, 3, 21));
    assert_eq!((p().yes.get(), p().no.get()), (s2 + s4, 0));
    // Key 4 overrides with its own vote: counted once, with its own vote.
    chain.ok(&key(4), vote(0, VoteChoice::No));
    let t = chain_tally(&chain);
    assert_eq!((t.yes.get(), t.no.get(), t.total.get()), (s2, s4, s2 + s4 + s3));
    assert_eq!(t, recount(&chain.state, ProposalId(0)));
    let events = run_to(&mut chain, voting_ends(&receipt));
    let final_tally = events.iter().find_map(|e| match e {
        Event::ProposalPassed { tally, .. } => Some(*tally),
        _ => None,
    });
    assert_eq!(final_tally, Some(t), "600 yes of 700 decisive, 70 % turnout: passed");
}

#[test]
fn proposals_are_bounded_checked_and_cancellable() {
    let voting = 60;
    let mut chain = staked(gov_config_voting(voting));
    let malformed = DispatchError::ProposalMalformed;
    chain.fails(&key(5), propose(vec![]), malformed);
    chain.fails(&key(5), propose(vec![set_limit(7); 9]), malformed);
    let long_title = Call::Propose {
        calls: vec![set_limit(7)],
        title: "x".repeat(129),
        description: String::new(),
    };
    chain.fails(&key(5), long_title, malformed);
    let long_text = Call::Propose {
        calls: vec![set_limit(7)],
        title: "t".into(),
        description: "x".repeat(4_097),
    };
    chain.fails(&key(5), long_text, malformed);
    // Calls that would fail now are refused before they take a slot.
    chain.fails(&key(5), propose(vec![set_limit(0)]), DispatchError::InvalidValue);
    chain.fails(
        &key(5),
        propose(vec![PrivilegedCall::DissolveNetwork { netuid: NetUid::new(9) }]),
        DispatchError::SubnetNotExists,
    );
    // The deposit must be there.
    chain.ok(&key(1), Call::Transfer { dest: id(7), amount: Rao::from_whole(5).unwrap() });
    chain.fails(&key(7), propose(vec![set_limit(7)]), DispatchError::InsufficientBalance);
    // No such proposal; not the proposer.
    chain.fails(&key(2), vote(3, VoteChoice::Yes), DispatchError::ProposalNotOpen);
    let before = chain.free(5);
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    let cancel = Call::CancelProposal { proposal: ProposalId(0) };
    chain.fails(&key(2), cancel.clone(), DispatchError::NotProposer);
    let cancelled = chain.ok(&key(5), cancel.clone());
    assert!(cancelled.events.contains(&Event::ProposalCancelled { proposal: ProposalId(0) }));
    assert_eq!(
        chain.free(5),
        before.checked_sub(receipt.fee).unwrap().checked_sub(cancelled.fee).unwrap()
    );
    chain.fails(&key(5), cancel, DispatchError::ProposalNotOpen);
    chain.fails(&key(2), vote(0, VoteChoice::Yes), DispatchError::ProposalNotOpen);
    // At most MAX_OPEN_PROPOSALS open at once.
    for _ in 0..governance::MAX_OPEN_PROPOSALS {
        chain.ok(&key(5), propose(vec![set_limit(7)]));
    }
    assert_eq!(chain.state.governance().open_count(), governance::MAX_OPEN_PROPOSALS);
    chain.fails(&key(5), propose(vec![set_limit(7)]), DispatchError::TooManyProposals);
    // A vote after the end is refused.
    let later = chain.state.block().get() + voting + DELAY + 1;
    run_to(&mut chain, later);
    chain.fails(&key(2), vote(1, VoteChoice::Yes), DispatchError::ProposalNotOpen);
    assert_eq!(chain.state.governance().open_count(), 0, "all ended");
    assert_eq!(chain.state.tao_holdings().deposits, 0);
}

#[test]
fn a_chain_without_a_root_key_changes_its_parameters_by_vote() {
    let mut config = gov_config();
    config.sudo = None;
    let mut chain = staked(config);
    let direct = Call::SetGlobalParameter { value: GlobalParameter::SubnetLimit(7) };
    chain.fails(&key(1), direct, DispatchError::BadOrigin);
    let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
    chain.ok(&key(2), vote(0, VoteChoice::Yes));
    run_to(&mut chain, voting_ends(&receipt) + DELAY);
    assert_eq!(chain.state.chain().params.subnet_limit, 7);

    // Handing out a root key is critical: 600 yes of 1,000 (60 %) is not two thirds.
    let hand = vec![PrivilegedCall::SetSudo { key: Some(id(5)) }];
    let receipt = chain.ok(&key(5), propose(hand.clone()));
    chain.ok(&key(2), vote(1, VoteChoice::Yes));
    chain.ok(&key(3), vote(1, VoteChoice::No));
    let events = run_to(&mut chain, voting_ends(&receipt));
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::ProposalRejected { reason: Rejection::BelowThreshold, .. }
        )),
        "{events:?}"
    );
    assert_eq!(chain.state.chain().sudo, None);
    // With key 3 and 4 for it (100 %), it passes.
    let receipt = chain.ok(&key(5), propose(hand));
    for who in [2, 3, 4] {
        chain.ok(&key(who), vote(2, VoteChoice::Yes));
    }
    let events = run_to(&mut chain, voting_ends(&receipt) + DELAY);
    assert!(events.contains(&Event::SudoChanged { key: Some(id(5)) }), "{events:?}");
    assert_eq!(chain.state.chain().sudo, Some(id(5)));
}

#[test]
fn root_hands_over_or_removes_its_key() {
    let mut chain = Chain::new(gov_config());
    chain.fails(&key(2), Call::SetSudo { key: Some(id(2)) }, DispatchError::BadOrigin);
    chain.ok(&key(1), Call::SetSudo { key: None });
    assert_eq!(chain.state.chain().sudo, None);
    chain.fails(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::SubnetLimit(7) },
        DispatchError::BadOrigin,
    );
}

/// One random step: who does what (stakers 2..=5 on hotkeys 20/21, votes by them and by
/// the hotkeys).
#[derive(Debug, Clone)]
enum Step {
    Stake { who: u8, hotkey: u8, tao: u64 },
    Unstake { who: u8, hotkey: u8, tao: u64 },
    Give { who: u8, to: u8, hotkey: u8, tao: u64 },
    Vote { who: u8, choice: u8 },
    Wait,
}

fn step() -> impl Strategy<Value = Step> {
    let who = 2u8..=5;
    let hotkey = prop_oneof![Just(20u8), Just(21u8)];
    prop_oneof![
        (who.clone(), hotkey.clone(), 1u64..400).prop_map(|(who, hotkey, tao)| Step::Stake {
            who,
            hotkey,
            tao
        }),
        (who.clone(), hotkey.clone(), 1u64..400).prop_map(|(who, hotkey, tao)| Step::Unstake {
            who,
            hotkey,
            tao
        }),
        (who.clone(), 2u8..=5, hotkey, 1u64..400).prop_map(|(who, to, hotkey, tao)| Step::Give {
            who,
            to,
            hotkey,
            tao
        }),
        (prop_oneof![2u8..=5, Just(20u8), Just(21u8)], 0u8..4)
            .prop_map(|(who, choice)| Step::Vote { who, choice }),
        Just(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever is staked, moved and voted, the live tally equals a recount from the
    /// recorded votes after every block, the final tally equals the recount at the last
    /// block of voting, and TAO is conserved to the RAO with the deposit held, returned or
    /// burned (the chain checks `Σ free + pools + root stake + deposits = issuance` after
    /// every block).
    #[test]
    fn tallies_equal_a_recount_and_tao_is_conserved(steps in proptest::collection::vec(step(), 1..12)) {
        let mut chain = staked(gov_config());
        for hotkey in [20, 21] {
            chain.ok(&key(1), Call::Transfer { dest: id(hotkey), amount: Rao::from_whole(1).unwrap() });
        }
        let receipt = chain.ok(&key(5), propose(vec![set_limit(7)]));
        let ends = voting_ends(&receipt);
        for step in steps {
            if chain.state.block().get() >= ends {
                break;
            }
            let (signer, call) = match step {
                Step::Stake { who, hotkey, tao } => (who, Call::AddStake { hotkey: id(hotkey), netuid: NetUid::ROOT, amount: Rao::from_whole(tao).unwrap(), limit_price: None }),
                Step::Unstake { who, hotkey, tao } => (who, Call::RemoveStake { hotkey: id(hotkey), netuid: NetUid::ROOT, amount: AlphaRao::new(tao * TAO), limit_price: None }),
                Step::Give { who, to, hotkey, tao } => (who, Call::TransferStake { destination_coldkey: id(to), hotkey: id(hotkey), origin_netuid: NetUid::ROOT, destination_netuid: NetUid::ROOT, amount: AlphaRao::new(tao * TAO) }),
                Step::Vote { who, choice } => (who, vote(0, [VoteChoice::Yes, VoteChoice::No, VoteChoice::Abstain, VoteChoice::Veto][usize::from(choice)])),
                Step::Wait => { chain.block(Vec::new()); continue; }
            };
            let receipt = chain.run(&key(signer), call);
            prop_assert!(!matches!(receipt.outcome, Outcome::Invalid(_)), "{receipt:?}");
            let p = &chain.state.governance().proposals[&ProposalId(0)];
            prop_assert_eq!(governance::tally(&chain.state, p), recount(&chain.state, ProposalId(0)));
        }
        while chain.state.block().get() < ends {
            chain.block(Vec::new());
        }
        let p = &chain.state.governance().proposals[&ProposalId(0)];
        prop_assert_eq!(p.tally, Some(recount(&chain.state, ProposalId(0))));
        prop_assert_eq!(chain.state.tao_holdings().deposits, 0);
        prop_assert_eq!(chain.state.tao_holdings().total(), u128::from(chain.state.total_issuance().get()));
    }
}

#[test]
fn every_global_parameter_reads_back_by_name() {
    let params = tao_runtime::GlobalParams::default().as_parameters();
    let names: Vec<&str> = params.iter().map(GlobalParameter::name).collect();
    assert_eq!(names, GlobalParameter::NAMES);
    for p in params {
        assert_eq!(GlobalParameter::parse(p.name(), &p.value_text()), Ok(p));
    }
    assert!(GlobalParameter::parse("subnet_limt", "5").unwrap_err().contains("subnet_limit"));
    assert!(GlobalParameter::parse("subnet_limit", "x").is_err());
}
