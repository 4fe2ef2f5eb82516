// Images of a read, shown only when safe: JPEG bytes given as base64 become a data: URL (the
// base64 alphabet and the JPEG signature are checked); a remote URL only when it is https and
// its host is one the server allows (the page's Content-Security-Policy says the same).

import { h } from "./dom.js";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function jpegDataUrl(b64) {
  if (typeof b64 !== "string" || b64.length < 8 || !BASE64.test(b64)) return null;
  if (!b64.startsWith("/9j/")) return null; // FF D8 FF: a JPEG
  return `data:image/jpeg;base64,${b64}`;
}

export function allowedUrl(url, hosts) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && hosts.includes(parsed.host) ? parsed.href : null;
  } catch {
    return null;
  }
}

export function readImages(images, hosts) {
  if (!images) return null;
  const figures = [];
  for (const [kind, label] of [["plate", "Plate"], ["overview", "Overview"]]) {
    const data = jpegDataUrl(images[`${kind}_jpeg_b64`]);
    const url = data || (images[`${kind}_url`] ? allowedUrl(images[`${kind}_url`], hosts) : null);
    if (url) {
      const img = h("img", { alt: `${label} image`, class: `read-image ${kind}`, referrerpolicy: "no-referrer" });
      img.src = url;
      figures.push(h("figure", {}, img, h("figcaption", {}, label)));
    } else if (images[`${kind}_jpeg_b64`] || images[`${kind}_url`]) {
      figures.push(h("p", { class: "hint" }, `${label} image not shown (not a JPEG, or not an allowed https host).`));
    }
  }
  return figures.length ? h("div", { class: "images" }, figures) : null;
}
