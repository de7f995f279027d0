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

// The caption tokenizer card.json specifies (zoo/text.py; docs/t2i.md). "ganzoo-words-v2" reads what a
// shopper types: lowercase, apostrophes deleted, words are runs of a-z; each word read as a known word
// (itself or a singular form; else a one-letter typo of exactly one known word, unless a real word);
// synonym phrases replaced, longest first; fillers and unknown words dropped (the unknown ones are
// reported); ids from the vocabulary, right-padded with 0. A caption with no keyword (garment or
// colour) is refused. "ganzoo-words-v1" (older artifacts): words' ids, 1 for an unknown word.
const MAX_CAPTION_CHARS = 10000;

export class Tokenizer {
  constructor(spec) {
    if (!spec || (spec.type !== "ganzoo-words-v1" && spec.type !== "ganzoo-words-v2")) throw new Error(`unsupported tokenizer ${spec && spec.type}`);
    this.version = spec.type === "ganzoo-words-v1" ? 1 : 2;
    this.maxLength = spec.max_length;
    this.vocabulary = spec.vocabulary;
    this.ids = new Map(spec.vocabulary.map((word, index) => [word, index]));
    if (this.version === 2) {
      const vocabularyWords = new Set(spec.vocabulary.slice(2));
      this.apostrophes = spec.apostrophes;
      this.plurals = spec.plurals;
      this.fillers = new Set(spec.fillers.filter((word) => !vocabularyWords.has(word)));
      this.synonyms = new Map(Object.entries(spec.synonyms));
      this.keywords = spec.keywords.filter((word) => vocabularyWords.has(word));
      this.keywordSet = new Set(this.keywords);
      this.minTypoLength = spec.typos.min_length;
      this.notTypos = new Set(spec.typos.not_typos);
      this.standalone = new Set([...vocabularyWords, ...this.fillers, ...[...this.synonyms.keys()].filter((p) => !p.includes(" "))]);
      this.phraseWords = new Set([...this.synonyms.keys()].flatMap((p) => p.split(" ")).filter((w) => !this.standalone.has(w)));
      this.longestPhrase = Math.max(1, ...[...this.synonyms.keys()].map((p) => p.split(" ").length));
      this.readings = new Map();
    }
    for (const golden of spec.golden || []) this.checkGolden(golden);
  }

  checkGolden(golden) {
    let reading = null;
    try {
      reading = this.analyse(golden.caption);
    } catch (error) {
      if ("error" in golden) return;
      throw new Error(`tokenizer refuses "${golden.caption}" (${error.message}), card.json gives its ids`);
    }
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const mismatch = "error" in golden ? "card.json says it is refused" : !same(reading.ids, golden.ids) ? `ids ${golden.ids}` : golden.unknown && !same(reading.unknown, golden.unknown) ? `unknown words ${golden.unknown}` : golden.corrections && !same(reading.corrections, golden.corrections) ? `corrections ${JSON.stringify(golden.corrections)}` : null;
    if (mismatch) throw new Error(`tokenizer reads "${golden.caption}" as ids ${reading.ids}, card.json says ${mismatch}`);
  }

  // The ids of `caption` (max_length of them); throws an Error for a caption it refuses.
  encode(caption) {
    return this.analyse(caption).ids;
  }

  // { words, ids, corrections: [[typed, read]], synonyms: [[phrase, replacement]], unknown, keywords, note }
  analyse(caption) {
    if (typeof caption !== "string") throw new Error(`a caption must be a string, got ${typeof caption}`);
    if (caption.length > MAX_CAPTION_CHARS) throw new Error(`caption of ${caption.length} characters is too long (at most ${MAX_CAPTION_CHARS})`);
    let text = caption.toLowerCase();
    if (this.version === 2) for (const apostrophe of this.apostrophes) text = text.split(apostrophe).join("");
    const typed = text.match(/[a-z]+/g) || [];
    if (typed.length === 0) throw new Error(`caption "${caption}" holds no words (letters a-z): describe the image, e.g. "a red dress"`);
    return this.version === 1 ? this.analyseV1(caption, typed) : this.analyseV2(caption, typed);
  }

  analyseV1(caption, typed) {
    if (typed.length > this.maxLength) throw new Error(`caption "${caption}" has ${typed.length} words; this tokenizer takes at most ${this.maxLength}`);
    const words = typed.map((word) => (this.ids.has(word) ? word : "<unk>"));
    const ids = words.map((word) => this.ids.get(word)).concat(new Array(this.maxLength - words.length).fill(0));
    const unknown = typed.filter((word) => !this.ids.has(word));
    return { words, ids, corrections: [], synonyms: [], unknown, keywords: words.filter((w) => w !== "<unk>"), note: note(caption, words, [], [], unknown) };
  }

  analyseV2(caption, typed) {
    const read = [];
    const corrections = [];
    for (const word of typed) {
      const [reading, corrected] = this.readWord(word);
      read.push(reading);
      if (corrected) corrections.push([word, reading]);
    }
    const kept = [];
    const unknown = [];
    const synonyms = [];
    for (let i = 0; i < read.length; ) {
      let n = Math.min(this.longestPhrase, read.length - i);
      for (; n > 0; n--) {
        const phrase = read.slice(i, i + n).join(" ");
        if (this.synonyms.has(phrase)) {
          const replacement = this.synonyms.get(phrase);
          synonyms.push([phrase, replacement]);
          kept.push(...replacement.split(" "));
          break;
        }
      }
      if (n > 0) {
        i += n;
        continue;
      }
      if (this.ids.has(read[i])) kept.push(read[i]);
      else if (!this.fillers.has(read[i])) unknown.push(typed[i]);
      i += 1;
    }
    const keywords = kept.filter((word) => this.keywordSet.has(word));
    if (keywords.length === 0) {
      const ignored = unknown.length ? ` (unknown words: ${unknown.join(", ")})` : "";
      throw new Error(`caption "${caption}" names no garment or colour this model knows${ignored}. Use at least one of its words: ${this.keywords.join(", ")}`);
    }
    if (kept.length > this.maxLength) throw new Error(`caption "${caption}" reads as ${kept.length} words (${kept.join(" ")}); this tokenizer takes at most ${this.maxLength}`);
    const ids = kept.map((word) => this.ids.get(word)).concat(new Array(this.maxLength - kept.length).fill(0));
    return { words: kept, ids, corrections, synonyms, unknown, keywords, note: note(caption, kept, corrections, synonyms, unknown) };
  }

  // [the known word `word` reads as (or `word`), whether it was a typo]
  readWord(word) {
    if (!this.readings.has(word)) {
      if (this.readings.size > 100000) this.readings.clear();
      this.readings.set(word, this.readWordUncached(word));
    }
    return this.readings.get(word);
  }

  readWordUncached(word) {
    const forms = [word, ...this.singularForms(word)];
    for (const known of [this.standalone, this.phraseWords]) {
      for (const form of forms) if (known.has(form)) return [form, false];
    }
    if (this.minTypoLength === 0 || forms.some((form) => this.notTypos.has(form))) return [word, false];
    for (const form of forms) {
      if (form.length < this.minTypoLength) continue;
      for (const known of [this.standalone, this.phraseWords]) {
        const found = [...known].filter((candidate) => Math.abs(candidate.length - form.length) <= 1 && withinOneEdit(form, candidate));
        const matches = found.filter((m) => !this.singularForms(m).some((s) => found.includes(s)));
        if (matches.length === 1 && !this.fillers.has(matches[0])) return [matches[0], true];
        if (matches.length > 0) return [word, false];
      }
    }
    return [word, false];
  }

  singularForms(word) {
    return this.plurals.filter(([ending]) => word.endsWith(ending) && word.length > ending.length).map(([ending, replacement]) => word.slice(0, -ending.length) + replacement);
  }
}

// Whether a and b differ by one insertion, deletion, substitution or swap of neighbours (Damerau-Levenshtein 1).
export function withinOneEdit(a, b) {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  if (a.length === b.length) {
    const diffs = [];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diffs.push(i);
    return diffs.length === 1 || (diffs.length === 2 && diffs[1] === diffs[0] + 1 && a[diffs[0]] === b[diffs[1]] && a[diffs[1]] === b[diffs[0]]);
  }
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  let i = 0;
  while (i < shorter.length && shorter[i] === longer[i]) i++;
  return shorter.slice(i) === longer.slice(i + 1);
}

// One line for people on how a caption was read ("" when word for word), as zoo.text.Analysis.note().
function note(caption, words, corrections, synonyms, unknown) {
  const parts = [];
  if (corrections.length) parts.push("typos " + corrections.map(([t, r]) => `${t}→${r}`).join(", "));
  if (synonyms.length) parts.push("synonyms " + synonyms.map(([t, r]) => `${t}→${r}`).join(", "));
  if (unknown.length) parts.push("unknown words ignored: " + unknown.join(", "));
  return parts.length ? `Read ${pythonRepr(caption)} as ${pythonRepr(words.join(" "))} (${parts.join("; ")}).` : "";
}

// Python's repr() of a string (its escapes of quotes, backslashes and control characters), so notes
// read the same in every app.
function pythonRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const named = { "\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", [quote]: `\\${quote}` };
  const escaped = text.replace(/[\x00-\x1f\x7f\\'"]/g, (c) => named[c] ?? (c === "'" || c === '"' ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  return quote + escaped + quote;
}

const tokenizers = new WeakMap(); // card.tokenizer spec -> its Tokenizer (built and checked once)

// How the text-to-image model of `card` reads `caption` (Tokenizer.analyse); throws for a caption it refuses.
export function readCaption(card, caption) {
  if (!card.tokenizer) throw new Error("this model's card.json has no tokenizer");
  if (!tokenizers.has(card.tokenizer)) tokenizers.set(card.tokenizer, new Tokenizer(card.tokenizer));
  return tokenizers.get(card.tokenizer).analyse(caption);
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
      const ids = readCaption(card, caption).ids;
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
