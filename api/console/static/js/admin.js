// Supervisor and auditor pages: hotlists (entries, versions, which matchers applied them),
// the audit log, and the hit outcome report.

import { api, query } from "./api.js";
import { clear, h } from "./dom.js";
import { timeIn } from "./format.js";

function matchersCell(list) {
  if (list.matchers.length === 0) return h("span", { class: "warn" }, "no matcher reported");
  return h("ul", { class: "matchers" }, list.matchers.map((m) => {
    const version = m.applied_version === null ? "not loaded" : `v${m.applied_version}`;
    const state = m.up_to_date ? " ✓" : " (behind)";
    return h("li", { class: m.up_to_date ? "ok" : "warn" }, `${m.matcher_id}: ${version}${state}`);
  }));
}

function windowText(seconds) {
  return seconds === 0 ? "every hit" : `${Math.round(seconds / 60)} min`;
}

export async function renderHotlists(root) {
  const page = await api("GET", "/v1/hotlists");
  const rows = page.items.map((list) => h("tr", { dataset: { list: list.list_id } },
    h("td", {}, h("div", {}, list.name), h("small", {}, list.list_id)),
    h("td", {}, list.category),
    h("td", {}, `P${list.priority}`),
    h("td", {}, list.match),
    h("td", {}, list.covert ? h("span", { class: "badge covert" }, "covert") : "–"),
    h("td", {}, windowText(list.group_window_s)),
    h("td", {}, list.entries === null ? "–" : String(list.entries)),
    h("td", { title: list.updated_at }, String(list.version)),
    h("td", {}, matchersCell(list))));
  const heads = ["List", "Category", "Priority", "Match", "Covert", "Alert window", "Entries",
    "Version", "Applied by matchers"];
  clear(root,
    h("h2", {}, "Hotlists"),
    h("table", { class: "board", id: "hotlists" },
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
  );
}

export async function renderAudit(root) {
  const page = await api("GET", query("/v1/audit", { limit: 200 }));
  const heads = ["When (UTC)", "Who", "Role", "Action", "Target", "Reason"];
  const rows = page.items.map((e) => h("tr", {},
    h("td", {}, timeIn(e.at, "UTC")), h("td", {}, e.actor), h("td", {}, e.role),
    h("td", {}, e.action), h("td", {}, e.target), h("td", {}, e.reason || "")));
  clear(root,
    h("h2", {}, "Audit log"),
    h("table", { class: "board", id: "audit" },
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
  );
}

const GROUPINGS = [["list", "List"], ["camera", "Camera"], ["outcome", "Outcome"], ["day", "Day"]];

function percent(share) {
  return share === null ? "—" : `${(share * 100).toFixed(1)} %`;
}

// One row per group: hits as a bar (a <progress>, no inline style under the page's CSP), the
// acknowledged count and the false-positive share as a meter that turns red past a third.
function reportRow(group, most) {
  return h("tr", { "data-key": group.key },
    h("td", {}, group.key),
    h("td", { class: "num" }, String(group.hits)),
    h("td", {}, h("progress", { max: String(most), value: String(group.hits) })),
    h("td", { class: "num" }, String(group.acknowledged)),
    h("td", { class: "num fp" }, percent(group.false_positive_share)),
    h("td", {}, group.false_positive_share === null ? "" : h("meter", {
      min: "0", max: "1", low: "0.15", high: "0.33", optimum: "0",
      value: String(group.false_positive_share),
    })),
  );
}

export async function renderReport(root) {
  await showReport(root, "list", 7);
}

// Counts showReport() calls per root: an answer to an earlier click, arriving after a later one's
// (or failing), is not shown under the later click's picker.
const reportTurns = new WeakMap();

async function showReport(root, groupBy, days) {
  const turn = (reportTurns.get(root) || 0) + 1;
  reportTurns.set(root, turn);
  clear(root, h("h2", {}, "Hit outcome report"));
  const picker = h("p", { class: "report-controls" },
    "Group by ", ...GROUPINGS.map(([value, label]) => h("button", {
      type: "button", class: value === groupBy ? "active" : "", "data-group": value,
      onclick: () => showReport(root, value, days),
    }, label)),
    " over the last ", ...[1, 7, 30].map((n) => h("button", {
      type: "button", class: n === days ? "active" : "", "data-days": String(n),
      onclick: () => showReport(root, groupBy, n),
    }, `${n} d`)));
  // Days are cut at this browser's midnight (the API's default is UTC's), and the period starts
  // at one: the last `days` whole days and today so far, never a partial first day.
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const start = new Date(Date.now());
  start.setDate(start.getDate() - days);
  start.setHours(0, 0, 0, 0);
  const since = start.toISOString();
  picker.append(h("span", { class: "hint", id: "report-period" },
    ` (from ${start.toLocaleDateString()} 00:00, ${timezone}, to now)`));
  root.append(picker);
  let report;
  try {
    report = await api("GET", query("/v1/reports/hits", { group_by: groupBy, since, timezone }));
  } catch (error) {
    if (reportTurns.get(root) !== turn) return;
    root.append(h("p", { class: "hint", id: "report-error" }, error.message));
    return;
  }
  if (reportTurns.get(root) !== turn) return;
  const most = Math.max(1, ...report.groups.map((g) => g.hits));
  const key = groupBy === "day" ? `day (${report.timezone})` : groupBy;
  const heads = [key, "Hits", "", "Acknowledged", "False positives", ""];
  root.append(
    h("table", { class: "board", id: "report" },
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))),
      h("tbody", {}, report.groups.map((g) => reportRow(g, most))),
      h("tfoot", {}, reportRow({ ...report.total, key: "all" }, most))),
    h("p", { class: "hint" },
      "False positives: the share of acknowledged hits marked false_positive. ",
      "A list or camera with a high share is worth tuning (OCR tolerance, camera focus)."),
  );
}
