// Blocks and transactions: the latest blocks (live), one block with its transactions,
// their outcomes and failure reasons and every event, and one transaction.

import { call, batch, RpcError } from "./rpc.js";
import * as f from "./format.js";
import { h, facts, blockLink, txLink, accountLink, tao, link, table, notice } from "./dom.js";
import { eventLine } from "./events.js";

const PAGE = 25;

export async function render(root, ctx) {
  if (ctx.name === "blocks") return list(root, ctx);
  if (ctx.name === "block") return block(root, ctx);
  return transaction(root, ctx);
}

const BLOCK_COLUMNS = [
  { label: "Block", value: (b) => blockLink(b.header.number) },
  { label: "Hash", value: (b) => link(`block/${b.header.hash}`, f.short(b.header.hash), { class: "mono", title: b.header.hash }) },
  { label: "Time", value: (b) => f.when(b.header.timestamp_ms) },
  { label: "Transactions", num: true, value: (b) => b.transactions.length },
];

async function list(root, ctx) {
  const head = (await call("tao_chainHead")).number;
  const top = ctx.args[0] ? Math.min(Number(ctx.args[0]), head) : head;
  const numbers = [];
  for (let n = top; n > Math.max(0, top - PAGE); n--) numbers.push(n);
  const blocks = (await batch(numbers.map((n) => ["tao_getBlock", [n]]))).filter((b) => !(b instanceof Error));
  const tbody = () => root.querySelector("tbody");
  root.append(h("h1", {}, "Blocks"),
    h("p", { class: "muted" }, ctx.args[0] ? `Blocks up to #${f.int(top)}.` : "The latest blocks; new ones appear as they are made."),
    table(BLOCK_COLUMNS, blocks, { name: "blocks", rowAttributes: (b) => ({ "data-row-block": b.header.number }) }),
    h("div", { class: "pager" },
      top - PAGE > 0 ? link(`blocks/${top - PAGE}`, "Older blocks →", { "data-link": "older" }) : null,
      ctx.args[0] ? link("blocks", "Latest") : null));
  if (ctx.args[0]) return;
  ctx.onHead(async (header) => {
    const b = await call("tao_getBlock", [header.number]).catch(() => null);
    if (!b || !ctx.current()) return;
    const row = h("tr", { class: "fresh", "data-row-block": b.header.number }, BLOCK_COLUMNS.map((c) => h("td", { class: c.num ? "num" : null }, c.value(b))));
    tbody().prepend(row);
    while (tbody().children.length > PAGE) tbody().lastChild.remove();
  });
}

function outcome(receipt) {
  if (receipt.outcome === "success") return h("span", { class: "ok", "data-outcome": "success" }, "success");
  return h("span", { class: "bad", "data-outcome": receipt.outcome }, receipt.outcome,
    receipt.error ? [": ", h("strong", { "data-error": receipt.error.name }, receipt.error.name), " — ", receipt.error.message] : null);
}

async function block(root, ctx) {
  const id = ctx.args[0] ?? "";
  const param = /^0x[0-9a-f]{64}$/i.test(id) ? id.toLowerCase() : Number(id);
  if (typeof param === "number" && !Number.isSafeInteger(param)) throw new Error(`“${id}” is not a block number or hash.`);
  let b, r;
  try {
    [b, r] = await Promise.all([call("tao_getBlock", [param]), call("tao_blockReceipts", [param])]);
  } catch (e) {
    if (e instanceof RpcError && e.code === -32004) {
      root.append(h("h1", {}, `Block ${id}`), notice(`There is no block ${id} (yet).`, "error"));
      return;
    }
    throw e;
  }
  const n = b.header.number;
  root.dataset.block = n;
  root.append(
    h("h1", {}, `Block #${f.int(n)}`),
    h("div", { class: "pager" }, n > 1 ? link(`block/${n - 1}`, "← previous", { "data-link": "previous" }) : null, link(`block/${n + 1}`, "next →", { "data-link": "next" })),
    facts([
      ["Number", f.int(n), "number"],
      ["Hash", h("span", { class: "mono" }, b.header.hash), "hash"],
      ["Parent", n > 1 ? link(`block/${b.header.parent_hash}`, b.header.parent_hash, { class: "mono" }) : h("span", { class: "mono" }, b.header.parent_hash), "parent"],
      ["Time", `${f.when(b.header.timestamp_ms)} (${f.ago(b.header.timestamp_ms)})`, "time"],
      ["State root", h("span", { class: "mono" }, b.header.state_root), "state-root"],
      ["Transactions", String(b.transactions.length), "transactions"],
      ["Fees", tao(r.receipts.reduce((sum, x) => sum + BigInt(x.fee), 0n)), "fees"],
    ]));
  root.append(h("h2", {}, "Transactions"));
  if (b.transactions.length === 0) root.append(notice("No transactions in this block."));
  else root.append(table([
    { label: "#", num: true, value: (t) => t.i },
    { label: "Hash", value: (t) => txLink(t.hash) },
    { label: "Call", value: (t) => t.call },
    { label: "Signer", value: (t) => accountLink(t.signer) },
    { label: "Fee", num: true, value: (t) => tao(t.receipt.fee) },
    { label: "Outcome", value: (t) => outcome(t.receipt) },
  ], b.transactions.map((t, i) => ({ ...t, i, receipt: r.receipts[i] })), { name: "transactions", rowAttributes: (t) => ({ "data-tx": t.hash }) }));
  root.append(h("h2", {}, "Events"));
  const list = h("ul", { class: "events", "data-list": "block-events" });
  for (const e of r.events) list.append(eventLine(e));
  r.receipts.forEach((receipt) => {
    for (const e of receipt.event_details) {
      const line = eventLine(e);
      line.prepend(txLink(receipt.tx_hash), " ");
      list.append(line);
    }
  });
  if (list.children.length === 0) list.append(h("li", { class: "muted" }, "No events."));
  root.append(h("div", { class: "panel" }, list));
}

async function transaction(root, ctx) {
  const hash = (ctx.args[0] ?? "").toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(hash)) throw new Error(`“${hash}” is not a transaction hash (0x and 64 hex digits).`);
  const status = await call("tao_transactionStatus", [hash]);
  root.append(h("h1", {}, "Transaction ", h("span", { class: "mono" }, f.short(hash, 10))));
  if (status.status !== "finalized") {
    root.append(notice(status.status === "pending" ? "In the pool, not yet in a block." : "This node knows no such transaction.", status.status === "pending" ? "info" : "error"));
    return;
  }
  const receipt = status.receipt;
  const b = await call("tao_getBlock", [receipt.block]);
  const summary = b.transactions[receipt.index];
  root.append(facts([
    ["Hash", h("span", { class: "mono" }, receipt.tx_hash), "hash"],
    ["Block", [blockLink(receipt.block), " · index ", String(receipt.index)], "block"],
    ["Call", summary?.call ?? "?", "call"],
    ["Signer", accountLink(receipt.signer), "signer"],
    ["Nonce", summary ? String(summary.nonce) : "?", "nonce"],
    ["Fee", tao(receipt.fee), "fee"],
    ["Outcome", outcome(receipt), "outcome"],
  ]));
  root.append(h("h2", {}, "Events"));
  const list = h("ul", { class: "events", "data-list": "tx-events" }, receipt.event_details.map(eventLine));
  if (receipt.event_details.length === 0) list.append(h("li", { class: "muted" }, "No events."));
  root.append(h("div", { class: "panel" }, list));
}
