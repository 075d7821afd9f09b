// The node's JSON-RPC, from the page's own origin: calls over HTTP (POST /), subscriptions
// over one WebSocket that reconnects (bounded back-off) and subscribes again.

const HTTP_URL = new URL("/", location.href).href;
const WS_URL = HTTP_URL.replace(/^http/, "ws");
const CALL_TIMEOUT_MS = 15000;
const MAX_BACKOFF_MS = 5000;

let nextId = 1;

/** An error the node answered (`code`, `message`). */
export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function post(body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CALL_TIMEOUT_MS);
  try {
    const response = await fetch(HTTP_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw new RpcError(response.status, `HTTP ${response.status}: ${await response.text()}`);
    return await response.json();
  } finally {
    clearTimeout(timer);
  }
}

function unwrap(answer) {
  if (answer.error) throw new RpcError(answer.error.code, answer.error.message);
  return answer.result;
}

/** Calls `method` with positional `params`; its result, or throws an RpcError. */
export async function call(method, params = []) {
  return unwrap(await post({ jsonrpc: "2.0", id: nextId++, method, params }));
}

/** Calls several methods in one request (at most 100, the node's batch limit); their
 *  results in order (each an RpcError instead where that call failed). */
export async function batch(calls) {
  if (calls.length === 0) return [];
  if (calls.length > 100) throw new Error("a batch holds at most 100 calls");
  const first = nextId;
  nextId += calls.length;
  const answers = await post(calls.map(([method, params = []], i) => ({ jsonrpc: "2.0", id: first + i, method, params })));
  if (!Array.isArray(answers)) throw new RpcError(answers.error?.code ?? -1, answers.error?.message ?? "batch refused");
  const byId = new Map(answers.map((a) => [a.id, a]));
  return calls.map((_, i) => {
    const answer = byId.get(first + i);
    if (!answer) return new RpcError(-1, "no answer");
    return answer.error ? new RpcError(answer.error.code, answer.error.message) : answer.result;
  });
}

// --- subscriptions over one WebSocket ---------------------------------------------------

const wanted = new Map(); // key -> { subscribe, unsubscribe, listeners: Set, id: subscription id }
const pending = new Map(); // request id -> resolve
let socket = null;
let backoff = 250;
let statusListeners = new Set();

function setStatus(status) {
  for (const listener of statusListeners) listener(status);
}

/** Calls `listener(status)` with "live", "connecting" or "offline" as the WebSocket changes. */
export function onStatus(listener) {
  statusListeners.add(listener);
}

function request(method, params) {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

async function subscribeOn(entry) {
  const answer = await request(entry.subscribe, []);
  if (answer.error) return;
  entry.id = answer.result;
}

function connect() {
  if (socket) return;
  setStatus("connecting");
  socket = new WebSocket(WS_URL);
  socket.addEventListener("open", () => {
    backoff = 250;
    setStatus("live");
    for (const entry of wanted.values()) subscribeOn(entry);
  });
  socket.addEventListener("message", (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    if (data.id !== undefined && pending.has(data.id)) {
      pending.get(data.id)(data);
      pending.delete(data.id);
      return;
    }
    const subscription = data.params?.subscription;
    if (subscription === undefined) return;
    for (const entry of wanted.values()) {
      if (entry.id === subscription) for (const listener of entry.listeners) listener(data.params.result);
    }
  });
  socket.addEventListener("close", () => {
    socket = null;
    pending.clear();
    for (const entry of wanted.values()) entry.id = null;
    setStatus("offline");
    if (wanted.size > 0) {
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  });
  // A failed connection also closes; the close handler reconnects.
  socket.addEventListener("error", () => {});
}

/** Listens to a subscription (e.g. "tao_subscribeNewHeads"); returns a function that stops
 *  listening. Every listener of one subscription shares one subscription on the node. */
export function subscribe(subscribeMethod, unsubscribeMethod, listener) {
  let entry = wanted.get(subscribeMethod);
  if (!entry) {
    entry = { subscribe: subscribeMethod, unsubscribe: unsubscribeMethod, listeners: new Set(), id: null };
    wanted.set(subscribeMethod, entry);
    if (socket && socket.readyState === WebSocket.OPEN) subscribeOn(entry);
  }
  entry.listeners.add(listener);
  connect();
  return () => {
    entry.listeners.delete(listener);
    if (entry.listeners.size === 0) {
      wanted.delete(subscribeMethod);
      if (entry.id !== null && socket && socket.readyState === WebSocket.OPEN) {
        request(entry.unsubscribe, [entry.id]);
      }
    }
  };
}

/** Calls `calls` in one batch between two reads of the head, again (at most 3 times) until
 *  both reads agree, so every answer is of one block: {block, header, results, consistent}.
 *  A failed call throws its RpcError. */
export async function snapshot(calls) {
  let answers;
  for (let attempt = 0; attempt < 3; attempt++) {
    answers = await batch([["tao_chainHead"], ...calls, ["tao_chainHead"]]);
    for (const answer of answers) if (answer instanceof Error) throw answer;
    const first = answers[0], last = answers[answers.length - 1];
    if (first.number === last.number) {
      return { block: first.number, header: first, results: answers.slice(1, -1), consistent: true };
    }
  }
  const last = answers[answers.length - 1];
  return { block: last.number, header: last, results: answers.slice(1, -1), consistent: false };
}

/** Runs `work` at most once per `intervalMs` however often it is asked (the last request
 *  is never lost), one run at a time. */
export function throttled(work, intervalMs) {
  let running = false, again = false, last = 0, timer = null;
  const run = async () => {
    timer = null;
    if (running) { again = true; return; }
    running = true;
    last = Date.now();
    try { await work(); } catch { /* shown by the page on its next success */ }
    running = false;
    if (again) { again = false; ask(); }
  };
  const ask = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + intervalMs - Date.now()));
  };
  return ask;
}
