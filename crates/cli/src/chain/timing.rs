//! Blocks as a user waits for them: how many are left, and about how long that is (from the
//! chain's own recent block times), and when a commit's reveal window opens.

use super::client::Client;
use crate::exit::Failure;
use tao_sdk::chain::api::{method, BlockId, Metagraph};

/// Blocks back over which the block time is measured.
const SAMPLE: u64 = 20;

/// The chain's recent milliseconds per block (`None` too early in its life to tell).
fn block_ms(client: &Client) -> Result<Option<u64>, Failure> {
    let head = client.request::<method::ChainHead>(())?;
    if head.number < 2 {
        return Ok(None);
    }
    let back = SAMPLE.min(head.number - 1);
    let then = client.request::<method::GetBlock>((BlockId::Number(head.number - back),))?;
    Ok(Some(head.timestamp_ms.saturating_sub(then.header.timestamp_ms) / back))
}

/// `n blocks (~t)` for a wait of `blocks`.
pub fn wait_text(client: &Client, blocks: u64) -> Result<String, Failure> {
    let unit = if blocks == 1 { "block" } else { "blocks" };
    Ok(match block_ms(client)? {
        Some(ms) => {
            let seconds = blocks.saturating_mul(ms) as f64 / 1000.0;
            format!("{blocks} {unit} (~{})", human_seconds(seconds))
        }
        None => format!("{blocks} {unit}"),
    })
}

/// Seconds as `1.5 s`, `12 min`, `3.2 h`.
fn human_seconds(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// The blocks `[open, close)` in which a commit made in block `commit` may be revealed: the
/// epoch `commit_reveal_period` epochs after the commit's (epochs run every `tempo` blocks
/// from the last one; a deferred or triggered epoch moves the window).
pub fn reveal_window(m: &Metagraph, commit: u64) -> Option<(u64, u64)> {
    let tempo = u64::from(m.tempo);
    if tempo == 0 {
        return None;
    }
    let last = m.last_epoch_block;
    // The last epoch at or before the commit (epochs at last, last - tempo, …).
    let epoch_of_commit = if commit >= last {
        last + (commit - last) / tempo * tempo
    } else {
        last - (last - commit).div_ceil(tempo) * tempo
    };
    let period = m.hyperparameters.commit_reveal_period;
    let open = epoch_of_commit + period * tempo;
    Some((open, open + tempo))
}

#[cfg(test)]
mod tests {
    use super::human_seconds;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(human_seconds(1.53), "1.5 s");
        assert_eq!(human_seconds(600.0), "10 min");
        assert_eq!(human_seconds(3.0 * 3600.0), "3.0 h");
    }
}
