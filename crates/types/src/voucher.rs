//! Payment-channel vouchers: a payer's signature over a cumulative amount.
//!
//! A voucher says "the payee of channel `channel` on chain `genesis_hash` may take up to
//! `amount` RAO of my deposit in total". Each new voucher replaces the last (amounts are
//! cumulative), so the payee keeps only the latest and claims once.
//!
//! The signed bytes are [`VOUCHER_NAMESPACE`] then the SCALE encoding of
//! `(genesis_hash, channel, amount)`: the namespace keeps a voucher signature from ever
//! verifying as a transaction (whose payloads start with [`crate::TX_NAMESPACE`]) or the
//! reverse; the genesis hash makes it worthless on another chain; the channel id (never
//! reused by the chain) makes it worthless on another channel.

use crate::{Hash, Keypair, Signature};
use codec::{Decode, Encode};
use tao_primitives::{AccountId, ChannelId, Rao};

/// Prefix of every voucher's signed payload (domain separation).
pub const VOUCHER_NAMESPACE: &[u8] = b"tao/voucher/v1";

/// What a voucher's signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Voucher {
    /// The chain (its genesis hash).
    pub genesis_hash: Hash,
    /// The channel.
    pub channel: ChannelId,
    /// The cumulative amount the payee may claim.
    pub amount: Rao,
}

impl Voucher {
    /// The bytes the payer signs: [`VOUCHER_NAMESPACE`] then the SCALE encoding.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = VOUCHER_NAMESPACE.to_vec();
        self.encode_to(&mut payload);
        payload
    }

    /// Signs with the payer's key.
    pub fn sign(self, payer: &Keypair) -> SignedVoucher {
        let signature = payer.sign(&self.signing_payload());
        SignedVoucher { voucher: self, signature }
    }
}

/// A voucher with the payer's sr25519 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedVoucher {
    /// What is signed.
    pub voucher: Voucher,
    /// The payer's signature of [`Voucher::signing_payload`].
    pub signature: Signature,
}

impl SignedVoucher {
    /// Whether `payer` signed it.
    pub fn verify(&self, payer: &AccountId) -> bool {
        self.signature.verify(payer, &self.voucher.signing_payload())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Call, Transaction};

    #[test]
    fn a_voucher_binds_chain_channel_amount_and_payer() {
        let payer = Keypair::from_seed(&[1; 32]);
        let voucher = Voucher {
            genesis_hash: Hash([7; 32]),
            channel: ChannelId::new(3),
            amount: Rao::new(9),
        };
        let signed = voucher.sign(&payer);
        assert!(signed.verify(&payer.account()));
        assert!(!signed.verify(&Keypair::from_seed(&[2; 32]).account()));
        for tamper in [
            |v: &mut Voucher| v.genesis_hash = Hash([8; 32]),
            |v: &mut Voucher| v.channel = ChannelId::new(4),
            |v: &mut Voucher| v.amount = Rao::new(10),
        ] {
            let mut forged = signed;
            tamper(&mut forged.voucher);
            assert!(!forged.verify(&payer.account()));
        }
        // The same fields signed without the namespace are no voucher.
        let raw = payer.sign(&voucher.encode());
        assert!(!SignedVoucher { voucher, signature: raw }.verify(&payer.account()));
        // A transaction signature never verifies as a voucher.
        let tx = Transaction {
            genesis_hash: Hash([7; 32]),
            signer: payer.account(),
            nonce: 0,
            call: Call::TriggerEpoch { netuid: tao_primitives::NetUid::new(1) },
        }
        .sign(&payer);
        assert!(!SignedVoucher { voucher, signature: tx.signature }.verify(&payer.account()));
    }
}
