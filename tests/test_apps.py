"""Other apps run the published generators: Node.js with onnxruntime-node, a web page with
onnxruntime-web in headless Chromium (Debian's, driven by playwright-core). `make setup`
installs node's packages and Chromium; these tests skip only where node or Chromium is absent.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo import registry, runtime
from zoo.images import make_grid
from zoo.text import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
CHROMIUM = "/usr/bin/chromium"
CAPTION = "a blue coat"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (scripts/install_system_packages.sh installs it)")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (scripts/install_system_packages.sh installs Debian's chromium)")


def installed(app):
    modules = APPS / app / "node_modules"
    assert modules.is_dir(), f"{modules} is missing: run `make setup` (npm ci in apps/{app})"


@pytest.fixture(params=registry.names())
def artifact(request):
    return ROOT / "exports" / request.param


def python_inputs(card, z):
    """The feeds the Node app builds for `z`: classes in turn, or one caption for every image."""
    inputs = {"z": z}
    if "label" in card["inputs"]:
        inputs["label"] = np.arange(len(z), dtype=np.int64) % len(card["classes"])
    if "tokens" in card["inputs"]:
        inputs["tokens"] = Tokenizer.from_spec(card["tokenizer"])([CAPTION] * len(z))
    return inputs


@needs_node
def test_node_app_writes_the_png_python_would(artifact, tmp_path):
    installed("node")
    generator = runtime.load(artifact)
    z = np.random.default_rng(7).standard_normal((10, generator.latent_dim), dtype=np.float32)
    z.astype("<f4").tofile(tmp_path / "z.f32")
    out = tmp_path / "node.png"
    command = ["node", str(APPS / "node" / "sample.js"), str(artifact), "-n", "10", "--noise", str(tmp_path / "z.f32"), "-o", str(out)]
    if "tokens" in generator.inputs:
        command += ["--text", CAPTION]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Wrote 10 samples" in result.stdout
    node_grid = np.asarray(Image.open(out).convert("L"), dtype=int)
    python_grid = make_grid(generator(**python_inputs(generator.card, z)))
    python_grid = python_grid if python_grid.ndim == 2 else np.asarray(Image.fromarray(python_grid).convert("L"))
    assert node_grid.shape == python_grid.shape
    assert np.abs(node_grid - python_grid.astype(int)).max() <= 1  # same noise, same pixels (±1 rounding)
    assert node_grid.std() > 10


@needs_node
def test_node_app_refuses_bad_arguments(artifact):
    installed("node")
    result = subprocess.run(["node", str(APPS / "node" / "sample.js"), str(artifact), "-n", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "above 0" in result.stderr


@needs_node
@needs_chromium
def test_web_page_draws_new_samples_in_headless_chromium(artifact):
    installed("web")
    card = json.loads((artifact / "card.json").read_text())
    server = subprocess.Popen(
        [sys.executable, str(APPS / "web" / "serve.py"), "--port", "0", "--model", artifact.name], stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        command = ["node", str(APPS / "web" / "e2e.mjs"), url] + ([CAPTION] if "tokens" in card["inputs"] else [])
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["errors"] == []
    assert seen["title"] == card["name"]
    assert seen["promptVisible"] == ("tokens" in card["inputs"])
    assert all(request.startswith(url.split("/apps/")[0]) for request in seen["requests"])  # 127.0.0.1 only
    for grid in (seen["first"], seen["second"]):
        assert grid["std"] > 2  # generated pictures, not a blank canvas (a dark garment on black is faint)
    assert seen["second"]["hash"] != seen["first"]["hash"]  # the button drew new samples
    assert seen["labelVisible"] == ("label" in card["inputs"])
    if "label" in card["inputs"]:
        assert seen["third"]["std"] > 2 and seen["third"]["hash"] != seen["second"]["hash"]
    assert "16 samples" in seen["status"]


# Captions a shopper might type, for the agreement of the Python and JavaScript tokenizers.
WORDING = [
    "A RED DRESS", "a red dress!!!", "  a   red\tdress\n", "(Red, dress.)", "red-dress?", "Could you please draw me a picture of a red dress?",
    "red dresses", "blue bags", "two white sneakers", "pink t-shirts", "ankle boots in purple", "crimson frocks", "running shoes, navy",
    "dres in red", "rde dress", "sneakr, blue", "a yelow handbag", "purle top", "bleu coat", "red hat", "teh red dress", "sandasl, white",
    "a navy tee shirt", "blue jeans", "sky blue blazer", "a scarlet cocktail dress", "hot pink flip-flops", "a lilac purse", "my jodhpurs are ivory",
    "a black t-shirt", "a zebra-striped hat in green", "men's red sneakers", "don’t draw a coat, draw a dress", "CAFÉ au lait coat", "Straße bag",
    "a red 🌹 dress", "show me something nice", "please", "12345 !!", "", "red " * 13, "a" * 11_000,
]


def node_readings(tokenizer_spec, texts, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(tokenizer_spec))
    (tmp_path / "captions.json").write_text(json.dumps(texts))
    code = (
        f"import fs from 'node:fs'; import {{ Tokenizer }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}';"
        "const [specFile, captionsFile] = process.argv.slice(1);"
        "const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(specFile, 'utf8')));"
        "const out = JSON.parse(fs.readFileSync(captionsFile, 'utf8')).map((c) => {"
        "  try { const a = tokenizer.analyse(c); return { words: a.words, ids: a.ids, corrections: a.corrections, synonyms: a.synonyms, unknown: a.unknown, note: a.note }; }"
        "  catch (e) { return { error: e.message }; } });"
        "process.stdout.write(JSON.stringify(out));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", code, str(tmp_path / "spec.json"), str(tmp_path / "captions.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def python_reading(tokenizer, text):
    try:
        a = tokenizer.analyse(text)
    except ValueError as error:
        return {"error": str(error)}
    return {"words": a.words, "ids": a.ids, "corrections": [list(p) for p in a.corrections], "synonyms": [list(p) for p in a.synonyms], "unknown": a.unknown, "note": a.note()}


def refusal(reading):
    """The kind of refusal, in words both ports use."""
    for kind in ("names no garment or colour", "holds no words", "too long", "at most"):
        if kind in reading["error"]:
            return kind
    return reading["error"]


@needs_node
def test_python_and_javascript_tokenizers_read_shopper_wording_alike(fashion_dir, tmp_path):
    """The v2 tokenizer of the Fashion-MNIST captions (WordNet synonyms included) in Python and in
    apps/common/ganzoo.mjs: the card's golden list (checked by the JS constructor), a list of shopper
    wordings, and 2,400 reworded captions of scripts/wording_t2i.py."""
    from zoo import captions, lexicon

    if not (lexicon.WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed (scripts/install_system_packages.sh installs it)")
    import importlib.util

    loader = importlib.util.spec_from_file_location("wording_t2i", ROOT / "scripts" / "wording_t2i.py")
    wording = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(wording)
    data = captions.colourised_fashion_mnist("train", limit=3000, seed=0)
    spec = json.loads(json.dumps(Tokenizer.fit(data.captions, max_length=12, **lexicon.shopper_rules()).spec(lexicon.GOLDEN_CAPTIONS)))
    tokenizer = Tokenizer.from_spec(spec)
    rng = np.random.default_rng(0)
    prompts = wording.base_prompts()
    reworded = [wording.reword(kind, *prompts[i], rng)[0] for kind in wording.KINDS for i in rng.choice(len(prompts), 300, replace=False)]
    texts = WORDING + reworded
    js = node_readings(spec, texts, tmp_path)
    kinds = set()
    for text, theirs in zip(texts, js):
        ours = python_reading(tokenizer, text)
        if "error" in ours or "error" in theirs:
            assert "error" in ours and "error" in theirs and refusal(ours) == refusal(theirs), (text, ours, theirs)
            kinds.add(refusal(ours))
        else:
            assert ours == theirs, text
    assert kinds == {"names no garment or colour", "holds no words", "at most", "too long"}
    readings = {text: python_reading(tokenizer, text) for text in WORDING}
    assert readings["crimson frocks"]["words"] == ["red", "dress"] and readings["blue jeans"]["words"] == ["blue", "trousers"]
    assert readings["sneakr, blue"]["corrections"] == [["sneakr", "sneaker"]] and readings["a black t-shirt"]["unknown"] == ["black"]


@needs_node
def test_the_javascript_tokenizer_refuses_a_card_whose_golden_entries_it_does_not_reproduce(tmp_path):
    spec = Tokenizer.fit(["a red dress", "a blue coat"], synonyms={"crimson": "red"}).spec(["crimson coat", "a zebra"])
    assert "error" in spec["golden"][1]
    for broken in ({**spec["golden"][0], "ids": [0, 0]}, {**spec["golden"][0], "unknown": ["x"]}, {"caption": "a red dress", "error": "refused"}):
        bad = {**spec, "golden": [broken]}
        (tmp_path / "spec.json").write_text(json.dumps(bad))
        code = f"import fs from 'node:fs'; import {{ Tokenizer }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}'; new Tokenizer(JSON.parse(fs.readFileSync(process.argv[1], 'utf8')));"
        result = subprocess.run(["node", "--input-type=module", "-e", code, str(tmp_path / "spec.json")], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "card.json says" in result.stderr, broken


SHOPPER_PROMPT = "Could you draw two crimson frocks, please? zebra"


@pytest.fixture
def shopper_artifact(tmp_path):
    """The published text-to-image files with a v2 tokenizer over the model's own vocabulary (WordNet
    synonyms, plurals, typos): what the apps do with the new card, without training a model here."""
    from zoo import lexicon
    from zoo.text import words

    if not (lexicon.WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed (scripts/install_system_packages.sh installs it)")
    source = ROOT / "exports" / "t2i-fashion-mnist"
    folder = tmp_path / "t2i-fashion-mnist"
    folder.mkdir()
    shutil.copy(source / "generator.onnx", folder)
    card = json.loads((source / "card.json").read_text())
    vocabulary, rules = card["tokenizer"]["vocabulary"], lexicon.shopper_rules()
    synonyms = {k: v for k, v in rules["synonyms"].items() if k not in vocabulary and set(words(v)) <= set(vocabulary)}
    tokenizer = Tokenizer(vocabulary, card["tokenizer"]["max_length"], synonyms, rules["keywords"], not_typos=rules["not_typos"])
    card["tokenizer"] = tokenizer.spec(lexicon.GOLDEN_CAPTIONS)
    (folder / "card.json").write_text(json.dumps(card))
    return folder, tokenizer


@needs_node
def test_node_app_reads_shopper_wording_as_python_does_and_refuses_a_prompt_without_garment_or_colour(shopper_artifact, tmp_path):
    installed("node")
    folder, tokenizer = shopper_artifact
    generator = runtime.load(folder)
    z = np.random.default_rng(3).standard_normal((4, generator.latent_dim), dtype=np.float32)
    z.astype("<f4").tofile(tmp_path / "z.f32")
    command = ["node", str(APPS / "node" / "sample.js"), str(folder), "-n", "4", "--noise", str(tmp_path / "z.f32"), "-o", str(tmp_path / "node.png")]
    result = subprocess.run([*command, "--text", SHOPPER_PROMPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    analysis = tokenizer.analyse(SHOPPER_PROMPT)
    assert analysis.words == ["red", "dress"] and analysis.unknown == ["two", "zebra"]
    assert result.stderr.strip() == analysis.note()  # one line: synonyms crimson→red, frock→dress; unknown words ignored: two, zebra
    node_grid = np.asarray(Image.open(tmp_path / "node.png").convert("L"), dtype=int)
    python_grid = np.asarray(Image.fromarray(make_grid(generator(z, tokens=tokenizer([SHOPPER_PROMPT] * 4)))).convert("L"), dtype=int)
    assert np.abs(node_grid - python_grid).max() <= 1
    drawn = (tmp_path / "node.png").read_bytes()
    refused = subprocess.run([*command, "--text", "show me something nice"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "names no garment or colour" in refused.stderr and "nice" in refused.stderr
    assert (tmp_path / "node.png").read_bytes() == drawn  # nothing drawn over the earlier picture


@needs_node
@needs_chromium
def test_web_page_shows_how_a_prompt_was_read_and_refuses_one_without_garment_or_colour(shopper_artifact, tmp_path):
    installed("web")
    folder, tokenizer = shopper_artifact
    server = subprocess.Popen([sys.executable, str(APPS / "web" / "serve.py"), "--port", "0", "--model", "t2i-fashion-mnist"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        command = ["node", str(APPS / "web" / "e2e.mjs"), url, SHOPPER_PROMPT, "--refuse", "show me something nice", "--card", str(folder / "card.json")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["errors"] == []
    assert seen["reading"] == tokenizer.analyse(SHOPPER_PROMPT).note()
    assert seen["second"]["std"] > 2 and seen["second"]["hash"] != seen["first"]["hash"]
    assert "names no garment or colour" in seen["refusal"] and seen["drawsAfterRefusal"] == "2"
