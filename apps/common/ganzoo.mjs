// What every app of ganzoo's generators needs besides onnxruntime, in plain JavaScript for
// Node and browsers alike: noise, the inputs of conditional models, the caption tokenizer of
// card.json, and [-1, 1] images tiled into one RGBA grid (ARTIFACTS.md's contract).

export const PADDING = 2; // pixels between tiles and around the grid, as zoo.images.make_grid

// Seeded N(0, 1) float32 noise: mulberry32 uniforms through Box-Muller. Not numpy's
// generator: a seed names different images here than in Python (pass explicit noise for that).
export function normalNoise(count, seed = 0) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    values[i] = radius * Math.cos(angle);
    if (i + 1 < count) values[i + 1] = radius * Math.sin(angle);
  }
  return values;
}

// The caption tokenizer card.json specifies ("ganzoo-words-v1", zoo/text.py): lowercase, words
// are runs of a-z, ids from the vocabulary (1 for unknown words), right-padded with 0.
export class Tokenizer {
  constructor(spec) {
    if (!spec || spec.type !== "ganzoo-words-v1") throw new Error(`unsupported tokenizer ${spec && spec.type}`);
    this.maxLength = spec.max_length;
    this.ids = new Map(spec.vocabulary.map((word, index) => [word, index]));
    for (const golden of spec.golden || []) {
      const ids = this.encode(golden.caption);
      if (ids.join(",") !== golden.ids.join(",")) throw new Error(`tokenizer gives ${ids} for "${golden.caption}", card.json says ${golden.ids}`);
    }
  }

  encode(caption) {
    const words = caption.toLowerCase().match(/[a-z]+/g) || [];
    if (words.length === 0) throw new Error("describe the image in words, e.g. \"a red dress\"");
    if (words.length > this.maxLength) throw new Error(`at most ${this.maxLength} words, got ${words.length}`);
    const ids = words.map((word) => this.ids.get(word) ?? 1);
    return ids.concat(new Array(this.maxLength - ids.length).fill(0));
  }
}

// The feeds of `card.inputs` for `n` images, as { name: { type, data, dims } } for ort.Tensor:
// z from `noise`, `label` from `label` (a class id; default: classes in turn), `tokens` from
// `caption` (the same caption for every image).
export function generatorInputs(card, n, { noise, label = null, caption = null } = {}) {
  const inputs = { z: { type: "float32", data: noise, dims: [n, card.latent_dim] } };
  for (const name of Object.keys(card.inputs || {})) {
    if (name === "label") {
      const classes = (card.classes || []).length || 10;
      const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(label === null ? i % classes : label));
      inputs.label = { type: "int64", data: ids, dims: [n] };
    } else if (name === "tokens") {
      if (caption === null) throw new Error("this text-to-image model needs a caption");
      const ids = new Tokenizer(card.tokenizer).encode(caption);
      inputs.tokens = { type: "int64", data: BigInt64Array.from({ length: n * ids.length }, (_, i) => BigInt(ids[i % ids.length])), dims: [n, ids.length] };
    } else if (name !== "z") {
      throw new Error(`unknown generator input ${name}`);
    }
  }
  return inputs;
}

// NHWC floats in [-1, 1] -> { width, height, rgba } grid, pixels (x + 1) * 127.5 rounded and clipped.
export function imageGrid(data, [n, height, width, channels]) {
  const columns = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / columns);
  const gridWidth = columns * (width + PADDING) + PADDING;
  const gridHeight = rows * (height + PADDING) + PADDING;
  const rgba = new Uint8ClampedArray(gridWidth * gridHeight * 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  for (let k = 0; k < n; k++) {
    const top = PADDING + Math.floor(k / columns) * (height + PADDING);
    const left = PADDING + (k % columns) * (width + PADDING);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = ((k * height + y) * width + x) * channels;
        const target = ((top + y) * gridWidth + left + x) * 4;
        for (let c = 0; c < 3; c++) {
          rgba[target + c] = Math.round((data[source + (channels === 1 ? 0 : c)] + 1) * 127.5); // clamped by the array type
        }
      }
    }
  }
  return { width: gridWidth, height: gridHeight, rgba };
}
