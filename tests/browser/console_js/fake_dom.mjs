// Just enough of a browser for the console's ES modules to run under node (no npm packages):
// elements with children, attributes, classes, dataset, events and form values; `fetch`,
// `EventSource`, `AudioContext` and timers as fakes a test drives by hand.

export class Node {
  constructor() {
    this.parentNode = null;
    this.childNodes = [];
  }

  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }

  set textContent(text) {
    this.replaceChildren(new Text(String(text)));
  }

  append(...nodes) {
    for (const node of nodes) {
      const child = node instanceof Node ? node : new Text(String(node));
      if (child.parentNode) child.parentNode.childNodes.splice(child.parentNode.childNodes.indexOf(child), 1);
      child.parentNode = this;
      this.childNodes.push(child);
    }
  }

  appendChild(node) {
    this.append(node);
    return node;
  }

  replaceChildren(...nodes) {
    for (const child of this.childNodes) child.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }

  get children() {
    return this.childNodes.filter((c) => c instanceof Element);
  }
}

export class Text extends Node {
  constructor(text) {
    super();
    this.data = text;
  }

  get textContent() {
    return this.data;
  }
}

class ClassList {
  constructor(el) {
    this.el = el;
  }

  get names() {
    return this.el.className.split(/\s+/).filter(Boolean);
  }

  add(...names) {
    this.el.className = [...new Set([...this.names, ...names])].join(" ");
  }

  remove(...names) {
    this.el.className = this.names.filter((n) => !names.includes(n)).join(" ");
  }

  contains(name) {
    return this.names.includes(name);
  }

  toggle(name, on) {
    const want = on === undefined ? !this.contains(name) : on;
    if (want) this.add(name);
    else this.remove(name);
    return want;
  }
}

export class Element extends Node {
  constructor(tag) {
    super();
    this.tagName = tag.toUpperCase();
    this.attributes = {};
    this.className = "";
    this.dataset = {};
    this.listeners = {};
    this.classList = new ClassList(this);
    this.hidden = false;
    this.disabled = false;
    this._value = "";
  }

  get id() {
    return this.attributes.id || "";
  }

  get value() {
    if (this.tagName === "SELECT" && this._value === "") {
      const first = all(this, (e) => e.tagName === "OPTION")[0];
      return first ? first.getAttribute("value") || "" : "";
    }
    return this._value;
  }

  set value(v) {
    this._value = String(v);
  }

  get tBodies() {
    return this.children.filter((c) => c.tagName === "TBODY");
  }

  setAttribute(name, value) {
    this.attributes[name] = String(value);
    if (name === "class") this.className = String(value);
    if (name === "hidden") this.hidden = true;
    if (name === "disabled") this.disabled = true;
  }

  getAttribute(name) {
    return name in this.attributes ? this.attributes[name] : null;
  }

  addEventListener(type, listener) {
    (this.listeners[type] ||= []).push(listener);
  }

  dispatchEvent(event) {
    event.target = this;
    for (const listener of this.listeners[event.type] || []) listener(event);
    return true;
  }

  focus() {}
}

// Every element under `root` (depth first) for which `pred` holds.
export function all(root, pred) {
  const out = [];
  for (const child of root.childNodes) {
    if (!(child instanceof Element)) continue;
    if (pred(child)) out.push(child);
    out.push(...all(child, pred));
  }
  return out;
}

export function byId(root, id) {
  return all(root, (e) => e.id === id)[0] || null;
}

export class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static opened = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = {};
    FakeEventSource.opened.push(this);
  }

  addEventListener(type, listener) {
    (this.listeners[type] ||= []).push(listener);
  }

  close() {
    this.readyState = FakeEventSource.CLOSED;
  }

  // Deliver one server-sent event (`id` as the browser's lastEventId, if any).
  emit(type, data, id = "") {
    const event = { type, data: typeof data === "string" ? data : JSON.stringify(data), lastEventId: id };
    for (const listener of this.listeners[type] || []) listener(event);
  }
}

export const beeps = [];

class FakeAudioContext {
  constructor() {
    this.currentTime = 0;
    this.destination = {};
  }

  resume() {}

  createOscillator() {
    const node = { frequency: {}, connect: (n) => n, start: () => beeps.push(Date.now()), stop() {} };
    return node;
  }

  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (n) => n };
  }
}

// Routes of the fake API: path (with query; `*` at the end: any path it starts) -> JSON body,
// [status, body], or a function of (method, body, headers) answering either. A request whose
// `signal` aborts before its answer comes fails as the browser's does (an AbortError).
export const routes = new Map();
export const requests = [];

function aborted(signal) {
  return new Promise((resolve, reject) => {
    const fail = () => reject(signal.reason || new DOMException("aborted", "AbortError"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail);
  });
}

async function fakeFetch(path, init = {}) {
  const method = init.method || "GET";
  const headers = init.headers || {};
  requests.push({ method, path, body: init.body, headers });
  let answer = routes.get(path);
  if (answer === undefined) {
    const prefix = [...routes.keys()].find((key) => key.endsWith("*") && path.startsWith(key.slice(0, -1)));
    answer = prefix && routes.get(prefix);
  }
  if (typeof answer === "function") answer = answer(method, init.body && JSON.parse(init.body), headers);
  answer = await (init.signal ? Promise.race([answer, aborted(init.signal)]) : answer);
  const [status, body] = answer === undefined ? [404, { detail: "no route" }] : Array.isArray(answer) ? answer : [200, answer];
  return { status, ok: status < 400, text: async () => JSON.stringify(body) };
}

// Intervals the page sets, to run by hand (`tick()`); timeouts too (`later()`), once each.
export const intervals = [];
export const timeouts = new Map();
let timeoutIds = 0;

export async function tick() {
  for (const callback of intervals) await callback();
  await settle();
}

// Run the timeouts set so far (not those they set), then let what they started run.
export async function later() {
  const due = [...timeouts.values()];
  timeouts.clear();
  for (const callback of due) await callback();
  await settle();
}

// Let every pending promise chain run.
export async function settle() {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const windowListeners = {};

// The browser's navigation to `#/…`: a new hash, then `hashchange`.
export function go(hash) {
  location.hash = hash;
  window.dispatchEvent({ type: "hashchange" });
}

// The page's elements that have an id, from [tag, id, hidden] (found in index.html), in <body>.
export function page(elements) {
  for (const [tag, id, hidden] of elements) {
    const el = document.createElement(tag);
    el.setAttribute("id", id);
    el.hidden = hidden;
    document.body.append(el);
  }
}

// Whether the page's element `id` is there and not hidden; its text.
export function seen(id) {
  const el = document.getElementById(id);
  return !!el && !el.hidden;
}

export function text(id) {
  const el = document.getElementById(id);
  return el ? el.textContent : "";
}

// The operator submits `form` (an element or the page's element of that id).
export function submit(form) {
  const el = typeof form === "string" ? document.getElementById(form) : form;
  el.dispatchEvent({ type: "submit", preventDefault() {} });
}

export function install() {
  const document = new Element("document");
  document.title = "";
  document.createElement = (tag) => new Element(tag);
  document.createTextNode = (text) => new Text(text);
  document.getElementById = (id) => byId(document, id);
  document.body = new Element("body");
  document.append(document.body);
  Object.assign(globalThis, {
    Node,
    Text,
    Element,
    document,
    window: {
      addEventListener: (type, listener) => (windowListeners[type] ||= []).push(listener),
      dispatchEvent: (event) => {
        for (const listener of windowListeners[event.type] || []) listener(event);
        return true;
      },
    },
    fetch: fakeFetch,
    EventSource: FakeEventSource,
    AudioContext: FakeAudioContext,
    location: { hash: "" },
    setInterval: (callback) => intervals.push(callback),
    clearInterval: () => {},
    setTimeout: (callback) => {
      timeoutIds += 1;
      timeouts.set(timeoutIds, callback);
      return timeoutIds;
    },
    clearTimeout: (id) => timeouts.delete(id),
  });
  return document;
}
