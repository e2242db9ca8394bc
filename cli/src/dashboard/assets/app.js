// The skiff dashboard: renders each snapshot the server pushes (Server-Sent Events) and
// measures how long each render takes (window.skiffRenderMs, newest last).
"use strict";

window.skiffRenderMs = [];
window.skiffUpdates = 0;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
}[c]));

const age = (ms) => {
  if (ms < 0) ms = 0;
  if (ms < 10000) return (ms / 1000).toFixed(1) + "s";
  if (ms < 120000) return Math.round(ms / 1000) + "s";
  return Math.round(ms / 60000) + "m";
};

const time = (ms) => ms ? new Date(ms).toISOString().slice(11, 23) : "-";

// Attributes that make an element open the object's trace and history when clicked.
const target = (kind, ns, name) =>
  `data-kind="${esc(kind)}" data-ns="${esc(ns)}" data-name="${esc(name)}"`;

function table(head, rows) {
  return `<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows.join("")}</table>`;
}

function stores(snap) {
  if (!snap.stores.length) return "<p>No store endpoints known (pass --store-endpoints).</p>";
  return table(["member", "endpoint", "state", "leader", "term", "raft index", "applied", "db size"],
    snap.stores.map((m) => `<tr data-member="${esc(m.name)}" data-endpoint="${esc(m.endpoint)}"
      data-up="${m.up}" data-leader="${m.leader}" class="${m.leader ? "leader" : ""}">
      <td>${esc(m.name)}</td><td>${esc(m.endpoint)}</td>
      <td class="${m.up ? "up" : "down"}" title="${esc(m.error)}">${m.up ? "up" : "down"}${m.error ? " ⚠" : ""}</td>
      <td>${m.leader ? "leader" : ""}</td><td>${m.up ? m.term : "-"}</td>
      <td>${m.up ? m.index : "-"}</td><td>${m.up ? m.applied : "-"}</td><td>${m.up ? esc(m.db_size) : "-"}</td></tr>`));
}

function leases(snap) {
  const rows = snap.leases.slice().sort((a, b) =>
    (a.namespace + a.name).localeCompare(b.namespace + b.name));
  return table(["lease", "holder", "renewed"], rows.map((l) => {
    const ms = snap.now - l.renewed;
    const expired = !l.renewed || (l.duration && ms > l.duration * 1000);
    return `<tr data-lease="${esc(l.namespace + "/" + l.name)}"><td>${esc(l.namespace)}/${esc(l.name)}</td>
      <td>${esc(l.holder || "<none>")}</td>
      <td class="${expired ? "bad" : "ok"}">${l.renewed ? age(ms) + " ago" : "never"}</td></tr>`;
  }));
}

function nodes(snap) {
  const byNode = new Map(snap.nodes.map((n) => [n.name, []]));
  const unscheduled = [];
  for (const p of snap.pods) {
    if (p.node && byNode.has(p.node)) byNode.get(p.node).push(p);
    else if (p.node) byNode.set(p.node, [p]);
    else unscheduled.push(p);
  }
  const ready = new Map(snap.nodes.map((n) => [n.name, n.ready]));
  const pods = (list) => `<div class="pods">${list.map((p) =>
    `<span class="pod ${esc(p.phase)}" data-pod="${esc(p.namespace + "/" + p.name)}"
      data-phase="${esc(p.phase)}" title="${esc(p.phase)}" ${target("pod", p.namespace, p.name)}>${esc(p.name)}</span>`).join("")}</div>`;
  const sections = [...byNode.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, list]) => {
    const state = !ready.has(name) ? "unknown node" : ready.get(name) ? "Ready" : "NotReady";
    return `<div class="node" data-node="${esc(name)}"><h3 ${target("node", "", name)}>${esc(name)}
      <span class="${state === "Ready" ? "ok" : "bad"}">${state}</span> · ${list.length} pods</h3>${pods(list)}</div>`;
  });
  if (unscheduled.length) {
    sections.push(`<div class="node" data-node=""><h3>not scheduled · ${unscheduled.length} pods</h3>${pods(unscheduled)}</div>`);
  }
  return sections.join("") || "<p>No nodes</p>";
}

function controllers(snap) {
  return table(["controller", "desired", "current", "ready"], snap.controllers.map((c) =>
    `<tr data-controller="${esc(c.kind + "/" + c.name)}" ${target(c.kind, c.namespace, c.name)}>
      <td>${esc(c.kind)}/${esc(c.name)}</td><td>${c.desired}</td><td>${c.current}</td><td>${c.ready}</td></tr>`));
}

function events(snap) {
  return table(["time", "object", "reason", "message"], snap.events.map((e) =>
    `<tr class="${esc(e.type)}"><td>${time(e.time)}</td><td>${esc(e.object)}</td>
      <td>${esc(e.reason)}${e.count > 1 ? " ×" + e.count : ""}</td><td>${esc(e.message)}</td></tr>`));
}

const sections = { stores, leases, nodes, controllers, events };
const shown = {};

// Renders what changed since the last snapshot; forces layout so the time counts it.
function render(snap) {
  const started = performance.now();
  for (const [id, draw] of Object.entries(sections)) {
    const html = draw(snap);
    if (shown[id] !== html) {
      document.getElementById(id).innerHTML = html;
      shown[id] = html;
    }
  }
  const failed = Object.entries(snap.feedErrors || {});
  document.getElementById("feeds").textContent =
    failed.length ? "watch down: " + failed.map(([r, e]) => `${r} (${e})`).join(", ") : "";
  void document.body.offsetHeight;
  const ms = performance.now() - started;
  window.skiffRenderMs.push(ms);
  if (window.skiffRenderMs.length > 1000) window.skiffRenderMs.shift();
  window.skiffUpdates += 1;
}

function connect() {
  const source = new EventSource("/updates");
  const state = document.getElementById("connection");
  source.onopen = () => { state.textContent = "live"; state.className = "up"; };
  source.onmessage = (message) => {
    const snap = JSON.parse(message.data);
    if (snap.stores) render(snap);
  };
  // EventSource reconnects by itself; say so meanwhile.
  source.onerror = () => { state.textContent = "reconnecting"; state.className = "down"; };
}

async function open(kind, ns, name) {
  const panel = document.getElementById("detail");
  document.getElementById("detail-title").textContent = `${kind}/${name}`;
  document.getElementById("detail-trace").textContent = "loading…";
  document.getElementById("detail-history").textContent = "loading…";
  panel.hidden = false;
  const query = new URLSearchParams({ kind, namespace: ns, name });
  try {
    const reply = await (await fetch("/object?" + query)).json();
    document.getElementById("detail-trace").textContent =
      reply.error || (reply.trace === null ? `skiff trace does not follow ${kind}` : reply.trace);
    document.getElementById("detail-history").textContent = reply.error || reply.history;
  } catch (e) {
    document.getElementById("detail-trace").textContent = "the dashboard did not answer: " + e;
    document.getElementById("detail-history").textContent = "";
  }
}

document.addEventListener("click", (e) => {
  const el = e.target.closest("[data-kind]");
  if (el) open(el.dataset.kind, el.dataset.ns, el.dataset.name);
});
document.getElementById("close").onclick = () => { document.getElementById("detail").hidden = true; };
connect();
