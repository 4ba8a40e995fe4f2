// The Engine Arena: one image through every engine, one after another in the
// one engine worker (so one engine's memory at a time), side by side with
// their figures, how far they agree, and their consensus. The mask maths is
// Python (py/backgrone/arena.py), reached through the worker's `compare` and
// `arenaExport` requests.

import { handOver } from "./editor/handoff.js";
import { EngineClient } from "./engine-client.js";
import { registerServiceWorker } from "./offline.js";
import { ArenaColumn, CONSENSUS } from "./ui/arena-column.js";
import { ColumnTabs } from "./ui/arena-tabs.js";
import { Rate, backendParam, mb, runtimeLine, saveAs, screenSide, stem } from "./ui/format.js";
import { browserDecode, prepare } from "./ui/decode.js";
import { wireInputs } from "./ui/queue.js";
import { SyncZoom } from "./ui/zoom.js";

const $ = (sel, root = document) => root.querySelector(sel);
const sec = (s) => `${s.toFixed(2)} s`;
const pct = (scale) => `${Math.round(scale * 100)}%`;

function setStatus(text, progress) {
  $("#status-text").textContent = text;
  const bar = $("#status-progress");
  bar.hidden = progress == null;
  if (progress?.total) {
    bar.max = progress.total;
    bar.value = progress.loaded;
  } else if (progress) bar.removeAttribute("value");
}

class Arena {
  constructor({ client, engines }) {
    this.client = client;
    this.engines = engines;
    this.stored = new Set();
    this.fetched = new Set(); // downloaded this visit where the browser cannot store them
    this.image = null; // {name, bytes, sample, width, height}
    this.generation = 0; // bumped by each new image: late answers for an old one are dropped
    this.pairs = [];
    this.pairsBy = {}; // "refined" | "raw" -> pairs: the figures hold both
    this.mode = "cutout";
    this.edges = "refined"; // the masks shown: refined (the default) or the engines' raw ones
    this.ready = false; // until the worker has said which engines are stored
    this.queue = Promise.resolve(); // runs, one at a time
    this.zoom = new SyncZoom({
      onChange: (z) => {
        $("#zoom-level").textContent = z.fitted ? `Fit (${pct(z.scale)})` : pct(z.scale);
        for (const col of this.columns.values()) col.setScale(z.scale);
      },
    });
    this.columns = new Map();
    for (const e of engines) this.#addColumn(e.id, e);
    this.#addColumn(CONSENSUS, {
      label: "Consensus",
      model: "The per-pixel mean of the engines' masks: where they agree, it is as sure as they are.",
    });
    this.tabs = new ColumnTabs({
      tablist: $("#column-tabs"),
      grid: $("#columns"),
      columns: [...this.columns.values()].map((c) => ({ id: c.id, label: c.label, el: c.el })),
    });
    this.#wireTools();
  }

  #addColumn(id, engine) {
    const col = new ArenaColumn(id, engine, {
      onDownload: () => this.download(id),
      onUse: () => this.use(id),
      onSave: (what) => this.save(id, what),
      makeCopy: (blob, side) => this.#copy(blob, side),
    });
    $("#columns").append(col.el);
    this.zoom.add(col.view);
    this.columns.set(id, col);
  }

  #wireTools() {
    $("#reduce-image").addEventListener("click", () => {
      if (this.original) this.setImage(this.original.file, this.original.sample, { reduce: true });
    });
    for (const input of document.querySelectorAll("input[name=view]")) {
      input.addEventListener("change", () => {
        this.mode = input.value;
        $("#heat-legend").hidden = this.mode !== "heat";
        for (const col of this.columns.values()) col.show(this.mode);
      });
    }
    for (const button of document.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => {
        const z = button.dataset.zoom;
        if (z === "fit") this.zoom.fit();
        else if (z === "in") this.zoom.zoomTo(this.zoom.scale * 1.25);
        else if (z === "out") this.zoom.zoomTo(this.zoom.scale / 1.25);
        else this.zoom.zoomTo(Number(z));
      });
    }
    for (const input of document.querySelectorAll("input[name=edges]")) {
      input.addEventListener("change", () => this.showEdges(input.value));
    }
    $("#export-picture").addEventListener("click", () => this.exportPicture());
    $("#export-csv").addEventListener("click", () => this.exportFigures("csv"));
    $("#export-json").addEventListener("click", () => this.exportFigures("json"));
  }

  // A view's screen-size copy, made by the worker (Python decodes a PNG at
  // a reduced size into memory it already holds; the page would decode all of it).
  async #copy(blob, side) {
    const r = await this.client.preview(await blob.arrayBuffer(), side);
    return new Blob([r.bytes], { type: r.mime });
  }

  label(id) {
    return this.columns.get(id).label;
  }

  // Refined edges or the raw masks, in every column, the agreement table too.
  async showEdges(edges) {
    this.edges = edges;
    $("#agreement-edges").textContent = edges;
    if (edges === "raw") {
      const gen = this.generation;
      for (const col of this.results()) if (!col.result.rawCutout) await this.#rawCutout(col);
      if (gen !== this.generation) return;
    }
    for (const col of this.columns.values()) col.show(this.mode, edges);
    this.pairs = this.pairsBy[edges] ?? [];
    if (this.pairs.length) this.#renderAgreement();
  }

  // The cutout with the engine's raw mask and the photo's own colours.
  async #rawCutout(col) {
    const cut = await this.client.render({
      bytes: this.image.bytes.slice(0),
      mask: col.result.rawMask,
      options: { background: "transparent", decontaminate: false },
      format: "png",
    });
    col.setRaw({ cutout: new Blob([cut.bytes], { type: "image/png" }) }, this.mode);
  }

  runnable(id) {
    return this.stored.has(id) || this.fetched.has(id);
  }

  applyStorage(storage) {
    this.stored = new Set(storage.stored.map((s) => s.engine));
    this.#showEngineStates();
  }

  // Each engine column not busy or done: ready to run, or offering its download.
  #showEngineStates() {
    for (const e of this.engines) {
      const col = this.columns.get(e.id);
      if (col.state === "downloading" || col.state === "running" || col.state === "done") continue;
      if (this.runnable(e.id)) col.setState("ready", this.image ? "Waiting for its turn" : "On this device, ready");
      else col.offerDownload(e);
    }
  }

  // -- the image -------------------------------------------------------------

  // `reduce`: the user asked for an image over the size limit at a reduced size.
  async setImage(file, sample = null, { reduce = false } = {}) {
    const gen = ++this.generation;
    this.original = { file, sample };
    this.image = null;
    this.pairs = [];
    this.pairsBy = {};
    $("#reduce-image").hidden = true;
    $("#image-name").textContent = `\u00b7 ${file.name}`;
    $("#agreement-section").hidden = true;
    for (const col of this.columns.values()) col.clear();
    this.#showEngineStates();
    // A HEIC photo (or, when asked, an image too large) becomes a PNG first,
    // which every engine then gets.
    let prepared;
    try {
      prepared = await prepare(this.client, file, { reduce, onProgress: (msg) => setStatus(`${msg.message}\u2026`, {}) });
    } catch (err) {
      if (gen === this.generation) this.#imageFailed(err);
      return;
    }
    if (gen !== this.generation) return;
    const notes = prepared.notes;
    const type = prepared.file.type;
    this.image = { name: file.name, type, bytes: await prepared.file.arrayBuffer(), sample, width: 0, height: 0, notes };
    if (notes.length) setStatus(notes.join(" "));
    if (this.ready && !this.engines.some((e) => this.runnable(e.id))) {
      setStatus("Download an engine below to cut this image out. Nothing is downloaded until you ask.");
    }
    this.run();
  }

  // Runs every engine that is on this device and has no result for the
  // current image, one after another, then compares what there is.
  run() {
    this.queue = this.queue.then(() => this.#runPending()).catch((err) => setStatus(`Something went wrong: ${err.message}`));
    return this.queue;
  }

  async #runPending() {
    const gen = this.generation;
    const todo = this.engines.filter((e) => this.runnable(e.id) && this.columns.get(e.id).state !== "done");
    if (!this.image || !todo.length) return;
    $("#sequence-note").hidden = false;
    document.body.dataset.running = "true";
    try {
      for (const [i, e] of todo.entries()) {
        if (gen !== this.generation) return;
        setStatus(`Running ${e.label} (${i + 1} of ${todo.length})\u2026`, {});
        const failed = await this.#runOne(e, gen);
        if (failed === "bad-image" || failed === "unsupported-format" || failed === "too-large") {
          // Every engine would refuse it the same way.
          for (const rest of todo.slice(i + 1)) this.columns.get(rest.id).setState("ready", "Not run: the image could not be read.");
          return;
        }
      }
      if (gen !== this.generation) return;
      await this.#compare(gen);
      const done = this.engines.filter((e) => this.columns.get(e.id).state === "done").length;
      if (done) setStatus(`Done: ${done} engine${done > 1 ? "s" : ""} compared. Zoom in to see the edges.`);
    } finally {
      $("#sequence-note").hidden = true;
      delete document.body.dataset.running;
    }
  }

  async #runOne(engine, gen) {
    const col = this.columns.get(engine.id);
    col.setState("running", "Cutting out\u2026");
    const t0 = performance.now();
    try {
      const r = await this.client.process(engine.id, this.image.name, this.image.bytes.slice(0), {
        copySide: screenSide(),
        onProgress: (msg) => col.setState("running", `${msg.message}\u2026`),
      });
      const total = (performance.now() - t0) / 1000;
      if (gen !== this.generation) return null;
      const stages = r.timings;
      const python = Object.entries(stages).reduce((sum, [k, v]) => (k === "inference" ? sum : sum + v), 0);
      const figures = {
        engine: engine.id,
        label: engine.label,
        engine_start: r.engineStart,
        inference: stages.inference,
        python,
        total,
        refine: stages.refine ?? 0,
        decontaminate: stages.decontaminate ?? 0,
        memory: r.memory || null,
        backend: r.backend,
        stages,
      };
      Object.assign(this.image, { width: r.width, height: r.height });
      this.zoom.setImageSize(r.width, r.height);
      col.setResult(
        {
          cutout: new Blob([r.png], { type: "image/png" }),
          copy: r.copy && new Blob([r.copy], { type: "image/png" }),
          mask: r.mask,
          figures,
          size: [r.width, r.height],
          raw: { mask: r.rawMask },
        },
        this.mode,
      );
      if (this.edges === "raw") await this.#rawCutout(col);
      col.setFigures(this.#figureLines(figures));
      col.setState("done", r.warning ?? (r.notes?.length ? r.notes.join(" ") : "Done"));
      return null;
    } catch (err) {
      if (gen !== this.generation) return null;
      // A format this Pillow cannot read (AVIF): the browser may decode it,
      // and then every engine gets the decoded pixels.
      if (err.code === "unsupported-format" && !this.image.decodedByBrowser) {
        const png = await browserDecode(new File([this.image.bytes], this.image.name)).catch(() => null);
        if (png && gen === this.generation) {
          Object.assign(this.image, { bytes: await png.arrayBuffer(), decodedByBrowser: true });
          return this.#runOne(engine, gen);
        }
      }
      col.setState("failed", err.message);
      if (err.code === "bad-image" || err.code === "unsupported-format" || err.code === "too-large") this.#imageFailed(err);
      return err.code;
    }
  }

  // The image itself could not be cut out: say why; an image over the size
  // limit can be run again at a reduced size.
  #imageFailed(err) {
    setStatus(err.message);
    $("#reduce-image").hidden = err.code !== "too-large";
  }

  #figureLines(f) {
    const stageList = Object.entries(f.stages)
      .filter(([k]) => k !== "inference")
      .map(([k, v]) => `${k} ${sec(v)}`)
      .join(", ");
    return [
      ["Engine start", f.engine_start ? sec(f.engine_start) : "already running", "Reading the engine from storage, checking it and starting its session"],
      ["Inference", sec(f.inference), "The network itself"],
      ["Python stages", sec(f.python), stageList],
      ["Edges", sec(f.refine + f.decontaminate), "Refining the edges and removing colour spill (part of the Python stages)"],
      ["Total", sec(f.total), "From handing over the file to the cutout's return"],
      ["Ran on", f.backend ?? "", "The onnxruntime-web backend this engine ran on"],
      ["Memory", f.memory == null ? "not reported here" : mb(f.memory), "The engine's WebAssembly memory (Python's, and onnxruntime's in its own worker) after this run. It never shrinks, so it is the peak so far."],
    ];
  }

  results() {
    return this.engines.filter((e) => this.columns.get(e.id).state === "done").map((e) => this.columns.get(e.id));
  }

  async #compare(gen) {
    const done = this.results();
    const consensus = this.columns.get(CONSENSUS);
    if (done.length < 2) {
      consensus.clear();
      consensus.setState("waiting", "Needs at least two engines' results");
      return;
    }
    consensus.setState("running", "Comparing the masks\u2026");
    // The figures for both the refined and the raw masks.
    const made = {};
    for (const edges of ["refined", "raw"]) {
      const masks = done.map((c) => ({ engine: c.id, mask: edges === "raw" ? c.result.rawMask : c.result.mask }));
      const r = await this.client.compare(masks);
      if (gen !== this.generation) return;
      this.pairsBy[edges] = r.pairs;
      for (const col of done) col.setHeat(r.heat[col.id], this.mode, edges);
      const cut = await this.client.render({
        bytes: this.image.bytes.slice(0),
        mask: r.consensus,
        options: { background: "transparent", decontaminate: edges === "refined" },
        format: "png",
      });
      if (gen !== this.generation) return;
      made[edges] = { r, cutout: new Blob([cut.bytes], { type: "image/png" }) };
    }
    this.pairs = this.pairsBy[this.edges];
    const members = done.map((c) => c.label);
    consensus.setResult(
      {
        cutout: made.refined.cutout,
        mask: made.refined.r.consensus,
        figures: { engines: done.map((c) => c.id) },
        size: [this.image.width, this.image.height],
        raw: { cutout: made.raw.cutout, mask: made.raw.r.consensus },
      },
      this.mode,
    );
    for (const edges of ["refined", "raw"]) consensus.setHeat(made[edges].r.heat[CONSENSUS], this.mode, edges);
    consensus.setFigures([
      ["Mean of", `${members.length} masks`, members.join(", ")],
      ["Lowest IoU", this.pairs.reduce((m, p) => Math.min(m, p.iou), 1).toFixed(3), `Of any two engines (${this.edges} masks)`],
    ]);
    consensus.setState("done", `The mean of ${members.join(", ")}`);
    this.#renderAgreement();
  }

  #renderAgreement() {
    const body = $("#agreement tbody");
    body.replaceChildren(
      ...this.pairs.map((p) => {
        const tr = document.createElement("tr");
        tr.dataset.pair = `${p.a}:${p.b}`;
        for (const [text, cls] of [
          [`${this.label(p.a)} \u2013 ${this.label(p.b)}`, "pair"],
          [p.iou.toFixed(3), "iou"],
          [`${p.mad.toFixed(2)} / 255`, "mad"],
        ]) {
          const td = document.createElement("td");
          td.className = cls;
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    $("#agreement-section").hidden = false;
  }

  // -- actions -----------------------------------------------------------------

  async download(id) {
    const col = this.columns.get(id);
    const engine = this.engines.find((e) => e.id === id);
    const controller = new AbortController();
    const rate = new Rate();
    col.startDownload(() => controller.abort());
    setStatus(`Downloading the ${engine.label} engine\u2026`);
    try {
      const r = await this.client.downloadEngine(id, {
        signal: controller.signal,
        onProgress: (msg) => {
          if (msg.stage === "download" && msg.loaded != null) col.downloadProgress(msg.loaded, msg.total, rate.describe(msg.loaded, msg.total));
        },
      });
      const storage = await this.client.storage();
      if (!storage.stored.some((s) => s.engine === id)) this.fetched.add(id);
      col.setState("ready", r.warning ?? "Downloaded, ready");
      setStatus(`The ${engine.label} engine is ready.`);
      this.applyStorage(storage);
      if (this.image) await this.run();
    } catch (err) {
      if (err.code === "cancelled") col.offerDownload(engine, "Download cancelled.");
      else col.offerDownload(engine, err.message);
      setStatus(err.code === "cancelled" ? `The ${engine.label} download was cancelled.` : err.message);
    }
  }

  // Open the app with this engine, and this image with this engine's result
  // in its queue, ready to edit (handed over in IndexedDB, not cut out again).
  // Where the hand-over cannot be stored, the app cuts a sample out again.
  async use(id) {
    const params = new URLSearchParams({ engine: id });
    const col = this.columns.get(id);
    try {
      const { figures } = col.result;
      const result = {
        png: await col.result.cutout.arrayBuffer(),
        mask: col.result.mask,
        rawMask: col.result.rawMask,
        width: this.image.width,
        height: this.image.height,
        format: null,
        notes: [],
        timings: figures.stages,
        backend: figures.backend,
        warning: null,
      };
      const type = this.image.decodedByBrowser ? "image/png" : this.image.type;
      params.set("result", await handOver({ name: this.image.name, type, bytes: this.image.bytes, engine: id, result }));
    } catch {
      if (this.image?.sample) params.set("sample", this.image.sample);
    }
    location.href = `./?${params.toString().replace("%2F", "/")}`;
  }

  async save(id, what) {
    const col = this.columns.get(id);
    const name = `${stem(this.image.name)}-${id}`;
    // What is shown: refined or raw.
    if (what === "mask") saveAs(col.shownMask(), "image/png", `${name}-mask.png`);
    else {
      if (this.edges === "raw" && !col.result.rawCutout) await this.#rawCutout(col);
      const cut = this.edges === "raw" ? col.result.rawCutout : col.result.cutout;
      saveAs(await cut.arrayBuffer(), "image/png", `${name}.png`);
    }
  }

  figures() {
    return {
      image: { name: this.image.name, width: this.image.width, height: this.image.height },
      runtime: this.runtime,
      engines: this.results().map((c) => c.result.figures),
      edges: this.edges,
      agreement: this.pairs,
      agreement_by_edges: this.pairsBy,
      consensus: this.columns.get(CONSENSUS).result?.figures ?? null,
    };
  }

  async exportPicture() {
    const note = $("#export-note");
    note.textContent = "Making the picture\u2026";
    try {
      const cols = [...this.results(), this.columns.get(CONSENSUS)].filter((c) => c.result);
      const columns = cols.map((c) => ({
        title: c.label,
        mask: c.shownMask(),
        lines:
          c.id === CONSENSUS
            ? [`Mean of ${c.result.figures.engines.length} masks`]
            : [`Total ${sec(c.result.figures.total)}`, `Inference ${sec(c.result.figures.inference)}`],
      }));
      const r = await this.client.arenaExport({ bytes: this.image.bytes.slice(0), columns, figures: this.figures() });
      saveAs(r.png, "image/png", `${stem(this.image.name)}-arena.png`);
      note.textContent = "";
    } catch (err) {
      note.textContent = `The picture could not be made: ${err.message}`;
    }
  }

  async exportFigures(kind) {
    const r = await this.client.arenaExport({ figures: this.figures() });
    const mime = kind === "csv" ? "text/csv" : "application/json";
    saveAs(new TextEncoder().encode(r[kind]), mime, `${stem(this.image.name)}-arena.${kind}`);
  }
}

async function openSample(arena) {
  const sample = new URLSearchParams(location.search).get("sample");
  if (!sample || !/^samples\/[\w.-]+$/.test(sample)) return;
  const blob = await (await fetch(sample)).blob();
  await arena.setImage(new File([blob], sample.split("/").pop(), { type: blob.type }), sample);
}

async function main() {
  await registerServiceWorker();
  const engines = await (await fetch("engines.json")).json();
  const client = new EngineClient();
  const arena = new Arena({ client, engines });
  wireInputs((files) => arena.setImage(files[0]));
  try {
    const info = await client.init({
      backend: backendParam(),
      // No early start (init's `engine`): each engine's start is one of its figures.
      onProgress: (msg) => msg.stage === "boot" && setStatus(`${msg.message}\u2026 (${msg.step} of ${msg.steps})`, { loaded: msg.step - 1, total: msg.steps }),
    });
    arena.runtime = {
      backend: info.backend,
      threads: info.threads,
      crossOriginIsolated: info.crossOriginIsolated,
      versions: info.versions,
    };
    arena.applyStorage(info.storage);
    arena.ready = true;
    $("#runtime-info").textContent = runtimeLine(info);
    document.body.dataset.backend = info.backendId;
    document.body.dataset.ready = "true";
    setStatus(arena.image ? "Ready." : "Ready. Drop an image, or open a sample, to compare the engines.");
    await openSample(arena);
    if (arena.image) await arena.run();
  } catch (err) {
    setStatus(`The Arena could not start: ${err.message}`);
  }
}

main();
