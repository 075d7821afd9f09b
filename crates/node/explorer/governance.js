// Governance (#/governance): the root key, the parameters, every proposal newest first with
// its live tally against the quorum and threshold, and the chain-wide parameters; one
// proposal (#/proposal/3) with its description and votes. Read again as blocks arrive (the
// tally is live while the vote is open: the stake as it stands now).

import { snapshot, throttled, RpcError } from "./rpc.js";
import * as f from "./format.js";
import { h, s, facts, blockLink, accountLink, proposalLink, tao, table, notice } from "./dom.js";
import { choice } from "./events.js";

const FULL = 65535n;
const CHOICES = ["yes", "no", "abstain", "veto"];
const REASONS = { no_quorum: "no quorum", below_threshold: "below the threshold", vetoed: "vetoed (deposit burned)" };

export async function render(root, ctx) {
  if (ctx.name === "proposal") return proposalPage(root, ctx);
  return governancePage(root, ctx);
}

/** The quorum and threshold (u16 proportions) a proposal on `track` must clear: the
 *  critical track's are at least half of all stake and two thirds yes. */
export function bars(params, track) {
  if (track !== "critical") return [params.quorum, params.threshold];
  return [Math.max(params.quorum, params.critical_quorum), Math.max(params.threshold, params.critical_threshold)];
}

/** The chain's verdict on `tally` (decimal strings of RAO), with its exact integer
 *  comparisons: null if it passes, else "no_quorum", "vetoed" or "below_threshold". */
export function verdict(params, track, tally) {
  const [quorum, threshold] = bars(params, track);
  const [yes, no, abstain, veto, total] = [...CHOICES, "total"].map((k) => BigInt(tally[k]));
  const turnout = yes + no + abstain + veto;
  if (turnout === 0n || turnout * FULL < total * BigInt(quorum)) return "no_quorum";
  if (veto * FULL > turnout * BigInt(params.veto_threshold)) return "vetoed";
  const decisive = yes + no + veto;
  if (decisive === 0n || !(yes * FULL > decisive * BigInt(threshold))) return "below_threshold";
  return null;
}

/** A horizontal bar: `segments` ([name, amount]) stacked against `whole`, with `marks`
 *  ([name, u16 proportion, title]) drawn across it. Widths only: the numbers are in text. */
function meter(name, segments, whole, marks, label) {
  const svg = s("svg", { viewBox: "0 0 1000 16", preserveAspectRatio: "none", class: "meter", role: "img", "aria-label": label, "data-meter": name });
  svg.append(s("rect", { x: 0, y: 0, width: 1000, height: 16, class: "meter-bg" }));
  let x = 0;
  for (const [segment, amount] of segments) {
    const width = whole === 0n ? 0 : Number((amount * 1_000_000n) / whole) / 1000;
    if (amount > 0n) {
      svg.append(s("rect", { x: x.toFixed(3), y: 0, width: width.toFixed(3), height: 16, class: `seg seg-${segment}`, "data-seg": segment },
        s("title", {}, `${segment}: ${f.tao(amount)} (${f.share(amount, whole)})`)));
    }
    x += width;
  }
  for (const [mark, proportion, title] of marks) {
    const at = ((1000 * Number(proportion)) / 65535).toFixed(3);
    svg.append(s("line", { x1: at, x2: at, y1: 0, y2: 16, class: "mark", "vector-effect": "non-scaling-stroke", "data-mark": mark, "data-proportion": proportion }, s("title", {}, title)));
  }
  return svg;
}

function meterRow(caption, ok, svg) {
  return h("div", { class: "meter-row" }, h("div", { class: "meter-caption" }, caption, " ", h("span", { class: ok ? "ok" : "bad" }, ok ? "✓" : "✗")), svg);
}

/** The count: each choice in TAO and as a share of all stake, three bars (turnout against
 *  the quorum, yes against the threshold, vetoes against the veto threshold) and whether
 *  the proposal passes (would pass now, while voting). */
function tallyView(p, params) {
  const t = Object.fromEntries([...CHOICES, "total"].map((k) => [k, BigInt(p.tally[k])]));
  const turnout = t.yes + t.no + t.abstain + t.veto;
  const decisive = t.yes + t.no + t.veto;
  const [quorum, threshold] = bars(params, p.track);
  const reason = verdict(params, p.track, p.tally);
  const quorate = !(turnout === 0n || turnout * FULL < t.total * BigInt(quorum));
  const vetoed = vetoedBy(t, turnout, params);
  const above = decisive > 0n && t.yes * FULL > decisive * BigInt(threshold);
  const live = p.status === "voting";
  const rows = [...CHOICES, "total"].map((key) => ({ key, amount: t[key] }));
  let headline;
  if (live) {
    headline = p.passing
      ? h("span", { class: "ok" }, "Would pass if the vote ended now")
      : h("span", { class: "bad" }, "Would not pass now: ", REASONS[reason] ?? "below its bar");
  } else if (p.status === "cancelled") {
    headline = h("span", { class: "muted" }, "Cancelled by its proposer: never counted (its voters' stake as it stands now)");
  } else if (p.status === "rejected") {
    headline = h("span", { class: "bad" }, "Final count: rejected, ", REASONS[p.reason] ?? p.reason ?? "");
  } else {
    // passed, enacted, or failed at enactment: the final count cleared the bar.
    headline = h("span", { class: "ok" }, "Final count: passed", p.status === "failed" ? " (its enactment failed)" : "");
  }
  return h("div", { class: "tally", "data-tally": p.id, "data-live": live ? "true" : "false", "data-passing": String(p.passing), "data-verdict": reason ?? "passes" },
    h("div", { class: "tally-headline" }, live ? h("span", { class: "pill live" }, "live") : null, " ", headline),
    table([
      { label: "Vote", value: (r) => (r.key === "total" ? h("strong", {}, "all stake") : choice(r.key)) },
      { label: "Stake (TAO)", num: true, value: (r) => tao(r.amount) },
      { label: "Share", num: true, value: (r) => f.share(r.amount, t.total) },
    ], rows, { name: "tally", class: "compact", rowAttributes: (r) => ({ "data-tally-row": r.key }) }),
    meterRow(["Turnout ", h("strong", {}, f.share(turnout, t.total)), " of all stake; quorum ", f.u16Percent(quorum)], quorate,
      meter("turnout", CHOICES.map((c) => [c, t[c]]), t.total, [["quorum", quorum, `quorum ${f.u16Percent(quorum)}`]], "votes against all stake")),
    meterRow(["Yes ", h("strong", {}, f.share(t.yes, decisive)), " of yes, no and veto; needs more than ", f.u16Percent(threshold)], above,
      meter("threshold", [["yes", t.yes], ["no", t.no], ["veto", t.veto]], decisive, [["threshold", threshold, `threshold ${f.u16Percent(threshold)}`]], "yes against the decisive votes")),
    meterRow(["Veto ", h("strong", {}, f.share(t.veto, turnout)), " of the votes; more than ", f.u16Percent(params.veto_threshold), " rejects and burns the deposit"], !vetoed,
      meter("veto", [["veto", t.veto]], turnout, [["veto-threshold", params.veto_threshold, `veto threshold ${f.u16Percent(params.veto_threshold)}`]], "vetoes against all votes")),
  );
}

function vetoedBy(t, turnout, params) {
  return t.veto * FULL > turnout * BigInt(params.veto_threshold);
}

function statusPill(p) {
  return h("span", { class: `pill status status-${p.status}`, "data-status": p.status }, p.status);
}

/** One proposal: who, what, the deposit, the schedule and the count. */
function proposalCard(p, params, head, detailed) {
  const left = p.voting_ends - head;
  const deposit = p.deposit > 0
    ? [tao(p.deposit), " held"]
    : [tao(0), h("span", { class: "muted" }, p.reason === "vetoed" ? " (burned)" : " (returned)")];
  let enactment = h("span", { class: "muted" }, "–");
  if (p.enact_at != null) {
    enactment = [blockLink(p.enact_at), p.status === "passed" ? ` (in ${f.int(Math.max(0, p.enact_at - head))} blocks)` : p.status === "enacted" ? " (enacted)" : ""];
  } else if (p.status === "voting") {
    enactment = h("span", { class: "muted" }, `#${f.int(p.voting_ends + params.enactment_delay)} if it passes`);
  }
  // On its own page the proposal's number and title are the page's heading.
  return h("section", { class: "proposal", "data-proposal-card": p.id, "data-status": p.status },
    h("div", { class: "proposal-head" },
      detailed ? null : h("h3", {}, proposalLink(p.id, `#${p.id}`), " ", p.title), statusPill(p), h("span", { class: `pill track-${p.track}`, "data-track": p.track }, `${p.track} track`)),
    h("div", { class: "proposal-body" },
      facts([
        ["Proposer", accountLink(p.proposer), "proposer"],
        ["Calls", h("ol", { class: "calls" }, p.calls.map((c) => h("li", {}, c))), "calls"],
        ["Deposit", deposit, "deposit"],
        ["Submitted", blockLink(p.submitted), "submitted"],
        ["Voting", p.status === "voting"
          ? ["ends at ", blockLink(p.voting_ends), h("span", { "data-blocks-left": left }, ` (${f.int(left)} block${left === 1 ? "" : "s"} left)`)]
          : p.status === "cancelled" ? ["cancelled (it was open until ", blockLink(p.voting_ends), ")"] : ["ended at ", blockLink(p.voting_ends)], "voting-ends"],
        ["Enactment", enactment, "enact-at"],
        p.reason ? ["Reason", h("span", { class: "bad", "data-reason": p.reason }, REASONS[p.reason] ?? p.reason), "reason"] : null,
        ["Voters", f.int(p.voters), "voters"],
      ]),
      tallyView(p, params)));
}

/** How to read a chain-wide parameter's text value. */
function readAs(name, value) {
  if (!/^\d+(\.\d+)?$/.test(value)) return "";
  if (["network_min_lock_cost", "gov_deposit"].includes(name)) return value + " τ";
  if (["subnet_owner_cut", "gov_quorum", "gov_threshold", "gov_veto_threshold"].includes(name)) return f.u16Percent(value);
  if (name === "tao_weight") return f.share(value, 2n ** 64n - 1n, 4);
  if (name === "owner_hyperparam_rate_limit") return `${f.int(value)} tempo${value === "1" ? "" : "s"}`;
  if (/(period|delay|interval|rate_limit|window)$/.test(name)) return `${f.int(value)} block${value === "1" ? "" : "s"}`;
  return "";
}

function paramsFacts(gov) {
  const p = gov.params;
  const [cq, ct] = bars(p, "critical");
  return facts([
    ["Root key", gov.sudo ? accountLink(gov.sudo) : h("span", { class: "warn", "data-sudo": "none" }, "none: governance only"), "sudo"],
    ["Deposit", tao(p.deposit), "deposit"],
    ["Voting period", `${f.int(p.voting_period)} blocks`, "voting-period"],
    ["Enactment delay", `${f.int(p.enactment_delay)} blocks`, "enactment-delay"],
    ["Quorum", h("span", { "data-proportion": p.quorum, title: `${p.quorum} / 65535` }, f.u16Percent(p.quorum), " of all stake"), "quorum"],
    ["Threshold", h("span", { "data-proportion": p.threshold, title: `${p.threshold} / 65535` }, "more than ", f.u16Percent(p.threshold), " yes of yes, no and veto"), "threshold"],
    ["Veto threshold", h("span", { "data-proportion": p.veto_threshold, title: `${p.veto_threshold} / 65535` }, "more than ", f.u16Percent(p.veto_threshold), " of the votes"), "veto-threshold"],
    ["Critical track", h("span", { "data-critical": `${cq}/${ct}` }, `quorum ${f.u16Percent(cq)}, threshold ${f.u16Percent(ct)} (the root key and gov_* parameters)`), "critical"],
    ["Open at most", f.int(p.max_open), "max-open"],
    ["As of", blockLink(gov.block), "as-of"],
  ]);
}

async function governancePage(root, ctx) {
  const box = h("div", { "data-governance": "" });
  root.append(h("h1", {}, "Governance"),
    h("p", { class: "muted" }, "Proposals of privileged changes, voted on with stake valued in TAO; a proposal that passes takes effect after the enactment delay. Tallies of open votes are live: the stake as it stands now."),
    box);
  let sort = { sortBy: null, descending: false };

  async function refresh() {
    const snap = await snapshot([["tao_governance"], ["tao_globalParameters"]]);
    if (!ctx.current()) return;
    const [gov, globals] = snap.results;
    const open = gov.proposals.filter((p) => p.status === "voting" || p.status === "passed").length;
    box.replaceChildren(
      paramsFacts(gov),
      h("h2", {}, `Proposals (${f.int(open)} open, ${f.int(gov.proposals.length)} shown)`),
      gov.proposals.length === 0
        ? notice("No proposals yet.")
        : h("div", { class: "proposals", "data-list": "proposals" }, gov.proposals.map((p) => proposalCard(p, gov.params, gov.block, false))),
      h("h2", {}, "Chain parameters"),
      h("p", { class: "muted" }, "What root or a passed proposal may set (", h("code", {}, "tao gov propose --set-global NAME=VALUE"), ")."),
      table([
        { label: "Parameter", value: (g) => h("span", { class: "mono" }, g.name), sort: (g) => g.name },
        { label: "Value", num: true, value: (g) => h("span", { "data-value": g.value }, g.value) },
        { label: "Reads as", num: true, value: (g) => readAs(g.name, g.value) },
      ], globals, { name: "global-parameters", rowAttributes: (g) => ({ "data-parameter": g.name }), ...sort, onSort: (sortBy, descending) => { sort = { sortBy, descending }; } }),
    );
    box.dataset.block = snap.consistent ? snap.block : "";
  }

  await refresh();
  const later = throttled(refresh, 250);
  ctx.onHead(() => later());
}

async function proposalPage(root, ctx) {
  const id = Number(ctx.args[0]);
  if (!/^\d+$/.test(ctx.args[0] ?? "") || !Number.isSafeInteger(id) || id > 0xffffffff) throw new Error(`“${ctx.args[0] ?? ""}” is not a proposal number.`);
  const box = h("div", { "data-proposal-page": id });
  const title = h("h1", {}, `Proposal #${id}`);
  root.append(title, box);
  let sort = { sortBy: null, descending: false };

  async function refresh() {
    let snap;
    try {
      snap = await snapshot([["tao_proposal", [id]], ["tao_governance"]]);
    } catch (e) {
      if (e instanceof RpcError && e.code === -32004) {
        box.replaceChildren(notice(`There is no proposal #${id} (it never existed, or it finished long ago).`, "error"));
        box.dataset.block = "";
        return;
      }
      throw e;
    }
    if (!ctx.current()) return;
    const [detail, gov] = snap.results;
    const p = detail.proposal;
    title.textContent = `Proposal #${id}: ${p.title}`;
    box.replaceChildren(...[
      proposalCard(p, gov.params, gov.block, true),
      h("h2", {}, "Description"),
      p.description ? h("p", { class: "description panel", "data-field": "description" }, p.description) : notice("No description."),
      h("h2", {}, `Votes (${f.int(p.voters)})`),
      h("p", { class: "muted" }, "A coldkey's vote counts its own stake; a hotkey's vote counts its nominators' stake unless they voted themselves. Counted once, when the vote ends."),
      detail.votes.length === 0 ? notice("No votes yet.") : table([
        { label: "#", num: true, value: (v) => String(v.i + 1), sort: (v) => v.i },
        { label: "Voter", value: (v) => accountLink(v.voter), sort: (v) => v.voter },
        { label: "Vote", value: (v) => choice(v.choice), sort: (v) => CHOICES.indexOf(v.choice) },
      ], detail.votes.map((v, i) => ({ ...v, i })), { name: "votes", rowAttributes: (v) => ({ "data-voter": v.voter, "data-choice": v.choice }), ...sort, onSort: (sortBy, descending) => { sort = { sortBy, descending }; } }),
      detail.votes.length < p.voters ? h("p", { class: "muted" }, `The first ${f.int(detail.votes.length)} of ${f.int(p.voters)} votes.`) : null,
      h("p", {}, h("a", { href: "#/governance" }, "← all proposals")),
    ].filter(Boolean));
    box.dataset.block = snap.consistent ? snap.block : "";
  }

  await refresh();
  const later = throttled(refresh, 250);
  ctx.onHead(() => later());
}
