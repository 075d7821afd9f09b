// Every subnet's economics: price and moving price, share of emission, TAO in its pool,
// registration cost, tempo and the next epoch, owner; live.

import { snapshot, throttled } from "./rpc.js";
import * as f from "./format.js";
import { h, subnetLink, accountLink, tao, alpha, table, notice } from "./dom.js";

const ratio = (text) => Number(text ?? 0); // prices and shares: for sorting only

export async function render(root, ctx) {
  const box = h("div");
  root.append(h("h1", {}, "Subnets"),
    h("p", { class: "muted" }, "Prices in TAO per alpha. Emission share: each subnet's part of every block's TAO, by moving price (as the chain splits it)."),
    box);
  let sort = { sortBy: null, descending: false };

  async function refresh() {
    const snap = await snapshot([["tao_subnets"]]);
    const [subnets] = snap.results;
    const head = snap.block;
    if (!ctx.current()) return;
    box.dataset.block = snap.consistent ? head : "";
    if (subnets.length === 0) {
      box.replaceChildren(notice("No subnets yet."));
      return;
    }
    const view = table([
      { label: "Subnet", value: (s) => subnetLink(s.netuid), sort: (s) => s.netuid },
      { label: "Price", num: true, value: (s) => h("span", { "data-price": s.price }, f.price(s.price)), sort: (s) => ratio(s.price) },
      { label: "Moving price", num: true, value: (s) => h("span", { "data-price": s.moving_price }, f.price(s.moving_price)), sort: (s) => ratio(s.moving_price) },
      { label: "Emission", num: true, value: (s) => (s.emission_share == null ? h("span", { class: "muted" }, "not emitting") : h("span", { "data-share": s.emission_share }, f.percent(s.emission_share))), sort: (s) => ratio(s.emission_share) },
      { label: "TAO in pool", num: true, value: (s) => tao(s.pool_tao, 3), sort: (s) => BigInt(s.pool_tao) },
      { label: "α in pool", num: true, value: (s) => alpha(s.pool_alpha, 3), sort: (s) => BigInt(s.pool_alpha) },
      { label: "Registration", num: true, value: (s) => tao(s.burn, 6), sort: (s) => BigInt(s.burn) },
      { label: "Tempo", num: true, value: (s) => String(s.tempo), sort: (s) => s.tempo },
      { label: "Next epoch", num: true, value: (s) => (s.next_epoch_block == null ? "frozen" : h("span", { "data-next-epoch": s.next_epoch_block }, `in ${s.next_epoch_block - head} (#${f.int(s.next_epoch_block)})`)), sort: (s) => s.next_epoch_block ?? Infinity },
      { label: "Neurons", num: true, value: (s) => `${s.neurons} / ${s.max_uids}`, sort: (s) => s.neurons },
      { label: "Owner", value: (s) => accountLink(s.owner_coldkey) },
    ], subnets, { name: "subnets", rowAttributes: (s) => ({ "data-netuid": s.netuid }), ...sort, onSort: (sortBy, descending) => { sort = { sortBy, descending }; } });
    box.replaceChildren(view);
  }

  await refresh();
  const later = throttled(refresh, 1000);
  ctx.onHead(() => later());
}
