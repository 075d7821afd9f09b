// A subnet's metagraph: its pool and schedule, every neuron in a sortable table, incentive
// and dividends as bar charts, the weights and bonds as heatmaps, and one neuron's detail
// (#/subnet/1/neuron/3): the weights it set, the bonds it holds and the bonds held on it.

import { snapshot, throttled, RpcError } from "./rpc.js";
import * as f from "./format.js";
import { h, facts, blockLink, accountLink, link, tao, alpha, table, notice } from "./dom.js";
import { bars, heatmap } from "./charts.js";

export async function render(root, ctx) {
  const netuid = Number(ctx.args[0]);
  if (!Number.isInteger(netuid) || netuid < 0 || netuid > 65535) throw new Error(`“${ctx.args[0]}” is not a subnet id.`);
  const neuron = ctx.args[1] === "neuron" ? Number(ctx.args[2]) : null;
  const box = h("div");
  root.append(box);
  let sort = { sortBy: null, descending: false };
  let lastEpoch = null;

  async function refresh(first) {
    let snap;
    try {
      snap = await snapshot([["tao_metagraph", [netuid]], ["tao_subnets"]]);
    } catch (e) {
      if (e instanceof RpcError && e.code === -32004) {
        box.replaceChildren(h("h1", {}, `Subnet ${netuid}`), notice(`There is no subnet ${netuid}.`, "error"));
        return;
      }
      throw e;
    }
    if (!ctx.current()) return;
    const [m, subnets] = snap.results;
    // Numbers move every block (pools, prices); the metagraph's columns at epochs. Redraw
    // the whole page at most once a second, and the charts only when an epoch ran.
    if (!first && m.last_epoch_block === lastEpoch && neuron === null) {
      updateSummary(m, subnets, snap);
      return;
    }
    lastEpoch = m.last_epoch_block;
    box.replaceChildren(...(neuron === null ? page(m, subnets, snap) : detail(m, neuron, snap)));
    box.dataset.block = snap.consistent ? snap.block : "";
  }

  function summary(m, subnets, snap) {
    const s = subnets.find((x) => x.netuid === netuid) ?? {};
    return facts([
      ["Owner", [accountLink(m.owner_coldkey), " (hotkey ", accountLink(m.owner_hotkey), ")"], "owner"],
      ["Price", h("span", { "data-price": m.pool.price }, f.price(m.pool.price)), "price"],
      ["Moving price", h("span", { "data-price": m.pool.moving_price }, f.price(m.pool.moving_price)), "moving-price"],
      ["Emission share", s.emission_share == null ? "not emitting" : f.percent(s.emission_share), "emission-share"],
      ["TAO in pool", tao(m.pool.tao), "pool-tao"],
      ["α in pool / outstanding", [alpha(m.pool.alpha_in), " / ", alpha(m.pool.alpha_out)], "pool-alpha"],
      ["Registration cost", tao(m.hyperparameters.burn), "burn"],
      ["Tempo", `${m.tempo} blocks`, "tempo"],
      ["Last epoch", blockLink(m.last_epoch_block), "last-epoch"],
      ["Next epoch", s.next_epoch_block == null ? "frozen (tempo 0)" : [blockLink(s.next_epoch_block), ` (in ${s.next_epoch_block - snap.block} blocks)`], "next-epoch"],
      ["Neurons", `${m.n} of ${m.hyperparameters.max_allowed_uids}`, "neurons"],
      ["As of", blockLink(snap.block), "as-of"],
    ]);
  }

  function updateSummary(m, subnets, snap) {
    const old = box.querySelector("dl.facts");
    if (old) old.replaceWith(summary(m, subnets, snap));
    box.dataset.block = snap.consistent ? snap.block : "";
  }

  function page(m, subnets, snap) {
    const uids = [...Array(m.n).keys()];
    const rows = uids.map((uid) => ({
      uid, hotkey: m.hotkeys[uid], coldkey: m.coldkeys[uid], stake: m.alpha_stake[uid], root: m.root_stake[uid],
      permit: m.validator_permit[uid], active: m.active[uid], consensus: m.consensus[uid], incentive: m.incentive[uid],
      dividends: m.dividends[uid], trust: m.validator_trust[uid], emission: m.emission[uid], updated: m.last_update[uid], axon: m.axons[uid],
    }));
    const p = m.hyperparameters;
    return [
      h("h1", {}, netuid === 0 ? "Root network" : `Subnet ${netuid}`),
      summary(m, subnets, snap),
      h("h2", {}, "Neurons"),
      m.n === 0 ? notice("No neurons registered.") : table([
        { label: "UID", num: true, value: (r) => link(`subnet/${netuid}/neuron/${r.uid}`, String(r.uid), { "data-uid": r.uid }), sort: (r) => r.uid },
        { label: "Hotkey", value: (r) => accountLink(r.hotkey) },
        { label: "Coldkey", value: (r) => accountLink(r.coldkey) },
        { label: "Stake", num: true, value: (r) => alpha(r.stake, 3), sort: (r) => BigInt(r.stake) },
        { label: "Root stake", num: true, value: (r) => tao(r.root, 3), sort: (r) => BigInt(r.root) },
        { label: "Validator", value: (r) => (r.permit ? h("span", { class: "pill ok" }, "permit") : ""), sort: (r) => (r.permit ? 1 : 0) },
        { label: "Active", value: (r) => (r.active ? "yes" : "no"), sort: (r) => (r.active ? 1 : 0) },
        { label: "Consensus", num: true, value: (r) => f.proportion(r.consensus), sort: (r) => r.consensus },
        { label: "Incentive", num: true, value: (r) => h("span", { "data-incentive": r.incentive }, f.proportion(r.incentive)), sort: (r) => r.incentive },
        { label: "Dividends", num: true, value: (r) => h("span", { "data-dividends": r.dividends }, f.proportion(r.dividends)), sort: (r) => r.dividends },
        { label: "VTrust", num: true, value: (r) => f.proportion(r.trust), sort: (r) => r.trust },
        { label: "Emission / epoch", num: true, value: (r) => alpha(r.emission, 4), sort: (r) => BigInt(r.emission) },
        { label: "Updated", num: true, value: (r) => blockLink(r.updated), sort: (r) => r.updated },
        { label: "Axon", value: (r) => (r.axon ? h("span", { class: "mono" }, `${r.axon.ip}:${r.axon.port}`) : h("span", { class: "muted" }, "–")) },
      ], rows, { name: "metagraph", class: "metagraph", rowAttributes: (r) => ({ "data-row-uid": r.uid }), ...sort, onSort: (sortBy, descending) => { sort = { sortBy, descending }; } }),
      h("div", { class: "grid2" },
        h("section", {}, h("h2", {}, "Incentive (miners)"), h("div", { class: "panel" }, bars(m.incentive, "incentive", "incentive"))),
        h("section", {}, h("h2", {}, "Dividends (validators)"), h("div", { class: "panel" }, bars(m.dividends, "dividends", "dividends")))),
      h("h2", {}, "Weights"),
      h("p", { class: "muted" }, "Rows: validators that set weights; columns: the UIDs they weight (darker: more)."),
      h("div", { class: "panel chart-wrap" }, heatmap(m.weights, m.n, "weights", "weights")),
      h("h2", {}, "Bonds"),
      h("p", { class: "muted" }, "Rows: validators; columns: the miners they hold bonds in. A miner's UID page lists the bonds on it."),
      h("div", { class: "panel chart-wrap" }, heatmap(m.bonds, m.n, "bonds", "bonds")),
      h("details", {}, h("summary", {}, "Hyperparameters"),
        facts(Object.entries(p).map(([key, value]) => [key, ["min_burn", "max_burn", "burn"].includes(key) ? tao(value) : String(value), key]))),
    ];
  }

  function detail(m, uid, snap) {
    if (!Number.isInteger(uid) || uid < 0 || uid >= m.n) return [h("h1", {}, `Subnet ${netuid} · UID ${uid}`), notice(`Subnet ${netuid} has no UID ${uid}.`, "error")];
    const bondsOn = [];
    m.bonds.forEach((row, validator) => {
      for (const [col, value] of row) if (col === uid) bondsOn.push({ validator, value });
    });
    const cells = (row) => row.map(([col, value]) => ({ col, value }));
    const pairTable = (rows, name, label) => rows.length === 0 ? notice("None.") : table([
      { label, num: true, value: (r) => link(`subnet/${netuid}/neuron/${r.col ?? r.validator}`, String(r.col ?? r.validator)), sort: (r) => r.col ?? r.validator },
      { label: "Value", num: true, value: (r) => f.proportion(r.value), sort: (r) => r.value },
    ], rows, { name });
    const axon = m.axons[uid];
    return [
      h("h1", {}, `Subnet ${netuid} · UID ${uid}`),
      h("div", { class: "pager" }, link(`subnet/${netuid}`, "← the whole metagraph")),
      facts([
        ["Hotkey", accountLink(m.hotkeys[uid]), "hotkey"],
        ["Coldkey", accountLink(m.coldkeys[uid]), "coldkey"],
        ["Stake", alpha(m.alpha_stake[uid]), "stake"],
        ["Validator permit", m.validator_permit[uid] ? "yes" : "no", "permit"],
        ["Incentive", f.proportion(m.incentive[uid]), "incentive"],
        ["Dividends", f.proportion(m.dividends[uid]), "dividends"],
        ["Consensus", f.proportion(m.consensus[uid]), "consensus"],
        ["Emission last epoch", alpha(m.emission[uid]), "emission"],
        ["Registered at", blockLink(m.block_at_registration[uid]), "registered"],
        ["Axon", axon ? `${axon.ip}:${axon.port} (published at #${axon.block})` : "none", "axon"],
        ["As of", blockLink(snap.block), "as-of"],
      ]),
      h("h2", {}, "Weights it set"), pairTable(cells(m.weights[uid]), "weights-of", "UID"),
      h("h2", {}, "Bonds it holds"), pairTable(cells(m.bonds[uid]), "bonds-of", "Miner UID"),
      h("h2", {}, "Bonds held on it"), pairTable(bondsOn, "bonds-on", "Validator UID"),
    ];
  }

  await refresh(true);
  const later = throttled(() => refresh(false), 1000);
  ctx.onHead(() => later());
}
