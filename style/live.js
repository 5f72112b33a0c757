// Ferry dashboard: live updates without reloading. One graphql-transport-ws connection
// to /graphql/ws, authenticated by the same-origin session cookie (the server accepts it
// only when the handshake's Origin is this host). With JavaScript off, every page still
// shows the state as of its load. Served at /assets/live.js.

const subscriptions = [];

function subscribe(query, variables, onData) {
  subscriptions.push({ id: String(subscriptions.length + 1), query, variables, onData });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/graphql/ws`, "graphql-transport-ws");
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      document.documentElement.dataset.live = "connected";
      for (const s of subscriptions) {
        socket.send(JSON.stringify({
          id: s.id, type: "subscribe", payload: { query: s.query, variables: s.variables },
        }));
      }
    } else if (message.type === "next") {
      const s = subscriptions.find((x) => x.id === message.id);
      if (s && message.payload && message.payload.data) s.onData(message.payload.data);
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  });
  socket.addEventListener("close", (event) => {
    document.documentElement.dataset.live = "disconnected";
    document.documentElement.dataset.closeCode = String(event.code);
    // 4403: the session ended (signed out elsewhere, token revoked, account
    // disabled): this page stops at once and goes to the sign-in page.
    if (event.code === 4403) {
      location.assign("/login");
      return;
    }
    setTimeout(connect, 3000);
  });
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
function size(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
const rate = (bytesPerSecond) => `${size(bytesPerSecond)}/s`;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// Overview: unfinished uploads with progress bars; a finished one shows its
// final state for a moment, then leaves the list.
const uploads = document.querySelector("#uploads tbody");
const FINISHED = ["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"];
const LINGER_MS = 4000;
function names(id) {
  return JSON.parse(document.getElementById(id)?.textContent || "{}");
}
function showEmpty() {
  const empty = document.querySelector("#uploads-empty");
  if (empty) empty.hidden = uploads.querySelector("tr") !== null;
}
if (uploads) {
  subscribe(
    "subscription { uploads { uploadId userId deviceNodeId status filePath uploadedBytes totalSize completedChunks totalChunks progressPercent } }",
    {},
    ({ uploads: u }) => {
      let row = uploads.querySelector(`tr[data-upload-id="${u.uploadId}"]`);
      if (!row) {
        if (FINISHED.includes(u.status)) return;
        row = document.createElement("tr");
        row.dataset.uploadId = u.uploadId;
        const bar = document.createElement("td");
        bar.dataset.label = "Progress";
        bar.innerHTML = '<div class="bar"><progress max="100" value="0"></progress><span></span></div>' +
          '<span class="hint bytes"></span>';
        const actions = document.createElement("td");
        actions.dataset.label = "Actions";
        const template = document.getElementById("upload-actions");
        if (template) actions.append(template.content.cloneNode(true));
        for (const input of actions.querySelectorAll('input[name="id"]')) input.value = u.uploadId;
        const labelled = (td, label) => { td.dataset.label = label; return td; };
        row.append(
          labelled(cell(u.filePath, "mono"), "File"),
          labelled(cell(names("user-names")[u.userId] || u.userId, "owner"), "Owner"),
          labelled(cell(names("device-names")[u.deviceNodeId] || "—", "device"), "Device"),
          bar,
          labelled(cell("", "num chunks"), "Chunks"),
          labelled(cell("", "status"), "Status"),
          actions,
        );
        uploads.prepend(row);
        showEmpty();
      }
      const percent = u.status === "COMPLETED" ? 100 : u.progressPercent;
      row.querySelector("progress").value = percent;
      row.querySelector("progress").setAttribute("aria-valuenow", String(percent));
      row.querySelector(".bar span").textContent = `${percent.toFixed(1)}%`;
      const done = u.status === "COMPLETED" ? u.totalSize : u.uploadedBytes;
      row.querySelector(".bytes").textContent = `${size(done)} of ${size(u.totalSize)}`;
      row.querySelector(".chunks").textContent = `${u.completedChunks} / ${u.totalChunks}`;
      row.querySelector(".status").textContent = u.status.toLowerCase();
      const pause = row.querySelector("form.pause");
      const resume = row.querySelector("form.resume");
      if (pause) pause.hidden = u.status !== "ACTIVE";
      if (resume) resume.hidden = u.status !== "PAUSED";
      if (FINISHED.includes(u.status) && !row.dataset.leaving) {
        row.dataset.leaving = "true";
        for (const form of row.querySelectorAll("form")) form.hidden = true;
        setTimeout(() => { row.remove(); showEmpty(); }, LINGER_MS);
      }
    },
  );
}

// Overview: throughput per user and direction.
const throughput = document.querySelector("#throughput tbody");
if (throughput) {
  subscribe(
    "subscription { bandwidthUsage { userId direction bytesPerSecond } }",
    {},
    ({ bandwidthUsage: b }) => {
      const key = `${b.userId}:${b.direction}`;
      let row = throughput.querySelector(`tr[data-key="${key}"]`);
      if (!row) {
        row = document.createElement("tr");
        row.dataset.key = key;
        const names = JSON.parse(document.querySelector("#user-names")?.textContent || "{}");
        row.append(cell(names[b.userId] || b.userId), cell(b.direction.toLowerCase()), cell("", "num rate"));
        throughput.append(row);
        document.querySelector("#throughput-empty")?.remove();
      }
      row.querySelector(".rate").textContent = rate(b.bytesPerSecond);
    },
  );
}

// Overview and schedules: the feed of schedule runs.
const feed = document.querySelector("#run-feed");
if (feed) {
  subscribe(
    "subscription { scheduleRuns { id deviceId trigger status changeCount startedAt } }",
    {},
    ({ scheduleRuns: r }) => {
      const item = document.createElement("li");
      item.dataset.runId = r.id;
      item.textContent = `${r.startedAt.replace("T", " ").slice(0, 19)} · ${r.deviceId} · ` +
        `${r.trigger.toLowerCase()} · ${r.status.toLowerCase()} · ${r.changeCount} changes`;
      feed.prepend(item);
      document.querySelector("#run-feed-empty")?.remove();
    },
  );
}

// Every signed-in page holds the connection, so a page whose session ends
// (see the 4403 close above) stops within seconds, not at its next click.
if (subscriptions.length > 0 || document.getElementById("signed-in-as")) connect();
