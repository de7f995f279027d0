// Drives the page in headless Chromium (Debian's, never a downloaded one) with playwright-core:
// waits for the first grid, clicks "New samples" (typing a caption first when the model takes
// text), and prints what it saw as JSON for tests/test_apps.py to check, with the first grid's
// RGB bytes (base64) for a pixel-by-pixel comparison with Python's. --refuse CAPTION then
// types a caption the model should refuse and records the error shown; --card FILE serves FILE
// in place of the artifact's card.json (a test's own tokenizer spec); --registry FILE serves FILE in
// place of zoo/registry.json (the file the server's checkout holds); --no-card answers every card.json with
// HTTP 404 (an artifact folder with no card beside its generator.onnx). A page that refuses to load
// (body[data-failed]) is recorded as `failure`, the error it shows.
//
//   node apps/web/e2e.mjs URL [CAPTION] [--refuse CAPTION] [--card FILE] [--registry FILE] [--no-card]
import fs from "node:fs";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : undefined);
const refused = option("--refuse");
const cardFile = option("--card");
const registryFile = option("--registry");
const noCard = args.includes("--no-card") && Boolean(args.splice(args.indexOf("--no-card"), 1)); // every card.json answers 404: a folder with none
const [url, caption] = args;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// As root in a container, without a GPU, on a machine whose network is closed.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function canvasPixels(page) {
  return page.evaluate(() => {
    const canvas = document.getElementById("samples");
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0, squares = 0, hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      sum += data[i];
      squares += data[i] * data[i];
      hash = (Math.imul(hash, 31) + data[i] + data[i + 1] + data[i + 2]) | 0;
    }
    const n = data.length / 4;
    let rgb = "";
    for (let i = 0; i < data.length; i += 4) rgb += String.fromCharCode(data[i], data[i + 1], data[i + 2]);
    return { width: canvas.width, height: canvas.height, mean: sum / n, std: Math.sqrt(squares / n - (sum / n) ** 2), hash, rgb: btoa(rgb) };
  });
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
const result = { errors: [], requests: [] };
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => result.errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && result.errors.push(message.text()));
  page.on("request", (request) => result.requests.push(request.url()));
  page.on("response", (response) => response.status() >= 400 && result.errors.push(`HTTP ${response.status()} ${response.url()}`));
  if (cardFile) await page.route("**/card.json", (route) => route.fulfill({ contentType: "application/json", body: fs.readFileSync(cardFile, "utf8") }));
  if (noCard) await page.route("**/card.json", (route) => route.fulfill({ status: 404, contentType: "text/plain", body: "File not found" }));
  if (registryFile) await page.route("**/zoo/registry.json", (route) => route.fulfill({ contentType: "application/json", body: fs.readFileSync(registryFile, "utf8") }));
  await page.goto(url);
  await page.waitForSelector("body[data-draws='1'], body[data-failed]", { timeout: 60000 });
  if (await page.getAttribute("body", "data-failed")) result.failure = await page.textContent("#error"); // refused to load: nothing to drive
  else await drive(page);
} catch (error) {
  result.errors.push(String(error));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

// What a user does once the first grid is drawn, recorded in `result`.
async function drive(page) {
  result.title = await page.textContent("#title");
  result.about = await page.textContent("#about");
  result.source = await page.textContent("#source");
  result.promptVisible = await page.isVisible("#prompt");
  result.first = await canvasPixels(page);
  if (caption !== undefined) await page.fill("#prompt", caption);
  await page.click("#new-samples");
  await page.waitForSelector("body[data-draws='2']", { timeout: 60000 });
  result.second = await canvasPixels(page);
  delete result.second.rgb; // only the first grid is compared pixel by pixel
  result.reading = await page.textContent("#reading");
  result.labelVisible = await page.isVisible("#label");
  if (result.labelVisible) {  // a class-conditional model: asking for one class draws again
    await page.selectOption("#label", { value: "1" }); // the second class, id 1 (by value: a label "1" could name another)
    await page.waitForSelector("body[data-draws='3']", { timeout: 60000 });
    result.third = await canvasPixels(page); // with its RGB bytes: the class drawn is compared with Python's
  }
  result.status = await page.textContent("#status");
  result.error = await page.textContent("#error");
  if (refused !== undefined) {  // a refused caption: an error shown, no new draw
    await page.fill("#prompt", refused);
    await page.click("#new-samples");
    await page.waitForFunction(() => document.getElementById("error").textContent !== "", null, { timeout: 60000 });
    result.refusal = await page.textContent("#error");
    result.drawsAfterRefusal = await page.getAttribute("body", "data-draws");
  }
}
