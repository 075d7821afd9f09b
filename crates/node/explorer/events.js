// Events as people read them: an event object (a receipt's `event_details`, a block's own
// events, the `detail` of a subscribed event; named by `kind`) as one line with links:
// accounts, subnets, blocks, proposals; amounts exact in TAO and alpha.

import * as f from "./format.js";
import { h, blockLink, accountLink, subnetLink, proposalLink, tao, alpha } from "./dom.js";

const ACCOUNTS = ["from", "to", "owner", "hotkey", "coldkey", "replaced", "proposer", "voter", "key", "payer", "payee"];
const TAO_AMOUNTS = ["amount", "lock", "refund", "cost", "tao", "deposit", "claimed", "remaining"];
const BLOCKS = ["block", "at", "voting_ends", "enact_at", "expiry"];
const CHOICES = ["yes", "no", "abstain", "veto"];

/** A vote's choice as a small coloured label. */
export function choice(name) {
  return h("span", { class: `pill choice choice-${CHOICES.includes(name) ? name : "other"}`, "data-choice": name }, name);
}

/** A tally ({yes, no, abstain, veto, total}, decimal strings of RAO) in one line. */
export function tallyLine(tally) {
  return h("span", { class: "tally-line", "data-tally-line": "" },
    [...CHOICES, "total"].map((key, i) => [i ? " · " : "", h("span", { "data-tally": key }, key, " ", tao(tally[key] ?? "0", 4))]));
}

/** An event (an object named by `kind`) as a line of text with links. */
export function eventLine(e) {
  const parts = [h("strong", {}, e.kind)];
  const add = (label, node) => parts.push(" ", h("span", { class: "muted" }, label + " "), node);
  if (e.proposal !== undefined && e.proposal !== null) parts.push(" ", proposalLink(e.proposal));
  for (const [key, value] of Object.entries(e)) {
    if (key === "kind" || key === "proposal") continue;
    if (value === null) {
      // The root key removed: governance is the only privileged path from now on.
      if (e.kind === "SudoChanged" && key === "key") add("key", h("span", { class: "warn" }, "none: governance only"));
      continue;
    }
    if (["from", "to"].includes(key) && typeof value === "object") {
      add(key, [accountLink(value.coldkey), " / ", accountLink(value.hotkey), " on ", subnetLink(value.netuid)]);
    } else if (ACCOUNTS.includes(key)) add(key, accountLink(value));
    else if (key === "netuid") add("subnet", subnetLink(value));
    else if (TAO_AMOUNTS.includes(key)) add(key, tao(value));
    else if (key === "alpha" || (key === "emission" && e.kind === "EpochCompleted")) add(key, alpha(value));
    else if (BLOCKS.includes(key)) add(key.replace("_", " "), blockLink(value));
    else if (key === "take") add(key, f.proportion(value));
    else if (key === "channel") add("channel", h("span", { class: "mono", "data-channel": value }, `#${value}`));
    else if (key === "choice") add("voted", choice(value));
    else if (key === "tally") add(key, tallyLine(value));
    else if (key === "reason") add(key, h("span", { class: "bad", "data-reason": value }, String(value).replaceAll("_", " ")));
    else if (key === "error" && typeof value === "object") {
      add(key, [h("strong", { "data-error": value.name }, value.name), " — ", value.message]);
    } else if (key === "index" && e.kind === "ProposalEnactmentFailed") add("call", `#${value}`);
    else if (typeof value === "object") add(key, h("span", { class: "mono" }, JSON.stringify(value)));
    else add(key, h("span", { class: "mono" }, String(value)));
  }
  return h("li", { "data-event": e.kind, "data-proposal": e.proposal ?? null }, parts);
}
