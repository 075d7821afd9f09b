// Drives headless Chromium over the explorer of a running tao-node (started, with a subnet
// at work, by crates/node/tests/explorer.rs, which passes what it made in EXPLORER_FACTS).
//
// Every page is loaded and its numbers are checked against the RPC's answers at the same
// block; links are followed; new blocks must appear without a reload; any console error,
// page error, failed request or request to anywhere but the node fails the run. Screenshots
// go to $SCREENSHOTS. Last, page weight and time to first render are measured against a
// minimal page that fetches the same data, and printed.
//
// Waits are bounded polls (a deadline each); the whole run is bounded too.

import { chromium } from "playwright-core";
import { join } from "node:path";
import assert from "node:assert/strict";

const EXPLORER = process.env.EXPLORER_URL;
const RPC = process.env.RPC_URL;
const FACTS = JSON.parse(process.env.EXPLORER_FACTS ?? "{}");
const SHOTS = process.env.SCREENSHOTS ?? "target/explorer-screenshots";
const ORIGIN = new URL(EXPLORER).origin;
const RUN_DEADLINE_MS = 240_000;

setTimeout(() => {
  console.error("FAIL: the browser test did not finish in time");
  process.exit(1);
}, RUN_DEADLINE_MS).unref();

// --- the RPC, from here (no Origin header) -------------------------------------------

let id = 1;
async function rpc(method, params = []) {
  const response = await fetch(RPC, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
  });
  const answer = await response.json();
  if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result;
}
const headNumber = async () => (await rpc("tao_chainHead")).number;

// --- formatting written again here, independently of the page's format.js -------------

function group(digits) {
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ",";
    out += digits[i];
  }
  return out;
}
/** RAO (integer string) → "1,234.5 τ" with at most `decimals` decimals, cut and marked "…". */
function taoText(rao, decimals = 9, unit = " τ") {
  const s = String(rao).padStart(10, "0");
  const whole = s.slice(0, -9).replace(/^0+(?=\d)/, "");
  let fraction = s.slice(-9).replace(/0+$/, "");
  let cut = "";
  if (fraction.length > decimals) {
    fraction = fraction.slice(0, decimals).replace(/0+$/, "");
    cut = "…";
  }
  return group(whole) + (fraction ? "." + fraction : "") + cut + unit;
}

// --- waiting -------------------------------------------------------------------------

async function until(what, check, timeoutMs = 15_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Reads the page (`read` returns {block, ...}) and the RPC (`fetchRpc`) until both are of
 *  one block (the head did not move around the RPC read, and the page's data is of that
 *  block), then runs `compare(page, rpc)`. Bounded: 100 tries (live pages read again each second). */
async function atOneBlock(what, read, fetchRpc, compare) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const before = await headNumber();
    const shown = await read();
    const answer = await fetchRpc();
    const after = await headNumber();
    if (shown.block !== "" && Number(shown.block) === before && before === after) {
      compare(shown, answer);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: never read the page and the RPC at one block`);
}

// --- the browser ---------------------------------------------------------------------

const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  // (playwright starts Chromium with a new, empty --user-data-dir of its own each launch.)
});

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  // Nothing but the node: any other request is a failure (and is not let out).
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(ORIGIN + "/") || url.startsWith(ORIGIN.replace("http", "ws"))) return route.continue();
    problems.push(`request to ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    else if (message.type() === "warning") console.log(`(console warning: ${message.text()})`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // A request the page dropped itself (a fetch cut short by leaving the page) is no fault.
    if (request.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(`failed request: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  return page;
}

async function open(page, route) {
  await page.goto(`${EXPLORER}#/${route}`);
  await ready(page);
}
async function ready(page) {
  await page.waitForSelector("main[data-ready]", { timeout: 15_000 });
}
async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
const text = (page, selector) => page.locator(selector).first().innerText();

const checks = [];
async function check(name, body) {
  const started = Date.now();
  await body();
  checks.push(`${name} (${Date.now() - started} ms)`);
  console.log(`ok: ${name}`);
}

try {
  const page = await newPage();

  await check("overview: numbers equal the RPC's at one block", async () => {
    await open(page, "");
    await atOneBlock("overview",
      () => page.evaluate(() => ({
        block: document.querySelector(".cards").dataset.block,
        head: document.querySelector('[data-field="head"] [data-block]')?.dataset.block,
        issuance: document.querySelector('[data-field="issuance"] [data-rao]').dataset.rao,
        issuanceText: document.querySelector('[data-field="issuance"]').innerText,
        emission: document.querySelector('[data-field="emission"] [data-rao]').dataset.rao,
        finalized: document.querySelector('[data-field="finalized"] [data-block]').dataset.block,
        subnets: document.querySelector('[data-field="subnets"]').innerText,
        validators: document.querySelector('[data-field="validators"]').innerText,
        halving: document.querySelector('[data-field="halving"]').innerText,
      })),
      async () => ({ issuance: await rpc("tao_issuance"), subnets: await rpc("tao_subnets"), health: await rpc("tao_health") }),
      (shown, r) => {
        assert.equal(shown.head, String(r.issuance.block));
        assert.equal(shown.issuance, r.issuance.total_issuance);
        assert.equal(shown.issuanceText, taoText(r.issuance.total_issuance, 4));
        assert.equal(shown.emission, String(r.issuance.block_emission));
        assert.equal(shown.finalized, String(r.health.finalized));
        assert.equal(shown.subnets, String(r.subnets.length));
        assert.equal(shown.validators, "1 producer");
        const left = BigInt(r.issuance.next_halving_issuance) - BigInt(r.issuance.total_issuance);
        const per = BigInt(r.issuance.block_emission);
        assert.equal(shown.halving, `${group(((left + per - 1n) / per).toString())} blocks`);
      });
    await shot(page, "overview");
  });

  await check("overview: new blocks and events arrive without a reload", async () => {
    await page.evaluate(() => { window.__noReload = true; });
    const first = Number(await page.locator('[data-table="latest-blocks"] [data-block]').first().getAttribute("data-block"));
    await until("a newer block in the latest blocks", async () =>
      Number(await page.locator('[data-table="latest-blocks"] [data-block]').first().getAttribute("data-block")) > first);
    await until("a live event", async () => (await page.locator('[data-list="events"] li:not([data-placeholder])').count()) > 0);
    const status = Number(await page.locator("#status").getAttribute("data-head"));
    assert.ok(status > first, "the header shows the live head");
    assert.equal(await page.evaluate(() => window.__noReload), true, "the page was not reloaded");
  });

  // --- governance: a proposal open for votes (made by explorer.rs), more sent from here --

  const GOV = FACTS.governance;
  const GOVERNANCE_KINDS = ["ProposalSubmitted", "Voted", "ProposalCancelled", "ProposalPassed", "ProposalRejected",
    "DepositReturned", "DepositBurned", "ProposalEnacted", "ProposalEnactmentFailed", "SudoChanged", "GlobalParameterSet"];
  // A second overview stays open for the whole run and notes every governance line its live
  // feed shows (the feed keeps only the last 30 lines).
  const watcher = await newPage();
  await open(watcher, "");
  await watcher.evaluate((kinds) => {
    window.__seen = [];
    const record = (li) => {
      if (!(li instanceof HTMLElement) || !kinds.includes(li.dataset.event)) return;
      window.__seen.push({
        kind: li.dataset.event,
        block: Number(li.dataset.eventBlock),
        proposal: li.dataset.proposal ?? null,
        link: li.querySelector("a[data-proposal-link]")?.getAttribute("href") ?? null,
        tx: li.querySelector('a[href^="#/tx/"]')?.getAttribute("href") ?? null,
        accounts: [...li.querySelectorAll("[data-account]")].map((a) => a.dataset.account),
        rao: [...li.querySelectorAll(":scope > [data-rao]")].map((a) => a.dataset.rao),
        choice: li.querySelector("[data-choice]")?.dataset.choice ?? null,
        tally: Object.fromEntries([...li.querySelectorAll("[data-tally]")].map((e) => [e.dataset.tally, e.querySelector("[data-rao]").dataset.rao])),
        text: li.innerText,
      });
    };
    const list = document.querySelector('[data-list="events"]');
    new MutationObserver((changes) => { for (const c of changes) for (const node of c.addedNodes) record(node); }).observe(list, { childList: true });
  }, GOVERNANCE_KINDS);
  const seen = (kind, proposal) => watcher.evaluate(([k, p]) => window.__seen.filter((e) => e.kind === k && e.proposal === String(p)), [kind, proposal]);
  const one = async (kind, proposal, timeoutMs) => (await until(`${kind} of proposal ${proposal} in the live feed`, async () => {
    const found = await seen(kind, proposal);
    return found.length > 0 ? found : null;
  }, timeoutMs))[0];

  await check("feed: governance events arrive live as objects, with links to the proposal", async () => {
    // The feed is live once it has shown a block.
    await until("the watcher's live feed", async () => (await watcher.locator('[data-list="events"] li[data-event-block]').count()) > 0);
    const params = (await rpc("tao_governance")).params;
    for (const name of ["eve_vote", "bob_propose", "bob_cancel"]) {
      const receipt = await rpc("tao_submitAndWait", [GOV.signed[name], 30_000]);
      assert.equal(receipt.outcome, "success", `${name}: ${JSON.stringify(receipt)}`);
    }
    const second = GOV.proposal + 1;
    const voted = await one("Voted", GOV.proposal);
    assert.equal(voted.link, `#/proposal/${GOV.proposal}`);
    assert.equal(voted.choice, "no");
    assert.match(voted.tx ?? "", /^#\/tx\/0x[0-9a-f]{64}$/, "the vote links to its transaction");
    assert.ok(voted.accounts.includes(GOV.eve), "the voter links to its account");
    const submitted = await one("ProposalSubmitted", second);
    assert.equal(submitted.link, `#/proposal/${second}`);
    assert.ok(submitted.accounts.includes(FACTS.bob), "the proposer links to its account");
    assert.deepEqual(submitted.rao, [String(params.deposit)], "the deposit, exact");
    assert.ok(submitted.text.includes("critical"), submitted.text);
    assert.equal((await one("ProposalCancelled", second)).link, `#/proposal/${second}`);
    const returned = await one("DepositReturned", second);
    assert.deepEqual(returned.rao, [String(params.deposit)]);
    assert.ok(returned.accounts.includes(FACTS.bob));
    // Every line of the feed is an object drawn as on the block pages (no debug text).
    const lines = await watcher.locator('[data-list="events"] li').evaluateAll((lis) => lis.map((li) => ({ event: li.dataset.event ?? null, text: li.innerText })));
    for (const line of lines) {
      assert.ok(line.event !== null || /no events|more$/.test(line.text), `a feed line without its object: ${line.text}`);
      assert.ok(!/\w \{/.test(line.text), `debug text in the feed: ${line.text}`);
      assert.ok(!/https?:/.test(line.text), `a link's address as text: ${line.text}`);
    }
    await shot(watcher, "overview-governance-feed");
  });

  /** What the governance page shows, read in one go. */
  const readGovernance = (p) => p.evaluate(() => {
    const box = document.querySelector("[data-governance]");
    const rao = (el) => el?.querySelector("[data-rao]")?.dataset.rao ?? null;
    return {
      block: box.dataset.block,
      sudo: document.querySelector('[data-field="sudo"] [data-account]')?.dataset.account ?? null,
      deposit: rao(document.querySelector('[data-field="deposit"]')),
      votingPeriod: document.querySelector('[data-field="voting-period"]').innerText,
      quorum: Number(document.querySelector('[data-field="quorum"] [data-proportion]').dataset.proportion),
      threshold: Number(document.querySelector('[data-field="threshold"] [data-proportion]').dataset.proportion),
      veto: Number(document.querySelector('[data-field="veto-threshold"] [data-proportion]').dataset.proportion),
      critical: document.querySelector('[data-field="critical"] [data-critical]').dataset.critical,
      proposals: [...document.querySelectorAll("[data-proposal-card]")].map((card) => ({
        id: Number(card.dataset.proposalCard),
        status: card.dataset.status,
        track: card.querySelector("[data-track]").dataset.track,
        proposer: card.querySelector('[data-field="proposer"] [data-account]').dataset.account,
        calls: [...card.querySelectorAll(".calls li")].map((li) => li.innerText),
        deposit: rao(card.querySelector('[data-field="deposit"]')),
        blocksLeft: card.querySelector("[data-blocks-left]")?.dataset.blocksLeft ?? null,
        voters: card.querySelector('[data-field="voters"]').innerText,
        tally: Object.fromEntries([...card.querySelectorAll("tr[data-tally-row]")].map((tr) => [tr.dataset.tallyRow, rao(tr)])),
        passing: card.querySelector("[data-passing]").dataset.passing,
        verdict: card.querySelector("[data-verdict]").dataset.verdict,
        live: card.querySelector("[data-live]").dataset.live,
        quorumMark: Number(card.querySelector('[data-meter="turnout"] [data-mark="quorum"]').dataset.proportion),
        thresholdMark: Number(card.querySelector('[data-meter="threshold"] [data-mark="threshold"]').dataset.proportion),
        segments: [...card.querySelectorAll('[data-meter="turnout"] [data-seg]')].map((r) => r.dataset.seg),
      })),
      globals: [...document.querySelectorAll('[data-table="global-parameters"] tbody tr')].map((tr) => [tr.dataset.parameter, tr.querySelector("[data-value]").dataset.value]),
    };
  });
  /** The chain's verdict, computed here again from the tally (exact integers). */
  function passes(params, track, t) {
    const FULL = 65535n;
    const critical = track === "critical";
    const quorum = BigInt(critical ? Math.max(params.quorum, params.critical_quorum) : params.quorum);
    const threshold = BigInt(critical ? Math.max(params.threshold, params.critical_threshold) : params.threshold);
    const [yes, no, abstain, veto, total] = ["yes", "no", "abstain", "veto", "total"].map((k) => BigInt(t[k]));
    const turnout = yes + no + abstain + veto, decisive = yes + no + veto;
    if (turnout === 0n || turnout * FULL < total * quorum) return "no_quorum";
    if (veto * FULL > turnout * BigInt(params.veto_threshold)) return "vetoed";
    if (decisive === 0n || !(yes * FULL > decisive * threshold)) return "below_threshold";
    return "passes";
  }

  await check("governance: root key, parameters, every proposal and its live tally equal the RPC's", async () => {
    await page.locator('nav a[data-nav="governance"]').click();
    await until("the governance page", () => page.evaluate(() => document.querySelector("main").dataset.page === "governance" && !!document.querySelector("main[data-ready]")));
    await page.evaluate(() => { window.__noReload = true; });
    let firstBlock = null;
    await atOneBlock("governance", () => readGovernance(page),
      async () => ({ gov: await rpc("tao_governance"), globals: await rpc("tao_globalParameters") }),
      (shown, { gov, globals }) => {
        firstBlock = Number(shown.block);
        assert.equal(shown.sudo, gov.sudo);
        assert.equal(shown.deposit, String(gov.params.deposit));
        assert.equal(shown.votingPeriod, `${group(String(gov.params.voting_period))} blocks`);
        assert.deepEqual([shown.quorum, shown.threshold, shown.veto], [gov.params.quorum, gov.params.threshold, gov.params.veto_threshold]);
        assert.equal(shown.critical, `${Math.max(gov.params.quorum, gov.params.critical_quorum)}/${Math.max(gov.params.threshold, gov.params.critical_threshold)}`);
        assert.deepEqual(shown.proposals.map((p) => p.id), gov.proposals.map((p) => p.id), "every proposal, newest first");
        for (const p of gov.proposals) {
          const card = shown.proposals.find((c) => c.id === p.id);
          assert.equal(card.status, p.status);
          assert.equal(card.track, p.track);
          assert.equal(card.proposer, p.proposer);
          assert.deepEqual(card.calls, p.calls);
          assert.equal(card.deposit, String(p.deposit));
          assert.deepEqual(card.tally, { yes: p.tally.yes, no: p.tally.no, abstain: p.tally.abstain, veto: p.tally.veto, total: p.tally.total }, `proposal ${p.id}'s tally`);
          assert.equal(card.passing, String(p.passing));
          assert.equal(card.verdict, passes(gov.params, p.track, p.tally));
          assert.equal(card.verdict === "passes", p.passing, "the chain and the page agree on the verdict");
          assert.equal(card.voters, String(p.voters));
          const [quorum, threshold] = p.track === "critical"
            ? [Math.max(gov.params.quorum, gov.params.critical_quorum), Math.max(gov.params.threshold, gov.params.critical_threshold)]
            : [gov.params.quorum, gov.params.threshold];
          assert.deepEqual([card.quorumMark, card.thresholdMark], [quorum, threshold]);
        }
        const open = shown.proposals.find((c) => c.id === GOV.proposal);
        const p = gov.proposals.find((x) => x.id === GOV.proposal);
        assert.equal(open.status, "voting", "the proposal is still open for votes");
        assert.equal(open.live, "true");
        assert.equal(open.blocksLeft, String(p.voting_ends - gov.block));
        assert.ok(BigInt(p.tally.yes) > 0n && BigInt(p.tally.no) > 0n, "Alice voted yes and Eve no");
        assert.deepEqual(open.segments, ["yes", "no"]);
        assert.equal(shown.proposals.find((c) => c.id === GOV.proposal + 1)?.status, "cancelled");
        assert.deepEqual(shown.globals, globals.map((g) => [g.name, g.value]));
      });
    // Live: read again as blocks arrive, without a reload.
    await until("the governance page at a newer block", async () => Number(await page.locator("[data-governance]").getAttribute("data-block")) > firstBlock);
    assert.equal(await page.evaluate(() => window.__noReload), true, "no reload");
    await shot(page, "governance");
  });

  await check("proposal: its tally and votes equal tao_proposal's; voters link to their accounts", async () => {
    await page.locator(`[data-proposal-card="${GOV.proposal}"] a[data-proposal-link="${GOV.proposal}"]`).first().click();
    await until("the proposal page", async () => page.url().endsWith(`#/proposal/${GOV.proposal}`) && (await page.locator("main[data-ready] [data-proposal-page] [data-table='votes']").count()) > 0);
    await atOneBlock("proposal",
      () => page.evaluate(() => ({
        block: document.querySelector("[data-proposal-page]").dataset.block,
        title: document.querySelector("main h1").innerText,
        description: document.querySelector('[data-field="description"]')?.innerText ?? null,
        tally: Object.fromEntries([...document.querySelectorAll("tr[data-tally-row]")].map((tr) => [tr.dataset.tallyRow, tr.querySelector("[data-rao]").dataset.rao])),
        votes: [...document.querySelectorAll('[data-table="votes"] tbody tr')].map((tr) => [tr.dataset.voter, tr.dataset.choice]),
      })),
      () => rpc("tao_proposal", [GOV.proposal]),
      (shown, detail) => {
        const p = detail.proposal;
        assert.equal(shown.title, `Proposal #${p.id}: ${p.title}`);
        assert.equal(shown.description, p.description);
        assert.deepEqual(shown.tally, { yes: p.tally.yes, no: p.tally.no, abstain: p.tally.abstain, veto: p.tally.veto, total: p.tally.total });
        assert.deepEqual(shown.votes, detail.votes.map((v) => [v.voter, v.choice]));
        assert.deepEqual(new Map(shown.votes), new Map([[GOV.proposer, "yes"], [GOV.eve, "no"]]));
      });
    await shot(page, "proposal");
    await page.locator(`[data-table="votes"] tr[data-voter="${GOV.eve}"] a[data-account]`).click();
    await until("the voter's account page", async () => page.url().endsWith(`#/account/${GOV.eve}`) && (await page.locator("main[data-ready]").count()) > 0);
  });

  await check("blocks: the list grows live; a link leads to the block", async () => {
    await page.locator('nav a[data-nav="blocks"]').click();
    await until("the blocks page", () => page.evaluate(() => document.querySelector("main").dataset.page === "blocks" && !!document.querySelector("main[data-ready]")));
    await page.evaluate(() => { window.__noReload = true; });
    const top = Number(await page.locator("[data-row-block]").first().getAttribute("data-row-block"));
    await until("a new row", async () => Number(await page.locator("[data-row-block]").first().getAttribute("data-row-block")) > top);
    assert.equal(await page.evaluate(() => window.__noReload), true, "no reload");
    await shot(page, "blocks");
    const link = page.locator('[data-table="blocks"] tbody tr').nth(3).locator("[data-block]");
    const n = await link.getAttribute("data-block");
    await link.click();
    await until("the block page", async () => page.url().endsWith(`#/block/${n}`) && (await page.locator(`main[data-ready][data-page="block"] [data-block="${n}"]`).count()) > 0);
    assert.equal(await text(page, "main h1"), `Block #${group(n)}`);
    const header = await rpc("tao_getBlock", [Number(n)]);
    assert.equal(await text(page, '[data-field="hash"]'), header.header.hash);
  });

  await check("block: a failed transaction shows its reason, fees and events equal the RPC's", async () => {
    await open(page, `block/${FACTS.failed_block}`);
    const receipts = await rpc("tao_blockReceipts", [FACTS.failed_block]);
    const block = await rpc("tao_getBlock", [FACTS.failed_block]);
    const row = page.locator(`tr[data-tx="${FACTS.failed_tx}"]`);
    assert.equal(await row.locator("[data-outcome]").getAttribute("data-outcome"), "failed");
    assert.equal(await row.locator("[data-error]").getAttribute("data-error"), FACTS.failed_error);
    const receipt = receipts.receipts.find((r) => r.tx_hash === FACTS.failed_tx);
    assert.ok((await row.innerText()).includes(receipt.error.message), "the failure's message is shown");
    assert.equal(await row.locator("[data-rao]").getAttribute("data-rao"), String(receipt.fee));
    assert.equal(await page.locator('[data-table="transactions"] tbody tr').count(), block.transactions.length);
    const events = receipts.events.length + receipts.receipts.reduce((n, r) => n + r.event_details.length, 0);
    assert.equal(await page.locator('[data-list="block-events"] li[data-event]').count(), events);
    const fees = receipts.receipts.reduce((n, r) => n + BigInt(r.fee), 0n);
    assert.equal(await page.locator('[data-field="fees"] [data-rao]').getAttribute("data-rao"), fees.toString());
    await shot(page, "block-with-failed-transaction");
    await row.locator(`a[href="#/tx/${FACTS.failed_tx}"]`).click();
    await until("the transaction page", async () => page.url().endsWith(`#/tx/${FACTS.failed_tx}`) && (await page.locator("main[data-ready] [data-field=outcome]").count()) > 0);
    const outcome = await text(page, '[data-field="outcome"]');
    assert.ok(outcome.includes(FACTS.failed_error) && outcome.includes(receipt.error.message), outcome);
    assert.equal(await page.locator('[data-field="fee"] [data-rao]').getAttribute("data-rao"), String(receipt.fee));
    assert.equal(await text(page, '[data-field="call"]'), "transfer");
    await shot(page, "failed-transaction");
  });

  await check("search: by number, by block hash, by transaction hash, by account", async () => {
    const search = async (q) => {
      await page.fill("#search-input", q);
      await page.press("#search-input", "Enter");
    };
    await search(String(FACTS.paid_block));
    await until("block by number", () => page.url().endsWith(`#/block/${FACTS.paid_block}`));
    const hash = (await rpc("tao_getBlock", [FACTS.paid_block])).header.hash;
    await search(hash);
    await until("block by hash", () => page.url().endsWith(`#/block/${hash}`));
    await ready(page);
    assert.equal(await text(page, "main h1"), `Block #${group(String(FACTS.paid_block))}`);
    await search(FACTS.paid_tx);
    await until("transaction by hash", () => page.url().endsWith(`#/tx/${FACTS.paid_tx}`));
    await search(FACTS.charlie);
    await until("account", () => page.url().endsWith(`#/account/${FACTS.charlie}`));
    await ready(page);
  });

  await check("account: balance, stakes and history equal the RPC's", async () => {
    await open(page, `account/${FACTS.bob}`);
    await atOneBlock("bob's balance",
      () => page.evaluate(() => ({
        block: document.querySelector(".page").dataset.block,
        free: document.querySelector('[data-field="free"] [data-rao]').dataset.rao,
      })),
      () => rpc("tao_accountInfo", [FACTS.bob]),
      (shown, info) => assert.equal(shown.free, String(info.free)));
    const history = await rpc("tao_accountHistory", [FACTS.bob, null, 25]);
    const rows = await page.locator('[data-table="history"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.tx));
    assert.deepEqual(rows, history.entries.map((e) => e.receipt.tx_hash));
    assert.ok(rows.includes(FACTS.failed_tx) && rows.includes(FACTS.paid_tx), "both transfers are in Bob's history");
    // Charlie only received: the transfer names it.
    await open(page, `account/${FACTS.charlie}`);
    const charlieRows = await page.locator('[data-table="history"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.tx));
    assert.ok(charlieRows.includes(FACTS.paid_tx), "the receiver's history names the transfer");
    // Charlie is paid by a channel of Alice's: its deposit, claims and expiry as the RPC's.
    await atOneBlock("channels",
      () => page.evaluate(() => ({
        block: document.querySelector(".page").dataset.block,
        channels: [...document.querySelectorAll('[data-table="channels"] tbody tr')].map((tr) => ({
          id: Number(tr.dataset.channel),
          accounts: [...tr.querySelectorAll("[data-account]")].map((a) => a.dataset.account),
          rao: [...tr.querySelectorAll("[data-rao]")].map((a) => a.dataset.rao),
          expiry: Number(tr.querySelectorAll("[data-block]")[0].dataset.block),
          opened: Number(tr.querySelectorAll("[data-block]")[1].dataset.block),
          state: tr.querySelector("[data-state]").dataset.state,
        })),
      })),
      () => rpc("tao_channels", [FACTS.charlie]),
      (shown, channels) => {
        assert.deepEqual(shown.channels, channels.map((c) => ({
          id: c.id, accounts: [c.payer, c.payee], rao: [String(c.deposit), String(c.claimed), String(c.remaining)],
          expiry: c.expiry, opened: c.opened_at, state: c.state,
        })));
        const c = channels.find((x) => x.id === FACTS.channel.id);
        assert.ok(c && c.payer === FACTS.channel.payer && c.claimed === 7_000_000_000, JSON.stringify(channels));
      });
    await shot(page, "account-channels");
    // The validator's coldkey: its stake on subnet 1 (alpha grows with dividends).
    await open(page, `account/${FACTS.validator_coldkey}`);
    await atOneBlock("stakes",
      () => page.evaluate(() => ({
        block: document.querySelector(".page").dataset.block,
        stakes: [...document.querySelectorAll('[data-table="stakes"] tbody tr')].map((tr) => [Number(tr.dataset.stakeNetuid), tr.querySelector("[data-alpha],[data-rao]").getAttribute("data-alpha") ?? tr.querySelector("[data-rao]").dataset.rao]),
      })),
      () => rpc("tao_stakesOf", [FACTS.validator_coldkey]),
      (shown, stakes) => {
        assert.deepEqual(shown.stakes, stakes.map((s) => [s.netuid, String(s.alpha)]));
        assert.ok(stakes.some((s) => s.netuid === 1), "a stake on subnet 1");
      });
    await shot(page, "account");
  });

  await check("subnets: price, pool, registration cost, share, tempo, next epoch, owner", async () => {
    await open(page, "subnets");
    await atOneBlock("subnets",
      () => page.evaluate(() => {
        const box = document.querySelector('[data-table="subnets"]').closest("div[data-block]");
        const row = document.querySelector('tr[data-netuid="1"]');
        const cells = [...row.querySelectorAll("td")].map((td) => td.innerText);
        return {
          block: box.dataset.block,
          prices: [...row.querySelectorAll("[data-price]")].map((e) => e.dataset.price),
          share: row.querySelector("[data-share]")?.dataset.share,
          rao: [...row.querySelectorAll("[data-rao]")].map((e) => e.dataset.rao),
          alpha: row.querySelector("[data-alpha]").dataset.alpha,
          next: row.querySelector("[data-next-epoch]")?.dataset.nextEpoch,
          owner: row.querySelector("[data-account]").dataset.account,
          tempo: cells[7],
          neurons: cells[9],
          priceText: cells[1],
        };
      }),
      () => rpc("tao_subnets"),
      (shown, subnets) => {
        const s = subnets.find((x) => x.netuid === 1);
        assert.deepEqual(shown.prices, [s.price, s.moving_price]);
        assert.equal(shown.share, s.emission_share);
        assert.deepEqual(shown.rao, [String(s.pool_tao), String(s.burn)]);
        assert.equal(shown.alpha, String(s.pool_alpha));
        assert.equal(shown.next, String(s.next_epoch_block));
        assert.equal(shown.owner, s.owner_coldkey);
        assert.equal(shown.tempo, String(s.tempo));
        assert.equal(shown.neurons, `${s.neurons} / ${s.max_uids}`);
        const [whole, fraction = ""] = s.price.split(".");
        assert.ok(shown.priceText.startsWith(group(whole)), `${shown.priceText} vs ${s.price}`);
        assert.ok(fraction.length > 0 || !shown.priceText.includes("."));
      });
    await shot(page, "subnets");
    await page.locator('tr[data-netuid="1"] a[data-netuid="1"]').click();
    await until("the metagraph", async () => page.url().endsWith("#/subnet/1") && (await page.locator('main[data-ready] [data-table="metagraph"]').count()) > 0);
  });

  await check("metagraph: table, charts and heatmaps equal the RPC's metagraph", async () => {
    await atOneBlock("metagraph",
      () => page.evaluate(() => ({
        block: document.querySelector('[data-table="metagraph"]').closest("div[data-block]").dataset.block,
        rows: [...document.querySelectorAll('[data-table="metagraph"] tbody tr')].map((tr) => ({
          uid: Number(tr.dataset.rowUid),
          hotkey: tr.querySelectorAll("[data-account]")[0].dataset.account,
          stake: tr.querySelector("[data-alpha]").dataset.alpha,
          incentive: Number(tr.querySelector("[data-incentive]").dataset.incentive),
          dividends: Number(tr.querySelector("[data-dividends]").dataset.dividends),
        })),
        incentiveBars: [...document.querySelectorAll('svg[data-chart="incentive"] rect.bar')].map((r) => Number(r.dataset.value)),
        dividendBars: [...document.querySelectorAll('svg[data-chart="dividends"] rect.bar')].map((r) => Number(r.dataset.value)),
        weights: [...document.querySelectorAll('svg[data-chart="weights"] rect.cell')].map((r) => [Number(r.dataset.row), Number(r.dataset.col), Number(r.dataset.value)]),
        bonds: [...document.querySelectorAll('svg[data-chart="bonds"] rect.cell')].map((r) => [Number(r.dataset.row), Number(r.dataset.col), Number(r.dataset.value)]),
        price: document.querySelector('[data-field="price"] [data-price]').dataset.price,
        poolTao: document.querySelector('[data-field="pool-tao"] [data-rao]').dataset.rao,
      })),
      () => rpc("tao_metagraph", [1]),
      (shown, m) => {
        assert.equal(shown.rows.length, m.n);
        for (const row of shown.rows) {
          assert.equal(row.hotkey, m.hotkeys[row.uid]);
          assert.equal(row.stake, String(m.alpha_stake[row.uid]));
          assert.equal(row.incentive, m.incentive[row.uid]);
          assert.equal(row.dividends, m.dividends[row.uid]);
        }
        assert.deepEqual(shown.incentiveBars, m.incentive);
        assert.deepEqual(shown.dividendBars, m.dividends);
        const cells = (rows) => rows.flatMap((row, uid) => row.map(([col, value]) => [uid, col, value]));
        assert.deepEqual(shown.weights, cells(m.weights));
        assert.deepEqual(shown.bonds, cells(m.bonds));
        assert.ok(shown.bonds.length > 0, "the validator holds a bond");
        assert.equal(shown.price, m.pool.price);
        assert.equal(shown.poolTao, String(m.pool.tao));
        assert.ok(m.incentive[FACTS.miner_uid] > 0 && m.dividends[FACTS.validator_uid] > 0);
      });
    // Sorting: incentive, highest first, puts the paid miner on top; again, the other way.
    const header = page.locator('[data-table="metagraph"] th button', { hasText: "Incentive" });
    await header.click();
    assert.equal(Number(await page.locator('[data-table="metagraph"] tbody tr').first().getAttribute("data-row-uid")), FACTS.miner_uid);
    await header.click();
    assert.notEqual(Number(await page.locator('[data-table="metagraph"] tbody tr').first().getAttribute("data-row-uid")), FACTS.miner_uid);
    await shot(page, "metagraph");
    // A miner's page: the bonds held on it.
    await page.locator(`[data-table="metagraph"] a[data-uid="${FACTS.miner_uid}"]`).click();
    await until("the neuron page", async () => page.url().endsWith(`#/subnet/1/neuron/${FACTS.miner_uid}`) && (await page.locator('main[data-ready] [data-table="bonds-on"]').count()) > 0);
    const m = await rpc("tao_metagraph", [1]);
    const holders = m.bonds.filter((row) => row.some(([col]) => col === FACTS.miner_uid)).length;
    assert.equal(await page.locator('[data-table="bonds-on"] tbody tr').count(), holders);
    assert.equal(await page.locator('[data-field="hotkey"] [data-account]').getAttribute("data-account"), FACTS.miner_hotkey);
    await shot(page, "neuron");
  });

  await check("validators: the single producer and every delegate", async () => {
    await page.locator('nav a[data-nav="validators"]').click();
    await until("the validators page", () => page.evaluate(() => document.querySelector("main").dataset.page === "validators" && !!document.querySelector("main[data-ready]")));
    const chain = await rpc("tao_validators");
    assert.equal(await page.locator("[data-mode]").getAttribute("data-mode"), chain.mode);
    const delegates = await rpc("tao_delegates");
    const shown = await page.locator('[data-table="delegates"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.hotkey));
    assert.deepEqual(shown, delegates.map((d) => d.hotkey));
    assert.ok(shown.includes(FACTS.validator_hotkey));
    await shot(page, "validators");
  });

  await check("deep links and unknown things", async () => {
    const fresh = await newPage();
    await open(fresh, `subnet/1/neuron/${FACTS.validator_uid}`);
    assert.equal(await text(fresh, "main h1"), `Subnet 1 · UID ${FACTS.validator_uid}`);
    await open(fresh, "block/999999999");
    assert.ok((await text(fresh, "main")).includes("no block 999999999"));
    await open(fresh, "subnet/77");
    assert.ok((await text(fresh, "main")).includes("no subnet 77"));
    await open(fresh, `proposal/${GOV.proposal}`);
    assert.ok((await text(fresh, "main h1")).startsWith(`Proposal #${GOV.proposal}: `));
    await open(fresh, "proposal/999999");
    assert.ok((await text(fresh, "main")).includes("no proposal #999999"));
    await open(fresh, "nowhere");
    assert.equal(await text(fresh, "main h1"), "Not found");
    await fresh.context().close();
  });

  await check("a phone in dark mode: no sideways scrolling, screenshots", async () => {
    const phone = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: "dark", isMobile: true, hasTouch: true });
    for (const [route, name] of [["", "phone-overview"], ["subnet/1", "phone-metagraph"], [`block/${FACTS.failed_block}`, "phone-block"], ["subnets", "phone-subnets"], ["governance", "phone-governance"], [`proposal/${GOV.proposal}`, "phone-proposal"]]) {
      await open(phone, route);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than the phone`);
      await shot(phone, name);
    }
    const background = await phone.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, "rgb(13, 17, 23)", "the dark theme applies");
    await phone.context().close();
  });

  await check("governance: the vote ends, the proposal passes and is enacted, live in the feed and on the page", async () => {
    const left = Math.max(0, GOV.voting_ends + 10 - (await headNumber()));
    const passed = await one("ProposalPassed", GOV.proposal, 20_000 + left * 1_500);
    const detail = await rpc("tao_proposal", [GOV.proposal]);
    const final = detail.proposal.tally;
    assert.deepEqual(passed.tally, { yes: final.yes, no: final.no, abstain: final.abstain, veto: final.veto, total: final.total }, "the final count, exact");
    assert.equal(passed.link, `#/proposal/${GOV.proposal}`);
    const returned = await one("DepositReturned", GOV.proposal);
    assert.ok(returned.accounts.includes(GOV.proposer), "the deposit goes back to the proposer");
    const enacted = await one("ProposalEnacted", GOV.proposal, 30_000);
    assert.equal(enacted.block, detail.proposal.enact_at ?? enacted.block);
    const set = await until("GlobalParameterSet after the enactment", async () =>
      (await watcher.evaluate(() => window.__seen.filter((e) => e.kind === "GlobalParameterSet"))).find((e) => e.block === enacted.block));
    assert.ok(set.text.includes("SubnetLimit(64)"), set.text);
    await open(page, "governance");
    await until("the governance page showing it enacted", async () => {
      const shown = await readGovernance(page);
      const card = shown.proposals.find((c) => c.id === GOV.proposal);
      return card?.status === "enacted" && card.live === "false" && shown.globals.some(([name, value]) => name === "subnet_limit" && value === "64");
    });
    await shot(page, "governance-enacted");
    await watcher.context().close();
  });

  // --- measurements: the explorer against a minimal page fetching the same data ---------

  const minimalPage = `<!doctype html><meta charset="utf-8"><title>minimal</title><link rel="icon" href="data:,"><pre id="out">loading</pre><script>
(async () => {
  const post = (body) => fetch("/", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)}).then((r) => r.json());
  const calls = [["tao_chainHead"], ["tao_health"], ["tao_issuance"], ["tao_validators"], ["tao_subnets"], ["tao_chainHead"]];
  const answers = await post(calls.map(([m], i) => ({jsonrpc: "2.0", id: i, method: m, params: []})));
  const head = answers[0].result.number;
  const blocks = await post(Array.from({length: 20}, (_, i) => ({jsonrpc: "2.0", id: i, method: "tao_getBlock", params: [Math.max(1, head - i)]})));
  document.getElementById("out").textContent = JSON.stringify({head, issuance: answers[2].result.total_issuance, blocks: blocks.length});
  performance.mark("tao-ready");
})();
</script>`;

  async function measure(url, fulfil) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    if (fulfil) await context.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html", body: fulfil }));
    const p = await context.newPage();
    p.on("console", (m) => { if (m.type() === "error") problems.push(`measure console: ${m.text()}`); });
    await p.goto(url);
    // The first-contentful-paint entry may be reported after the data is shown: wait for both.
    await p.waitForFunction(() => performance.getEntriesByName("tao-ready").length > 0 && performance.getEntriesByName("first-contentful-paint").length > 0, null, { timeout: 15_000 });
    const figures = await p.evaluate(() => {
      const ready = performance.getEntriesByName("tao-ready")[0].startTime;
      const paint = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null;
      const nav = performance.getEntriesByType("navigation")[0];
      const resources = performance.getEntriesByType("resource");
      const assets = resources.filter((r) => r.initiatorType !== "fetch" && r.initiatorType !== "xmlhttprequest");
      const data = resources.filter((r) => r.initiatorType === "fetch");
      return {
        ready, paint,
        assetBytes: nav.encodedBodySize + assets.reduce((n, r) => n + r.encodedBodySize, 0),
        assetFiles: 1 + assets.length,
        rpcBytes: data.reduce((n, r) => n + r.encodedBodySize, 0),
        rpcRequests: data.length,
      };
    });
    await context.close();
    return figures;
  }

  const runs = { explorer: [], minimal: [] };
  for (let i = 0; i < 5; i++) {
    runs.explorer.push(await measure(`${EXPLORER}#/`));
    runs.minimal.push(await measure(`${ORIGIN}/minimal-page`, minimalPage));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (rs) => ({
    first_contentful_paint_ms: median(rs.map((r) => r.paint)).toFixed(0),
    data_shown_ms: median(rs.map((r) => r.ready)).toFixed(0),
    asset_bytes: rs[0].assetBytes,
    asset_files: rs[0].assetFiles,
    rpc_requests: rs[0].rpcRequests,
  });
  const figures = { explorer: summary(runs.explorer), minimal_page: summary(runs.minimal) };
  console.log("figures (median of 5, overview page, cold cache each):", JSON.stringify(figures, null, 1));

  if (problems.length > 0) throw new Error("the pages had problems:\n  " + problems.join("\n  "));
  console.log(`all ${checks.length} checks passed:\n  ` + checks.join("\n  "));
  await browser.close();
  process.exit(0);
} catch (error) {
  console.error("FAIL:", error.stack ?? error);
  if (problems.length > 0) console.error("problems seen:\n  " + problems.join("\n  "));
  await browser.close().catch(() => {});
  process.exit(1);
}
