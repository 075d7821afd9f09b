// Building the page: elements from data, never HTML text (every string from the chain is
// text, so nothing it holds can become markup or script).

import * as f from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h("a", {href: "#/"}, "text", child…). */
export function h(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element. */
export function s(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG, tag), attributes, children);
}

/** A link inside the explorer. */
export function link(route, text, attributes = {}) {
  return h("a", { href: "#/" + route, ...attributes }, text);
}

export const blockLink = (n) => link(`block/${n}`, "#" + f.int(n), { "data-block": n });
export const txLink = (hash) => link(`tx/${hash}`, f.short(hash), { class: "mono", title: hash });
export const accountLink = (address) =>
  link(`account/${address}`, f.short(address), { class: "mono", title: address, "data-account": address });
export const subnetLink = (netuid) => link(`subnet/${netuid}`, netuid === 0 ? "root" : "SN" + netuid, { "data-netuid": netuid });
export const proposalLink = (id, text) => link(`proposal/${id}`, text ?? "proposal #" + id, { "data-proposal-link": id });

/** An amount of TAO, its exact RAO kept in data-rao for readers and tests. */
export const tao = (rao, decimals) => h("span", { class: "amount", "data-rao": String(rao), title: f.tao(rao) }, f.tao(rao, decimals));
/** An amount of alpha, its exact units kept in data-alpha. */
export const alpha = (units, decimals) => h("span", { class: "amount", "data-alpha": String(units), title: f.alpha(units) }, f.alpha(units, decimals));

/** A definition list of [label, value, key?] rows (key: a data-field name for tests). */
export function facts(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([label, value, key]) => [h("dt", {}, label), h("dd", { "data-field": key }, value)]));
}

/** A card for the overview: a label, a big value and a note. */
export function card(label, value, note, key) {
  return h("section", { class: "card", "data-card": key }, h("h3", {}, label), h("div", { class: "value", "data-field": key }, value), note ? h("div", { class: "note" }, note) : null);
}

/** A message in place of content. */
export function notice(text, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A table from column definitions [{label, value(row) -> node|text, sort(row) -> key, num}]
 *  and rows; clicking a header sorts by it (again: the other way). */
export function table(columns, rows, options = {}) {
  let sortBy = options.sortBy ?? null;
  let descending = options.descending ?? false;
  const body = h("tbody");
  const heads = columns.map((column, i) =>
    h("th", { scope: "col", class: column.num ? "num" : null, "aria-sort": "none" },
      column.sort ? h("button", { type: "button", onclick: () => sort(i) }, column.label) : column.label));
  function draw() {
    const sorted = [...rows];
    if (sortBy !== null) {
      const key = columns[sortBy].sort;
      sorted.sort((a, b) => {
        const x = key(a), y = key(b);
        const order = x < y ? -1 : x > y ? 1 : 0;
        return descending ? -order : order;
      });
    }
    heads.forEach((th, i) => th.setAttribute("aria-sort", i === sortBy ? (descending ? "descending" : "ascending") : "none"));
    body.replaceChildren(...sorted.map((row) => h("tr", options.rowAttributes ? options.rowAttributes(row) : {},
      columns.map((column) => h("td", { class: column.num ? "num" : null }, column.value(row))))));
  }
  function sort(i) {
    descending = sortBy === i ? !descending : !!columns[i].num;
    sortBy = i;
    options.onSort?.(sortBy, descending);
    draw();
  }
  draw();
  const element = h("div", { class: "table-wrap" }, h("table", { class: options.class ?? null, "data-table": options.name ?? null }, h("thead", {}, h("tr", {}, heads)), body));
  return element;
}
