// What every app of ganzoo's generators needs besides onnxruntime, in plain JavaScript for
// Node and browsers alike, as docs/artifacts.md specifies it: the seeded noise (bit for bit
// the float32 values Python draws), class labels by name or id, the caption tokenizer of
// card.json, the generator's inputs, pixels and the grid (byte for byte Python's), the options
// of `python -m zoo sample`, and sha256 checks of published files against zoo/registry.json
// and of generator.onnx against its card's `files`.

export const PADDING = 2; // pixels between tiles and around the grid, as zoo.images.make_grid

// ----- noise: ganzoo-normal-v1 (docs/artifacts.md, "Noise"; zoo/latent.py) -----------------

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n; // SplitMix64 (Steele, Lea & Flood 2014)
const MIX_1 = 0xbf58476d1ce4e5b9n;
const MIX_2 = 0x94d049bb133111ebn;
const LN2 = 0.6931471805599453;
const SQRT_HALF = 0.7071067811865476;
const LOG_TERMS = 12;
const view = new DataView(new ArrayBuffer(8));

// Natural logarithm of a positive normal double from +, -, *, / alone, as zoo.latent.portable_log:
// s = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m - 1) / (m + 1)) by Horner's rule.
export function portableLog(s) {
  view.setFloat64(0, s);
  const high = view.getUint32(0);
  let e = ((high >>> 20) & 0x7ff) - 1022; // frexp: s = m * 2^e, m in [0.5, 1)
  view.setUint32(0, (high & 0x800fffff) | (1022 << 20));
  let m = view.getFloat64(0);
  if (m < SQRT_HALF) {
    m *= 2;
    e -= 1;
  }
  const f = (m - 1) / (m + 1);
  const w = f * f;
  let p = 1 / (2 * LOG_TERMS - 1);
  for (let k = LOG_TERMS - 2; k >= 0; k--) p = p * w + 1 / (2 * k + 1);
  return e * LN2 + 2 * f * p;
}

// A seed as a BigInt in [0, 2^64): a whole Number, a BigInt or a decimal string.
export function checkSeed(seed) {
  let value;
  try {
    value = typeof seed === "bigint" ? seed : typeof seed === "number" ? (Number.isSafeInteger(seed) ? BigInt(seed) : null) : /^\s*\d+\s*$/.test(String(seed)) ? BigInt(String(seed).trim()) : null;
  } catch {
    value = null;
  }
  if (value === null || value < 0n || value > MASK64) throw new Error(`the seed must be a whole number from 0 to 2^64 - 1, got ${seed}`);
  return value;
}

// The N(0, 1) values of one seed, in order: SplitMix64 words -> uniforms (word >> 11) * 2^-53 ->
// Marsaglia's polar method on successive pairs, the logarithm written out (portableLog).
export class NormalStream {
  constructor(seed = 0) {
    this.seed = checkSeed(seed);
    this.words = 0n;
    this.pending = null;
  }

  nextWord() {
    this.words += 1n;
    let z = (this.seed + this.words * GOLDEN_GAMMA) & MASK64;
    z = ((z ^ (z >> 30n)) * MIX_1) & MASK64;
    z = ((z ^ (z >> 27n)) * MIX_2) & MASK64;
    return z ^ (z >> 31n);
  }

  nextUniform() {
    return Number(this.nextWord() >> 11n) * 2 ** -53;
  }

  next() {
    if (this.pending !== null) {
      const value = this.pending;
      this.pending = null;
      return value;
    }
    for (;;) {
      const x = 2 * this.nextUniform() - 1;
      const y = 2 * this.nextUniform() - 1;
      const s = x * x + y * y;
      if (s < 1 && s > 0) {
        const factor = Math.sqrt((-2 * portableLog(s)) / s);
        this.pending = y * factor;
        return x * factor;
      }
    }
  }

  // `count` float32 values; with `truncation`, values beyond it are skipped (BigGAN's trick).
  latent(count, truncation = null) {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let value = this.next();
      while (truncation !== null && Math.abs(value) > truncation) value = this.next();
      values[i] = value; // rounds to the nearest float32, ties to even, as numpy's astype
    }
    return values;
  }
}

// z for `n` images, row-major (n, latentDim): what zoo.latent.sample_latent(n, latentDim, seed) gives.
export function sampleLatent(n, latentDim, seed = 0, truncation = null) {
  if (truncation !== null && !(truncation >= 0.1 && Number.isFinite(truncation))) throw new Error(`--truncation must be a number of at least 0.1, got ${truncation}`);
  return new NormalStream(seed).latent(n * latentDim, truncation);
}

// ----- class labels by name or id, as zoo.labels.resolve_labels ------------------------------

export function classList(classNames) {
  return classNames.map((name, id) => `${id} ${name}`).join(", ");
}

// `labels`: one label or a list of them, each a class id (a number) or a string (a name or an id;
// comma-separated names several); null or undefined: all classes in turn; an empty list is refused,
// as in Python (a filter that kept no label is a mistake, not a wish for every class).
// Returns `n` class ids, the given ones repeated in turn, as zoo.labels.resolve_labels.
export function resolveLabels(labels, classNames, n) {
  if (!classNames || classNames.length === 0) throw new Error("this generator takes a label but its card.json lists no classes");
  const given = labelList(labels);
  if (given === null) return Array.from({ length: n }, (_, i) => i % classNames.length);
  if (given.length === 0) throw new Error(`no labels given; the classes are: ${classList(classNames)}`);
  const ids = given.map((label) => parseLabel(label, classNames));
  if (ids.length > n) throw new Error(`${ids.length} labels for ${n} images: give at most one label per image (fewer repeat in turn)`);
  return Array.from({ length: n }, (_, i) => ids[i % ids.length]);
}

// `labels` as a flat list, strings split at commas; null when none are given.
function labelList(labels) {
  if (labels === null || labels === undefined) return null;
  const list = Array.isArray(labels) ? labels : [labels];
  return list.flatMap((item) => (typeof item === "string" ? item.split(",") : [item]));
}

// One label -> its class id, as zoo.labels.parse_label. A number (or BigInt) is an id, whatever the
// classes are named: with classes named "10", "2", ..., 2 is id 2. A string is a class name first
// (any case, spaces around ignored), else a decimal id: "2" is the class named "2", id 1.
export function parseLabel(label, classNames) {
  let id = label;
  if (typeof label === "string") {
    const text = label.trim();
    const named = new Map(classNames.map((name, index) => [name.toLowerCase(), index])).get(text.toLowerCase());
    if (named !== undefined) return named;
    if (!/^-?[0-9]+$/.test(text)) throw new Error(`unknown class "${label}"; the classes are: ${classList(classNames)}`);
    id = BigInt(text);
  }
  if (typeof id === "number" && Number.isInteger(id)) id = BigInt(id);
  if (typeof id !== "bigint") throw new Error(`a label must be a class id or name, got ${typeof label === "number" ? label : JSON.stringify(label) ?? String(label)}; the classes are: ${classList(classNames)}`);
  if (id < 0n || id >= BigInt(classNames.length)) throw new Error(`class id ${id} is out of range; the classes are: ${classList(classNames)}`);
  return Number(id);
}

// The caption tokenizer card.json specifies (zoo/text.py; docs/t2i.md). "ganzoo-words-v2" reads what a
// shopper types: lowercase, apostrophes deleted, words are runs of a-z; each word read as a known word
// (itself or a singular form; else a one-letter typo of exactly one known word, unless a real word);
// synonym phrases replaced, longest first; fillers and unknown words dropped (the unknown ones are
// reported); ids from the vocabulary, right-padded with 0. A caption with no keyword (garment or
// colour) is refused. "ganzoo-words-v1" (older artifacts): words' ids, 1 for an unknown word.
// `garments` (card.json's class_nouns) and `colours` (the names of its colours) serve the note alone.
const MAX_CAPTION_CHARS = 10000;
// Unknown words the note calls out, as zoo.text.NEGATIONS: the model cannot draw "not red", it draws red.
const NEGATIONS = new Set("no not non nor neither never none without except dont doesnt isnt arent cant cannot wont".split(" "));
// Unknown words the note tells as numbers, as zoo.text.NUMBER_WORDS ("one" is a filler).
const NUMBER_WORDS = new Set("two three four five six seven eight nine ten eleven twelve twenty dozen hundred thousand".split(" "));
// For typos, -es is a plural ending after these alone and -s none after those, as zoo.text.ES_PLURAL_AFTER and S_SINGULAR_AFTER.
const ES_PLURAL_AFTER = ["s", "x", "z", "ch", "sh"];
const S_SINGULAR_AFTER = ["s", "u"];

export class Tokenizer {
  constructor(spec, { garments = null, colours = null } = {}) {
    if (!spec || (spec.type !== "ganzoo-words-v1" && spec.type !== "ganzoo-words-v2")) throw new Error(`unsupported tokenizer ${spec && spec.type}`);
    this.garmentPhrases = nounPhrases(checkNouns(garments, "garments", "lists of nouns, one list per garment (card.json's class_nouns)", true));
    this.colourPhrases = nounPhrases(checkNouns(colours, "colours", "colour names (card.json's colours)", false).map((name) => [name]));
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
      this.longestPhrase = [...this.synonyms.keys()].reduce((most, p) => Math.max(most, p.split(" ").length), 1); // not Math.max(...): 200,000 synonyms overflow the stack
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
      const shown = typeof golden.caption === "string" ? quoteCaption(golden.caption) : JSON.stringify(golden.caption); // a card may mistype it
      throw new Error(`tokenizer refuses ${shown} (${error.message}), card.json gives its ids`);
    }
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const mismatch = "error" in golden ? "card.json says it is refused" : !same(reading.ids, golden.ids) ? `ids ${golden.ids}` : golden.unknown && !same(reading.unknown, golden.unknown) ? `unknown words ${golden.unknown}` : golden.corrections && !same(reading.corrections, golden.corrections) ? `corrections ${JSON.stringify(golden.corrections)}` : null;
    if (mismatch) throw new Error(`tokenizer reads ${quoteCaption(golden.caption)} as ids ${reading.ids}, card.json says ${mismatch}`);
  }

  // The ids of `caption` (max_length of them); throws an Error for a caption it refuses.
  encode(caption) {
    return this.analyse(caption).ids;
  }

  // { words, ids, corrections: [[typed, read]], synonyms: [[phrase, replacement]], unknown, keywords, note } and what the
  // note says besides, as zoo.text.Analysis: typos (the corrections whose word read the ids hold), ignored, negations,
  // outside (words with letters beyond a-z), numbers, garments, colours
  analyse(caption) {
    if (typeof caption !== "string") throw new Error(`a caption must be a string, got ${typeof caption}`);
    const characters = caption.length > MAX_CAPTION_CHARS ? codePoints(caption) : caption.length; // as Python's len(): an emoji is one, not two UTF-16 units
    if (characters > MAX_CAPTION_CHARS) throw new Error(`caption of ${characters} characters is too long (at most ${MAX_CAPTION_CHARS})`);
    let text = caption.toLowerCase();
    if (this.version === 2) for (const apostrophe of this.apostrophes) text = text.split(apostrophe).join("");
    const spans = Array.from(text.matchAll(/[a-z]+/g), (match) => [match.index, match.index + match[0].length]);
    const typed = spans.map(([start, end]) => text.slice(start, end));
    if (typed.length === 0) throw new Error(`caption ${quoteCaption(caption)} holds no words (letters a-z): describe the image, e.g. "a red dress"${notRead(caption)}`);
    const { unknownAt, corrected, ...reading } = this.version === 1 ? this.analyseV1(caption, typed) : this.analyseV2(caption, typed);
    const analysis = { ...reading, ...this.advice(text, spans, unknownAt, reading.words, corrected) };
    return { ...analysis, note: note(caption, analysis) };
  }

  // What the note says besides the reading, as zoo.text.Tokenizer.advice: the typos it lists (less those read as a
  // word of a synonym phrase that no phrase takes: "ess" → "mess" of "mess jacket", dropped as unknown), the unknown
  // words it lists (less the negations and the pieces of words with letters beyond a-z: "café" is told as such, not
  // as "caf"), the negations, those words, the numbers, and the different garments and colours named.
  advice(text, spans, unknownAt, kept, corrected = []) {
    const typed = spans.map(([start, end]) => text.slice(start, end));
    const dropped = new Set(unknownAt);
    const outside = Array.from(text.matchAll(/[\p{L}\p{M}]+/gu), (match) => [match.index, match.index + match[0].length]).filter(([start, end]) => !/^[a-z]+$/.test(text.slice(start, end)));
    const pieces = new Set();
    let j = 0;
    spans.forEach(([start], i) => {
      while (j < outside.length && outside[j][1] <= start) j++;
      if (j < outside.length && outside[j][0] <= start) pieces.add(i);
    });
    const toldAt = unknownAt.filter((i) => !pieces.has(i));
    const told = toldAt.map((i) => typed[i]);
    const numbers = Array.from(text.matchAll(/\p{Nd}+(?:[.,]\p{Nd}+)*/gu), (match) => [match.index, match[0]]);
    for (const i of toldAt) if (NUMBER_WORDS.has(typed[i])) numbers.push([spans[i][0], typed[i]]);
    return {
      typos: corrected.filter(([i]) => !dropped.has(i)).map(([i, reading]) => [typed[i], reading]),
      ignored: told.filter((word) => !NEGATIONS.has(word) && !NUMBER_WORDS.has(word)),
      negations: told.filter((word) => NEGATIONS.has(word)),
      outside: outside.map(([start, end]) => text.slice(start, end)),
      numbers: numbers.sort((a, b) => a[0] - b[0]).map(([, number]) => number), // in the caption's order, as Python's
      garments: named(kept, this.garmentPhrases),
      colours: named(kept, this.colourPhrases),
    };
  }

  analyseV1(caption, typed) {
    if (typed.length > this.maxLength) throw new Error(`caption ${quoteCaption(caption)} has ${typed.length} words; this tokenizer takes at most ${this.maxLength}`);
    const words = typed.map((word) => (this.ids.has(word) ? word : "<unk>"));
    const ids = words.map((word) => this.ids.get(word)).concat(new Array(this.maxLength - words.length).fill(0));
    const unknownAt = typed.flatMap((word, i) => (this.ids.has(word) ? [] : [i]));
    return { words, ids, corrections: [], synonyms: [], unknown: unknownAt.map((i) => typed[i]), keywords: words.filter((w) => w !== "<unk>"), unknownAt };
  }

  analyseV2(caption, typed) {
    const read = [];
    const corrected = []; // [index in typed, word read] of each typo
    typed.forEach((word, i) => {
      const [reading, typo] = this.readWord(word);
      read.push(reading);
      if (typo) corrected.push([i, reading]);
    });
    const corrections = corrected.map(([i, reading]) => [typed[i], reading]);
    const kept = [];
    const unknownAt = [];
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
      else if (!this.fillers.has(read[i])) unknownAt.push(i);
      i += 1;
    }
    const unknown = unknownAt.map((i) => typed[i]);
    const keywords = kept.filter((word) => this.keywordSet.has(word));
    if (keywords.length === 0) {
      const ignored = unknown.length ? ` (unknown words: ${listWords(unknown)})` : "";
      throw new Error(`caption ${quoteCaption(caption)} names no garment or colour this model knows${ignored}. Use at least one of its words: ${this.keywords.join(", ")}${notRead(caption)}`);
    }
    if (kept.length > this.maxLength) throw new Error(`caption ${quoteCaption(caption)} reads as ${kept.length} words (${listWords(kept, " ")}); this tokenizer takes at most ${this.maxLength}`);
    const ids = kept.map((word) => this.ids.get(word)).concat(new Array(this.maxLength - kept.length).fill(0));
    return { words: kept, ids, corrections, synonyms, unknown, keywords, unknownAt, corrected };
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
    for (const form of [word, ...this.typoForms(word)]) {
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

  // The singular forms a typo is corrected in, as zoo.text.typo_forms: less -es after other than s, x, z, ch or sh
  // ("minutes" is "minute" + s) and -s after s or u ("dress", "minus", "bus": "minus" is no plural "minu", a typo of "mint").
  typoForms(word) {
    const plural = ([ending]) => {
      const stem = word.slice(0, -ending.length);
      if (ending === "es") return ES_PLURAL_AFTER.some((end) => stem.endsWith(end));
      return ending !== "s" || !S_SINGULAR_AFTER.some((end) => stem.endsWith(end));
    };
    return this.plurals.filter((pair) => word.endsWith(pair[0]) && word.length > pair[0].length && plural(pair)).map(([ending, replacement]) => word.slice(0, -ending.length) + replacement);
  }
}

// The number of Unicode code points of `text` (a lone surrogate counts as one, as in Python).
function codePoints(text) {
  let count = 0;
  for (const _ of text) count++;
  return count;
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

// One line for people on how a caption was read ("" when word for word and drawable as asked), as
// zoo.text.Analysis.note(), from an analysis (`Tokenizer.analyse`).
function note(caption, { words, typos, synonyms, ignored, negations, outside, numbers, garments, colours }) {
  const parts = [];
  if (typos.length) parts.push("typos " + listWords(typos.map(([t, r]) => `${t}→${r}`)));
  if (synonyms.length) parts.push("synonyms " + listWords(synonyms.map(([t, r]) => `${t}→${r}`)));
  if (ignored.length) parts.push("unknown words ignored: " + listWords(ignored));
  if (negations.length) parts.push(`negation ignored: ${listWords(negations)} — the model cannot leave anything out`);
  if (outside.length) parts.push("letters outside a-z not read: " + listWords(outside.map(withAsciiForm)));
  const replaced = Array.from(caption.matchAll(/\uFFFD/g)).length;
  if (replaced) parts.push(`replacement characters not read: ${replaced} × \uFFFD — bytes that were not UTF-8`);
  if (numbers.length) parts.push(`numbers ignored: ${listWords(numbers)} — the number of images is set separately`);
  const several = [["garments", garments, "one garment"], ["colours", colours, "one colour"]].filter(([, nouns]) => nouns.length > 1);
  if (several.length) parts.push(`${several.map(([kind, nouns]) => `several ${kind}: ${listWords(nouns)}`).join("; ")} — the model draws ${several.map(([, , one]) => one).join(" in ")} per image`);
  return parts.length ? `Read ${quoteCaption(caption)} as ${pythonRepr(words.join(" "))} (${parts.join("; ")}).` : "";
}

// What a refusal of `caption` adds on its characters that rule 2 does not read, as zoo.text.not_read: ". Characters
// outside a-z not read: " and each of them once, in order (`described`), or "" when it has none. Those are its letters
// and marks whose lowercase is not a-z (full-width "ｒｅｄ", "é") and U+FFFD, which stands for bytes that were not UTF-8.
function notRead(caption) {
  const unread = new Set(Array.from(caption).filter((c) => c === "\uFFFD" || (/[\p{L}\p{M}]/u.test(c) && !/^[a-z]+$/.test(c.toLowerCase()))));
  return unread.size ? `. Characters outside a-z not read: ${listWords([...unread].map(described))}` : "";
}

// `character` as a refusal names it, as zoo.text.described: quoted, its code point, its Unicode name where both ports
// know it (JavaScript has no table of names: the full-width Latin letters U+FF21-U+FF5A, named by rule, and U+FFFD),
// and what to type instead where its compatibility form (NFKC) is letters a-z: "'ｒ' U+FF52 FULLWIDTH LATIN SMALL LETTER R (type r)".
function described(character) {
  const code = character.codePointAt(0);
  const letter = (first) => String.fromCharCode(65 + code - first);
  const name = code >= 0xff21 && code <= 0xff3a ? ` FULLWIDTH LATIN CAPITAL LETTER ${letter(0xff21)}` : code >= 0xff41 && code <= 0xff5a ? ` FULLWIDTH LATIN SMALL LETTER ${letter(0xff41)}` : code === 0xfffd ? " REPLACEMENT CHARACTER" : "";
  const advice = code === 0xfffd ? " (bytes that were not UTF-8)" : toTypeInstead(character);
  return `${pythonRepr(character)} U+${code.toString(16).toUpperCase().padStart(4, "0")}${name}${advice}`;
}

// A word of letters outside a-z as the note lists it, as zoo.text.with_ascii_form: "ｓｈｉｒｔ (type shirt)", "café".
function withAsciiForm(word) {
  return word + toTypeInstead(word);
}

// " (type shirt)" for `text` whose compatibility form (NFKC) is letters a-z ("ｓｈｉｒｔ"), else "", as zoo.text.to_type_instead.
function toTypeInstead(text) {
  const asciiForm = text.normalize("NFKC");
  return /^[A-Za-z]+$/.test(asciiForm) ? ` (type ${asciiForm})` : "";
}

// `nouns` (null, lists of nouns as card.json's class_nouns when `grouped`, else nouns), checked as zoo.text.check_nouns.
function checkNouns(nouns, what, expected, grouped) {
  if (nouns === null || nouns === undefined) return [];
  const isNoun = (noun) => typeof noun === "string" && /[a-z]/.test(noun.toLowerCase());
  const valid = Array.isArray(nouns) && (grouped ? nouns.every((group) => Array.isArray(group) && group.length > 0 && group.every(isNoun)) : nouns.every(isNoun));
  if (!valid) throw new Error(`the ${what} must be ${expected}, with letters a-z; got ${JSON.stringify(nouns)?.slice(0, 80)}`);
  return nouns;
}

// Map: the words of a noun (rule 2, joined by spaces) -> [its group, the noun], the first group winning (zoo.text.noun_phrases).
function nounPhrases(groups) {
  const phrases = new Map();
  groups.forEach((nouns, group) => {
    for (const noun of nouns) {
      const key = (noun.toLowerCase().replace(/['’‘`]/g, "").match(/[a-z]+/g) || []).join(" "); // rules 1 and 2, as zoo.text.words
      if (!phrases.has(key)) phrases.set(key, [group, noun]);
    }
  });
  return phrases;
}

// One noun of each different group that the words `read` name, in order, matching the phrases left to right,
// the longest first ("t shirt" is the t-shirt, not a shirt), as zoo.text.named.
function named(read, phrases) {
  const longest = [...phrases.keys()].reduce((most, phrase) => Math.max(most, phrase.split(" ").length), 0); // not Math.max(...): 200,000 nouns overflow the stack
  const found = new Map();
  for (let i = 0; i < read.length; ) {
    let n = Math.min(longest, read.length - i);
    for (; n > 0; n--) {
      const hit = phrases.get(read.slice(i, i + n).join(" "));
      if (hit) {
        if (!found.has(hit[0])) found.set(hit[0], hit[1]);
        break;
      }
    }
    i += Math.max(n, 1);
  }
  return [...found.values()];
}

// As zoo.text.quoted and zoo.text.listed: a message quotes at most QUOTED_CHARS characters of a caption
// (code points, as Python counts them) and lists at most LISTED_WORDS of its words, so that a pasted
// page is refused, or read, in one short line.
const QUOTED_CHARS = 60;
const LISTED_WORDS = 10;

// `caption` as Python's repr(), or when longer than QUOTED_CHARS characters the repr() of its first ones
// followed by "… (N characters)".
function quoteCaption(caption) {
  const characters = Array.from(caption);
  if (characters.length <= QUOTED_CHARS) return pythonRepr(caption);
  return `${pythonRepr(characters.slice(0, QUOTED_CHARS).join(""))}… (${characters.length} characters)`;
}

// `words` joined by `separator`: all of them, or the first LISTED_WORDS followed by `separator` and "… and N more";
// a word longer than QUOTED_CHARS characters as its first ones and "… (N characters)".
function listWords(words, separator = ", ") {
  const shown = words.map((word) => {
    const characters = Array.from(word);
    return characters.length <= QUOTED_CHARS ? word : `${characters.slice(0, QUOTED_CHARS).join("")}… (${characters.length} characters)`;
  });
  if (shown.length <= LISTED_WORDS) return shown.join(separator);
  return `${shown.slice(0, LISTED_WORDS).join(separator)}${separator}… and ${shown.length - LISTED_WORDS} more`;
}

// Python's repr() of a string (its escapes of quotes, backslashes and of the characters Python does not
// print: controls, format characters such as a zero-width space, separators other than the space such
// as a no-break space, surrogates, private-use and unassigned ones), so notes and refusals read the same in
// every app, each on one line.
export function pythonRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const named = { "\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", [quote]: `\\${quote}` };
  const hex = (code, digits) => code.toString(16).padStart(digits, "0");
  const escape = (code) => (code < 0x100 ? `\\x${hex(code, 2)}` : code < 0x10000 ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`);
  const escaped = text.replace(/[\\'"\p{C}\p{Z}]/gu, (c) => named[c] ?? (c === "'" || c === '"' || c === " " ? c : escape(c.codePointAt(0))));
  return quote + escaped + quote;
}

const tokenizers = new WeakMap(); // card.tokenizer spec -> its Tokenizer (built and checked once)

// How the text-to-image model of `card` reads `caption` (Tokenizer.analyse); throws for a caption it refuses.
export function readCaption(card, caption) {
  if (!card.tokenizer) throw new Error("this model's card.json has no tokenizer");
  const colours = isObject(card.colours) ? Object.keys(card.colours) : card.colours; // names the note uses: several garments or colours
  if (!tokenizers.has(card.tokenizer)) tokenizers.set(card.tokenizer, new Tokenizer(card.tokenizer, { garments: card.class_nouns, colours }));
  return tokenizers.get(card.tokenizer).analyse(caption);
}

// The newest card format these apps read (zoo.cards.FORMAT_VERSION; docs/artifacts.md, "Versions").
export const CARD_FORMAT_VERSION = 2;

const isText = (value) => typeof value === "string";
const isName = (value) => typeof value === "string" && value.length > 0;
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isWhole = (value, low, high) => Number.isInteger(value) && value >= low && value <= high;

// The card facts an app relies on, checked before use (zoo/card.schema.json has the full schema;
// zoo.cards checks it in Python): a card that is not an object, without a whole format_version or
// of a newer format, without a name and family, an image_shape that is not [height, width, channels], a latent size that is not a
// whole number, inputs without z or with a `range` that is not [0, highest], classes that are not a
// list of names, a tokenizer without the fields `Tokenizer` reads (or class_nouns and colours its note cannot use), `files` that are not sha256
// digests: each is refused with the field named, instead of failing later as "undefined is not
// iterable". Each message begins with `label`, the card's path or URL, as zoo.cards names the file.
export function checkCard(card, label = "card.json") {
  if (card === null || typeof card !== "object" || Array.isArray(card)) throw new Error(`${label}: (the card itself) is not a JSON object`);
  if (!isWhole(card.format_version, 1, Number.MAX_SAFE_INTEGER)) refuseField(label, "format_version", card.format_version, "a whole number of at least 1"); // "3" would pass the next check
  if (card.format_version > CARD_FORMAT_VERSION) {
    throw new Error(`${label}: format_version: ${card.format_version}, newer than this app reads (up to ${CARD_FORMAT_VERSION}); upgrade it`);
  }
  for (const field of ["name", "family"]) if (!isName(card[field])) refuseField(label, field, card[field], "a non-empty string");
  const [height, width, channels] = Array.isArray(card.image_shape) ? card.image_shape : [];
  if (!Array.isArray(card.image_shape) || card.image_shape.length !== 3 || !isWhole(height, 1, 4096) || !isWhole(width, 1, 4096) || !isWhole(channels, 1, 4)) {
    refuseField(label, "image_shape", card.image_shape, "[height, width, channels]: three whole numbers, sides 1 to 4096, channels 1 to 4");
  }
  if (!isWhole(card.latent_dim, 1, 65536)) refuseField(label, "latent_dim", card.latent_dim, "a whole number in [1, 65536]");
  if (!card.inputs || typeof card.inputs !== "object" || !card.inputs.z) throw new Error(`${label}: inputs: must name the generator's inputs, z among them`);
  for (const [name, input] of Object.entries(card.inputs)) {
    const range = input && input.range;
    if (range !== undefined && !(Array.isArray(range) && range.length === 2 && range[0] === 0 && isWhole(range[1], 0, Number.MAX_SAFE_INTEGER))) {
      refuseField(label, `inputs.${name}.range`, range, "[0, highest id]");
    }
  }
  if (card.inputs.label) {
    const classes = card.classes;
    if (!Array.isArray(classes) || classes.length < 2 || !classes.every(isName)) refuseField(label, "classes", classes, "a list of at least two class names");
  }
  if (card.inputs.tokens) {
    checkTokenizerSpec(card.tokenizer, label);
    const noun = (value) => typeof value === "string" && /[A-Za-z]/.test(value);
    if (card.class_nouns !== undefined && !(Array.isArray(card.class_nouns) && card.class_nouns.every((nouns) => Array.isArray(nouns) && nouns.length > 0 && nouns.every(noun)))) {
      refuseField(label, "class_nouns", card.class_nouns, "a list of lists of nouns, one list per garment");
    }
    if (card.colours !== undefined && !(isObject(card.colours) && Object.keys(card.colours).every(noun))) refuseField(label, "colours", card.colours, "an object of colours by name");
  }
  const files = card.files;
  if (files !== undefined && (files === null || typeof files !== "object" || Array.isArray(files) || !Object.values(files).every((d) => /^[0-9a-f]{64}$/.test(d)))) {
    refuseField(label, "files", files, "an object of sha256 digests (64 lowercase hex digits) by file name");
  }
  return card;
}

// The fields of card.tokenizer that `Tokenizer` reads, by type ("ganzoo-words-v2" reads more than v1);
// another type is left to `Tokenizer`, which names it as unsupported.
const TOKENIZER_FIELDS = {
  common: [
    ["max_length", (v) => isWhole(v, 1, 1024), "a whole number in [1, 1024]"],
    ["vocabulary", (v) => Array.isArray(v) && v.length >= 2 && v.every(isText), "a list of at least two words"],
  ],
  "ganzoo-words-v2": [
    ["apostrophes", isText, "a string of the apostrophe characters deleted"],
    ["plurals", (v) => Array.isArray(v) && v.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isText)), "a list of [ending, replacement] pairs"],
    ["fillers", (v) => Array.isArray(v) && v.every(isText), "a list of words"],
    ["synonyms", (v) => isObject(v) && Object.values(v).every(isText), "an object of phrase: replacement"],
    ["keywords", (v) => Array.isArray(v) && v.every(isText), "a list of words"],
    ["typos", (v) => isObject(v) && isWhole(v.min_length, 0, 1024) && Array.isArray(v.not_typos) && v.not_typos.every(isText), "{min_length, not_typos}"],
  ],
};

function checkTokenizerSpec(spec, label) {
  if (!isObject(spec)) throw new Error(`${label}: tokenizer: missing, and this generator takes tokens`);
  const typed = Object.hasOwn(TOKENIZER_FIELDS, spec.type) ? TOKENIZER_FIELDS[spec.type] : []; // not "toString", which every object has
  for (const [field, valid, what] of [...TOKENIZER_FIELDS.common, ...typed]) {
    if (!valid(spec[field])) refuseField(label, `tokenizer.${field}`, spec[field], what);
  }
}

// Throws "LABEL: FIELD: VALUE is not WHAT" (the value's JSON cut short when long), or
// "LABEL: FIELD: missing (must be WHAT)"; LABEL is the card's path or URL.
function refuseField(label, field, value, what) {
  if (value === undefined) throw new Error(`${label}: ${field}: missing (must be ${what})`);
  const json = JSON.stringify(value);
  throw new Error(`${label}: ${field}: ${json.length > 80 ? `${json.slice(0, 77)}...` : json} is not ${what}`);
}

// `text` (card.json's, the registry's) parsed as JSON, else an Error naming `label` (a path or URL), as
// zoo.files.load_json: JSON.parse alone says "Unexpected end of JSON input", not which file.
export function parseJson(text, label) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${label} is not valid JSON: ${error.message}`);
  }
}

// An onnxruntime `ort` session of `bytes`, else an Error naming `label` (a path or URL), as zoo.runtime:
// onnxruntime alone says "Failed to load model because protobuf parsing failed", not which file.
export async function createSession(ort, bytes, label, options = {}) {
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (error) {
    throw new Error(`${label} is not a loadable ONNX generator: ${error.message}`);
  }
}

const nameList = (names) => `[${[...names].sort().map((name) => `'${name}'`).join(", ")}]`;

// { latentDim, imageShape } of the onnxruntime `session` of a generator, as zoo.runtime.generator_shapes: an
// input `z` of (batch, latent_dim) and an `image` output of (batch, height, width, channels), the batch free and
// every other size fixed; anything else is refused in Python's words. A z whose width the graph leaves free
// would take noise of whatever width a card asks (65,536 a row, billions of values), unchecked. null where the
// runtime tells no shapes (onnxruntime's JavaScript API before 1.22).
export function generatorShapes(session, onnxLabel) {
  if (!session.inputNames.includes("z")) throw new Error(`${onnxLabel} has no input named 'z' (inputs: ${nameList(session.inputNames)}): it is not a zoo generator.`);
  if (!session.outputNames.includes("image")) throw new Error(`${onnxLabel} has no output named 'image' (outputs: ${nameList(session.outputNames)}): it is not a zoo generator.`);
  const graph = new Map([...(session.inputMetadata || []), ...(session.outputMetadata || [])].map((value) => [value.name, value.shape]));
  if (!Array.isArray(graph.get("z")) || !Array.isArray(graph.get("image"))) return null;
  const fixed = (shape, rank, what) => {
    if (shape.length !== rank || typeof shape[0] !== "string" || !shape.slice(1).every((size) => Number.isInteger(size) && size > 0)) {
      const shown = shape.map((size) => (typeof size === "number" ? size : size === "" ? "None" : `'${size}'`)).join(", "); // "": neither size nor name, Python's None
      throw new Error(`${onnxLabel}: ${what} has the shape [${shown}], but a zoo generator's is ${rank}-dimensional, a free batch size first, then fixed sizes: it is not a zoo generator (or was exported with a fixed batch).`);
    }
    return shape.slice(1);
  };
  return { latentDim: fixed(graph.get("z"), 2, "input 'z'")[0], imageShape: fixed(graph.get("image"), 4, "output 'image'") };
}

// Throws unless the onnxruntime `session` is a ganzoo generator that `card` describes, as
// zoo.runtime.generator_shapes and zoo.cards.check_against_graph: inputs `z` and the card's others
// (same names, dtypes), an `image` output, sizes fixed but the batch's (`generatorShapes`), the card's
// latent_dim and image_shape. Otherwise a non-generator .onnx, or another generator's card (one without
// `files`), fails inside onnxruntime as "input 'image' is missing in 'feeds'". `cardLabel`, `onnxLabel`: paths or URLs.
export function checkAgainstGraph(card, session, cardLabel, onnxLabel) {
  const shapes = generatorShapes(session, onnxLabel);
  if (nameList(session.inputNames) !== nameList(Object.keys(card.inputs))) throw new Error(`${cardLabel}: inputs: the card names ${nameList(Object.keys(card.inputs))}, the graph takes ${nameList(session.inputNames)}.`);
  const graph = new Map((session.inputMetadata || []).map((value) => [value.name, value]));
  for (const name of session.inputNames) {
    const [declared, takes] = [card.inputs[name] && card.inputs[name].dtype, graph.get(name) && graph.get(name).type];
    if (declared && takes && declared !== takes) throw new Error(`${cardLabel}: inputs.${name}.dtype: ${declared}, but the graph takes ${takes}.`);
  }
  if (shapes && shapes.latentDim !== card.latent_dim) throw new Error(`${cardLabel}: latent_dim: ${card.latent_dim}, but the graph's z has ${shapes.latentDim} values per row.`);
  if (shapes && shapes.imageShape.join() !== card.image_shape.join()) {
    throw new Error(`${cardLabel}: image_shape: [${card.image_shape.join(", ")}], but the graph makes images of [${shapes.imageShape.join(", ")}].`);
  }
}

// The card facts an app reads, for a generator.onnx with no card.json beside it, as zoo.runtime runs one
// (docs/artifacts.md, "card.json"): latent_dim and image_shape from the graph (generatorShapes), the inputs'
// names and dtypes from the graph, the classes of a class-conditional one from the names the export writes into
// the file's metadata (onnxMetadata), the family there (else "unknown": checkCard asks for one, no app reads it),
// and `name` (its folder's, as zoo.runtime names it). A graph whose label has no classes there is refused in
// Python's words, and so is a text-to-image one: its tokenizer is in its card alone. `bytes`: the .onnx file;
// `onnxLabel`: its path or URL.
export function graphCard(session, bytes, name, onnxLabel) {
  const shapes = generatorShapes(session, onnxLabel);
  if (!shapes) throw new Error(`${onnxLabel}: this onnxruntime tells no shapes of the graph's inputs and output; run it with its card.json beside it`);
  const metadata = onnxMetadata(bytes);
  const types = new Map((session.inputMetadata || []).map((value) => [value.name, value.type]));
  const inputs = Object.fromEntries(session.inputNames.map((input) => [input, { dtype: types.get(input) }]));
  if (inputs.tokens) throw new Error(`${onnxLabel} takes \`tokens\` but its card.json has no tokenizer spec.`);
  const card = { format_version: CARD_FORMAT_VERSION, name, family: metadata.family || "unknown", latent_dim: shapes.latentDim, image_shape: shapes.imageShape, inputs };
  if (inputs.label) {
    let classes = null;
    try {
      classes = JSON.parse(metadata.classes ?? "null");
    } catch {
      // malformed: as none, as zoo.runtime reads it
    }
    if (!(Array.isArray(classes) && classes.length > 0 && classes.every(isText))) throw new Error(`${onnxLabel} takes a label but neither a card.json nor its ONNX metadata lists its classes.`);
    card.classes = classes;
  }
  return checkCard(card, onnxLabel);
}

// The metadata_props of the ONNX file `bytes` as { key: value }, where the export repeats its card's facts
// (docs/artifacts.md, "card.json"). onnxruntime's JavaScript API does not give them, so they are read from
// the protobuf wire format: ModelProto's field 14, each a message of key (field 1) and value (field 2).
// Bytes it cannot read give {}.
export function onnxMetadata(bytes) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const decoder = new TextDecoder();
  const text = (span) => (span ? decoder.decode(data.subarray(span[0], span[1])) : "");
  try {
    return Object.fromEntries(protobufFields(data, 0, data.length).filter(([field]) => field === 14).map(([, start, end]) => {
      const entry = new Map(protobufFields(data, start, end).map(([field, ...span]) => [field, span]));
      return [text(entry.get(1)), text(entry.get(2))];
    }));
  } catch {
    return {};
  }
}

// [field number, start, end] of each length-delimited field of the protobuf message at data[start, end), in
// order; fields of other wire types are skipped. Throws on bytes that are no such message.
function protobufFields(data, start, end) {
  const fields = [];
  let at = start;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= end || shift > 63) throw new Error("not a protobuf message");
      const byte = data[at++];
      value += (byte & 0x7f) * 2 ** shift; // not <<: lengths and numbers beyond 2^31
      if (byte < 0x80) return value;
    }
  };
  while (at < end) {
    const key = varint();
    const wire = key % 8;
    if (wire === 0) varint();
    else if (wire === 1 || wire === 5) at += wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const length = varint();
      fields.push([Math.floor(key / 8), at, at + length]);
      at += length;
    } else throw new Error("not a protobuf message");
  }
  if (at > end) throw new Error("not a protobuf message");
  return fields;
}

// The highest valid id of an integer input: card.inputs[name].range, else the classes or the vocabulary.
export function highestId(card, name) {
  const range = card.inputs[name] && card.inputs[name].range;
  if (Array.isArray(range)) return range[1];
  if (name === "label") return card.classes.length - 1;
  if (name === "tokens") return card.tokenizer.vocabulary.length - 1;
  return null;
}

// The feeds of `card.inputs` for `n` images, as { name: { type, data, dims } } for ort.Tensor:
// z from `noise`, `label` from `labels` (class ids or names; default: classes in turn), `tokens`
// from `prompt` (one caption for every image). The card is checked first (`checkCard`), and ids
// outside the card's ranges are refused: the generator's embedding lookup would wrap them silently.
export function generatorInputs(card, n, { noise, labels = null, prompt = null } = {}) {
  checkCard(card);
  const inputs = { z: { type: "float32", data: noise, dims: [n, card.latent_dim] } };
  const names = Object.keys(card.inputs || {});
  if (labelList(labels) !== null && !names.includes("label")) throw new Error(`${card.name} is not class-conditional: it takes no --label`);
  if (prompt !== null && !names.includes("tokens")) throw new Error(`${card.name} is not a text-to-image generator: it takes no --prompt`);
  for (const name of names) {
    if (name === "label") {
      const ids = resolveLabels(labels, card.classes, n);
      const highest = highestId(card, "label");
      if (ids.some((id) => id < 0 || id > highest)) throw new Error(`class ids outside [0, ${highest}] in ${ids}`);
      inputs.label = { type: "int64", data: BigInt64Array.from(ids, (id) => BigInt(id)), dims: [n] };
    } else if (name === "tokens") {
      if (prompt === null) throw new Error('this text-to-image generator needs a prompt, e.g. --prompt "a red dress"');
      const ids = readCaption(card, prompt).ids;
      const highest = highestId(card, "tokens");
      if (ids.some((id) => id < 0 || id > highest)) throw new Error(`token ids outside [0, ${highest}] in ${ids}`);
      inputs.tokens = { type: "int64", data: BigInt64Array.from({ length: n * ids.length }, (_, i) => BigInt(ids[i % ids.length])), dims: [n, ids.length] };
    } else if (name !== "z") {
      throw new Error(`unknown generator input ${name}`);
    }
  }
  return inputs;
}

// One output value in [-1, 1] -> a 0..255 pixel: floor((x + 1) * 127.5 + 0.5), clipped, in
// doubles (docs/artifacts.md, "Pixels"; zoo.images.to_uint8).
export function toPixel(x) {
  const p = Math.floor((x + 1) * 127.5 + 0.5);
  return p < 0 ? 0 : p > 255 ? 255 : p; // NaN compares false both ways: it stays NaN, stored as 0
}

// Refuses, before any image is made, a grid of `n` images of `imageShape` at `scale` that would be
// more than MAX_GRID_SIDE pixels a side or more than MAX_GRID_BYTES of RGBA, with the estimate (as
// zoo.images.check_grid does in Python).
export const MAX_GRID_SIDE = 65500;
export const MAX_GRID_BYTES = 2 ** 31;
export function checkGrid(n, [height, width], scale = 1) {
  const columns = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / columns);
  const sideX = (columns * (width + PADDING) + PADDING) * scale;
  const sideY = (rows * (height + PADDING) + PADDING) * scale;
  const bytes = sideX * sideY * 4;
  if (Math.max(sideX, sideY) > MAX_GRID_SIDE || bytes > MAX_GRID_BYTES) {
    throw new Error(`${n} images at scale ${scale} make a grid of ${sideX} × ${sideY} pixels (${(bytes / 2 ** 30).toFixed(1)} GiB of RGBA; at most ${MAX_GRID_SIDE} a side and ${MAX_GRID_BYTES / 2 ** 30} GiB): ask for fewer images or a smaller --scale`);
  }
  return bytes;
}

// Refuses `n` images holding NaN or infinity, naming `source` and how many, as zoo.images.check_finite:
// toPixel would draw them black without a word, hiding a broken generator.
export function checkFinite(data, n, source) {
  const size = data.length / n;
  let bad = 0;
  let broken = 0;
  for (let k = 0; k < n; k++) {
    let here = 0;
    for (let i = k * size; i < (k + 1) * size; i++) if (!Number.isFinite(data[i])) here++;
    bad += here;
    if (here > 0) broken++;
  }
  if (bad > 0) {
    throw new Error(`${source} produced ${bad.toLocaleString("en-US")} values that are NaN or infinite, in ${broken} of its ${n} images: the generator is broken (trained to a divergence, or altered); no picture was written.`);
  }
}

// NHWC floats in [-1, 1] -> { width, height, rgba }: a square-ish grid with PADDING black pixels
// between and around the tiles, each pixel repeated `scale` times both ways (zoo.images.save_grid).
// `source` (the generator's path or URL) names it when its images hold NaN or infinity (checkFinite).
export function imageGrid(data, [n, height, width, channels], scale = 1, source = "The generator") {
  checkFinite(data, n, source);
  const columns = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / columns);
  const gridWidth = (columns * (width + PADDING) + PADDING) * scale;
  const gridHeight = (rows * (height + PADDING) + PADDING) * scale;
  const rgba = new Uint8ClampedArray(gridWidth * gridHeight * 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  for (let k = 0; k < n; k++) {
    const top = PADDING + Math.floor(k / columns) * (height + PADDING);
    const left = PADDING + (k % columns) * (width + PADDING);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = ((k * height + y) * width + x) * channels;
        const pixel = [0, 1, 2].map((c) => toPixel(data[source + (channels === 1 ? 0 : c)]));
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const target = (((top + y) * scale + dy) * gridWidth + (left + x) * scale + dx) * 4;
            rgba[target] = pixel[0];
            rgba[target + 1] = pixel[1];
            rgba[target + 2] = pixel[2];
          }
        }
      }
    }
  }
  return { width: gridWidth, height: gridHeight, rgba };
}

// ----- the options of `python -m zoo sample`, shared by the Node app and the web page ----------

export const SAMPLE_OPTIONS = [
  ["-n, --num-images N", "number of images (default: 64)"],
  ["--seed S", "noise seed, 0 to 2^64-1 (default: 0); the same seed draws the same images as Python"],
  ["-o, --output FILE", "PNG to write (default: samples.png)"],
  ["--scale K", "pixel scale of the PNG (default: 2)"],
  ["--label L", "class-conditional models: class to draw, by name or id; repeat or comma-separate (--label dress,9); default: all classes in turn"],
  ["--prompt TEXT", 'text-to-image models: the caption to draw, e.g. "a red dress"'],
  ["--truncation T", "the truncation trick: redraw noise values beyond this magnitude (e.g. 1.0)"],
  ["-h, --help", "show this help"],
];

// Checked option values from strings (argv or URL parameters): { n, seed, scale, labels, prompt, truncation };
// `labels` is every --label given, null when there is none (all classes in turn).
// As strict as `python -m zoo sample`'s parser: -n and --scale are decimal integers ("1e1", "0x4" and
// "2.0" are refused), --truncation a decimal number ("" and "0x1" are refused), and `prompt`, a string
// or the list of every one given, at most one (a second would silently replace the first).
export function checkOptions({ n = "64", seed = "0", scale = "2", labels = [], prompt = null, truncation = null } = {}) {
  const options = { n: wholeOption("-n", n, 1, 100000), seed: checkSeed(seed), scale: wholeOption("--scale", scale, 1, 64), labels: Array.isArray(labels) && labels.length === 0 ? null : labels, prompt: onlyPrompt(prompt), truncation: null };
  if (truncation !== null) {
    options.truncation = DECIMAL.test(String(truncation)) ? Number(truncation) : NaN;
    if (!(options.truncation >= 0.1) || !Number.isFinite(options.truncation)) throw new Error(`--truncation must be a number of at least 0.1, got ${shownOption(truncation)}`);
  }
  return options;
}

const WHOLE = /^\s*[+-]?[0-9]+\s*$/; // what Python's int() reads, less its "_" separators and non-ASCII digits
const DECIMAL = /^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$/; // float()'s decimal forms

function wholeOption(name, text, low, high) {
  const value = WHOLE.test(String(text)) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < low || value > high) throw new Error(`${name} must be a whole number from ${low} to ${high}, got ${shownOption(text)}`);
  return value;
}

// The one prompt of `prompt` (a string, null, or the list of every --prompt or prompt= given), or null.
function onlyPrompt(prompt) {
  const prompts = prompt === null || prompt === undefined ? [] : Array.isArray(prompt) ? prompt : [prompt];
  if (prompts.length > 1) throw new Error("--prompt is given more than once; give one (it is drawn in every image)");
  return prompts.length ? prompts[0] : null;
}

function shownOption(text) {
  return text === "" ? '""' : text;
}

// ----- published names, checked against zoo/registry.json ----------------------------------

// `registry` (zoo/registry.json's data, or another file's) when it has the shape an app reads, else an Error
// "LABEL: FIELD: ..." naming the file (`label`, its path or URL) and the first wrong field, as checkCard names a
// card's: an object whose `models` are entries by name, each with `files` holding the sha256 of generator.onnx
// and card.json, `sizes` (optional: older registries list none) whole numbers of bytes, and `base_url` an http or
// https URL (checked when downloading, as zoo.registry.base_url: $GANZOO_BASE_URL may stand in for it).
export function checkRegistry(registry, label = "registry.json") {
  if (!isObject(registry)) throw new Error(`${label}: (the registry itself) is not a JSON object`);
  if (!isObject(registry.models)) refuseField(label, "models", registry.models, "an object of published generators by name");
  for (const [name, entry] of Object.entries(registry.models)) {
    if (!isObject(entry)) refuseField(label, `models.${name}`, entry, "an object: the entry of a published generator");
    const files = entry.files;
    if (!isObject(files) || !Object.values(files).every((digest) => /^[0-9a-f]{64}$/.test(digest))) {
      refuseField(label, `models.${name}.files`, files, "an object of sha256 digests (64 lowercase hex digits) by file name");
    }
    for (const file of ["generator.onnx", "card.json"]) if (!Object.hasOwn(files, file)) refuseField(label, `models.${name}.files.${file}`, undefined, "the sha256 of the published file");
    const sizes = entry.sizes;
    if (sizes !== undefined && !(isObject(sizes) && Object.values(sizes).every((size) => isWhole(size, 0, Number.MAX_SAFE_INTEGER)))) {
      refuseField(label, `models.${name}.sizes`, sizes, "an object of file sizes in bytes by file name");
    }
  }
  if (registry.base_url !== undefined && !isText(registry.base_url)) refuseField(label, "base_url", registry.base_url, "an http or https URL");
  return registry;
}

// The files an app needs of a published generator (name -> sha256), from the registry's data.
export function publishedFiles(registry, name) {
  const entry = Object.hasOwn(registry.models || {}, name) ? registry.models[name] : null; // not "toString", which every object has
  if (!entry) throw new Error(`no published generator named "${name}"; known names: ${Object.keys(registry.models || {}).sort().join(", ")}`);
  const needed = {};
  for (const file of ["generator.onnx", "card.json"]) {
    if (!entry.files[file]) throw new Error(`the registry lists no ${file} for ${name}`);
    needed[file] = entry.files[file];
  }
  return needed;
}

export async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Throws unless `bytes` have the registry's sha256 for `label`.
export async function checkSha256(bytes, expected, label) {
  const actual = await sha256Hex(bytes);
  if (actual !== expected) throw new Error(`${label} has sha256 ${actual}, the registry says ${expected}: refused (altered or partial)`);
}

// Throws when `card` lists `fileName` under "files" with another sha256 than `bytes` have: the card
// then describes some other generator (its classes, quality, training), whatever the graph's shapes
// say. A .onnx the card does not list by name (a renamed copy, another model dropped into the folder)
// is held to the card's generator.onnx. As zoo.runtime.check_listed_digest; a card without "files" is
// not checked. `cardLabel` and `fileLabel` (paths or URLs) name the two in the message.
export async function checkListedDigest(card, bytes, fileName, cardLabel, fileLabel) {
  const files = card.files || {};
  const entry = Object.hasOwn(files, fileName) ? fileName : "generator.onnx"; // not "toString", which every object has
  const listed = files[entry];
  if (listed === undefined) return;
  const actual = await sha256Hex(bytes);
  if (actual !== listed) {
    const advice = entry === fileName ? `Re-export, or use the ${fileName} the card was written with.` : `To run ${fileName}, give it a folder of its own with its own card.json.`;
    throw new Error(`${cardLabel}: files.${entry}: sha256 ${String(listed).slice(0, 12)}…, but ${fileLabel} has ${actual.slice(0, 12)}…: the card describes another file. ${advice}`);
  }
}

