// Pure formatting: times in a camera's zone, priorities, the match in words.

export function timeIn(iso, timeZone) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "–";
  const options = {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: timeZone || "UTC" }).format(date);
  } catch {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" }).format(date);
  }
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function priorityClass(priority) {
  const p = Number(priority);
  return `p${p >= 1 && p <= 5 ? p : 3}`;
}

// The read plate against the list's plate, position by position (OCR look-alikes).
function differences(read, entry) {
  const out = [];
  if (read.length !== entry.length) return out;
  for (let i = 0; i < read.length; i += 1) {
    if (read[i] !== entry[i]) out.push([read[i], entry[i]]);
  }
  return out;
}

export function explainMatch(match, read) {
  if (!match) return [];
  const lines = [];
  const readPlate = match.read_plate || "";
  const entryPlate = match.entry_plate || "";
  if (match.source === "candidate") {
    lines.push(
      `Candidate reading: the camera's alternative reading \`${readPlate}\` is on the list` +
        (read && read.plate_norm ? ` (its main reading was \`${read.plate_norm}\`).` : "."),
    );
  }
  switch (match.kind) {
    case "exact":
      if (match.source !== "candidate") lines.push(`Exact: the read \`${readPlate}\` is the list's plate.`);
      break;
    case "ocr":
      for (const [got, listed] of differences(readPlate, entryPlate)) {
        lines.push(`OCR: \`${got}\` read where the list has \`${listed}\``);
      }
      if (!lines.length) lines.push(`OCR: \`${readPlate}\` looks like the list's \`${entryPlate}\`.`);
      break;
    case "fuzzy":
      lines.push(
        `Fuzzy: \`${readPlate}\` is one character off the list's \`${entryPlate}\`` +
          ` (distance ${match.distance ?? 1}).`,
      );
      break;
    case "pattern":
      lines.push(`Pattern \`${entryPlate}\` matches the read \`${readPlate}\`.`);
      break;
    default:
      lines.push(`Matched (${match.kind}).`);
  }
  return lines;
}

const STATUS_RANK = { offline: 0, degraded: 1, never_seen: 2, online: 3 };

export function statusRank(status) {
  return STATUS_RANK[status] ?? 1;
}

export function listLabel(category, listId) {
  return category && category !== listId ? `${category} (${listId})` : listId;
}
