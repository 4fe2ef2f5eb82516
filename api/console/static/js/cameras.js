// The camera board: health, last read and heartbeat, reads per hour, clock skew and the
// commissioning state; sortable by any column, worst cameras first by default.

import { api } from "./api.js";
import { ago, statusRank } from "./format.js";
import { clear, h } from "./dom.js";

// One map, updated in place, so the views holding it see a reload.
const cache = new Map();
const RELOAD_MS = 30000;
// Older than this, the index is reloaded in the background when a view asks for it: a camera
// renamed during the shift shows its new name within minutes, without the camera board.
const STALE_MS = 5 * 60000;
let loadedAt = 0;
let loading = null;
// Counts forgetCameras(): a load answered after a sign-out fills nothing for the next person.
let epoch = 0;

// camera_id -> camera (name, timezone) for the other views; refreshed when the board loads,
// when a view needs a camera it does not know (registered during the shift), at most every
// 30 s (a deleted camera stays unknown), and in the background once it is 5 minutes old.
export async function cameraIndex(needed = []) {
  const unknown = needed.some((id) => id && !cache.has(id));
  const age = Date.now() - loadedAt;
  if (cache.size === 0 || (unknown && age >= RELOAD_MS)) await loadCameras();
  else if (age >= STALE_MS) loadCameras().catch(() => {});
  return cache;
}

// At sign-out: the next person's console loads the cameras as they are then.
export function forgetCameras() {
  epoch += 1;
  cache.clear();
  loadedAt = 0;
  loading = null;
}

function loadCameras() {
  if (!loading) {
    const mine = epoch;
    loading = api("GET", "/v1/cameras").then((page) => {
      if (mine !== epoch) return page.items;
      loadedAt = Date.now();
      cache.clear();
      for (const camera of page.items) cache.set(camera.camera_id, camera);
      return page.items;
    }).finally(() => {
      if (mine === epoch) loading = null;
    });
  }
  return loading;
}

const COLUMNS = [
  ["camera", "Camera", (c) => c.name.toLowerCase()],
  ["status", "Health", (c) => statusRank(c.health.status)],
  ["state", "State", (c) => (c.state === "commissioning" ? 0 : 1)],
  ["last_read", "Last read", (c) => c.health.last_read_at || ""],
  ["heartbeat", "Last heartbeat", (c) => c.health.last_heartbeat_at || ""],
  ["reads", "Reads / hour", (c) => c.health.reads_last_1h],
  ["skew", "Clock skew", (c) => -Math.abs(c.health.clock_skew_ms ?? 0)],
];

function worstFirst(a, b) {
  return statusRank(a.health.status) - statusRank(b.health.status)
    || a.health.reads_last_1h - b.health.reads_last_1h
    || a.camera_id.localeCompare(b.camera_id);
}

export async function renderCameras(root) {
  let sort = null;
  let ascending = true;
  const cameras = await loadCameras();
  const table = h("table", { class: "board", id: "camera-board" });

  function draw() {
    const rows = [...cameras];
    if (sort === null) rows.sort(worstFirst);
    else {
      const key = COLUMNS.find(([id]) => id === sort)[2];
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : worstFirst(a, b)) * (ascending ? 1 : -1);
      });
    }
    const head = h("tr", {}, COLUMNS.map(([id, label]) => h("th", {
      scope: "col",
      class: sort === id ? (ascending ? "sorted asc" : "sorted desc") : "",
      onclick: () => {
        ascending = sort === id ? !ascending : true;
        sort = id;
        draw();
      },
    }, label)));
    const body = rows.map((c) => {
      const health = c.health;
      const skew = health.clock_skew_ms;
      return h("tr", { class: `status-${health.status}`, dataset: { camera: c.camera_id } },
        h("td", {}, h("div", {}, c.name), h("small", {}, c.camera_id)),
        h("td", {}, h("span", { class: `health ${health.status}` }, health.status.replace("_", " ")),
          health.reasons && health.reasons.length ? h("small", {}, health.reasons.join("; ")) : null),
        h("td", {}, c.state === "commissioning" ? h("span", { class: "badge test" }, "commissioning") : "live"),
        h("td", { title: health.last_read_at || "" }, ago(health.last_read_at)),
        h("td", { title: health.last_heartbeat_at || "" }, ago(health.last_heartbeat_at)),
        h("td", {}, String(health.reads_last_1h),
          c.expected_reads_per_hour ? h("small", {}, ` of ~${c.expected_reads_per_hour}`) : null),
        h("td", { class: skew !== null && Math.abs(skew) > 2000 ? "warn" : "" },
          skew === null || skew === undefined ? "–" : `${(skew / 1000).toFixed(1)} s`));
    });
    clear(table, h("thead", {}, head), h("tbody", {}, body));
  }

  draw();
  clear(root,
    h("h2", {}, "Cameras"),
    h("p", { class: "hint" }, "Worst first; click a column to sort by it."),
    table,
  );
}
