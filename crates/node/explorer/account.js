// An account: free balance, stakes per subnet, the payment channels it pays or is paid by,
// and its history (the transactions it signed or that name it in an event), newest first,
// a page at a time.

import { call, snapshot, throttled } from "./rpc.js";
import * as f from "./format.js";
import { h, facts, blockLink, txLink, accountLink, subnetLink, tao, alpha, link, table, notice } from "./dom.js";
import { eventLine } from "./events.js";

/** The open payment channels the account pays or is paid by (`tao_channels`): the other
 *  party, the deposit, what the payee claimed and what remains, the expiry, the state. */
function channelTable(channels, head) {
  if (channels.length === 0) return notice("No open payment channels.");
  return table([
    { label: "Channel", value: (c) => h("span", { class: "mono" }, `#${c.id}`), sort: (c) => c.id },
    { label: "Payer", value: (c) => accountLink(c.payer) },
    { label: "Payee", value: (c) => accountLink(c.payee) },
    { label: "Deposit", num: true, value: (c) => tao(c.deposit), sort: (c) => BigInt(c.deposit) },
    { label: "Claimed", num: true, value: (c) => tao(c.claimed), sort: (c) => BigInt(c.claimed) },
    { label: "Remaining", num: true, value: (c) => tao(c.remaining), sort: (c) => BigInt(c.remaining) },
    { label: "Expiry", value: (c) => [blockLink(c.expiry), c.expiry > head ? ` (in ${f.int(c.expiry - head)} blocks)` : ""], sort: (c) => c.expiry },
    { label: "Opened", value: (c) => blockLink(c.opened_at), sort: (c) => c.opened_at },
    { label: "State", value: (c) => h("span", { class: `pill channel-${c.state}`, "data-state": c.state }, c.state === "expired" ? "expired: the payer may close it" : c.state) },
  ], channels, { name: "channels", rowAttributes: (c) => ({ "data-channel": c.id }) });
}

export async function render(root, ctx) {
  const address = ctx.args[0] ?? "";
  const cursor = ctx.query.get("cursor");
  const live = h("div");
  const history = await call("tao_accountHistory", cursor ? [address, cursor, 25] : [address, null, 25]);

  // Balance and stakes move every block (dividends, emission): read again at most once a
  // second as heads arrive, always both at one block.
  async function refresh() {
    const snap = await snapshot([["tao_accountInfo", [address]], ["tao_stakesOf", [address]], ["tao_channels", [address]]]);
    if (!ctx.current()) return;
    const [info, stakes, channels] = snap.results;
    const rootStake = stakes.filter((s) => s.netuid === 0).reduce((sum, s) => sum + BigInt(s.alpha), 0n);
    live.replaceChildren(
      facts([
        ["Free balance", tao(info.free), "free"],
        ["Staked on root", tao(rootStake), "root-stake"],
        ["Nonce", String(info.nonce), "nonce"],
        ["Subnets staked on", String(new Set(stakes.filter((s) => s.netuid !== 0).map((s) => s.netuid)).size), "subnets"],
        ["As of", blockLink(snap.block), "as-of"],
      ]),
      h("h2", {}, "Stakes"),
      stakes.length === 0 ? notice("No stake.") : table([
        { label: "Subnet", value: (s) => subnetLink(s.netuid), sort: (s) => s.netuid },
        { label: "Hotkey", value: (s) => accountLink(s.hotkey) },
        { label: "Stake", num: true, value: (s) => (s.netuid === 0 ? tao(s.alpha) : alpha(s.alpha)), sort: (s) => BigInt(s.alpha) },
      ], stakes, { name: "stakes", rowAttributes: (s) => ({ "data-stake-netuid": s.netuid }) }),
      h("h2", {}, "Payment channels"),
      channelTable(channels, snap.block),
    );
    root.dataset.block = snap.consistent ? snap.block : "";
  }

  await refresh();
  root.append(h("h1", {}, "Account ", h("span", { class: "mono" }, address)), live, h("h2", {}, "History"));
  if (history.entries.length === 0) {
    root.append(notice(cursor ? "No older transactions." : "No transactions name this account."));
  } else {
    root.append(table([
      { label: "Block", value: (e) => blockLink(e.receipt.block) },
      { label: "Transaction", value: (e) => txLink(e.receipt.tx_hash) },
      { label: "Call", value: (e) => e.call },
      { label: "Signer", value: (e) => (e.receipt.signer === address ? h("span", { class: "muted" }, "this account") : accountLink(e.receipt.signer)) },
      { label: "Outcome", value: (e) => (e.receipt.outcome === "success" ? h("span", { class: "ok" }, "success") : h("span", { class: "bad" }, e.receipt.error?.name ?? e.receipt.outcome)) },
      { label: "Events", value: (e) => h("ul", { class: "events" }, e.receipt.event_details.map(eventLine)) },
    ], history.entries, { name: "history", rowAttributes: (e) => ({ "data-tx": e.receipt.tx_hash }) }));
  }
  root.append(h("div", { class: "pager" },
    history.next_cursor ? link(`account/${address}?cursor=${encodeURIComponent(history.next_cursor)}`, "Older →", { "data-link": "older" }) : null,
    cursor ? link(`account/${address}`, "Newest") : null));
  const later = throttled(refresh, 1000);
  ctx.onHead(() => later());
}
