// The overview: head and finalized height, block time, transactions per second, issuance
// and the halving countdown, the chain's validators, the latest blocks and events, live.

import { snapshot, throttled, batch } from "./rpc.js";
import * as f from "./format.js";
import { h, card, blockLink, tao, link, table } from "./dom.js";
import { eventLine } from "./events.js";

const WINDOW = 20; // blocks the block time and transactions per second are measured over
const FEED_PER_BLOCK = 8; // events of one block shown in the live feed
const FEED_LINES = 30; // lines the live feed keeps

function headerAt(blocks) {
  return blocks.filter((b) => !(b instanceof Error));
}

/** Block time (ms) and transactions per second over `blocks` (oldest first). */
export function rates(blocks) {
  if (blocks.length < 2) return { blockMs: null, tps: null };
  const first = blocks[0].header, last = blocks[blocks.length - 1].header;
  const spanMs = last.timestamp_ms - first.timestamp_ms;
  const txs = blocks.slice(1).reduce((n, b) => n + b.transactions.length, 0);
  return { blockMs: spanMs / (blocks.length - 1), tps: spanMs > 0 ? (txs * 1000) / spanMs : 0 };
}

/** Blocks until the issuance reaches the next halving, rounded up (BigInt arithmetic). */
export function blocksToHalving(issuance) {
  if (!issuance.next_halving_issuance || !issuance.block_emission) return null;
  const left = BigInt(issuance.next_halving_issuance) - BigInt(issuance.total_issuance);
  const per = BigInt(issuance.block_emission);
  return per > 0n ? (left + per - 1n) / per : null;
}

export async function render(root, ctx) {
  const cards = h("div", { class: "cards" });
  const blocksBox = h("div");
  const eventsList = h("ul", { class: "events", "data-list": "events" });
  root.append(h("h1", {}, "Overview"), cards,
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Latest blocks"), blocksBox),
      h("section", {}, h("h2", {}, "Latest events"), h("div", { class: "panel" }, eventsList))));

  async function refresh() {
    const snap = await snapshot([["tao_health"], ["tao_issuance"], ["tao_validators"], ["tao_subnets"]]);
    const [health, issuance, validators, subnets] = snap.results;
    const head = snap.block;
    const from = Math.max(1, head - WINDOW + 1);
    const numbers = [];
    for (let n = from; n <= head; n++) numbers.push(n);
    const blocks = headerAt(await batch(numbers.map((n) => ["tao_getBlock", [n]])));
    if (!ctx.current()) return;
    const { blockMs, tps } = rates(blocks);
    const toHalving = blocksToHalving(issuance);
    const emitting = subnets.filter((s) => s.emission_share !== null && s.emission_share !== undefined).length;
    cards.dataset.block = snap.consistent ? head : "";
    cards.replaceChildren(
      card("Head", blockLink(head), f.when(snap.header.timestamp_ms), "head"),
      card("Finalized", blockLink(health.finalized), health.finalized === head ? "every block is final" : `${head - health.finalized} behind the head`, "finalized"),
      card("Block time", blockMs === null ? "–" : `${(blockMs / 1000).toFixed(2)} s`, `average of the last ${blocks.length} blocks`, "block-time"),
      card("Transactions / s", tps === null ? "–" : tps.toFixed(2), `${health.pending} waiting in the pool`, "tps"),
      card("Issuance", tao(issuance.total_issuance, 4), `minted ${f.tao(issuance.total_minted, 4)} · fees burned ${f.tao(issuance.total_fees, 4)}`, "issuance"),
      card("Block emission", tao(issuance.block_emission ?? 0), "minted by each block", "emission"),
      card("Next halving", toHalving === null ? "–" : `${f.int(toHalving)} blocks`,
        toHalving === null ? "" : `at ${f.tao(issuance.next_halving_issuance, 0)} issued · ≈ ${blockMs ? f.duration((Number(toHalving) * blockMs) / 1000) : "?"}`, "halving"),
      card("Validators", validators.mode === "bft" ? `${validators.authorities.length} BFT` : validators.mode === "follower" ? "follower" : "1 producer",
        link("validators", validators.mode === "single" ? "single block producer (development)" : "see the validators"), "validators"),
      card("Subnets", link("subnets", f.int(subnets.length)), `${emitting} emitting`, "subnets"),
    );
    const rows = blocks.slice(-10).reverse();
    blocksBox.replaceChildren(table([
      { label: "Block", value: (b) => blockLink(b.header.number) },
      { label: "Hash", value: (b) => link(`block/${b.header.hash}`, f.short(b.header.hash), { class: "mono" }) },
      { label: "Time", value: (b) => f.ago(b.header.timestamp_ms) },
      { label: "Txs", num: true, value: (b) => b.transactions.length },
    ], rows, { name: "latest-blocks" }));
  }

  await refresh();
  const later = throttled(refresh, 1000);
  ctx.onHead(() => later());
  ctx.onEvents((item) => {
    eventsList.querySelector("[data-placeholder]")?.remove();
    // One line per event (at most 8 a block, then how many more), or one saying the block
    // had none. Each event is its `detail` object, drawn as on the block pages; a node
    // older than API 1.2.0 sends only the debug text.
    const shown = item.events.slice(0, FEED_PER_BLOCK).map((e) => {
      const line = e.detail ? eventLine(e.detail) : h("li", {}, h("span", { class: "muted" }, e.event));
      line.dataset.eventBlock = item.block;
      line.prepend(blockLink(item.block), " ", ...(e.tx_hash ? [link(`tx/${e.tx_hash}`, f.short(e.tx_hash), { class: "mono", title: e.tx_hash }), " "] : []));
      return line;
    });
    const fresh = item.events.length === 0
      ? [h("li", { "data-event-block": item.block }, blockLink(item.block), " ", h("span", { class: "muted" }, "no events"))]
      : item.events.length > FEED_PER_BLOCK
        ? [...shown, h("li", { "data-event-block": item.block }, blockLink(item.block), " ", link(`block/${item.block}`, `and ${item.events.length - FEED_PER_BLOCK} more`))]
        : shown;
    eventsList.prepend(...fresh);
    while (eventsList.children.length > FEED_LINES) eventsList.lastChild.remove();
  });
  if (eventsList.children.length === 0) eventsList.append(h("li", { class: "muted", "data-placeholder": true }, "Events appear here as blocks are made."));
}
