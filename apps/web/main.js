// Runs a ganzoo generator in the browser with onnxruntime-web (WebAssembly, one thread).
// The artifact folder is `?model=URL` (default: this repository's exports/dcgan-fashion-mnist);
// serve the repository over http (`python apps/web/serve.py`), as the .wasm is fetched.
import * as ort from "./node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

import { generatorInputs, imageGrid, normalNoise, readCaption } from "../common/ganzoo.mjs";

const COUNT = 16; // images per draw: a 4 × 4 grid
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain server lacks
ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;

const params = new URLSearchParams(location.search);
const modelUrl = new URL(`${(params.get("model") || "../../exports/dcgan-fashion-mnist").replace(/\/$/, "")}/`, location.href);
const $ = (id) => document.getElementById(id);
let seed = Number(params.get("seed") || 0);
let draws = 0;

function describe(card) {
  $("title").textContent = card.name;
  const q = card.quality;
  const quality = !q ? "" : q.fid !== undefined ? ` FID ${q.fid.toFixed(2)} (floor ${q.fid_floor.toFixed(2)}), precision ${q.precision.toFixed(2)}, recall ${q.recall.toFixed(2)} (${q.how.features} features).` : ` Quality: ${q.metric || "see card.json"}.`;
  $("about").textContent = `${card.description || card.family} — ${card.image_shape.join("×")} images, ${card.family}.${quality}`;
  if (card.inputs.tokens) $("prompt").hidden = false;
  if (card.inputs.label) {
    const select = $("label");
    select.append(new Option("all classes in turn", ""));
    (card.classes || []).forEach((name, id) => select.append(new Option(name, String(id))));
    select.hidden = false;
  }
}

async function draw(session, card) {
  const started = performance.now();
  const label = $("label").value === "" ? null : Number($("label").value);
  const caption = card.inputs.tokens ? $("prompt").value : null;
  $("reading").textContent = "";
  if (caption !== null) $("reading").textContent = readCaption(card, caption).note; // typos, synonyms, unknown words; refusals throw
  const inputs = generatorInputs(card, COUNT, { noise: normalNoise(COUNT * card.latent_dim, seed), label, caption });
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
  const { image } = await session.run(feeds);
  const grid = imageGrid(image.data, image.dims);
  const canvas = $("samples");
  canvas.width = grid.width;
  canvas.height = grid.height;
  canvas.getContext("2d").putImageData(new ImageData(grid.rgba, grid.width, grid.height), 0, 0);
  draws += 1;
  document.body.dataset.draws = String(draws); // tests wait on this
  $("status").textContent = `Seed ${seed}: ${COUNT} samples in ${(performance.now() - started).toFixed(0)} ms (onnxruntime-web, WebAssembly).`;
  seed += 1;
}

async function main() {
  const card = await (await fetch(new URL("card.json", modelUrl))).json();
  describe(card);
  const session = await ort.InferenceSession.create(new URL("generator.onnx", modelUrl).href, { executionProviders: ["wasm"] });
  const button = $("new-samples");
  const guarded = async () => {
    button.disabled = true;
    $("error").textContent = "";
    try {
      await draw(session, card);
    } catch (error) {
      $("error").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener("click", guarded);
  $("prompt").addEventListener("keydown", (event) => event.key === "Enter" && guarded());
  $("label").addEventListener("change", guarded);
  await guarded();
}

main().catch((error) => {
  $("error").textContent = `Could not load the generator from ${modelUrl}: ${error.message}`;
  document.body.dataset.failed = "true";
});
