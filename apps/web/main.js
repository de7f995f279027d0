// Runs a ganzoo generator in the browser with onnxruntime-web (WebAssembly, one thread); see
// apps/web/README.md. The page takes the options of `python -m zoo sample` as URL parameters:
//
//   ?model=dcgan-fashion-mnist&n=64&seed=0&scale=2        a published name, checked against
//   ?model=cgan-fashion-mnist&label=dress&label=9          zoo/registry.json's sha256
//   ?model=t2i-fashion-mnist&prompt=a%20red%20dress&truncation=1
//   ?model=../../exports/my-dcgan                          or an artifact folder's URL
//
// Serve the repository over http (`python apps/web/serve.py`): the .wasm and the files are fetched.
import * as ort from "./node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

import { checkAgainstGraph, checkCard, checkGrid, checkListedDigest, checkOptions, checkRegistry, checkSha256, createSession, generatorInputs, graphCard, imageGrid, parseJson, publishedFiles, readCaption, sampleLatent } from "../common/ganzoo.mjs";

ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain server lacks
ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;

const params = new URLSearchParams(location.search);
const REGISTRY_URL = new URL("../../zoo/registry.json", import.meta.url); // the data zoo.registry reads
const EXPORTS_URL = new URL(`${(params.get("base") || "../../exports").replace(/\/$/, "")}/`, location.href); // where published files are served
const $ = (id) => document.getElementById(id);
let draws = 0;

function describe(card) {
  $("title").textContent = card.name;
  const q = card.quality; // descriptive only (not in the schema): shown when its numbers are there
  const numbers = q && ["fid", "fid_floor", "precision", "recall"].every((key) => Number.isFinite(q[key]));
  const quality = !q ? "" : numbers ? ` FID ${q.fid.toFixed(2)} (floor ${q.fid_floor.toFixed(2)}), precision ${q.precision.toFixed(2)}, recall ${q.recall.toFixed(2)} (${q.how?.features ?? "unnamed"} features).` : ` Quality: ${q.metric || "see card.json"}.`;
  $("about").textContent = `${card.description || card.family} — ${card.image_shape.join("×")} images, ${card.family}.${quality}`;
  if (card.inputs.tokens) $("prompt").hidden = false;
  if (card.inputs.label) {
    const select = $("label");
    select.append(new Option("all classes in turn", ""));
    (card.classes || []).forEach((name, id) => select.append(new Option(name, String(id))));
    select.hidden = false;
  }
}

// The generator's bytes and card, with their URLs: a published name's files checked against the
// registry, or a folder's, whose card.json may be absent (HTTP 404: card null, and `folder` its name),
// as the Node app and zoo.runtime run a generator.onnx with no card beside it.
async function loadGenerator(model) {
  const bytes = async (url, { optional = false } = {}) => {
    const response = await fetch(url);
    if (optional && response.status === 404) return null;
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  if (!model.includes("/")) {
    const registry = checkRegistry(parseJson(new TextDecoder().decode(await bytes(REGISTRY_URL)), REGISTRY_URL.href), REGISTRY_URL.href); // one of another shape is named with the field, as in Node
    const files = publishedFiles(registry, model);
    const loaded = {};
    const urls = {};
    for (const [file, digest] of Object.entries(files)) {
      urls[file] = new URL(`${model}/${file}`, EXPORTS_URL);
      loaded[file] = await bytes(urls[file]);
      await checkSha256(loaded[file], digest, urls[file].href);
    }
    const card = parseJson(new TextDecoder().decode(loaded["card.json"]), urls["card.json"].href);
    return { card, onnx: loaded["generator.onnx"], cardUrl: urls["card.json"].href, onnxUrl: urls["generator.onnx"].href, how: `published ${model}, sha256-checked` };
  }
  const folder = new URL(`${model.replace(/\/$/, "")}/`, location.href);
  const [cardUrl, onnxUrl] = [new URL("card.json", folder), new URL("generator.onnx", folder)];
  const cardBytes = await bytes(cardUrl, { optional: true }); // another failure is its HTTP status, not "<!DOCTYPE" read as JSON
  const card = cardBytes && parseJson(new TextDecoder().decode(cardBytes), cardUrl.href);
  const name = decodeURIComponent(folder.pathname.split("/").at(-2)); // the name zoo.runtime gives a generator without a card
  return { card, onnx: await bytes(onnxUrl), cardUrl: cardUrl.href, onnxUrl: onnxUrl.href, how: card ? folder.href : `${folder.href} (no card.json: the graph's own facts)`, folder: name };
}

async function draw(session, card, options, onnxUrl) {
  const started = performance.now();
  const labels = $("label").value === "" ? options.labels : [Number($("label").value)]; // the menu's values are ids: a number, never read as a class name
  const prompt = card.inputs.tokens ? $("prompt").value : null;
  $("reading").textContent = "";
  if (prompt !== null) $("reading").textContent = readCaption(card, prompt).note; // typos, synonyms, words ignored, several garments or colours; refusals throw
  const noise = sampleLatent(options.n, card.latent_dim, options.seed, options.truncation);
  const inputs = generatorInputs(card, options.n, { noise, labels, prompt });
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
  const { image } = await session.run(feeds);
  const grid = imageGrid(image.data, image.dims, options.scale, onnxUrl); // NaN images are refused naming the generator
  const canvas = $("samples");
  canvas.width = grid.width;
  canvas.height = grid.height;
  canvas.style.width = `${grid.width}px`;
  canvas.getContext("2d").putImageData(new ImageData(grid.rgba, grid.width, grid.height), 0, 0);
  draws += 1;
  document.body.dataset.draws = String(draws); // tests wait on this
  $("status").textContent = `Seed ${options.seed}: ${options.n} samples in ${(performance.now() - started).toFixed(0)} ms (onnxruntime-web, WebAssembly).`;
}

async function main() {
  const options = checkOptions({
    n: params.get("n") ?? "64",
    seed: params.get("seed") ?? "0",
    scale: params.get("scale") ?? "2",
    labels: params.getAll("label"),
    prompt: params.getAll("prompt"), // two are refused, as two --prompt are
    truncation: params.get("truncation"),
  });
  const model = params.get("model") || "dcgan-fashion-mnist";
  const { card: given, onnx, cardUrl, onnxUrl, how, folder } = await loadGenerator(model);
  if (given) {
    checkCard(given, cardUrl); // before describe() reads it: a field it lacks is named (with the card's URL), not "undefined is not iterable"
    checkGrid(options.n, given.image_shape, options.scale); // a grid too large to draw is refused before any image is made, as in Node and Python
    await checkListedDigest(given, onnx, "generator.onnx", cardUrl, onnxUrl); // the card is this graph's, as Python and Node check
  }
  const session = await createSession(ort, onnx, onnxUrl, { executionProviders: ["wasm"] });
  if (given) checkAgainstGraph(given, session, cardUrl, onnxUrl); // before the first draw: a card of another graph, or no generator at all
  const card = given ?? graphCard(session, onnx, folder, onnxUrl); // no card.json: its latent size, image shape and classes from the graph
  if (!given) checkGrid(options.n, card.image_shape, options.scale);
  describe(card);
  // a text box deletes the line breaks of a value set to it ("red\ndress" would read as "reddress"); typed or pasted, they become spaces
  if (options.prompt !== null) $("prompt").value = options.prompt.replace(/[\r\n]/g, " ");
  $("source").textContent = `From ${how}.`;
  const button = $("new-samples");
  const guarded = async (nextSeed) => {
    button.disabled = true;
    $("error").textContent = "";
    try {
      if (nextSeed) options.seed += 1n;
      await draw(session, card, options, onnxUrl);
      delete document.body.dataset.failed; // a later draw (another label from the menu) mends it
      return true;
    } catch (error) {
      $("error").textContent = error.message;
      return false;
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener("click", () => guarded(true));
  $("prompt").addEventListener("keydown", (event) => event.key === "Enter" && guarded(false));
  $("label").addEventListener("change", () => guarded(false));
  if (!(await guarded(false))) document.body.dataset.failed = "true"; // the URL's options drew nothing (an unknown label=): the page has failed
}

main().catch((error) => {
  $("error").textContent = `Could not load the generator: ${error.message}`;
  document.body.dataset.failed = "true";
});
