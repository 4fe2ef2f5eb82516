// Search hits by time, camera, list, status and plate. The times bound when a hit was matched
// (the API's `since`/`until` are on `matched_at`, also the order of the results), which for a
// past read is long after it was captured: the form and the table say so. A plate search is a
// search of personal data: it asks for a reason, and the API writes it to the audit log.

import { api, query } from "./api.js";
import { cameraIndex } from "./cameras.js";
import { clear, h } from "./dom.js";
import { listLabel, priorityClass, timeIn } from "./format.js";

function isoOf(local) {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export async function renderSearch(root) {
  const cameras = await cameraIndex().catch(() => new Map());
  const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
  const since = h("input", { id: "q-since", type: "datetime-local", step: 1 });
  const until = h("input", { id: "q-until", type: "datetime-local", step: 1 });
  const camera = h("select", { id: "q-camera" }, h("option", { value: "" }, "any camera"),
    [...cameras.values()].map((c) => h("option", { value: c.camera_id }, `${c.name} (${c.camera_id})`)));
  const list = h("input", { id: "q-list", type: "text", maxlength: 128, placeholder: "list id" });
  const status = h("select", { id: "q-status" }, h("option", { value: "" }, "any"),
    h("option", { value: "new" }, "new"), h("option", { value: "acknowledged" }, "acknowledged"));
  const plate = h("input", { id: "q-plate", type: "text", maxlength: 64, placeholder: "plate" });
  const reason = h("input", { id: "q-reason", type: "text", maxlength: 500, placeholder: "case reference or reason" });
  const reasonField = field("q-reason", "Reason (needed for a plate search; audited)", reason);
  const message = h("p", { class: "error", id: "search-error", role: "alert" });
  const results = h("table", { class: "results", id: "search-results" });
  const more = h("button", { type: "button", id: "search-more", hidden: true }, "Older hits");
  let cursor = null;
  let params = null;

  plate.addEventListener("input", () => reasonField.classList.toggle("needed", plate.value.trim() !== ""));

  function rows(items) {
    return items.map((hit) => {
      const cam = cameras.get(hit.read.camera_id);
      return h("tr", { class: `${priorityClass(hit.priority)} ${hit.test ? "is-test" : ""}` },
        h("td", {}, timeIn(hit.matched_at, cam && cam.timezone)),
        h("td", {}, timeIn(hit.read.captured_at, cam && cam.timezone)),
        h("td", { class: "plate" }, hit.read.plate),
        h("td", {}, cam ? cam.name : hit.read.camera_id),
        h("td", {}, listLabel(hit.category, hit.list_id)),
        h("td", {}, `P${hit.priority}`),
        h("td", {}, hit.match.kind),
        h("td", {}, hit.status, hit.test ? h("span", { class: "badge test" }, "TEST") : null));
    });
  }

  // Counts requests: only the latest one's answer (or error) is shown, so an earlier query's
  // page, or its older hits, arriving late neither replaces nor extends the current one's rows.
  let fetched = 0;

  async function fetchPage(append) {
    fetched += 1;
    const turn = fetched;
    let page;
    try {
      page = await api("GET", query("/v1/hits", { ...params, cursor: append ? cursor : null }));
    } catch (error) {
      if (turn === fetched) message.textContent = error.message;
      return;
    }
    if (turn !== fetched) return;
    const body = results.tBodies[0] || results.appendChild(h("tbody"));
    if (!append) clear(body);
    body.append(...rows(page.items));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (!append && page.items.length === 0) message.textContent = "No hits found.";
  }

  const form = h("form", { class: "search", id: "search-form" },
    field("q-since", "Matched from", since), field("q-until", "Matched until", until), field("q-camera", "Camera", camera),
    field("q-list", "List", list), field("q-status", "Status", status), field("q-plate", "Plate", plate),
    reasonField, h("button", { type: "submit", id: "search-submit" }, "Search"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    if (plate.value.trim() && !reason.value.trim()) {
      reasonField.classList.add("needed");
      message.textContent = "A plate search needs a reason (a case reference or why you search); it is written to the audit log.";
      reason.focus();
      return;
    }
    params = {
      since: isoOf(since.value), until: isoOf(until.value), camera_id: camera.value,
      list_id: list.value.trim(), status: status.value, plate: plate.value.trim(),
      reason: plate.value.trim() ? reason.value.trim() : "", limit: 50,
    };
    // The last query's cursor is not for these filters.
    cursor = null;
    more.hidden = true;
    await fetchPage(false);
  });
  more.addEventListener("click", () => {
    if (cursor) fetchPage(true);
  });
  results.append(h("thead", {}, h("tr", {}, ["Matched", "Captured", "Plate", "Camera", "List", "Priority", "Match", "Status"].map((t) => h("th", {}, t)))), h("tbody"));
  clear(root, h("h2", {}, "Search hits"), form, message, results, more);
}
