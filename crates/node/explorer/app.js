// The explorer's shell: hash routes (deep links such as #/block/12), the search box, the
// live head in the header, and one page module per route.

import { call, subscribe, onStatus } from "./rpc.js";
import * as f from "./format.js";
import { h, notice } from "./dom.js";

const ROUTES = {
  "": () => import("./overview.js"),
  blocks: () => import("./blocks.js"),
  block: () => import("./blocks.js"),
  tx: () => import("./blocks.js"),
  account: () => import("./account.js"),
  subnets: () => import("./subnets.js"),
  subnet: () => import("./metagraph.js"),
  validators: () => import("./validators.js"),
  governance: () => import("./governance.js"),
  proposal: () => import("./governance.js"),
};

const main = document.getElementById("main");
const statusElement = document.getElementById("status");
let head = null;
let cleanups = [];
let generation = 0;

/** The current route: `#/block/12?x=1` → {name: "block", args: ["12"], query}. */
function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] ?? "", args: parts.slice(1), query: new URLSearchParams(search) };
}

/** What a page may use: the route, live feeds that end when the page is left, the head. */
function context(route, mine) {
  const live = (subscribeMethod, unsubscribeMethod) => (listener) => {
    const stop = subscribe(subscribeMethod, unsubscribeMethod, (item) => {
      if (mine === generation) listener(item);
    });
    cleanups.push(stop);
  };
  return {
    ...route,
    head: () => head,
    current: () => mine === generation,
    onHead: live("tao_subscribeNewHeads", "tao_unsubscribeNewHeads"),
    onFinalized: live("tao_subscribeFinalizedHeads", "tao_unsubscribeFinalizedHeads"),
    onEvents: live("tao_subscribeEvents", "tao_unsubscribeEvents"),
    onLeave: (fn) => cleanups.push(fn),
  };
}

async function show() {
  const mine = ++generation;
  for (const stop of cleanups.splice(0)) stop();
  const route = parseRoute();
  const load = ROUTES[route.name];
  for (const a of document.querySelectorAll("[data-nav]")) {
    const section = { block: "blocks", tx: "blocks", subnet: "subnets", proposal: "governance", account: "none" }[route.name] ?? route.name;
    if (a.dataset.nav === (section || "overview")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.removeAttribute("data-ready");
  if (!load) {
    main.replaceChildren(h("h1", {}, "Not found"), notice(`There is no page “${route.name}”.`, "error"));
    main.dataset.ready = "1";
    return;
  }
  try {
    const page = await load();
    const content = h("div", { class: "page" });
    await page.render(content, context(route, mine));
    if (mine !== generation) return;
    main.replaceChildren(content);
    main.dataset.page = route.name || "overview";
    main.dataset.ready = "1";
    // The first page shown: what the page-weight and first-render figures measure to.
    if (performance.getEntriesByName("tao-ready").length === 0) performance.mark("tao-ready");
    document.title = (content.querySelector("h1")?.textContent ?? "Overview") + " · tao explorer";
  } catch (e) {
    if (mine !== generation) return;
    main.replaceChildren(h("h1", {}, "Cannot show this page"), notice(e.message ?? String(e), "error"));
    main.dataset.ready = "1";
  }
}

/** Where a search leads: a block number, a block or transaction hash, or an account. */
async function searchTarget(text) {
  const q = text.trim();
  if (/^#?\d+$/.test(q)) return `block/${q.replace("#", "")}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    try {
      await call("tao_getBlock", [q.toLowerCase()]);
      return `block/${q.toLowerCase()}`;
    } catch {
      return `tx/${q.toLowerCase()}`;
    }
  }
  if (/^[1-9A-HJ-NP-Za-km-z]{46,48}$/.test(q)) return `account/${q}`;
  if (/^(sn)?\d+$/i.test(q)) return `subnet/${q.replace(/^sn/i, "")}`;
  return null;
}

document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("search-input");
  const target = await searchTarget(input.value);
  if (target) {
    location.hash = "#/" + target;
    input.value = "";
  } else {
    main.replaceChildren(h("h1", {}, "Nothing found"), notice(`“${input.value}” is not a block number, a hash (0x and 64 hex digits) or an account (SS58).`, "error"));
  }
});

onStatus((status) => {
  statusElement.dataset.state = status;
  statusElement.textContent = status === "live" ? (head ? `#${f.int(head.number)} · live` : "live") : status === "connecting" ? "connecting…" : "offline, retrying";
});

subscribe("tao_subscribeNewHeads", "tao_unsubscribeNewHeads", (header) => {
  head = header;
  statusElement.textContent = `#${f.int(header.number)} · live`;
  statusElement.dataset.head = header.number;
});

call("tao_chainHead").then((header) => {
  if (!head) head = header;
}, () => {});
call("tao_apiVersion").then((v) => {
  document.getElementById("api-version").textContent = `RPC API ${v}`;
}, () => {});

window.addEventListener("hashchange", show);
show();
