//! Which TCP ports this process listens on, read from the kernel (`/proc`, Linux).
//!
//! commonware's p2p network binds its own listener and does not say which port it got, so
//! a validator given `--p2p-addr IP:0` (the kernel chooses a free port: nothing is probed,
//! freed and bound again) finds its port here: the listening sockets of this process after
//! the network started, less those it had before.

use std::{collections::BTreeSet, net::SocketAddr};

/// The kernel's identifiers (inodes) of the TCP sockets this process is listening on, with
/// their local addresses. Empty where `/proc` is not there.
pub fn listening() -> Vec<(u64, SocketAddr)> {
    let ours = own_socket_inodes();
    let mut found = Vec::new();
    for (table, v6) in [("/proc/self/net/tcp", false), ("/proc/self/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        found.extend(parse_table(&text, v6).into_iter().filter(|(inode, _)| ours.contains(inode)));
    }
    found
}

/// The inodes of the sockets among this process's open file descriptors.
fn own_socket_inodes() -> BTreeSet<u64> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return BTreeSet::new() };
    entries
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            target.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The listening sockets (state `0A`) of a `/proc/net/tcp` or `tcp6` table: inode and
/// local address. Lines that do not parse are skipped.
fn parse_table(text: &str, v6: bool) -> Vec<(u64, SocketAddr)> {
    const LISTEN: &str = "0A";
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            if columns.get(3) != Some(&LISTEN) {
                return None;
            }
            let local = parse_address(columns.get(1)?, v6)?;
            let inode = columns.get(9)?.parse().ok()?;
            Some((inode, local))
        })
        .collect()
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): the kernel prints each 32-bit
/// word of the address in host byte order (little-endian here), the port in hex.
fn parse_address(text: &str, v6: bool) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| ip.get(i * 8..i * 8 + 8).and_then(|w| u32::from_str_radix(w, 16).ok()))
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let ip: std::net::IpAddr = if v6 {
        <[u8; 16]>::try_from(bytes.as_slice()).ok()?.into()
    } else {
        <[u8; 4]>::try_from(bytes.as_slice()).ok()?.into()
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_to_listening_addresses_and_inodes() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1153 1 0 100 0 0 10 0
   1: 020200C0:973A 507100CB:01BB 01 00000000:00000000 00:00000000 00000000     0        0 7539 1 0 22 4 6 47 -1
   2: garbage";
        let found = parse_table(table, false);
        assert_eq!(found, vec![(1153, "127.0.0.1:8080".parse().unwrap())]);
        let v6 = "header
   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 77";
        assert_eq!(parse_table(v6, true), vec![(77, "[::1]:80".parse().unwrap())]);
    }

    #[test]
    fn a_listener_of_this_process_is_found_with_the_port_the_kernel_chose() {
        let before: BTreeSet<u64> = listening().into_iter().map(|(inode, _)| inode).collect();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // (Other tests of this process may open listeners meanwhile: only ours must be new.)
        let new: Vec<SocketAddr> = listening()
            .into_iter()
            .filter(|(inode, _)| !before.contains(inode))
            .map(|(_, a)| a)
            .collect();
        assert!(new.contains(&addr), "{addr} not among the new listeners {new:?}");
        drop(listener);
        assert!(!listening().iter().any(|(_, a)| *a == addr), "{addr} still listed after close");
    }
}
