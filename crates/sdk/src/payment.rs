//! Pay-per-request over payment channels: the axon's side ([`Payee`]: HTTP 402, voucher
//! checks, a durable voucher book, claims before expiry) and the consumer's ([`Payer`]:
//! opens or reuses a channel per payee, answers 402s, attaches vouchers, stops at a budget).
//!
//! The protocol (x402-style; `docs/payments-miners.md` and `docs/payments-consumers.md`):
//!
//! ```text
//! consumer                                   axon (synapse with require_payment(price))
//!   POST /TextPrediction ───────────────────▶ no x-tao-voucher: 402 at once (no crypto)
//!   ◀── 402  x-tao-price, x-tao-payee, x-tao-genesis, x-tao-min-blocks-left, x-tao-reason
//!   open_channel(payee, deposit, expiry) on chain (once per payee; reused after)
//!   POST + x-tao-voucher: <channel>:<cumulative RAO>:<0x signature> ─▶
//!        cheap checks (format, amount ≥ last accepted + price, cached channel: payee,
//!        deposit, blocks left), then the payer's signature, then the voucher is kept
//!        durably (written and synced, group-committed) before the request is served
//!   ◀── 200  x-tao-accepted: <cumulative RAO>       (or 402 with the reason and the last
//!                                                    accepted amount, to resynchronise)
//! axon, in the background: claim_channel(latest voucher) before the channel expires
//! ```
//!
//! Bounds: the channel cache and the voucher book hold at most a configured number of
//! channels; chain look-ups run at most [`MAX_LOOKUPS`] at once (503 beyond); a voucher
//! header is at most [`MAX_VOUCHER_HEADER`] bytes.

use crate::chain::{api, ChainClient, ChainError};
use crate::dendrite::{Dendrite, Query, Reply, Target};
use codec::{Decode, Encode};
use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Condvar, Mutex,
    },
    time::{Duration, Instant},
};
use tao_primitives::{AccountId, BlockNumber, ChannelId, Rao};
use tao_types::{Call, Hash, Signature, SignedVoucher, Voucher};
use tao_wallet::Keypair;
use tokio::sync::{watch, Semaphore};

/// Request header: the voucher, `<channel id>:<cumulative amount in RAO>:<0x signature>`.
pub const VOUCHER_HEADER: &str = "x-tao-voucher";
/// 402 header: the price of one request, RAO.
pub const PRICE_HEADER: &str = "x-tao-price";
/// 402 header: the account channels must pay (SS58).
pub const PAYEE_HEADER: &str = "x-tao-payee";
/// 402 header: the chain's genesis hash (0x-hex); vouchers sign for it.
pub const GENESIS_HEADER: &str = "x-tao-genesis";
/// 402 header: the fewest blocks a channel must have left before its expiry.
pub const MIN_BLOCKS_HEADER: &str = "x-tao-min-blocks-left";
/// 402 header: why the request was refused (see [`Refusal::reason`]).
pub const REASON_HEADER: &str = "x-tao-reason";
/// 402 and 200 header: the cumulative amount (RAO) the axon holds for the channel named.
pub const ACCEPTED_HEADER: &str = "x-tao-accepted";
/// The longest voucher header accepted.
pub const MAX_VOUCHER_HEADER: usize = 200;
/// Chain look-ups of unknown channels in flight at once (503 beyond).
pub const MAX_LOOKUPS: usize = 8;

/// A boxed future, for the [`ChannelSource`] trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The voucher header value for `voucher`.
pub fn encode_voucher(voucher: &SignedVoucher) -> String {
    format!(
        "{}:{}:{}",
        voucher.voucher.channel.get(),
        voucher.voucher.amount.get(),
        tao_primitives::hex::encode(&voucher.signature.0)
    )
}

/// Parses a voucher header (for the chain `genesis_hash`); `None` if malformed or too long.
pub fn decode_voucher(text: &str, genesis_hash: Hash) -> Option<SignedVoucher> {
    if text.len() > MAX_VOUCHER_HEADER {
        return None;
    }
    let mut parts = text.trim().split(':');
    let channel = ChannelId::new(parts.next()?.parse().ok()?);
    let amount = Rao::new(parts.next()?.parse().ok()?);
    let signature: [u8; 64] = tao_primitives::hex::decode(parts.next()?).ok()?.try_into().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(SignedVoucher {
        voucher: Voucher { genesis_hash, channel, amount },
        signature: Signature(signature),
    })
}

/// Signs a voucher with a wallet key (sr25519); `None` if the key has no secret.
pub fn sign_voucher(
    key: &Keypair,
    genesis_hash: Hash,
    channel: ChannelId,
    amount: Rao,
) -> Option<SignedVoucher> {
    let voucher = Voucher { genesis_hash, channel, amount };
    let signature = key.sign(&voucher.signing_payload())?;
    Some(SignedVoucher { voucher, signature: Signature(signature) })
}

// ---------------------------------------------------------------------------------------
// The payee (axon) side.
// ---------------------------------------------------------------------------------------

/// What the axon needs to know of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Who signs vouchers.
    pub payer: AccountId,
    /// Who is paid.
    pub payee: AccountId,
    /// TAO locked in total, RAO.
    pub deposit: Rao,
    /// TAO claimed so far.
    pub claimed: Rao,
    /// The block from which the payer may close it.
    pub expiry: BlockNumber,
}

impl ChannelInfo {
    /// From the RPC's view of a channel.
    pub fn from_api(c: &api::Channel) -> Self {
        Self {
            payer: c.payer.0,
            payee: c.payee.0,
            deposit: Rao::new(c.deposit),
            claimed: Rao::new(c.claimed),
            expiry: BlockNumber::new(c.expiry),
        }
    }
}

/// How a claim ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Paid.
    Claimed,
    /// The chain holds this much or more as claimed already.
    AlreadyClaimed,
    /// The channel is closed (or never existed): nothing can be claimed any more.
    Gone,
}

/// Where the axon reads channels and sends claims: the chain ([`ChainSource`]) or, in
/// tests and benchmarks, a fixed table.
pub trait ChannelSource: Send + Sync + 'static {
    /// A channel (`None` if not open) and the chain's head block number.
    fn lookup(&self, id: ChannelId) -> BoxFuture<'_, Result<(Option<ChannelInfo>, u64), String>>;
    /// The chain's head block number.
    fn head(&self) -> BoxFuture<'_, Result<u64, String>>;
    /// Submits a claim with `voucher` and waits for it to be final.
    fn claim(&self, voucher: SignedVoucher) -> BoxFuture<'_, Result<ClaimOutcome, String>>;
}

/// The chain as a [`ChannelSource`]: reads through the typed RPC; claims are signed (and
/// their fees paid) by `key`.
pub struct ChainSource {
    chain: ChainClient,
    key: Keypair,
}

impl ChainSource {
    /// Reads from `chain`; claims signed by `key` (it pays the claim fees).
    pub fn new(chain: ChainClient, key: Keypair) -> Self {
        Self { chain, key }
    }
}

impl ChannelSource for ChainSource {
    fn lookup(&self, id: ChannelId) -> BoxFuture<'_, Result<(Option<ChannelInfo>, u64), String>> {
        Box::pin(async move {
            let channel = self
                .chain
                .request::<api::method::Channel>((id.get(),))
                .await
                .map_err(|e| e.to_string())?;
            let head = self.chain.request::<api::method::ChainHead>(()).await;
            let head = head.map_err(|e| e.to_string())?.number;
            Ok((channel.as_ref().map(ChannelInfo::from_api), head))
        })
    }

    fn head(&self) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move {
            let head = self.chain.request::<api::method::ChainHead>(()).await;
            Ok(head.map_err(|e| e.to_string())?.number)
        })
    }

    fn claim(&self, voucher: SignedVoucher) -> BoxFuture<'_, Result<ClaimOutcome, String>> {
        Box::pin(async move {
            let call = Call::ClaimChannel { voucher };
            match self.chain.submit(&self.key, call, Duration::from_secs(60)).await {
                Ok(_) => Ok(ClaimOutcome::Claimed),
                Err(e) => match e.chain_error() {
                    Some("VoucherAlreadyClaimed") => Ok(ClaimOutcome::AlreadyClaimed),
                    Some("ChannelNotFound") => Ok(ClaimOutcome::Gone),
                    _ => Err(e.to_string()),
                },
            }
        })
    }
}

/// A table of channels in memory (tests and benchmarks): claims are checked as the chain
/// checks them and recorded, nothing is sent.
#[derive(Default)]
pub struct MemorySource {
    /// The open channels.
    pub channels: Mutex<BTreeMap<ChannelId, ChannelInfo>>,
    /// The head block number.
    pub head: AtomicU64,
    /// Claims paid, in order.
    pub claims: Mutex<Vec<SignedVoucher>>,
    /// Look-ups made.
    pub lookups: AtomicU64,
}

impl ChannelSource for MemorySource {
    fn lookup(&self, id: ChannelId) -> BoxFuture<'_, Result<(Option<ChannelInfo>, u64), String>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let info = self.channels.lock().ok().and_then(|c| c.get(&id).copied());
        let head = self.head.load(Ordering::Relaxed);
        Box::pin(async move { Ok((info, head)) })
    }

    fn head(&self) -> BoxFuture<'_, Result<u64, String>> {
        let head = self.head.load(Ordering::Relaxed);
        Box::pin(async move { Ok(head) })
    }

    fn claim(&self, voucher: SignedVoucher) -> BoxFuture<'_, Result<ClaimOutcome, String>> {
        let outcome = (|| {
            let mut channels = self.channels.lock().map_err(|_| "poisoned".to_owned())?;
            let Some(c) = channels.get_mut(&voucher.voucher.channel) else {
                return Ok(ClaimOutcome::Gone);
            };
            let amount = voucher.voucher.amount;
            if !voucher.verify(&c.payer) || amount > c.deposit {
                return Err("invalid voucher".to_owned());
            }
            if amount <= c.claimed {
                return Ok(ClaimOutcome::AlreadyClaimed);
            }
            c.claimed = amount;
            self.claims.lock().map_err(|_| "poisoned".to_owned())?.push(voucher);
            Ok(ClaimOutcome::Claimed)
        })();
        Box::pin(async move { outcome })
    }
}

/// The payee's terms and limits.
#[derive(Clone, Debug)]
pub struct PayeeConfig {
    /// The account channels must pay (the miner's hotkey or coldkey).
    pub payee: AccountId,
    /// The chain's genesis hash.
    pub genesis_hash: Hash,
    /// Vouchers are refused on channels with fewer blocks than this before their expiry
    /// (the time left to claim).
    pub min_blocks_left: u64,
    /// The latest voucher of a channel is claimed once this few blocks are left.
    pub claim_before_blocks: u64,
    /// Also claim everything unclaimed this often (`None`: only before expiry).
    pub claim_every: Option<Duration>,
    /// How long a channel read from the chain is trusted.
    pub cache_ttl: Duration,
    /// Most channels held in the cache (unknown ones included).
    pub max_cached: usize,
    /// Most channels with a kept voucher (new channels are refused beyond: 503).
    pub max_channels: usize,
    /// The directory where the latest vouchers are kept (`vouchers.a`, `vouchers.b`).
    pub store: PathBuf,
    /// How durable a voucher is before the paid request is answered.
    pub durability: Durability,
}

/// How durable a voucher is before the request it paid is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Written and synced to the disk (fdatasync): survives the process being killed and a
    /// power cut. The default.
    Synced,
    /// Written to the operating system only: survives the process being killed, not a
    /// power cut (which may lose the vouchers of the last moments). Faster under load.
    Written,
}

impl PayeeConfig {
    /// Defaults: 20 blocks left at least, claim at 20 blocks left, 2 s cache, 4,096
    /// channels cached and kept.
    pub fn new(payee: AccountId, genesis_hash: Hash, store: PathBuf) -> Self {
        Self {
            payee,
            genesis_hash,
            min_blocks_left: 20,
            claim_before_blocks: 20,
            claim_every: None,
            cache_ttl: Duration::from_secs(2),
            max_cached: 4_096,
            max_channels: 4_096,
            store,
            durability: Durability::Synced,
        }
    }
}

/// A voucher accepted by [`Payee::accept`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The cumulative amount accepted.
    pub amount: Rao,
    /// The book generation to wait for ([`Payee::wait_durable`]).
    pub generation: u64,
}

/// Why a request was not accepted as paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 402 (pay, or pay correctly) or 503 (the axon cannot check now).
    pub status: u16,
    /// A short machine-readable reason: `payment-required`, `malformed-voucher`,
    /// `insufficient`, `unknown-channel`, `wrong-payee`, `above-deposit`,
    /// `channel-expiring`, `bad-signature`, `busy`, `full`, `store-failed`.
    pub reason: &'static str,
    /// The cumulative amount the axon holds for the channel named, if any.
    pub accepted: Option<Rao>,
}

impl Refusal {
    fn new(status: u16, reason: &'static str) -> Self {
        Self { status, reason, accepted: None }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cached {
    info: Option<ChannelInfo>,
    head: u64,
    at: Instant,
}

/// One channel's latest voucher in the book.
#[derive(Clone, Copy, Debug, Encode, Decode)]
struct Kept {
    voucher: SignedVoucher,
    expiry: BlockNumber,
    /// What the chain held as claimed when last seen (or after our claim).
    claimed: Rao,
}

#[derive(Default)]
struct Book {
    kept: BTreeMap<ChannelId, Kept>,
    /// Channels whose file must be written (or removed, if no longer kept).
    dirty: BTreeSet<ChannelId>,
    /// Increments with each change; the writer publishes the generation it made durable.
    generation: u64,
}

struct PayeeInner {
    config: PayeeConfig,
    source: Arc<dyn ChannelSource>,
    cache: Mutex<BTreeMap<ChannelId, Cached>>,
    lookups: Semaphore,
    head: AtomicU64,
    book: Mutex<Book>,
    wake_writer: Condvar,
    /// The generation made durable, and the last write error (if writes fail).
    durable: watch::Sender<(u64, Option<String>)>,
}

/// The axon's side of payments: checks vouchers, keeps the latest per channel durably,
/// and claims them ([`Payee::spawn_claimer`]). Cheap to clone.
#[derive(Clone)]
pub struct Payee {
    inner: Arc<PayeeInner>,
}

/// What the payee holds for a channel (for monitoring and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeptVoucher {
    /// The channel.
    pub channel: ChannelId,
    /// The latest cumulative amount accepted.
    pub amount: Rao,
    /// What the chain held as claimed when last seen.
    pub claimed: Rao,
    /// The channel's expiry.
    pub expiry: BlockNumber,
}

/// The voucher book's two files (written alternately) in its directory.
const BOOK_FILES: [&str; 2] = ["vouchers.a", "vouchers.b"];
/// The start of a book file.
const BOOK_MAGIC: &[u8; 8] = b"taovchr1";

/// A book file's bytes: magic, generation (u64 LE), payload length (u64 LE), BLAKE2b-256
/// of the payload, payload (the SCALE `Vec<Kept>`).
fn book_bytes(generation: u64, payload: &[u8]) -> Vec<u8> {
    let mut bytes = BOOK_MAGIC.to_vec();
    bytes.extend_from_slice(&generation.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&tao_types::blake2_256(payload).0);
    bytes.extend_from_slice(payload);
    bytes
}

/// A book file's generation and entries, if it is whole (a write cut short by a crash
/// fails its checksum, and the other file is read).
fn read_book(bytes: &[u8]) -> Option<(u64, Vec<Kept>)> {
    let rest = bytes.strip_prefix(BOOK_MAGIC.as_slice())?;
    let generation = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    let len = usize::try_from(u64::from_le_bytes(rest.get(8..16)?.try_into().ok()?)).ok()?;
    let checksum = rest.get(16..48)?;
    let payload = rest.get(48..48usize.checked_add(len)?)?;
    if tao_types::blake2_256(payload).0 != checksum {
        return None;
    }
    Some((generation, Vec::<Kept>::decode(&mut &payload[..]).ok()?))
}

/// The writer's files: two, written in turn in place, each write followed by fdatasync; the
/// one not being written always holds a whole earlier book. (A temporary file renamed over
/// the book needs a second fsync, of the directory, per write: 5.8 ms against 1.8 ms per
/// write measured on this machine's ext4.)
struct BookFiles {
    files: [std::fs::File; 2],
    next: usize,
    generation: u64,
}

impl BookFiles {
    /// Opens (creating) both files; the newest whole book and the files.
    fn open(dir: &Path) -> std::io::Result<(Vec<Kept>, Self)> {
        let open = |name: &str| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join(name))
        };
        let files = [open(BOOK_FILES[0])?, open(BOOK_FILES[1])?];
        // The files' entries are durable once the directory is.
        std::fs::File::open(dir)?.sync_all()?;
        let mut newest: Option<(u64, Vec<Kept>, usize)> = None;
        for (i, name) in BOOK_FILES.iter().enumerate() {
            let bytes = std::fs::read(dir.join(name))?;
            if let Some((generation, kept)) = read_book(&bytes) {
                if newest.as_ref().is_none_or(|(g, _, _)| generation > *g) {
                    newest = Some((generation, kept, i));
                }
            }
        }
        let (generation, kept, last) = newest.unwrap_or((0, Vec::new(), 1));
        Ok((kept, Self { files, next: 1 - last, generation }))
    }

    /// Writes `payload` as the next generation into the file not holding the last one.
    fn write(&mut self, payload: &[u8], durability: Durability) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.generation = self.generation.saturating_add(1);
        let bytes = book_bytes(self.generation, payload);
        let file = &self.files[self.next];
        file.write_all_at(&bytes, 0)?;
        file.set_len(bytes.len() as u64)?;
        if durability == Durability::Synced {
            file.sync_data()?;
        }
        self.next = 1 - self.next;
        Ok(())
    }
}

impl Payee {
    /// A payee with the vouchers kept in `config.store` (created if missing; vouchers kept
    /// there by an earlier run are loaded, so a restarted miner still claims them).
    pub fn open(config: PayeeConfig, source: Arc<dyn ChannelSource>) -> std::io::Result<Self> {
        std::fs::create_dir_all(&config.store)?;
        let mut book = Book::default();
        let (kept, files) = BookFiles::open(&config.store)?;
        for k in kept.into_iter().filter(|k| k.voucher.voucher.genesis_hash == config.genesis_hash)
        {
            book.kept.insert(k.voucher.voucher.channel, k);
        }
        let (durable, _) = watch::channel((0, None));
        let inner = Arc::new(PayeeInner {
            config,
            source,
            cache: Mutex::new(BTreeMap::new()),
            lookups: Semaphore::new(MAX_LOOKUPS),
            head: AtomicU64::new(0),
            book: Mutex::new(book),
            wake_writer: Condvar::new(),
            durable,
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("tao-vouchers".into())
            .spawn(move || writer(weak, files))?;
        Ok(Self { inner })
    }

    /// The terms.
    pub fn config(&self) -> &PayeeConfig {
        &self.inner.config
    }

    /// Channels held in the cache (unknown ones included).
    pub fn cached_channels(&self) -> usize {
        self.inner.cache.lock().map_or(0, |c| c.len())
    }

    /// Every voucher kept, by channel.
    pub fn kept(&self) -> Vec<KeptVoucher> {
        let book = match self.inner.book.lock() {
            Ok(book) => book,
            Err(_) => return Vec::new(),
        };
        book.kept
            .iter()
            .map(|(id, k)| KeptVoucher {
                channel: *id,
                amount: k.voucher.voucher.amount,
                claimed: k.claimed,
                expiry: k.expiry,
            })
            .collect()
    }

    fn cached(&self, id: ChannelId, fresh_for: Duration) -> Option<Cached> {
        let cache = self.inner.cache.lock().ok()?;
        cache.get(&id).copied().filter(|c| c.at.elapsed() < fresh_for)
    }

    async fn channel(&self, id: ChannelId, fresh_for: Duration) -> Result<Cached, Refusal> {
        if let Some(cached) = self.cached(id, fresh_for) {
            return Ok(cached);
        }
        let Ok(_permit) = self.inner.lookups.try_acquire() else {
            return Err(Refusal::new(503, "busy"));
        };
        let (info, head) =
            self.inner.source.lookup(id).await.map_err(|_| Refusal::new(503, "busy"))?;
        self.inner.head.fetch_max(head, Ordering::Relaxed);
        let entry = Cached { info, head, at: Instant::now() };
        if let Ok(mut cache) = self.inner.cache.lock() {
            if cache.len() >= self.inner.config.max_cached && !cache.contains_key(&id) {
                // Full: forget the oldest entry (one scan, bounded by the cap).
                let oldest = cache.iter().min_by_key(|(_, c)| c.at).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    cache.remove(&oldest);
                }
            }
            cache.insert(id, entry);
        }
        Ok(entry)
    }

    /// Checks the voucher header (if any) of a request priced `price` and, if it pays,
    /// keeps it durably; returns the cumulative amount accepted. Cheap checks come first
    /// (no header, format, amount against the last accepted), then the channel (cached),
    /// then the signature; the request may be served once this returns `Ok`.
    pub async fn check(&self, header: Option<&str>, price: Rao) -> Result<Rao, Refusal> {
        let paid = self.accept(header, price).await?;
        self.wait_durable(paid.generation).await?;
        Ok(paid.amount)
    }

    /// [`Payee::check`] without waiting for the voucher to be on disk: the caller must
    /// [`Payee::wait_durable`] before it answers (the axon does the request's other work
    /// meanwhile, so the disk's sync overlaps it).
    pub async fn accept(&self, header: Option<&str>, price: Rao) -> Result<Accepted, Refusal> {
        let header = header.ok_or(Refusal::new(402, "payment-required"))?;
        let config = &self.inner.config;
        let voucher = decode_voucher(header, config.genesis_hash)
            .ok_or(Refusal::new(402, "malformed-voucher"))?;
        let id = voucher.voucher.channel;
        let amount = voucher.voucher.amount;
        let last = self.last_accepted(id);
        let insufficient =
            |last: Rao| Refusal { status: 402, reason: "insufficient", accepted: Some(last) };
        if let Some(last) = last {
            if amount < last.saturating_add(price) {
                return Err(insufficient(last));
            }
        }
        let mut channel = self.channel(id, config.cache_ttl).await?;
        let over = channel.info.is_some_and(|c| amount > c.deposit);
        if over && channel.at.elapsed() > Duration::from_secs(1) {
            // Perhaps topped up since: read it again (at most once a second per channel).
            channel = self.channel(id, Duration::ZERO).await?;
        }
        let info = channel.info.ok_or(Refusal::new(402, "unknown-channel"))?;
        if info.payee != config.payee {
            return Err(Refusal::new(402, "wrong-payee"));
        }
        let last = last.unwrap_or(info.claimed);
        if amount < last.saturating_add(price) {
            return Err(insufficient(last));
        }
        if amount > info.deposit {
            return Err(Refusal { status: 402, reason: "above-deposit", accepted: Some(last) });
        }
        let head = self.inner.head.load(Ordering::Relaxed).max(channel.head);
        if info.expiry.get().saturating_sub(head) < config.min_blocks_left {
            return Err(Refusal::new(402, "channel-expiring"));
        }
        if !voucher.verify(&info.payer) {
            return Err(Refusal::new(402, "bad-signature"));
        }
        let generation = self.keep(voucher, info, price)?;
        Ok(Accepted { amount, generation })
    }

    fn last_accepted(&self, id: ChannelId) -> Option<Rao> {
        let book = self.inner.book.lock().ok()?;
        book.kept.get(&id).map(|k| k.voucher.voucher.amount)
    }

    /// Records `voucher` as the channel's latest (re-checking under the lock, so two
    /// requests cannot spend one voucher); the generation to wait for.
    fn keep(&self, voucher: SignedVoucher, info: ChannelInfo, price: Rao) -> Result<u64, Refusal> {
        let mut book = self.inner.book.lock().map_err(|_| Refusal::new(503, "busy"))?;
        let id = voucher.voucher.channel;
        let book = &mut *book;
        match book.kept.get_mut(&id) {
            Some(kept) => {
                let last = kept.voucher.voucher.amount;
                if voucher.voucher.amount < last.saturating_add(price) {
                    return Err(Refusal {
                        status: 402,
                        reason: "insufficient",
                        accepted: Some(last),
                    });
                }
                kept.voucher = voucher;
                kept.expiry = info.expiry;
            }
            None => {
                if book.kept.len() >= self.inner.config.max_channels {
                    return Err(Refusal::new(503, "full"));
                }
                book.kept.insert(id, Kept { voucher, expiry: info.expiry, claimed: info.claimed });
            }
        }
        book.dirty.insert(id);
        book.generation = book.generation.saturating_add(1);
        self.inner.wake_writer.notify_one();
        Ok(book.generation)
    }

    /// Waits until the book holding `generation` is on disk (503 `store-failed` if the
    /// writes fail).
    pub async fn wait_durable(&self, generation: u64) -> Result<(), Refusal> {
        let mut durable = self.inner.durable.subscribe();
        let waited = durable.wait_for(|(done, error)| *done >= generation || error.is_some()).await;
        match waited.map(|v| v.1.clone()) {
            Ok(None) => Ok(()),
            _ => Err(Refusal::new(503, "store-failed")),
        }
    }

    /// Claims every kept voucher that is due: fewer than `claim_before_blocks` left before
    /// its channel's expiry, or any unclaimed one when `all`. Forgets channels that are
    /// gone (closed) or expired and fully claimed. Returns how many claims were paid.
    pub async fn claim_due(&self, all: bool) -> Result<usize, String> {
        let head = self.inner.source.head().await?;
        self.inner.head.fetch_max(head, Ordering::Relaxed);
        let due: Vec<Kept> = {
            let book = self.inner.book.lock().map_err(|_| "voucher book poisoned".to_owned())?;
            book.kept.values().copied().collect()
        };
        let mut paid = 0;
        for kept in due {
            let id = kept.voucher.voucher.channel;
            let amount = kept.voucher.voucher.amount;
            let left = kept.expiry.get().saturating_sub(head);
            let unclaimed = amount > kept.claimed;
            let claim_now = unclaimed && (all || left <= self.inner.config.claim_before_blocks);
            let outcome =
                if claim_now { Some(self.inner.source.claim(kept.voucher).await?) } else { None };
            let mut book =
                self.inner.book.lock().map_err(|_| "voucher book poisoned".to_owned())?;
            let book = &mut *book;
            let Some(entry) = book.kept.get_mut(&id) else { continue };
            match outcome {
                Some(ClaimOutcome::Claimed) => {
                    paid += 1;
                    entry.claimed = entry.claimed.max(amount);
                }
                Some(ClaimOutcome::AlreadyClaimed) => entry.claimed = entry.claimed.max(amount),
                Some(ClaimOutcome::Gone) => {
                    book.kept.remove(&id);
                }
                None => {}
            }
            let finished = book
                .kept
                .get(&id)
                .is_some_and(|e| head >= e.expiry.get() && e.voucher.voucher.amount <= e.claimed);
            if finished {
                book.kept.remove(&id);
            }
            book.dirty.insert(id);
            book.generation = book.generation.saturating_add(1);
            self.inner.wake_writer.notify_one();
        }
        Ok(paid)
    }

    /// Runs [`Payee::claim_due`] every `interval` in the background (and claims everything
    /// every `claim_every`, if set), until the payee is dropped.
    pub fn spawn_claimer(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut last_all = Instant::now();
            loop {
                tokio::time::sleep(interval).await;
                let Some(inner) = weak.upgrade() else { return };
                let payee = Payee { inner };
                let every = payee.inner.config.claim_every;
                let all = every.is_some_and(|every| last_all.elapsed() >= every);
                if all {
                    last_all = Instant::now();
                }
                if let Err(e) = payee.claim_due(all).await {
                    eprintln!("payments: claiming failed (will retry): {e}");
                }
            }
        })
    }
}

/// The voucher writer: writes the whole book (every channel's latest voucher, at most
/// `max_channels`) into the book file not holding the last write, syncs it, then
/// publishes the generation it holds. Group commit: every voucher accepted while a write
/// runs goes into the next one, so the disk sees one sync per batch, not per request.
fn writer(inner: std::sync::Weak<PayeeInner>, mut files: BookFiles) {
    loop {
        let Some(payee) = inner.upgrade() else { return };
        let (generation, payload) = {
            let Ok(mut book) = payee.book.lock() else { return };
            while book.dirty.is_empty() {
                let waited = payee.wake_writer.wait_timeout(book, Duration::from_millis(500));
                let Ok((guard, _)) = waited else { return };
                book = guard;
                if book.dirty.is_empty() && Arc::strong_count(&payee) == 1 {
                    return;
                }
            }
            book.dirty.clear();
            let kept: Vec<Kept> = book.kept.values().copied().collect();
            (book.generation, kept.encode())
        };
        let result = files.write(&payload, payee.config.durability);
        let dir = &payee.config.store;
        let error = result.err().map(|e| format!("writing vouchers to {}: {e}", dir.display()));
        payee.durable.send_replace((generation, error));
    }
}

// ---------------------------------------------------------------------------------------
// The payer (consumer) side.
// ---------------------------------------------------------------------------------------

/// Why a paid query could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// Paying would go past the budget.
    #[error("budget exhausted: {spent} of {budget} TAO spent, the next request costs {price} TAO")]
    BudgetExhausted {
        /// The budget.
        budget: Rao,
        /// Spent so far.
        spent: Rao,
        /// The price asked.
        price: Rao,
    },
    /// The axon asks more per request than the payer accepts.
    #[error("the axon asks {price} TAO per request, above the limit of {max} TAO")]
    PriceTooHigh {
        /// Its price.
        price: Rao,
        /// The limit.
        max: Rao,
    },
    /// The axon's 402 lacked or garbled its terms, or it is on another chain.
    #[error("the axon's payment terms are unusable: {0}")]
    BadTerms(String),
    /// The axon refused the voucher again after a retry.
    #[error("the axon refused payment: {0}")]
    Refused(String),
    /// Opening or topping up a channel failed.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The key cannot sign.
    #[error("the payer's key has no secret")]
    NoSecret,
}

/// A payer's settings.
#[derive(Clone, Debug)]
pub struct PayerConfig {
    /// The most the payer will sign away in vouchers, over all payees.
    pub budget: Rao,
    /// The most it pays for one request.
    pub max_price: Rao,
    /// Deposit of a new channel (or of a top-up), capped by what is left of the budget.
    pub deposit: Rao,
    /// Lifetime of a new channel, in blocks.
    pub lifetime_blocks: u64,
}

/// A channel the payer pays through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayerChannel {
    /// Its id.
    pub id: ChannelId,
    /// The payee.
    pub payee: AccountId,
    /// TAO locked.
    pub deposit: Rao,
    /// The cumulative amount of the latest voucher signed.
    pub cumulative: Rao,
    /// Its expiry.
    pub expiry: BlockNumber,
    /// The payee's price per request (from its 402).
    pub price: Rao,
}

/// A paid reply.
#[derive(Clone, Debug)]
pub struct PaidReply {
    /// The reply.
    pub reply: Reply,
    /// What this request cost (0 if the axon served it without payment).
    pub paid: Rao,
    /// The channel used.
    pub channel: Option<ChannelId>,
}

/// Pays axons per request: opens (or reuses) one channel per payee, answers 402s, signs
/// cumulative vouchers, and stops at its budget ([`PayError::BudgetExhausted`]).
pub struct Payer {
    key: Keypair,
    chain: Arc<ChainClient>,
    genesis_hash: Hash,
    config: PayerConfig,
    state: tokio::sync::Mutex<PayerState>,
}

#[derive(Default)]
struct PayerState {
    spent: Rao,
    /// Channels by payee.
    channels: BTreeMap<AccountId, PayerChannel>,
    /// Payees by axon hotkey (learned from 402s).
    payees: BTreeMap<String, AccountId>,
    /// Chain fees paid to open and top up.
    fees: Rao,
}

/// Terms read from a 402.
struct Terms {
    price: Rao,
    payee: AccountId,
    min_blocks_left: u64,
    accepted: Option<Rao>,
    reason: String,
}

fn terms(headers: &[(String, String)], genesis_hash: Hash) -> Result<Terms, PayError> {
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let bad = |what: &str| PayError::BadTerms(what.to_owned());
    let price = get(PRICE_HEADER).and_then(|p| p.parse().ok()).ok_or_else(|| bad("no price"))?;
    let payee = get(PAYEE_HEADER)
        .and_then(|p| AccountId::from_ss58(p).ok())
        .ok_or_else(|| bad("no payee"))?;
    let genesis = get(GENESIS_HEADER).ok_or_else(|| bad("no genesis hash"))?;
    if genesis != genesis_hash.to_string() {
        return Err(bad("the axon is paid on another chain"));
    }
    Ok(Terms {
        price: Rao::new(price),
        payee,
        min_blocks_left: get(MIN_BLOCKS_HEADER).and_then(|b| b.parse().ok()).unwrap_or(0),
        accepted: get(ACCEPTED_HEADER).and_then(|a| a.parse().ok()).map(Rao::new),
        reason: get(REASON_HEADER).unwrap_or("payment-required").to_owned(),
    })
}

impl Payer {
    /// A payer signing vouchers (and channel transactions) with `key`, a funded sr25519
    /// coldkey.
    pub async fn new(
        key: Keypair,
        chain: Arc<ChainClient>,
        config: PayerConfig,
    ) -> Result<Self, PayError> {
        let api::H256(genesis_hash) = chain.request::<api::method::GenesisHash>(()).await?;
        Ok(Self { key, chain, genesis_hash, config, state: Default::default() })
    }

    /// TAO signed away in vouchers so far (the price of every voucher signed).
    pub async fn spent(&self) -> Rao {
        self.state.lock().await.spent
    }

    /// Chain fees paid for opening and topping up channels.
    pub async fn fees(&self) -> Rao {
        self.state.lock().await.fees
    }

    /// The channels in use, by payee.
    pub async fn channels(&self) -> Vec<PayerChannel> {
        self.state.lock().await.channels.values().copied().collect()
    }

    /// Queries `target` through `dendrite` (which may sign with any key), paying if asked:
    /// a 402 is answered with a voucher on the payee's channel (opened, reused or topped up
    /// as needed) and the request is sent again.
    pub async fn query(
        &self,
        dendrite: &Dendrite,
        target: &Target,
        query: &Query,
    ) -> Result<PaidReply, PayError> {
        // A voucher straight away if this axon's payee and price are known.
        let mut state = self.state.lock().await;
        let known = state.payees.get(&target.hotkey).and_then(|p| state.channels.get(p)).copied();
        let mut attempt = match known {
            Some(channel) => Some(self.next_voucher(&mut state, channel, None).await?),
            None => None,
        };
        drop(state);
        for _ in 0..3 {
            let extra: Vec<(&str, String)> = attempt
                .map(|(_, v)| vec![(VOUCHER_HEADER, encode_voucher(&v))])
                .unwrap_or_default();
            let (reply, headers) = dendrite.query_with_headers(target, query, &extra).await;
            if reply.status != 402 {
                let (paid, channel) = match attempt {
                    Some((price, voucher)) => (price, Some(voucher.voucher.channel)),
                    None => (Rao::ZERO, None),
                };
                return Ok(PaidReply { reply, paid, channel });
            }
            let terms = terms(&headers, self.genesis_hash)?;
            if terms.price > self.config.max_price {
                return Err(PayError::PriceTooHigh {
                    price: terms.price,
                    max: self.config.max_price,
                });
            }
            let retryable =
                ["insufficient", "above-deposit", "channel-expiring", "unknown-channel"];
            if attempt.is_some() && !retryable.contains(&terms.reason.as_str()) {
                return Err(PayError::Refused(terms.reason));
            }
            if terms.reason == "above-deposit" {
                // Just topped up: the axon re-reads a channel at most once a second.
                tokio::time::sleep(Duration::from_millis(1_100)).await;
            }
            let mut state = self.state.lock().await;
            if let Some((price, refused)) = attempt {
                // Refused on the same channel for its amount: the next voucher on it covers
                // the refused one (the payee can claim only the highest), so it is not
                // counted twice. Refused for the channel itself, it stays counted (the payee
                // could still claim it there).
                if matches!(terms.reason.as_str(), "above-deposit" | "insufficient") {
                    let id = refused.voucher.channel;
                    if let Some(c) = state.channels.values_mut().find(|c| c.id == id) {
                        c.cumulative = refused.voucher.amount.saturating_sub(price);
                    }
                    state.spent = state.spent.saturating_sub(price);
                }
            }
            state.payees.insert(target.hotkey.clone(), terms.payee);
            let channel = self.channel_for(&mut state, &terms).await?;
            attempt = Some(self.next_voucher(&mut state, channel, terms.accepted).await?);
        }
        Err(PayError::Refused("the axon kept asking for payment".into()))
    }

    /// The voucher for one more request on `channel` (resynchronised to what the payee
    /// holds, if it said), topping the channel up when the deposit is short; checks the
    /// budget. A voucher signed counts as spent at once: the payee could claim it even if
    /// it refused the request.
    async fn next_voucher(
        &self,
        state: &mut PayerState,
        mut channel: PayerChannel,
        accepted: Option<Rao>,
    ) -> Result<(Rao, SignedVoucher), PayError> {
        let price = channel.price;
        let next_spent = state.spent.saturating_add(price);
        if next_spent > self.config.budget {
            return Err(PayError::BudgetExhausted {
                budget: self.config.budget,
                spent: state.spent,
                price,
            });
        }
        let base = channel.cumulative.max(accepted.unwrap_or(Rao::ZERO));
        let amount = base.saturating_add(price);
        if amount > channel.deposit {
            let left = self.config.budget.saturating_sub(state.spent);
            let top_up = self.config.deposit.min(left).max(price);
            let call = Call::TopUpChannel { channel: channel.id, amount: top_up, expiry: None };
            let receipt = self.chain.submit(&self.key, call, Duration::from_secs(60)).await?;
            state.fees = state.fees.saturating_add(Rao::new(receipt.fee));
            channel.deposit = channel.deposit.saturating_add(top_up);
        }
        channel.cumulative = amount;
        state.spent = next_spent;
        state.channels.insert(channel.payee, channel);
        let voucher = sign_voucher(&self.key, self.genesis_hash, channel.id, amount)
            .ok_or(PayError::NoSecret)?;
        Ok((price, voucher))
    }

    /// The channel to pay `terms.payee` through: the one in use, an open one on chain with
    /// enough blocks left, or a new one.
    async fn channel_for(
        &self,
        state: &mut PayerState,
        terms: &Terms,
    ) -> Result<PayerChannel, PayError> {
        let head = self.chain.request::<api::method::ChainHead>(()).await?.number;
        let usable = |expiry: u64| expiry.saturating_sub(head) > terms.min_blocks_left;
        if let Some(c) = state.channels.get(&terms.payee) {
            if usable(c.expiry.get()) && terms.reason != "unknown-channel" {
                return Ok(PayerChannel { price: terms.price, ..*c });
            }
        }
        let mine = api::Address(self.key.account());
        let open = self.chain.request::<api::method::Channels>((mine,)).await?;
        let reusable = open.iter().filter(|c| {
            c.payer.0 == self.key.account() && c.payee.0 == terms.payee && usable(c.expiry)
        });
        if let Some(c) = reusable.max_by_key(|c| c.deposit.saturating_sub(c.claimed)) {
            return Ok(PayerChannel {
                id: ChannelId::new(c.id),
                payee: terms.payee,
                deposit: Rao::new(c.deposit),
                cumulative: Rao::new(c.claimed),
                expiry: BlockNumber::new(c.expiry),
                price: terms.price,
            });
        }
        let left = self.config.budget.saturating_sub(state.spent);
        let deposit = self.config.deposit.min(left).max(tao_runtime_min_deposit());
        let lifetime = self.config.lifetime_blocks.max(terms.min_blocks_left.saturating_add(10));
        let expiry = BlockNumber::new(head.saturating_add(lifetime));
        let call = Call::OpenChannel { payee: terms.payee, deposit, expiry };
        let receipt = self.chain.submit(&self.key, call, Duration::from_secs(60)).await?;
        state.fees = state.fees.saturating_add(Rao::new(receipt.fee));
        let id = receipt
            .event_details
            .iter()
            .find_map(|e| match e {
                api::Event::ChannelOpened { channel, .. } => Some(*channel),
                _ => None,
            })
            .ok_or_else(|| PayError::BadTerms("the open_channel receipt has no channel".into()))?;
        Ok(PayerChannel {
            id: ChannelId::new(id),
            payee: terms.payee,
            deposit,
            cumulative: Rao::ZERO,
            expiry,
            price: terms.price,
        })
    }
}

/// The chain's minimum channel deposit (0.001 TAO; `tao_runtime::channels::MIN_CHANNEL_DEPOSIT`,
/// which clients cannot depend on).
const fn tao_runtime_min_deposit() -> Rao {
    Rao::new(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_survives_a_torn_write_with_the_last_whole_one() {
        let dir = std::env::temp_dir().join(format!("tao-book-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = Keypair::from_uri("//Alice").unwrap();
        let kept = |amount| Kept {
            voucher: sign_voucher(&key, Hash([1; 32]), ChannelId::new(1), Rao::new(amount))
                .unwrap(),
            expiry: BlockNumber::new(9),
            claimed: Rao::ZERO,
        };
        let (empty, mut files) = BookFiles::open(&dir).unwrap();
        assert!(empty.is_empty());
        for amount in [10, 20, 30] {
            files.write(&vec![kept(amount)].encode(), Durability::Synced).unwrap();
        }
        drop(files);
        let (read, _) = BookFiles::open(&dir).unwrap();
        assert_eq!(read[0].voucher.voucher.amount, Rao::new(30));
        // The newest file torn (a crash mid-write): the other, one batch older, is read.
        let newest = BOOK_FILES
            .iter()
            .map(|n| dir.join(n))
            .max_by_key(|p| read_book(&std::fs::read(p).unwrap()).map(|(g, _)| g));
        let newest = newest.unwrap();
        let mut bytes = std::fs::read(&newest).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&newest, bytes).unwrap();
        let (read, mut files) = BookFiles::open(&dir).unwrap();
        assert_eq!(read[0].voucher.voucher.amount, Rao::new(20));
        // The next write goes over the torn file, never over the whole one.
        files.write(&vec![kept(40)].encode(), Durability::Synced).unwrap();
        assert!(read_book(&std::fs::read(&newest).unwrap()).is_some());
        let (read, _) = BookFiles::open(&dir).unwrap();
        assert_eq!(read[0].voucher.voucher.amount, Rao::new(40));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn voucher_headers_round_trip_and_reject_garbage() {
        let key = Keypair::from_uri("//Alice").unwrap();
        let genesis = Hash([3; 32]);
        let v = sign_voucher(&key, genesis, ChannelId::new(7), Rao::new(1234)).unwrap();
        let text = encode_voucher(&v);
        assert_eq!(decode_voucher(&text, genesis), Some(v));
        assert!(decode_voucher(&text, genesis).unwrap().verify(&key.account()));
        // Read for another chain, the same bytes do not verify.
        assert!(!decode_voucher(&text, Hash([4; 32])).unwrap().verify(&key.account()));
        for bad in ["", "7", "7:12", "7:12:0x00", "x:1:0x", &format!("{text}:1"), &"9".repeat(300)]
        {
            assert_eq!(decode_voucher(bad, genesis), None, "{bad}");
        }
    }
}
