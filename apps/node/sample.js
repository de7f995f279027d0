#!/usr/bin/env node
// Runs a ganzoo generator (generator.onnx + card.json) with onnxruntime-node and writes a PNG grid.
//
//   npm ci                      # once, in apps/node (CPU binaries only; see .npmrc)
//   node sample.js ../../exports/dcgan-fashion-mnist -n 64 -o samples.png
//
// Options: -n/--num-images N, --seed S, -o/--output FILE, --label K (class-conditional models;
// default: classes in turn), --text CAPTION (text-to-image models; how it was read, when not word for
// word, is printed on stderr, and a caption naming no garment or colour is refused), --noise FILE (raw
// little-endian float32 z, n × latent_dim, e.g. numpy's `z.astype("<f4").tofile(FILE)`: the
// same noise gives the same images as Python; the built-in seeded noise is not numpy's).
import fs from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import pngjs from "pngjs";

import { generatorInputs, imageGrid, normalNoise, readCaption } from "../common/ganzoo.mjs";

const USAGE = "usage: node sample.js ARTIFACT_FOLDER [-n N] [--seed S] [-o OUT.png] [--label K] [--text CAPTION] [--noise Z.f32]";
const OPTIONS = { "-n": "n", "--num-images": "n", "--seed": "seed", "-o": "output", "--output": "output", "--label": "label", "--text": "text", "--noise": "noise" };

function parseArgs(argv) {
  const args = { artifact: null, n: "16", seed: "0", output: "samples.png", label: null, text: null, noise: null };
  for (let i = 0; i < argv.length; i++) {
    const key = OPTIONS[argv[i]];
    if (key) {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      args[key] = argv[++i];
    } else if (!args.artifact && !argv[i].startsWith("-")) {
      args.artifact = argv[i];
    } else {
      throw new Error(`unknown argument ${argv[i]}\n${USAGE}`);
    }
  }
  if (!args.artifact) throw new Error(USAGE);
  for (const key of ["n", "seed", "label"]) {
    if (args[key] === null) continue;
    const value = Number(args[key]);
    if (!Number.isInteger(value) || value < (key === "n" ? 1 : 0)) throw new Error(`--${key} must be a whole number${key === "n" ? " above 0" : ""}, got ${args[key]}`);
    args[key] = value;
  }
  return args;
}

function readNoise(file, count) {
  const bytes = fs.readFileSync(file);
  if (bytes.length !== count * 4) throw new Error(`${file} holds ${bytes.length} bytes; expected ${count} float32 values (${count * 4} bytes)`);
  return Float32Array.from({ length: count }, (_, i) => bytes.readFloatLE(i * 4));
}

// Writes beside the target and renames, so no half-written PNG is ever left at `file`.
function writeAtomically(file, bytes) {
  const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, bytes);
  fs.renameSync(temporary, file);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const card = JSON.parse(fs.readFileSync(path.join(args.artifact, "card.json"), "utf8"));
  const started = process.hrtime.bigint();
  const count = args.n * card.latent_dim;
  const noise = args.noise ? readNoise(args.noise, count) : normalNoise(count, args.seed);
  if (args.text !== null && !(card.inputs || {}).tokens) throw new Error(`${card.name} is not a text-to-image model: it takes no --text`);
  if (args.text !== null) {
    const { note } = readCaption(card, args.text); // a caption naming no garment or colour is refused here
    if (note) console.error(note); // typos fixed, synonyms, unknown words ignored
  }
  const inputs = generatorInputs(card, args.n, { noise, label: args.label, caption: args.text });
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
  const session = await ort.InferenceSession.create(path.join(args.artifact, "generator.onnx"));
  const { image } = await session.run(feeds);
  const grid = imageGrid(image.data, image.dims);
  const png = new pngjs.PNG({ width: grid.width, height: grid.height });
  png.data = Buffer.from(grid.rgba.buffer);
  writeAtomically(args.output, pngjs.PNG.sync.write(png));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`Wrote ${args.n} samples of ${card.name} to ${args.output} (onnxruntime-node, ${ms.toFixed(0)} ms)`);
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(2);
});
