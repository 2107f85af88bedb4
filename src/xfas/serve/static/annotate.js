// The annotation page: go through the images of a data set, draw and edit polygons per
// evidence type, save them as masks (the server rasterises them), and show the model's heat
// map or SPED concepts beside the image on request. Coordinates are image pixels: pixel
// (row r, column c) covers [c, c + 1) x [r, r + 1).
"use strict";

const $ = (selector) => document.querySelector(selector);
const MAX_ZOOM = 8;
const HIT = 8;  // screen pixels within which a click hits a point

const state = {
  images: [], evidence: [], colours: {}, index: -1, image: null, width: 0, height: 0,
  zoom: 1, polygons: {}, locked: {}, lockedImages: {}, owned: new Set(), drawing: null,
  selected: null, drag: null, dirty: false,
};

function show(element, visible) { element.hidden = !visible; }

function setStatus(text) { $("#status").textContent = text; }

function showError(text) {
  $("#error").textContent = text;
  show($("#error"), Boolean(text));
}

async function api(path, options) {
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || ("error " + response.status));
  return data;
}

function loadImage(source) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the browser cannot show " + source));
    image.src = source;
  });
}

function current() { return $('input[name="evidence"]:checked').value; }

function mode() { return $('input[name="mode"]:checked').value; }

// --- the data set ------------------------------------------------------------------------

async function start() {
  let data;
  try {
    data = await api("api/dataset");
  } catch (error) {
    showError("The annotation server does not answer (" + error.message + ").");
    return;
  }
  state.images = data.images;
  state.evidence = data.evidence.map((e) => e.name);
  const types = $("#types");
  data.evidence.forEach((evidence, i) => {
    state.colours[evidence.name] = evidence.colour;
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "radio";
    box.name = "evidence";
    box.value = evidence.name;
    box.checked = i === 0;
    box.addEventListener("change", () => { finishDrawing(false); draw(); });
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = evidence.colour;
    label.append(box, swatch, document.createTextNode(evidence.name));
    types.append(label);
  });
  const select = $("#explain-method");
  for (const method of data.methods) {
    const option = document.createElement("option");
    option.value = method;
    option.textContent = method === "concepts" ? "SPED concepts" : "Grad-CAM heat map";
    select.append(option);
  }
  show($("#model"), data.methods.length > 0);
  listImages();
  const next = state.images.findIndex((image) => !image.annotated);
  await open(next >= 0 ? next : 0);
}

function listImages() {
  const list = $("#image-list");
  list.replaceChildren();
  state.images.forEach((image, i) => {
    const item = document.createElement("li");
    item.textContent = image.name;
    item.dataset.name = image.name;
    item.classList.toggle("annotated", image.annotated);
    item.classList.toggle("current", i === state.index);
    item.addEventListener("click", () => go(i));
    list.append(item);
  });
  const done = state.images.filter((image) => image.annotated).length;
  $("#progress").textContent = done + " of " + state.images.length + " images annotated";
}

async function go(index) {
  if (index < 0 || index >= state.images.length || index === state.index) return;
  if (state.dirty && !(await save())) return;
  await open(index);
}

async function open(index) {
  showError("");
  const name = state.images[index].name;
  let data;
  try {
    data = await api("api/annotations/" + encodeURIComponent(name));
    state.image = await loadImage("api/images/" + encodeURIComponent(name));
  } catch (error) {
    showError(name + ": " + error.message);
    return;
  }
  state.index = index;
  state.width = data.width;
  state.height = data.height;
  state.polygons = {};
  for (const evidence of state.evidence) state.polygons[evidence] = data.polygons[evidence] || [];
  state.locked = data.locked;
  state.lockedImages = {};
  for (const [evidence, png] of Object.entries(data.locked)) {
    state.lockedImages[evidence] = await loadImage("data:image/png;base64," + png);
  }
  state.owned = new Set(state.evidence.filter((e) => !(e in data.locked)));
  state.drawing = null;
  state.selected = null;
  state.dirty = false;
  $("#image-name").textContent = name;
  show($("#model-view"), false);
  $("#model-sentence").textContent = "";
  $("#model-concepts").replaceChildren();
  setStatus(Object.keys(data.locked).length
    ? "Masks with holes (" + Object.keys(data.locked).join(", ") + ") are shown as they are; " +
      "drawing a polygon of that type replaces the mask."
    : "");
  listImages();
  fit();
}

// --- saving --------------------------------------------------------------------------------

async function save() {
  finishDrawing(true);
  const name = state.images[state.index].name;
  const polygons = {};
  for (const evidence of state.owned) polygons[evidence] = state.polygons[evidence];
  const status = $("#status");
  delete status.dataset.saved;
  try {
    const reply = await api("api/annotations/" + encodeURIComponent(name), {
      method: "PUT", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ polygons }),
    });
    state.dirty = false;
    state.images[state.index].annotated = true;
    state.images[state.index].evidence = reply.evidence;
    const pixels = Object.entries(reply.pixels).filter(([, n]) => n > 0)
      .map(([evidence, n]) => evidence + " " + n + " px");
    setStatus("Saved " + name + (pixels.length ? ": " + pixels.join(", ") : ": no evidence") + ".");
    status.dataset.saved = name;
    listImages();
    return true;
  } catch (error) {
    showError("Not saved: " + error.message);
    return false;
  }
}

// --- drawing -------------------------------------------------------------------------------

function fit() {
  const canvas = $("#canvas");
  const room = Math.max(200, $("#stage").clientWidth);
  state.zoom = state.width <= room
    ? Math.min(MAX_ZOOM, Math.max(1, Math.floor(room / state.width))) : room / state.width;
  canvas.width = Math.round(state.width * state.zoom);
  canvas.height = Math.round(state.height * state.zoom);
  draw();
}

function withAlpha(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return "rgba(" + (value >> 16) + "," + ((value >> 8) & 255) + "," + (value & 255) + "," +
    alpha + ")";
}

function tracePath(context, points, closed) {
  context.beginPath();
  points.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
  if (closed) context.closePath();
}

function draw() {
  if (!state.image) return;
  const canvas = $("#canvas");
  const context = canvas.getContext("2d");
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.imageSmoothingEnabled = false;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.setTransform(state.zoom, 0, 0, state.zoom, 0, 0);
  context.drawImage(state.image, 0, 0, state.width, state.height);
  for (const [evidence, image] of Object.entries(state.lockedImages)) {
    if (!state.owned.has(evidence)) context.drawImage(image, 0, 0, state.width, state.height);
  }
  const line = 2 / state.zoom;
  const active = current();
  for (const evidence of state.evidence) {
    const colour = state.colours[evidence];
    state.polygons[evidence].forEach((points, i) => {
      tracePath(context, points, true);
      context.fillStyle = withAlpha(colour, 0.35);
      context.fill();
      const selected = state.selected && state.selected.evidence === evidence &&
        state.selected.index === i;
      context.lineWidth = selected ? 3 * line : line;
      context.strokeStyle = colour;
      context.stroke();
      if (evidence === active) drawPoints(context, points, colour);
    });
  }
  if (state.drawing) {
    const colour = state.colours[active];
    tracePath(context, state.drawing, false);
    context.lineWidth = line;
    context.strokeStyle = colour;
    context.stroke();
    drawPoints(context, state.drawing, colour);
  }
}

function drawPoints(context, points, colour) {
  const side = 5 / state.zoom;
  context.fillStyle = colour;
  for (const [x, y] of points) context.fillRect(x - side / 2, y - side / 2, side, side);
}

function toImage(event) {
  const canvas = $("#canvas");
  const rect = canvas.getBoundingClientRect();
  const scale = canvas.width / rect.width / state.zoom;
  const x = Math.min(state.width, Math.max(0, (event.clientX - rect.left) * scale));
  const y = Math.min(state.height, Math.max(0, (event.clientY - rect.top) * scale));
  return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
}

function near(a, b) {
  const canvas = $("#canvas");
  const screen = canvas.getBoundingClientRect().width / canvas.width * state.zoom;
  return Math.hypot(a[0] - b[0], a[1] - b[1]) * screen <= HIT;
}

function startOwning(evidence) {
  if (state.owned.has(evidence)) return;
  state.owned.add(evidence);  // drawing replaces a mask the page could not show as polygons
  state.polygons[evidence] = [];
}

function finishDrawing(keep) {
  const points = state.drawing;
  state.drawing = null;
  if (keep && points && points.length >= 3) {
    const evidence = current();
    startOwning(evidence);
    state.polygons[evidence].push(points);
    state.dirty = true;
  }
  draw();
}

function inside(point, polygon) {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if ((yi > point[1]) !== (yj > point[1]) &&
        point[0] < ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function onClick(event) {
  if (!state.image || mode() !== "draw") return;
  const point = toImage(event);
  if (!state.drawing) {
    state.drawing = [point];
  } else if (state.drawing.length >= 3 && near(point, state.drawing[0])) {
    finishDrawing(true);
    return;
  } else {
    state.drawing.push(point);
  }
  draw();
}

function onMouseDown(event) {
  if (!state.image || mode() !== "edit") return;
  const point = toImage(event);
  const evidence = current();
  const polygons = state.polygons[evidence];
  for (let p = 0; p < polygons.length; p++) {
    const v = polygons[p].findIndex((vertex) => near(point, vertex));
    if (v >= 0) {
      state.drag = { evidence, polygon: p, vertex: v };
      return;
    }
  }
  const hit = polygons.findIndex((polygon) => inside(point, polygon));
  state.selected = hit >= 0 ? { evidence, index: hit } : null;
  draw();
}

function onMouseMove(event) {
  if (!state.drag) return;
  const { evidence, polygon, vertex } = state.drag;
  state.polygons[evidence][polygon][vertex] = toImage(event);
  state.dirty = true;
  draw();
}

function deleteSelected() {
  if (!state.selected) return;
  state.polygons[state.selected.evidence].splice(state.selected.index, 1);
  state.selected = null;
  state.dirty = true;
  draw();
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement && event.target.type === "text") return;
  if (event.key === "Enter") finishDrawing(true);
  else if (event.key === "Escape") finishDrawing(false);
  else if (event.key === "Backspace" && state.drawing) {
    state.drawing.pop();
    if (!state.drawing.length) state.drawing = null;
    draw();
  } else if (event.key === "Delete") deleteSelected();
  else return;
  event.preventDefault();
}

// --- the model's view -----------------------------------------------------------------------

async function explain() {
  const name = state.images[state.index].name;
  const method = $("#explain-method").value;
  setStatus("Asking the model about " + name + " ...");
  let data;
  try {
    data = await api("api/explain/" + encodeURIComponent(name) + "?method=" + method);
  } catch (error) {
    setStatus("");
    showError(error.message);
    return;
  }
  setStatus("");
  const view = $("#model-view");
  view.width = data.heatmap_size[0];
  view.height = data.heatmap_size[1];
  const context = view.getContext("2d");
  context.drawImage(state.image, 0, 0, view.width, view.height);
  const layers = method === "concepts" ? data.concepts : Object.values(data.maps);
  for (const layer of layers) {
    context.drawImage(await loadImage("data:image/png;base64," + layer.heatmap_png), 0, 0,
      view.width, view.height);
  }
  show(view, true);
  $("#model-sentence").textContent = data.sentence;
  const list = $("#model-concepts");
  list.replaceChildren();
  for (const concept of data.concepts) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = concept.color;
    item.append(swatch, document.createTextNode(" " + concept.name + " (" +
      concept.importance.toFixed(2) + ")"));
    list.append(item);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const canvas = $("#canvas");
  canvas.addEventListener("click", onClick);
  canvas.addEventListener("mousedown", onMouseDown);
  window.addEventListener("mousemove", onMouseMove);
  window.addEventListener("mouseup", () => { state.drag = null; });
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fit);
  $("#prev").addEventListener("click", () => go(state.index - 1));
  $("#next").addEventListener("click", () => go(state.index + 1));
  $("#save").addEventListener("click", save);
  $("#finish").addEventListener("click", () => finishDrawing(true));
  $("#undo-point").addEventListener("click", () => onKey({ key: "Backspace", target: null,
    preventDefault() {} }));
  $("#delete-polygon").addEventListener("click", deleteSelected);
  $("#clear-type").addEventListener("click", () => {
    const evidence = current();
    startOwning(evidence);
    state.polygons[evidence] = [];
    state.dirty = true;
    draw();
  });
  $("#explain").addEventListener("click", explain);
  start();
});
