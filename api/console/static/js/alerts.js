// Live alerts (newest activity first, coloured by priority, tests marked) and an alert's detail:
// the read, images, the entry, the match in words, the sightings trail, and acknowledgement.

import { api, ApiError } from "./api.js";
import { cameraIndex } from "./cameras.js";
import { clear, facts, h } from "./dom.js";
import { explainMatch, listLabel, priorityClass, timeIn } from "./format.js";
import { readImages } from "./images.js";
import { allAlerts, currentSession, onChange, remember } from "./live.js";

const OUTCOMES = [
  ["confirmed", "Confirmed"],
  ["dispatched", "Dispatched"],
  ["no_action", "No action"],
  ["false_positive", "False positive (misread)"],
];

function cameraName(cameras, id) {
  const camera = id && cameras.get(id);
  return camera ? camera.name : id || "–";
}

function alertRow(alert, cameras, selected) {
  const camera = cameras.get(alert.last_camera_id);
  const classes = ["alert", priorityClass(alert.priority), alert.status];
  if (alert.test) classes.push("is-test");
  if (selected) classes.push("selected");
  const badges = h("span", { class: "badges" },
    alert.test ? h("span", { class: "badge test" }, "TEST") : null,
    alert.historical ? h("span", { class: "badge past", title: "found in past reads" }, "past read") : null,
    alert.covert ? h("span", { class: "badge covert" }, "covert") : null,
    alert.sightings > 1 ? h("span", { class: "badge count", title: "sightings" }, `×${alert.sightings}`) : null,
    alert.status === "acknowledged" ? h("span", { class: "badge done" }, "acknowledged")
      : h("span", { class: "badge new" }, "new"));
  return h("li", { class: classes.join(" "), dataset: { alert: alert.alert_id } },
    h("a", { href: `#/alerts/${encodeURIComponent(alert.alert_id)}` },
      h("span", { class: "prio" }, `P${alert.priority}`),
      h("span", { class: "plate" }, alert.plate || alert.plate_norm),
      badges,
      h("span", { class: "what" }, listLabel(alert.category, alert.list_id)),
      h("span", { class: "where" }, cameraName(cameras, alert.last_camera_id)),
      h("span", { class: "when" }, timeIn(alert.last_seen_at, camera && camera.timezone))));
}

export async function renderAlerts(root, alertId, session) {
  const cameras = await cameraIndex(allAlerts().map((a) => a.last_camera_id)).catch(() => new Map());
  const list = h("ol", { class: "alerts", id: "alert-list" });
  const detail = h("section", { class: "detail", id: "alert-detail" });
  const empty = h("p", { class: "hint" }, "No alerts yet. New ones appear here as they happen.");

  function drawList() {
    const items = allAlerts();
    clear(list, items.map((a) => alertRow(a, cameras, a.alert_id === alertId)));
    empty.hidden = items.length > 0;
  }

  drawList();
  const off = onChange((kind, alert) => {
    drawList();
    // A camera registered or renamed during the shift: its name once the index has it.
    if (alert) cameraIndex([alert.last_camera_id]).then(drawList, () => {});
    if (alert && alert.alert_id === alertId && kind === "sighting") {
      renderDetail(detail, alertId, cameras, session).catch(() => {});
    }
  });
  clear(root,
    h("div", { class: "split" },
      h("section", { class: "live-list" }, h("h2", {}, "Live alerts"), empty, list),
      detail),
  );
  if (alertId) await renderDetail(detail, alertId, cameras, session);
  else detail.append(h("p", { class: "hint" }, "Select an alert to see its detail."));
  return off;
}

function ackView(ack) {
  return h("div", { class: "ack-done" },
    h("strong", {}, `Acknowledged by ${ack.by}`), ` (${ack.role}) — ${ack.outcome.replace("_", " ")}`,
    h("div", {}, timeIn(ack.at, null)), ack.note ? h("blockquote", {}, ack.note) : null);
}

// Whether `first` (the acknowledgement a 409 names) is one of this page's attempts that got no
// answer, which may have reached the server: the same name, role, outcome and note.
function ownAttempt(first, unanswered, session) {
  return first.by === session.name && first.role === session.role && unanswered.some((sent) =>
    sent.outcome === first.outcome && (sent.note ?? null) === (first.note ?? null));
}

function ackForm(alert, session, onDone, onTaken) {
  const outcome = h("select", { id: "ack-outcome", name: "outcome", required: true },
    OUTCOMES.map(([value, label]) => h("option", { value }, label)));
  const note = h("textarea", { id: "ack-note", name: "note", rows: 2, maxlength: 2000, placeholder: "Note (optional)" });
  const message = h("p", { class: "error", id: "ack-error", role: "alert" });
  const button = h("button", { type: "submit", id: "ack-submit" }, "Acknowledge");
  const form = h("form", { class: "ack", id: "ack-form" },
    h("label", { for: "ack-outcome" }, "Outcome"), outcome, note, button, message);
  const unanswered = [];
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "";
    const asOf = currentSession();
    const body = { outcome: outcome.value };
    if (note.value.trim()) body.note = note.value.trim();
    try {
      const done = await api("POST", `/v1/alerts/${encodeURIComponent(alert.alert_id)}/acknowledge`, body);
      onDone(done.acknowledgement, done, asOf);
    } catch (error) {
      button.disabled = false;
      if (error instanceof ApiError && error.status === 409) {
        const first = error.body.acknowledgement;
        // This alert's badge, not the one found by id: the operator may have opened another
        // alert while the request waited, and that one's badge must not say "acknowledged".
        onTaken();
        // Show the alert as it now is (acknowledged) in the list, keeping the message here.
        api("GET", `/v1/alerts/${encodeURIComponent(alert.alert_id)}`).then((now) => remember(now, asOf), () => {});
        if (first && ownAttempt(first, unanswered, session)) {
          onDone(first, null, asOf); // the earlier attempt was taken: it is done, not a conflict
          return;
        }
        message.textContent = first
          ? `Already acknowledged by ${first.by} (${first.outcome.replace("_", " ")}) at ${timeIn(first.at, null)}.`
          : error.message;
        form.classList.add("conflict");
        button.disabled = true;
      } else {
        if (!(error instanceof ApiError) || error.status >= 500) unanswered.push(body);
        message.textContent = error.message;
      }
    }
  });
  return form;
}

// The detail's element -> its acknowledgement slot and the alert that slot is for.
const ackSlots = new WeakMap();
// The detail's element -> how many times it was asked to draw: each sighting fetches the detail
// again, and only the last one asked for is drawn, whatever order the answers come in.
const drawings = new WeakMap();

export async function renderDetail(root, alertId, cameras, session) {
  const turn = (drawings.get(root) || 0) + 1;
  drawings.set(root, turn);
  const latest = () => drawings.get(root) === turn;
  let alert;
  try {
    alert = await api("GET", `/v1/alerts/${encodeURIComponent(alertId)}`);
  } catch (error) {
    if (latest()) clear(root, h("p", { class: "error" }, error.status === 404 ? "No such alert." : error.message));
    return;
  }
  const hit = alert.hit || {};
  const read = hit.read || {};
  await cameraIndex([read.camera_id]).catch(() => null);
  if (!latest()) return;
  const camera = cameras.get(read.camera_id);
  const zone = camera ? camera.timezone : "UTC";
  const candidates = (read.candidates || []).map((c) =>
    `${c.plate}${c.confidence != null ? ` (${Math.round(c.confidence * 100)} %)` : ""}`);
  const trail = h("ol", { class: "trail", id: "trail" }, alert.trail.map((s) =>
    h("li", { dataset: { hit: s.hit_id } },
      h("span", { class: "where" }, s.camera_name || s.camera_id),
      h("span", { class: "when" }, timeIn(s.captured_at || s.matched_at, s.camera_timezone)),
      h("small", {}, s.hit_id),
      s.opened ? h("span", { class: "badge" }, "first") : null)));
  // A sighting draws the detail again: an acknowledgement being written (or already sent)
  // keeps its form, rather than losing the note or offering the button a second time.
  const kept = ackSlots.get(root);
  let held;
  if (kept && kept.alertId === alertId && !alert.acknowledgement) held = kept;
  else {
    held = { alertId, slot: h("div", { id: "ack" }), status: null, acknowledged: false };
    const ackSlot = held.slot;
    if (alert.acknowledgement) ackSlot.append(ackView(alert.acknowledgement));
    else {
      // The badge of the detail as drawn now (a sighting may have drawn it again since).
      const taken = () => {
        held.acknowledged = true;
        held.status.textContent = "acknowledged";
        held.status.className = "badge done";
      };
      ackSlot.append(ackForm(alert, session, (ack, now, asOf) => {
        if (now) remember(now, asOf);
        clear(ackSlot, ackView(ack));
        taken();
      }, taken));
    }
    ackSlots.set(root, held);
  }
  const ackSlot = held.slot;
  // A detail fetched before this page's acknowledgement was taken still says "new".
  const status = held.acknowledged ? "acknowledged" : alert.status;
  held.status = h("span", { class: `badge ${status === "new" ? "new" : "done"}`, id: "detail-status" }, status);
  clear(root,
    h("header", { class: `detail-head ${priorityClass(alert.priority)}` },
      h("span", { class: "prio" }, `P${alert.priority}`),
      h("span", { class: "plate big", id: "detail-plate" }, read.plate || alert.plate_norm),
      alert.test ? h("span", { class: "badge test" }, "TEST — commissioning camera, not an alarm") : null,
      alert.historical ? h("span", { class: "badge past" }, "past read — the vehicle was there then, not necessarily now") : null,
      alert.covert ? h("span", { class: "badge covert" }, "covert") : null,
      held.status),
    h("h3", {}, "Entry"),
    facts([
      ["List", listLabel(alert.category, alert.list_id)],
      ["Entry", alert.entry_id],
      ["Reason", alert.reason],
      ["Action", alert.action],
    ]),
    h("h3", {}, "Why it matched"),
    h("ul", { class: "explain", id: "explain" }, explainMatch(hit.match, read).map((line) => h("li", {}, line))),
    h("h3", {}, "Latest read"),
    facts([
      ["Plate read", read.plate],
      ["Country", read.country],
      ["Confidence", read.confidence != null ? `${Math.round(read.confidence * 100)} %` : null],
      ["Candidates", candidates.length ? candidates.join(", ") : null],
      ["Camera", camera ? `${camera.name} (${read.camera_id})` : read.camera_id],
      ["Captured", timeIn(read.captured_at, zone)],
      ["Vehicle", read.vehicle ? Object.values(read.vehicle).join(" ") : null],
      ["Direction", read.direction],
    ]),
    readImages(read.images, session.image_hosts || []),
    h("h3", {}, `Sightings (${alert.sightings})`),
    trail,
    h("h3", {}, "Acknowledge"),
    ackSlot,
  );
}
