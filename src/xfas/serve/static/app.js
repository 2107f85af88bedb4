// The xfas page: send an image to v1/explain, show the verdict, the image with one toggleable
// heat-map layer per concept (and per requested method), the importance bars and the sentence.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { base: null, data: null, layers: [] };

function show(element, visible) { element.hidden = !visible; }

function setStatus(text) { $("#status").textContent = text; }

function showError(text) {
  $("#error").textContent = text;
  show($("#error"), Boolean(text));
}

function loadImage(source) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the browser cannot show this image"));
    image.src = source;
  });
}

function selectedMethods() {
  return [...document.querySelectorAll('input[name="method"]:checked')].map((box) => box.value);
}

async function submit(blob, name) {
  showError("");
  setStatus("Explaining " + name + " ...");
  const form = new FormData();
  form.append("file", blob, name);
  const methods = selectedMethods();
  if (methods.length) form.append("methods", methods.join(","));
  const headers = {};
  const key = $("#api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  let response, data;
  try {
    response = await fetch("v1/explain", { method: "POST", body: form, headers });
    data = await response.json();
  } catch (error) {
    setStatus("");
    showError("The service did not answer (" + error.message + ").");
    return;
  }
  setStatus("");
  if (!response.ok) {
    showError(data.error || ("Error " + response.status));
    show($("#result"), false);
    return;
  }
  const url = URL.createObjectURL(blob);
  try {
    state.base = await loadImage(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  await render(data);
}

async function render(data) {
  state.data = data;
  const verdict = $("#verdict");
  verdict.textContent = data.verdict;
  verdict.className = "badge " + data.verdict;
  verdict.dataset.verdict = data.verdict;
  $("#score").textContent = "spoof score " + data.spoof_score.toFixed(3) +
    " (threshold " + data.threshold + ", " + data.elapsed_ms.toFixed(0) + " ms)";
  $("#sentence").textContent = data.sentence;

  state.layers = [];
  const concepts = $("#concepts");
  concepts.replaceChildren();
  for (const concept of data.concepts) {
    const layer = await makeLayer(concept, concept.color);
    concepts.append(conceptItem(concept, layer));
  }
  const maps = $("#maps");
  maps.replaceChildren();
  for (const [method, map] of Object.entries(data.maps)) {
    const layer = await makeLayer(map, "#ffffff");
    layer.visible = data.concepts.length === 0;
    maps.append(methodItem(method, layer));
  }
  const none = $("#no-concepts");
  none.textContent = data.verdict === "spoof"
    ? "No concept bank is loaded: start the service with --concepts BANK to see concepts."
    : "Live verdict: no spoofing evidence to show.";
  show(none, data.concepts.length === 0);
  show($("#result"), true);
  draw();
}

async function makeLayer(item, colour) {
  const layer = { image: await loadImage("data:image/png;base64," + item.heatmap_png),
                  box: item.box, colour, visible: true };
  state.layers.push(layer);
  return layer;
}

function toggle(layer) {
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = layer.visible;
  box.addEventListener("change", () => { layer.visible = box.checked; draw(); });
  return box;
}

function conceptItem(concept, layer) {
  const item = document.createElement("li");
  item.className = "concept";
  const row = document.createElement("label");
  row.className = "layer";
  const box = toggle(layer);
  box.className = "concept-toggle";
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = concept.color;
  const name = document.createElement("span");
  name.className = "concept-name";
  name.textContent = concept.name;
  const value = document.createElement("span");
  value.className = "importance";
  value.textContent = concept.importance.toFixed(2);
  row.append(box, swatch, name, value);
  const bar = document.createElement("div");
  bar.className = "bar";
  const fill = document.createElement("div");
  fill.className = "bar-fill";
  fill.style.width = Math.max(0, Math.min(1, concept.importance)) * 100 + "%";
  fill.style.background = concept.color;
  bar.append(fill);
  item.append(row, bar);
  return item;
}

function methodItem(method, layer) {
  const item = document.createElement("li");
  const row = document.createElement("label");
  row.className = "layer";
  const box = toggle(layer);
  box.className = "method-toggle";
  const name = document.createElement("span");
  name.className = "method-name";
  name.textContent = method + " map";
  row.append(box, name);
  item.append(row);
  return item;
}

function draw() {
  const data = state.data;
  if (!data || !state.base) return;
  const [width, height] = data.image_size;
  const canvas = $("#view");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.drawImage(state.base, 0, 0, width, height);
  const line = Math.max(2, Math.round(Math.max(width, height) / 250));
  // the most important concept last, so it lies on top
  for (const layer of [...state.layers].reverse()) {
    if (!layer.visible) continue;
    context.drawImage(layer.image, 0, 0, width, height);
    if (layer.box) {
      context.setLineDash([3 * line, 2 * line]);
      context.lineWidth = line;
      context.strokeStyle = layer.colour;
      context.strokeRect(...layer.box);
    }
  }
  if ($("#show-face").checked) {
    context.setLineDash([]);
    context.lineWidth = line;
    context.strokeStyle = "#ffd400";
    context.strokeRect(...data.face_box);
  }
}

function chooseFile(file) {
  if (file) submit(file, file.name || "image");
}

function setUpDrop() {
  const drop = $("#drop");
  $("#file").addEventListener("change", (event) => chooseFile(event.target.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
}

function setUpCamera() {
  const media = navigator.mediaDevices;
  if (!media || !media.getUserMedia) return;  // no camera API (or not a secure context)
  const video = $("#camera");
  show($("#camera-button"), true);
  const stop = () => {
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
    show($("#camera-box"), false);
  };
  $("#camera-button").addEventListener("click", async () => {
    try {
      video.srcObject = await media.getUserMedia({ video: { facingMode: "user" } });
      show($("#camera-box"), true);
    } catch (error) {
      showError("The camera is not available (" + error.message + ").");
    }
  });
  $("#camera-stop").addEventListener("click", stop);
  $("#snap").addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    stop();
    canvas.toBlob((blob) => blob && submit(blob, "camera.jpg"), "image/jpeg", 0.92);
  });
}

async function setUpService() {
  try {
    const health = await (await fetch("v1/health")).json();
    show($("#auth"), health.auth_required);
    $("#model-line").textContent = "Model " + health.model +
      (health.concepts ? ", with a SPED concept bank" : ", no concept bank");
  } catch (error) {
    showError("The service does not answer (" + error.message + ").");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpDrop();
  setUpCamera();
  $("#show-face").addEventListener("change", draw);
  $("#auth").addEventListener("submit", (event) => event.preventDefault());
  setUpService();
});
