// The snekbox playground: sends the editor's code to POST /eval and shows the answer.
// Everything a job produced (output, file names, files) is shown as text or through
// blob: and data: URLs, never as markup.

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "snekbox-token";
const INDENT = "    ";
const BADGES = {
  ok: "ok",
  error: "error",
  timeout: "timeout",
  oom: "out of memory",
  output_limit: "output limit",
  signal: "signal",
  internal_error: "internal error",
};
// Shown inline: an <img> never runs an SVG's script.
const IMAGE_TYPES = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
};

let running = null; // the AbortController of the run in progress
let blobUrls = []; // made for the last answer's files, revoked with it
let tabLeaves = false; // after Escape, Tab moves focus out of the editor

// --- The editor: line numbers, indenting, Ctrl/Cmd+Enter ---

function updateGutter() {
  const lines = $("code").value.split("\n").length;
  $("gutter").textContent = Array.from({ length: lines }, (_, i) => i + 1).join("\n");
  $("gutter").scrollTop = $("code").scrollTop;
}

function indent(editor, outdent) {
  const { value, selectionStart: start, selectionEnd: end } = editor;
  const lineStart = value.lastIndexOf("\n", start - 1) + 1;
  if (!outdent && start === end) {
    editor.setRangeText(INDENT, start, end, "end");
    return;
  }
  // A selection ending at a line's start does not take in that line.
  const blockEnd = end > start && value[end - 1] === "\n" ? end - 1 : end;
  const block = value.slice(lineStart, blockEnd);
  const changed = outdent
    ? block.replace(/^ {1,4}/gm, "")
    : block.replace(/^/gm, INDENT);
  editor.setRangeText(changed, lineStart, blockEnd, "select");
}

function onEditorKey(event) {
  const editor = event.target;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    run();
  } else if (event.key === "Escape") {
    tabLeaves = true;
  } else if (event.key === "Tab" && !tabLeaves) {
    event.preventDefault();
    indent(editor, event.shiftKey);
    updateGutter();
  } else if (event.key !== "Tab" && event.key !== "Shift") {
    tabLeaves = false;
  }
}

// --- Talking to the service ---

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function call(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...authHeaders(), ...options.headers },
  });
  if (response.status === 401) {
    $("auth").hidden = false;
    $("token").focus();
    throw new Error("this server needs a token: enter it above");
  }
  return response;
}

async function loadRuntimes() {
  const response = await call("runtimes");
  if (!response.ok) throw new Error(await refusal(response));
  const { runtimes } = await response.json();
  const picker = $("runtime");
  picker.replaceChildren();
  for (const runtime of runtimes) {
    const option = new Option(`${runtime.name} (Python ${runtime.version})`, runtime.name);
    option.selected = runtime.default;
    picker.append(option);
  }
}

function saveToken() {
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  $("auth").hidden = true;
  showBadge("idle", "ready");
  $("details").textContent = "";
  loadRuntimes().catch(showFailure);
  $("code").focus();
}

// --- Building the request ---

async function base64Of(file) {
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  return url.slice(url.indexOf(",") + 1);
}

async function buildRequest() {
  const request = { input: $("code").value, stdin: $("stdin").value };
  if ($("runtime").value) request.version = $("runtime").value;
  const limits = {};
  const time = $("limit-time").valueAsNumber;
  const memory = $("limit-memory").valueAsNumber;
  const output = $("limit-output").valueAsNumber;
  if (!Number.isNaN(time)) limits.time = time;
  if (!Number.isNaN(memory)) limits.memory = Math.round(memory * 1024 * 1024);
  if (!Number.isNaN(output)) limits.output = output;
  if (Object.keys(limits).length) request.limits = limits;
  const files = [...$("files").files];
  if (files.length) {
    request.files = await Promise.all(
      files.map(async (file) => ({ path: file.name, content: await base64Of(file) })),
    );
  }
  return request;
}

// --- Running, streamed or not ---

async function run() {
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  showRunning();
  try {
    const response = await call("eval", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "text/event-stream, application/json",
      },
      body: JSON.stringify(await buildRequest()),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await refusal(response));
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("text/event-stream")) {
      let ended = false;
      await readEvents(response.body, (name, data) => {
        if (name === "output") showOutput(data.text);
        if (name === "result") {
          showResult(data);
          ended = true;
        }
      });
      if (!ended) throw new Error("the answer ended before the job's result");
    } else {
      showResult(await response.json());
    }
  } catch (error) {
    if (running !== controller) return; // a newer run has taken over the page
    if (controller.signal.aborted) showBadge("idle", "stopped");
    else showFailure(error);
  } finally {
    if (running === controller) {
      running = null;
      $("run").disabled = false;
      $("stop").disabled = true;
    }
  }
}

// A 4xx or 5xx answer: snekbox's are {"title", "description"}; a proxy's may be anything.
async function refusal(response) {
  const { title, description } = await response.json().catch(() => ({}));
  const reason = title || response.statusText;
  return `${response.status} ${reason}${description ? `: ${description}` : ""}`;
}

// Server-sent events from a fetch body: "event: NAME\ndata: JSON\n\n", one after another.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const fields = { event: "message", data: [] };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(":");
        const text = rest.join(":").replace(/^ /, "");
        if (field === "event") fields.event = text;
        if (field === "data") fields.data.push(text);
      }
      if (fields.data.length) onEvent(fields.event, JSON.parse(fields.data.join("\n")));
    }
  }
}

// --- Showing the answer ---

function showBadge(kind, text) {
  $("badge").className = `badge ${kind}`;
  $("badge").textContent = text;
}

function showRunning() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls = [];
  $("output").replaceChildren();
  $("returned-files").replaceChildren();
  $("files-title").hidden = true;
  $("truncated").hidden = true;
  $("details").textContent = "";
  showBadge("running", "running…");
  $("run").disabled = true;
  $("stop").disabled = false;
}

// Appended as text, kept scrolled to its end as a terminal is.
function showOutput(text) {
  const output = $("output");
  output.append(text);
  output.scrollTop = output.scrollHeight;
}

function showFailure(error) {
  showBadge("internal_error", "not run");
  $("details").textContent = error.message;
}

function showResult(result) {
  $("output").textContent = result.stdout; // the whole output, even if some was streamed
  showBadge(result.status, BADGES[result.status] || result.status);
  const details = [`return code ${result.returncode ?? "none"}`];
  if (result.signal) details.push(`signal ${result.signal}`);
  details.push(`${result.duration.toFixed(2)} s`);
  $("details").textContent = details.join(" · ");
  $("truncated").hidden = !result.truncated;
  showFiles(result.files);
}

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function showFiles(files) {
  $("files-title").hidden = files.length === 0;
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0));
    const name = file.path.split("/").pop();
    // Downloads are octet-streams: a job's HTML or SVG never opens as a page of this origin.
    const download = document.createElement("a");
    const blob = new Blob([bytes], { type: "application/octet-stream" });
    download.href = remember(URL.createObjectURL(blob));
    download.download = name;
    download.textContent = file.path;
    const item = document.createElement("li");
    item.append(download, ` ${sizeText(file.size)}`);
    const type = IMAGE_TYPES[name.split(".").pop().toLowerCase()];
    if (type) {
      // A data: URL, not a blob: one: opened in a tab of its own, an SVG's script would
      // run in this page's origin from a blob: URL, in an opaque one from a data: URL.
      const image = document.createElement("img");
      image.src = `data:${type};base64,${file.content}`;
      image.alt = `image ${file.path}`;
      item.append(image);
    }
    $("returned-files").append(item);
  }
}

function remember(url) {
  blobUrls.push(url);
  return url;
}

// --- Share links: code and stdin in the fragment, nothing stored on the server ---

function share() {
  const params = new URLSearchParams({ code: $("code").value, stdin: $("stdin").value });
  history.replaceState(null, "", `#${params}`);
  const link = location.href;
  $("share-status").textContent = "The address bar now holds a link to this code.";
  navigator.clipboard?.writeText(link).then(
    () => ($("share-status").textContent = "Link copied; the address bar holds it too."),
    () => {},
  );
}

function restoreShared() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("code")) $("code").value = params.get("code");
  if (params.has("stdin")) $("stdin").value = params.get("stdin");
}

// --- Wiring ---

restoreShared();
updateGutter();
$("code").addEventListener("input", updateGutter);
$("code").addEventListener("scroll", updateGutter);
$("code").addEventListener("keydown", onEditorKey);
$("stdin").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
});
$("run").addEventListener("click", run);
$("stop").addEventListener("click", () => running?.abort());
$("share").addEventListener("click", share);
$("token-save").addEventListener("click", saveToken);
$("token").addEventListener("keydown", (event) => {
  if (event.key === "Enter") saveToken();
});
loadRuntimes().catch(showFailure);
