// Numbers for people, computed exactly: money is formatted from its integer string (RAO,
// 10⁻⁹ TAO; alpha in 10⁻⁹) with BigInt, never through a float.

const UNIT = 1_000_000_000n;

/** Groups the digits of a non-negative integer string by thousands. */
export function grouped(digits) {
  return String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** An amount of 10⁻⁹ units (number, string or BigInt) as a decimal with at most
 *  `decimals` digits after the point (cut, not rounded, and marked with … when cut). */
export function units(amount, decimals = 9) {
  let value = BigInt(amount);
  const negative = value < 0n;
  if (negative) value = -value;
  const whole = grouped((value / UNIT).toString());
  let fraction = (value % UNIT).toString().padStart(9, "0").replace(/0+$/, "");
  let cut = false;
  if (fraction.length > decimals) {
    cut = true;
    fraction = fraction.slice(0, decimals).replace(/0+$/, "");
  }
  const text = (negative ? "-" : "") + whole + (fraction ? "." + fraction : "");
  return cut ? text + "…" : text;
}

/** RAO as TAO with its unit. */
export function tao(rao, decimals = 9) {
  return units(rao, decimals) + " τ";
}

/** Alpha (10⁻⁹ units) with its unit. */
export function alpha(amount, decimals = 9) {
  return units(amount, decimals) + " α";
}

/** A decimal string (a price: TAO per alpha) cut to `decimals` digits after the point. */
export function decimal(text, decimals = 9) {
  const [whole, fraction = ""] = String(text).split(".");
  const kept = fraction.slice(0, decimals).replace(/0+$/, "");
  const cut = fraction.slice(decimals).replace(/0+$/, "") !== "";
  return grouped(whole) + (kept ? "." + kept : "") + (cut ? "…" : "");
}

/** A price in TAO per alpha. */
export function price(text) {
  return decimal(text, 9) + " τ/α";
}

/** A u16 proportion (of 65535) as a fraction with 4 decimals (not money: a float is fine). */
export function proportion(value) {
  return (Number(value) / 65535).toFixed(4);
}

/** A decimal fraction string ("0.25") as a percentage. */
export function percent(fraction, decimals = 2) {
  return (Number(fraction) * 100).toFixed(decimals) + " %";
}

/** An integer with thousands separators. */
export function int(value) {
  return grouped(BigInt(value).toString());
}

/** A hash or key shortened to its ends. */
export function short(text, keep = 6) {
  const s = String(text);
  return s.length <= 2 * keep + 3 ? s : s.slice(0, keep + (s.startsWith("0x") ? 2 : 0)) + "…" + s.slice(-keep);
}

/** Seconds as a short duration ("3 s", "4 min 10 s", "2 h 5 min", "3 d 4 h"). */
export function duration(seconds) {
  let s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  if (d < 730) return `${int(d)} d ${h % 24} h`;
  return `${(d / 365.25).toFixed(1)} years`;
}

/** How long ago a wall-clock time (ms since the epoch) was. */
export function ago(timestampMs, nowMs = Date.now()) {
  return duration((nowMs - timestampMs) / 1000) + " ago";
}

/** A timestamp as local date and time. */
export function when(timestampMs) {
  return new Date(timestampMs).toLocaleString();
}

/** `part` of `whole` (integers: number, string or BigInt) as a percentage with `decimals`
 *  digits, computed exactly with BigInt, cut (or, with `round`, rounded half up) — "–"
 *  when `whole` is 0. */
export function share(part, whole, decimals = 2, round = false) {
  const w = BigInt(whole);
  if (w === 0n) return "–";
  const scale = 10n ** BigInt(decimals);
  const v = round ? (BigInt(part) * 200n * scale + w) / (2n * w) : (BigInt(part) * 100n * scale) / w;
  const fraction = decimals > 0 ? "." + (v % scale).toString().padStart(decimals, "0") : "";
  return grouped((v / scale).toString()) + fraction + " %";
}

/** A u16 proportion (of 65535) as a percentage rounded to 2 decimals (32767 → "50.00 %";
 *  the exact fraction belongs in a title). */
export function u16Percent(value) {
  return share(value, 65535, 2, true);
}
