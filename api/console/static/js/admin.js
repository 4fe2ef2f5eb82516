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

export async function renderReport(root) {
  // The report API is built separately; until this server has it, say so plainly.
  clear(root, h("h2", {}, "Hit outcome report"));
  try {
    await api("GET", "/v1/reports/hits?group_by=list");
    root.append(h("p", {}, "The report is available as JSON: ",
      h("a", { href: "/v1/reports/hits?group_by=list" }, "/v1/reports/hits"), "."));
  } catch (error) {
    root.append(h("p", { class: "hint", id: "report-missing" },
      error.status === 404 ? "The hit outcome report is not available on this server yet." : error.message));
  }
}
