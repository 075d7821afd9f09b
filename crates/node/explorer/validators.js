// The chain's validators: who agrees on blocks (BFT authorities, or the single producer of
// a development chain), and the subnet validators people stake to (delegates).

import { snapshot } from "./rpc.js";
import * as f from "./format.js";
import { h, facts, accountLink, subnetLink, tao, alpha, table, notice } from "./dom.js";

export async function render(root, ctx) {
  const snap = await snapshot([["tao_validators"], ["tao_delegates"]]);
  const [chain, delegates] = snap.results;
  root.dataset.block = snap.consistent ? snap.block : "";
  const mode = { single: "One block producer (a development chain): every block it makes is final.", bft: "BFT consensus: the authorities below vote on each block; a block is final once a quorum signs it.", follower: "This node follows another and checks each of its blocks." }[chain.mode] ?? chain.mode;
  root.append(
    h("h1", {}, "Validators"),
    h("h2", {}, "Chain validators"),
    facts([
      ["Consensus", h("span", { "data-mode": chain.mode }, mode), "mode"],
      ["Authorities", String(chain.authorities.length), "authorities"],
      chain.follows ? ["Follows", chain.follows, "follows"] : null,
    ]),
    chain.authorities.length === 0 ? null : table([
      { label: "#", num: true, value: (a) => a.i },
      { label: "Public key (ed25519)", value: (a) => h("span", { class: "mono" }, a.key) },
    ], chain.authorities.map((key, i) => ({ key, i })), { name: "authorities" }),
    h("h2", {}, "Subnet validators and delegates"),
    h("p", { class: "muted" }, "Every hotkey with stake on it, its take of dividends and its nominators."),
    delegates.length === 0 ? notice("No stake yet.") : table([
      { label: "Hotkey", value: (d) => accountLink(d.hotkey) },
      { label: "Owner", value: (d) => (d.owner ? accountLink(d.owner) : h("span", { class: "muted" }, "–")) },
      { label: "Take", num: true, value: (d) => (Number(d.take) / 655.35).toFixed(2) + " %", sort: (d) => d.take },
      { label: "Root stake", num: true, value: (d) => tao(d.root_stake, 3), sort: (d) => BigInt(d.root_stake) },
      { label: "Subnet stake", value: (d) => d.alpha_stake.map((s, i) => [i ? ", " : "", subnetLink(s.netuid), " ", alpha(s.alpha, 3)]), sort: (d) => d.alpha_stake.reduce((n, s) => n + BigInt(s.alpha), 0n) },
      { label: "Nominators", num: true, value: (d) => String(d.nominators), sort: (d) => d.nominators },
    ], delegates, { name: "delegates", rowAttributes: (d) => ({ "data-hotkey": d.hotkey }) }),
  );
}
