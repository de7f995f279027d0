#!/usr/bin/env node
// Runs a ganzoo generator with onnxruntime-node and writes a PNG grid: `python -m zoo sample`
// in Node, with the same options and, for the same seed, the same pixels (apps/node/README.md).
//
//   npm ci                                   # once, in apps/node (CPU binaries only; see .npmrc)
//   node sample.js dcgan-fashion-mnist -n 64 -o samples.png
//   node sample.js cgan-fashion-mnist --label dress --seed 7
//   node sample.js t2i-fashion-mnist --prompt "a red dress"   # how a caption was read, when not word
//                                                               # for word, goes to stderr
//   node sample.js ../../exports/dcgan-fashion-mnist      # an artifact folder, or a .onnx file
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as ort from "onnxruntime-node";
import pngjs from "pngjs";

import { SAMPLE_OPTIONS, checkAgainstGraph, checkCard, checkGrid, checkListedDigest, checkOptions, checkRegistry, checkSha256, createSession, generatorInputs, graphCard, imageGrid, parseJson, publishedFiles, pythonRepr, readCaption, sampleLatent } from "../common/ganzoo.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const REGISTRY = process.env.GANZOO_REGISTRY || path.join(ROOT, "zoo", "registry.json"); // the data zoo.registry reads

const USAGE = `usage: node sample.js GENERATOR [options]

Generates images with onnxruntime-node and writes them as one PNG grid, as \`python -m zoo sample\`
does; the same seed draws the same images (a pixel may round one level apart where
onnxruntime-node sums in another order than Python's onnxruntime).

GENERATOR: an artifact folder (generator.onnx, with its card.json if there is one), a .onnx file
(the card.json beside it, if any), or a published name (python -m zoo list), whose files are
checked against the sha256 of zoo/registry.json ($GANZOO_REGISTRY: another registry file): this
checkout's exports/ ($GANZOO_EXPORTS), else the cache Python shares ($GANZOO_CACHE, else
$XDG_CACHE_HOME/ganzoo, else ~/.cache/ganzoo), else downloaded from $GANZOO_BASE_URL into that
cache. A published name always means those files: a folder of that name here runs as ./NAME.

options:
${SAMPLE_OPTIONS.map(([flags, text]) => `  ${flags.padEnd(22)}${text}`).join("\n")}`;

const FLAGS = { "-n": "n", "--num-images": "n", "--seed": "seed", "-o": "output", "--output": "output", "--scale": "scale", "--label": "label", "--prompt": "prompt", "--truncation": "truncation" };

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { source: null, output: "samples.png", labels: [], prompt: [], help: false }; // every --label and --prompt given
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].startsWith("--") && argv[i].includes("=") ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    if (flag === "-h" || flag === "--help") {
      args.help = true;
      continue;
    }
    const key = Object.hasOwn(FLAGS, flag) ? FLAGS[flag] : undefined; // not "toString", which every object has
    if (key) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
        value = argv[++i];
      }
      if (key === "label") args.labels.push(value);
      else if (key === "prompt") args.prompt.push(value); // checkOptions refuses a second one, as Python does
      else args[key] = value;
    } else if (args.source === null && !flag.startsWith("-")) {
      args.source = flag;
    } else {
      throw new UsageError(`unknown argument ${argv[i]}`);
    }
  }
  if (args.help) return args;
  if (args.source === null) throw new UsageError("give a generator: an artifact folder, a .onnx file or a published name");
  if (path.extname(args.output).toLowerCase() !== ".png") throw new UsageError(`${args.output}: this app writes PNG only; name the output .png`);
  checkOutputFile(args.output);
  return { ...args, ...checkOptions(args) };
}

// Refuses, before any work, an output that cannot become a file: a folder, or a path through a file
// (a missing folder is fine: writeAtomically makes it), as zoo.files.check_output_file.
function checkOutputFile(file) {
  if (isFolder(file)) throw new Error(`-o ${file} is a folder; give a file name in it.`);
  for (let parent = path.dirname(file); ; parent = path.dirname(parent)) {
    if (present(parent)) {
      if (!isFolder(parent)) throw new Error(`-o ${file}: ${parent} is a file, not a folder.`); // a loop of links too, as Python says
      return;
    }
    if (parent === path.dirname(parent)) return;
  }
}

function exportsDir() {
  if (process.env.GANZOO_EXPORTS !== undefined) return process.env.GANZOO_EXPORTS || null;
  const checkout = path.join(ROOT, "exports");
  return fs.existsSync(checkout) ? checkout : null;
}

function cacheDir() {
  if (process.env.GANZOO_CACHE) return process.env.GANZOO_CACHE.replace(/^~(?=$|\/)/, os.homedir());
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache"), "ganzoo");
}

// Whether anything is at `where`, a broken link included (fs.existsSync follows links: a loop of links
// is "nothing" to it, and then "not an existing folder or .onnx file" to the user).
function present(where) {
  try {
    return Boolean(fs.lstatSync(where));
  } catch (error) {
    return error.code !== "ENOENT" && error.code !== "ENOTDIR";
  }
}

function isFolder(where) {
  try {
    return fs.statSync(where).isDirectory();
  } catch {
    return false; // a broken link or a loop of links: readRegularFile says which
  }
}

// The bytes of `file`, else an Error naming it and what is there instead of a file to read: a folder, a
// named pipe (reading one waits for a writer for ever, so it is opened without waiting, O_NONBLOCK, and
// refused), a socket or device, a broken link or a loop of links, or a file this user may not read.
// zoo.files.check_regular_file says the same, in the same words.
function readRegularFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new Error(unreadable(file, error));
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${file} is ${stat.isDirectory() ? "a folder" : stat.isFIFO() ? "a named pipe (FIFO)" : stat.isSocket() ? "a socket" : "a device"}, not a file.`);
    return fs.readFileSync(fd);
  } catch (error) {
    throw error.code ? new Error(unreadable(file, error)) : error;
  } finally {
    fs.closeSync(fd);
  }
}

// Why `file` could not be opened or read (`error`), in words.
function unreadable(file, error) {
  if (error.code === "ENOENT" && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) return `${file} is a link to ${fs.readlinkSync(file)}, which does not exist.`;
  const reasons = { ENOENT: "does not exist", ELOOP: "is a loop of links, not a file", ENXIO: "is a socket, not a file", EACCES: "cannot be read: permission denied" };
  return `${file} ${reasons[error.code] ?? `cannot be read: ${error.message.split(",")[0]}`}.`; // "EIO: i/o error, read"
}

async function matches(folder, files) {
  for (const [file, digest] of Object.entries(files)) {
    const target = path.join(folder, file);
    try {
      await checkSha256(readRegularFile(target), digest, target);
    } catch {
      return false; // missing, altered, or no file at all: downloaded again
    }
  }
  return true;
}

// `mkdir -p` one folder at a time: Node's own (fs.mkdirSync's `recursive`) retries forever where mkdir
// fails with ENOENT under a folder that exists (/proc/new: a pseudo file system).
function makeFolders(folder) {
  if (fs.existsSync(folder)) return;
  makeFolders(path.dirname(folder));
  fs.mkdirSync(folder);
}

// Writes beside the target (to `.<name>.<pid>.tmp`, else the `ending` given) and renames, so no half-written
// file is ever left at `file`. An error names `file` (as zoo.files.atomic_write), not the temporary twin beside it.
function writeAtomically(file, bytes, ending = `${process.pid}.tmp`) {
  const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${ending}`);
  try {
    makeFolders(path.dirname(path.resolve(file)));
    fs.writeFileSync(temporary, bytes);
    fs.renameSync(temporary, file);
  } catch (error) {
    throw error.code ? new Error(`Cannot write ${file}: ${error.message.split(",")[0]}`) : error; // "ENOSPC: no space left on device, write ..."
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

// As zoo.registry.download: a file may take DEADLINE_SECONDS plus its size at SLOWEST_BYTES_PER_SECOND
// (a slow mirror, not a stalled one), and no more bytes are read than the registry's `sizes` lists.
const DEADLINE_SECONDS = 60;
const SLOWEST_BYTES_PER_SECOND = 50_000;

// The bytes at `url`, at most `size` of them (the registry's size of the file; undefined: unbounded,
// as an older registry lists none), within the deadline above; an Error saying what went wrong.
class Refused extends Error {} // a download the app stops itself (HTTP error, too many bytes): its message says why

async function download(url, size) {
  const seconds = DEADLINE_SECONDS + (size || 0) / SLOWEST_BYTES_PER_SECOND;
  const chunks = [];
  let received = 0;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(Math.ceil(seconds * 1000)) });
    if (!response.ok) throw new Refused(`could not download ${url}: HTTP ${response.status}`);
    for await (const chunk of response.body) {
      received += chunk.length;
      if (size !== undefined && received > size) throw new Refused(`${url} sends more than the ${size.toLocaleString("en-US")} bytes of the published file; stopped, nothing was written`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error.name === "TimeoutError") throw new Error(`${url} took more than ${Math.round(seconds)} s (${received.toLocaleString("en-US")} bytes received); stopped, nothing was written`);
    if (error instanceof Refused) throw error;
    throw new Error(`could not download ${url}: ${error.cause?.message || error.message}; check the network or set GANZOO_BASE_URL to a mirror`);
  }
  return Buffer.concat(chunks);
}

// The registry ($GANZOO_REGISTRY, else zoo/registry.json) checked for the fields the app reads: a file that is
// missing, no file, not JSON or of another shape is refused in one line naming it (checkRegistry).
function readRegistry() {
  return checkRegistry(parseJson(readRegularFile(REGISTRY).toString("utf8"), REGISTRY), REGISTRY);
}

// $GANZOO_BASE_URL, else the registry's base_url, without trailing slashes; refused, before anything is
// downloaded, naming where it came from (and it, as Python's repr), where zoo.registry.base_url refuses it:
// not an http or https URL, or a host that fetch and Python's requests would not both reach as written, or a
// user name or password in it (fetch refuses them). The host is read as urlsplit reads it (after "//" only:
// the URL parser alone mends "http:x" into http://x/, and reads "x\y" as host x, "x%41" as xa) and as the URL
// parser reads it (its port, IPv6 address, international name and the characters it forbids).
function baseUrl(registry) {
  const given = process.env.GANZOO_BASE_URL;
  if (!given && registry.base_url === undefined) throw new Error(`${REGISTRY} has no base_url: set GANZOO_BASE_URL to a mirror of exports/; nothing was downloaded.`);
  const url = (given || registry.base_url).replace(/\/+$/, "");
  const where = given ? "GANZOO_BASE_URL" : `the base_url of ${REGISTRY}`;
  const netloc = /^https?:\/\/([^/?#]*)/i.exec(url.replace(/[\t\n\r]/g, "").replace(/^[\x00-\x20]+/, ""))?.[1]; // urlsplit's strip of C0 and spaces, and of tabs and line breaks
  const host = netloc?.slice(netloc.lastIndexOf("@") + 1).match(/^\[[^\]]*\](?=:|$)|^[^:[]*/)?.[0].toLowerCase();
  let usable = false;
  try {
    const brackets = netloc?.includes("[") === netloc?.includes("]"); // urlsplit's "Invalid IPv6 URL" where one is missing
    usable = Boolean(host) && brackets && !netloc.includes("\\") && !/[%\x00-\x20\x7f]/.test(host) && new URL(url).hostname !== "" && (!endsInNumber(host) || INET_ATON.test(host));
  } catch {
    // not a URL at all: refused below
  }
  if (!usable) throw new Error(`${where} is ${pythonRepr(url)}, not an http or https URL of a mirror of exports/; nothing was downloaded.`);
  if (netloc.includes("@")) {
    const userinfo = netloc.slice(0, netloc.lastIndexOf("@"));
    const password = userinfo.includes(":") ? userinfo.slice(userinfo.indexOf(":") + 1) : "";
    const shown = password ? url.replace(`:${password}@`, ":***@") : url; // the refusal does not show it either, as zoo.registry.base_url
    throw new Error(`${where} is ${pythonRepr(shown)}: a user name or password in it is not supported (Node's fetch refuses it, and every message would show it); give a mirror of exports/ that needs none, or, for Python's downloads, put them in ~/.netrc (or the file $NETRC names), which requests reads; nothing was downloaded.`);
  }
  return url;
}

// A host the URL standard reads as an IPv4 address (its last label a number), which Python's requests
// reaches only as inet_aton reads it: one to four numbers, decimal, octal or hex, no trailing dot (the URL
// parser checks their ranges). "1.2.3.4." and "0x" are addresses to the URL parser alone.
const INET_ATON = /^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$/;

function endsInNumber(host) {
  return /^([0-9]+|0x[0-9a-f]*)$/.test(host.replace(/\.$/, "").split(".").pop());
}

// How a temporary in the cache names its writer, as zoo.files.writer_mark: `<tag>-<pid>`, the tag 8 hex digits
// of this machine's boot and this pid namespace, where a pid means one process; `<pid>` where /proc says nothing.
const WRITER_TAG = (() => {
  try {
    const boot = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = fs.statSync("/proc/self/ns/pid", { bigint: true });
    return crypto.createHash("sha256").update(`${boot}:${namespace.dev}:${namespace.ino}`).digest("hex").slice(0, 8);
  } catch {
    return null;
  }
})();
const WRITER_MARK = WRITER_TAG === null ? String(process.pid) : `${WRITER_TAG}-${process.pid}`;

// Deletes the temporaries (`.<file>.<mark>.part`, as zoo.registry.download names them, and so this app) that
// writers killed mid-write left in `folder`, as zoo.registry.remove_stale_partial_files does: only those of
// this machine and pid namespace (or with no tag) whose process has ended; another machine's are its to delete.
function removeStalePartialFiles(folder) {
  let names;
  try {
    names = fs.readdirSync(folder, { recursive: true });
  } catch {
    return; // no cache yet
  }
  for (const name of names) {
    const found = /^\.[^/]+\.(?:([0-9a-f]{8})-)?(\d+)\.part$/.exec(path.basename(name));
    if (found && (found[1] === undefined || found[1] === WRITER_TAG) && !processAlive(Number(found[2])) && fs.lstatSync(path.join(folder, name)).isFile()) {
      fs.rmSync(path.join(folder, name), { force: true });
    }
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM"; // another user's process; ESRCH, or beyond any pid the system gives: ended
  }
}

// The folder of a published generator's files, checked against the registry's sha256, and where it came from.
async function fetchPublished(name, registry) {
  const files = publishedFiles(registry, name);
  const local = exportsDir();
  if (local && (await matches(path.join(local, name), files))) return { folder: path.join(local, name), from: "exports/" };
  const cached = path.join(cacheDir(), name);
  if (await matches(cached, files)) return { folder: cached, from: "cache" };
  const base = baseUrl(registry);
  removeStalePartialFiles(cached);
  for (const [file, digest] of Object.entries(files)) {
    const url = `${base}/${name}/${file}`;
    const bytes = await download(url, ((registry.models[name] || {}).sizes || {})[file]);
    await checkSha256(bytes, digest, url);
    writeAtomically(path.join(cached, file), bytes, `${WRITER_MARK}.part`); // a killed write's is deleted by the next fetch, here or in Python
  }
  return { folder: cached, from: `downloaded from ${base}` };
}

// Refuses, before any noise is drawn, `n` images whose noise and pixels would not fit: each is one
// Float32Array, which holds at most MAX_ARRAY_VALUES values, and together they may take at most 80% of the
// memory available (os.freemem(): Linux's MemAvailable), as zoo.images.check_memory. A card's latent_dim may
// be 65,536 (card.schema.json): at -n 100000 that is 6.5 billion values, which failed as "Invalid typed
// array length" (Python draws its batches in turn and runs it, slowly; this app draws all at once).
const MAX_ARRAY_VALUES = 2 ** 32 - 1;

function checkNoiseFits(n, card) {
  const values = n * card.latent_dim;
  const pixels = n * card.image_shape.reduce((product, size) => product * size, 1);
  const needed = 4 * (values + pixels);
  const what = `${n.toLocaleString("en-US")} latent vectors of ${card.latent_dim.toLocaleString("en-US")} values and their images`;
  if (Math.max(values, pixels) > MAX_ARRAY_VALUES) {
    throw new Error(`${what} are ${Math.max(values, pixels).toLocaleString("en-US")} values in one array, more than the ${MAX_ARRAY_VALUES.toLocaleString("en-US")} it holds. Ask for fewer images (-n).`);
  }
  const available = os.freemem();
  if (needed > 0.8 * available) throw new Error(`${what} would need about ${readableBytes(needed)} of memory; ${readableBytes(available)} is available. Ask for fewer images (-n).`);
}

// `count` bytes in words, as zoo.images.readable_bytes: "512 bytes", "3.2 GiB".
function readableBytes(count) {
  for (const unit of ["bytes", "KiB", "MiB", "GiB", "TiB"]) {
    if (count < 1024 || unit === "TiB") return `${count.toLocaleString("en-US", { maximumFractionDigits: unit === "bytes" ? 0 : 1, minimumFractionDigits: unit === "bytes" ? 0 : 1 })} ${unit}`;
    count /= 1024;
  }
}

// A local file runs only when it is named .onnx, as `python -m zoo sample` refuses any other file before
// opening it (a PNG or a .bin was read as a graph: "not a loadable ONNX generator", or ran if it was one);
// a .keras file, which Python runs through Keras, is named as what it is.
function checkGeneratorFile(source) {
  let file = false;
  try {
    file = fs.statSync(source).isFile();
  } catch {
    // a broken link or a loop of links: readRegularFile says which
  }
  if (!file || path.extname(source) === ".onnx") return;
  if (path.extname(source) === ".keras") throw new Error(`${source} is a Keras model, which this app does not run: export it (python -m zoo export ${source} FOLDER) and give the folder, or run \`python -m zoo sample ${source}\`.`);
  throw new Error(`${source} is not a generator: give an artifact folder, a .onnx file or a published name (see \`python -m zoo list\`).`);
}

// A published name means the published, sha256-checked files, as `python -m zoo sample` reads it
// (zoo.cli.resolve_generator, zoo.runtime.resolve): a file or folder of that name here is not run in
// their place, and a warning names it when its files differ; `./NAME` runs it. A source with a slash
// in it is a path, run without reading the registry.
async function resolveGenerator(source) {
  const registry = source.includes("/") && present(source) ? null : readRegistry();
  if (registry && Object.hasOwn(registry.models, source)) {
    let fetched;
    try {
      fetched = await fetchPublished(source, registry);
    } catch (error) {
      if (present(source)) error.message += ` (the folder ./${source} here does not stand in for the published ${source}; run it as ./${source})`;
      throw error;
    }
    const { folder, from } = fetched;
    const other = present(source) && !samePlace(source, folder); // run from inside exports/, the folder here is the published one
    if (other && !(await matches(source, publishedFiles(registry, source)))) {
      console.error(`warning: Running the published ${source} from ${folder}. The folder ${path.resolve(source)} here has the same name but is not that generator (its files differ from the registry's sha256); pass './${source}' to run it instead.`);
    }
    const shadow = other ? `; the folder ./${source} here is not it (run it as ./${source})` : "";
    return { onnxPath: path.join(folder, "generator.onnx"), cardPath: path.join(folder, "card.json"), how: `published ${source} (${from}, sha256-checked${shadow})` };
  }
  if (present(source)) {
    checkGeneratorFile(source);
    const onnxPath = isFolder(source) ? path.join(source, "generator.onnx") : source;
    return { onnxPath, cardPath: path.join(path.dirname(onnxPath), "card.json"), how: source };
  }
  throw new Error(`no generator "${source}": not an existing folder or .onnx file, and not a published name (${Object.keys(registry.models).sort().join(", ")})`);
}

// Whether paths `a` and `b` lead to the same file or folder (links followed); false when either leads nowhere.
function samePlace(a, b) {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const { onnxPath, cardPath, how } = await resolveGenerator(args.source);
  if (!present(onnxPath)) throw new Error(`no exported generator at ${onnxPath} (expected an artifact folder or a .onnx file)`);
  // Without a card.json the generator runs on its graph's facts (graphCard), as zoo.runtime runs it; a folder or pipe by that name is refused
  const given = present(cardPath) ? checkCard(parseJson(readRegularFile(cardPath).toString("utf8"), cardPath), cardPath) : null; // a bad field is named with the card's path, as Python names it
  const onnx = readRegularFile(onnxPath); // checked against the card, then run: the same bytes
  if (given) await checkListedDigest(given, onnx, path.basename(onnxPath), cardPath, onnxPath);
  const session = await createSession(ort, onnx, onnxPath);
  if (given) checkAgainstGraph(given, session, cardPath, onnxPath); // before any noise is drawn: a card of another graph (whose latent_dim may ask for billions of values), or no generator at all
  const folder = path.basename(path.dirname(path.resolve(onnxPath))) || path.basename(onnxPath); // the name zoo.runtime gives a generator without a card
  const card = given ?? graphCard(session, onnx, folder, onnxPath);
  checkGrid(args.n, card.image_shape, args.scale);
  checkNoiseFits(args.n, card);
  const started = process.hrtime.bigint(); // as Python times: the generator loaded, images drawn
  const noise = sampleLatent(args.n, card.latent_dim, args.seed, args.truncation);
  const inputs = generatorInputs(card, args.n, { noise, labels: args.labels, prompt: args.prompt ?? null });
  if (args.prompt != null) {
    const { note } = readCaption(card, args.prompt); // how the caption was read: typos, synonyms, words ignored, several garments or colours
    if (note) console.error(note);
  }
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
  const { image } = await session.run(feeds);
  const grid = imageGrid(image.data, image.dims, args.scale, onnxPath); // NaN images are refused naming the generator
  const png = new pngjs.PNG({ width: grid.width, height: grid.height });
  png.data = Buffer.from(grid.rgba.buffer);
  writeAtomically(args.output, pngjs.PNG.sync.write(png, { colorType: image.dims[3] === 1 ? 0 : 2 })); // grey or RGB, as Python writes
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`Wrote ${args.n} samples of ${card.name} to ${args.output} (onnxruntime-node, ${ms.toFixed(0)} ms) from ${how}`);
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  if (error instanceof UsageError) console.error("run with --help for the options");
  process.exit(2);
});
