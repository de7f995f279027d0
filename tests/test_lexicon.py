"""Shopper wording for the text-to-image tokenizer: WordNet 3.0 synonyms (Debian's wordnet-base, read
offline), the real words that are not typos, and how often the tokenizer reads reworded captions right."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zoo import captions, lexicon
from zoo.text import Tokenizer, words

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not (lexicon.WORDNET_DIR / "data.noun").is_file(), reason="Debian's wordnet-base is not installed (scripts/install_system_packages.sh installs it)"
)


@pytest.fixture(scope="module")
def wordnet():
    return lexicon.open_wordnet()


@pytest.fixture(scope="module")
def synonyms(wordnet):
    return lexicon.wordnet_synonyms(wordnet=wordnet)


@pytest.fixture(scope="module")
def tokenizer(wordnet, fashion_dir):
    data = captions.colourised_fashion_mnist("train", limit=3000, seed=0)
    return Tokenizer.fit(data.captions, max_length=12, **lexicon.shopper_rules(wordnet=wordnet))


def test_wordnet_is_read_offline_from_debians_files(wordnet):
    assert wordnet.get_version() == "3.0"
    assert wordnet.synset("dress.n.01").lemma_names() == ["dress", "frock"]
    assert wordnet.synset("dress.n.01").lexname() == "noun.artifact"  # the lexnames Debian leaves out


@pytest.mark.parametrize(
    "phrase, target",
    [
        ("frock", "dress"), ("sundress", "dress"), ("crimson", "red"), ("scarlet", "red"), ("navy", "blue"), ("azure", "blue"),
        ("slacks", "trousers"), ("jean", "trousers"), ("purse", "bag"), ("clutch", "bag"), ("parka", "coat"), ("blazer", "coat"),
        ("cardigan", "pullover"), ("tee shirt", "t-shirt"), ("polo shirt", "shirt"), ("tennis shoe", "sneaker"), ("espadrille", "sandal"),
        ("cowboy boot", "ankle boot"), ("violet", "purple"), ("ivory", "white"), ("emerald", "green"), ("tangerine", "orange"),
        ("rose", "pink"), ("gold", "yellow"), ("blue jean", "blue trousers"),
    ],
)
def test_wordnet_maps_synonyms_and_kinds_of_each_garment_and_colour(synonyms, phrase, target):
    assert synonyms[phrase] == target


def test_the_map_leaves_out_ties_howlers_and_the_datasets_own_words(synonyms):
    dataset_words = {" ".join(words(noun)) for nouns in captions.CLASS_NOUNS for noun in nouns} | set(captions.COLOUR_NAMES)
    assert not dataset_words & set(synonyms)
    assert not set(lexicon.EXCLUDED_WORDS) & set(synonyms)
    assert "turtleneck" not in synonyms  # a kind of jersey (t-shirt) and of sweater (pullover) alike: a tie
    assert "bloomers" not in synonyms and "drawers" not in synonyms  # "pants" as underwear is an excluded sense
    targets = {" ".join(words(noun)) for noun in (nouns[0] for nouns in captions.CLASS_NOUNS)} | set(captions.COLOUR_NAMES)
    for phrase, target in synonyms.items():
        kept = target.split(" ")
        assert " ".join(words(target)) in targets or (kept[0] in captions.COLOUR_NAMES and " ".join(words(" ".join(kept[1:]))) in targets), (phrase, target)
    assert 250 < len(synonyms) < 600


def test_real_words_one_letter_from_a_known_word_are_not_typos(wordnet):
    near = lexicon.real_words_near({"red", "coat", "blue", "dress"}, wordnet)
    assert {"bed", "rod", "coal", "boat", "blur", "tress"} <= set(near)
    assert not {"red", "coat", "rde", "dres"} & set(near)


def test_real_words_whose_singular_form_is_one_letter_from_a_known_word_are_not_typos(wordnet):
    """"rabies" read as "raby", a typo of "ruby" (red), and "tongs" as "tong", of "long": real
    words, listed now, and kept by `Tokenizer.fit`, which then leaves them unknown."""
    near = lexicon.real_words_near({"ruby", "long", "dress"}, wordnet)
    assert {"rabies", "tongs"} <= set(near) and not {"rubies", "longs", "dresses"} & set(near)  # plurals of known words read as those
    shop = Tokenizer.fit(["a ruby dress", "a long dress"], not_typos=near)
    assert {"rabies", "tongs"} <= set(shop.not_typos)
    assert shop.analyse("rabies tongs, a dress").unknown == ["rabies", "tongs"] and shop.analyse("a rubyy dres").words == ["ruby", "dress"]


def test_the_fashion_tokenizer_reads_the_golden_captions(tokenizer):
    expected = {
        "  show me   a PINK t-shirt, please  ": ["pink", "t", "shirt"],
        "red sneakers": ["red", "sneaker"],
        "Blue Jeans": ["blue", "trousers"],
        "a black t-shirt": ["t", "shirt"],
        "could you draw two crimson frocks?": ["red", "dress"],
        "a navy tee shirt": ["blue", "t", "shirt"],
        "sneakrs in bleu": ["sneaker"],
        "a yelow handbag": ["yellow", "handbag"],
        "running shoes, scarlet": ["sneaker", "red"],
        "my purse is lilac": ["bag", "purple"],
    }
    for caption, read in expected.items():
        assert tokenizer.analyse(caption).words == read, caption
    assert tokenizer.analyse("a black t-shirt").unknown == ["black"]
    assert tokenizer.analyse("sneakrs in bleu").unknown == ["bleu"]  # a WordNet word (blue cheese): not guessed
    spec = json.loads(json.dumps(tokenizer.spec(lexicon.GOLDEN_CAPTIONS)))
    assert [g["caption"] for g in spec["golden"] if "error" in g] == ["show me something nice", "12345 !!"]
    assert Tokenizer.from_spec(spec).synonyms == tokenizer.synonyms
    assert len(json.dumps(spec)) < 40_000  # card.json stays small


def test_reworded_captions_are_read_right_by_the_tokenizer_alone(tmp_path, fashion_dir):
    out = tmp_path / "wording.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "wording_t2i.py"), "--out", str(out), "--limit", "3000"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "| typos |" in result.stdout
    rows = {row["kind"]: row for row in json.loads(out.read_text())["rows"]}
    for kind in ("exact", "capitals", "punctuation", "spaces", "fillers", "plurals", "synonyms"):
        assert rows[kind]["v2"] >= 0.99, rows[kind]
    assert rows["typos"]["v2"] >= 0.8 and rows["typos"]["v2 longer words"] >= 0.85
    assert rows["fillers"]["v1"] == 0.0 and rows["plurals"]["v1"] < 0.2  # what the first published tokenizer read
