"""How often the text-to-image tokenizer alone reads a shopper's wording as the right garment and colour.

    .venv/bin/python scripts/wording_t2i.py --out wording-t2i.json

Every caption of the dataset's phrasings (training and held-out templates, every class noun,
all 80 (class, colour) pairs) is reworded one way at a time, with a fixed seed:

- capitals: UPPER, Title or rAnDoM case;
- punctuation: "!", "?", "...", commas, quotes, hyphens between words;
- spaces: runs of spaces and tabs, leading and trailing;
- fillers: what people put around a request ("show me", "could you draw", "I'd like", "please");
- plurals: the garment noun in the plural ("dresses", "t-shirts", "ankle boots");
- typos: one letter inserted, deleted, replaced or two swapped in the garment noun or colour
  (also split by the word's length: "red", "tee", "top", "bag" have three letters, and a deleted
  letter leaves two, fewer than the tokenizer corrects);
- synonyms: the garment or colour replaced by an everyday word from `SHOPPER_WORDS`, a list
  written for this measurement. The tokenizer's map is WordNet's expansion plus a hand list
  written by the same hand, so this row is also measured with each half alone.

A caption is read right when the tokenizer's words name exactly its class and its colour
(the class nouns' words, the colour names) and nothing is fed as `<unk>`. The v2 tokenizer
(`zoo.lexicon.shopper_rules`) is compared with the v1 tokenizer of the first published model
(exact vocabulary words, unknown words fed as `<unk>`), both fitted on the training captions.
Prints a table and writes JSON.
"""

import argparse
import json
import string

import numpy as np

from zoo import captions, lexicon
from zoo.files import atomic_write_text
from zoo.text import UNK_TOKEN, Tokenizer, TokenizerV1, words

FILLER_PREFIXES = ("show me", "could you draw", "please draw", "I'd like", "I want", "can I see", "give me a picture of", "generate", "find me")
FILLER_SUFFIXES = ("please", "thanks", "for me", "please!")
PLURALS = {"dress": "dresses", "trousers": "trousers", "pants": "pants", "sandals": "sandals", "trainers": "trainers"}
SHOPPER_WORDS = {  # everyday words for each class and colour, written for this measurement
    "t-shirt/top": ("tee shirt", "tshirt", "tank top", "jersey", "crop top", "halter"),
    "trouser": ("jeans", "slacks", "chinos", "sweatpants", "joggers", "corduroys", "trouser"),
    "pullover": ("sweatshirt", "hoodie", "cardigan", "turtleneck", "knitwear"),
    "dress": ("frock", "sundress", "evening gown", "cocktail dress", "ball gown", "shirtdress"),
    "coat": ("parka", "raincoat", "blazer", "overcoat", "anorak", "trench coat", "puffer jacket", "windbreaker"),
    "sandal": ("flip flops", "espadrilles", "flip-flop"),
    "shirt": ("polo shirt", "dress shirt", "button-down", "work shirt"),
    "sneaker": ("running shoes", "tennis shoes", "trainer", "gym shoes", "plimsolls", "sneakers"),
    "bag": ("purse", "tote", "backpack", "clutch", "shoulder bag", "pocketbook", "rucksack"),
    "ankle boot": ("booties", "chelsea boots", "combat boots", "wellingtons"),
    "red": ("crimson", "scarlet", "maroon", "burgundy", "cherry", "ruby"),
    "orange": ("tangerine", "orangish"),
    "yellow": ("gold", "mustard", "lemon", "golden", "canary"),
    "green": ("emerald", "olive", "lime", "teal", "mint", "jade"),
    "blue": ("navy", "sky blue", "azure", "cobalt", "turquoise", "royal blue"),
    "purple": ("violet", "lavender", "lilac", "mauve", "plum", "indigo"),
    "pink": ("rose", "fuchsia", "coral", "salmon", "blush", "pinkish"),
    "white": ("ivory", "cream", "off-white", "pearl", "snow white"),
}
KINDS = ("exact", "capitals", "punctuation", "spaces", "fillers", "plurals", "typos", "synonyms")


def base_prompts():
    """(caption, class id, colour id, noun, template) for every template, class noun and pair."""
    prompts = []
    for template in captions.TRAIN_TEMPLATES + captions.HELD_OUT_TEMPLATES:
        for label, nouns in enumerate(captions.CLASS_NOUNS):
            for noun in nouns:
                for colour, colour_name in enumerate(captions.COLOUR_NAMES):
                    prompts.append((template.format(colour=colour_name, noun=noun), label, colour, noun, template))
    return prompts


def plural(noun):
    head, _, last = noun.rpartition(" ")
    last = PLURALS.get(last, last + ("es" if last.endswith(("s", "sh", "ch")) else "s"))
    return f"{head} {last}".strip()


def typo(word, rng):
    """One random Damerau-Levenshtein edit of `word` (insert, delete, replace, swap)."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    i = int(rng.choice(letters))
    kind = rng.choice(["insert", "delete", "replace", "swap"] if i + 1 < len(word) and word[i + 1].isalpha() else ["insert", "delete", "replace"])
    other = rng.choice([c for c in string.ascii_lowercase if c != word[i]])
    if kind == "insert":
        return word[:i] + other + word[i:]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "replace":
        return word[:i] + other + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def reword(kind, caption, label, colour, noun, template, rng):
    """`caption` reworded one `kind` of way; returns (text, detail) where detail names the word changed."""
    colour_name = captions.COLOUR_NAMES[colour]
    if kind == "exact":
        return caption, None
    if kind == "capitals":
        style = rng.integers(3)
        return (caption.upper() if style == 0 else caption.title() if style == 1 else "".join(c.upper() if rng.random() < 0.5 else c for c in caption)), None
    if kind == "punctuation":
        text = caption.replace(" ", rng.choice([" ", "-", ", ", " - "]), 1)
        return rng.choice(["", '"', "("]) + text + rng.choice(["!", "?", "...", ".", "!!", ")"]), None
    if kind == "spaces":
        gaps = caption.split(" ")
        return rng.choice(["", "  ", "\t"]) + "".join(g + (" " * int(rng.integers(1, 4)) if i < len(gaps) - 1 else "") for i, g in enumerate(gaps)) + "   ", None
    if kind == "fillers":
        return f"{rng.choice(FILLER_PREFIXES)} {caption} {rng.choice(FILLER_SUFFIXES)}", None
    if kind == "plurals":
        text = template.format(colour=colour_name, noun=plural(noun))
        return (text[2:] if text.startswith("a ") else text), None
    if kind == "typos":
        word = noun.split(" ")[-1] if rng.random() < 0.5 else colour_name
        changed = typo(word, rng)
        text = template.format(colour=colour_name if word != colour_name else changed, noun=noun if word == colour_name else noun.replace(word, changed))
        return text, word
    if kind == "synonyms":
        replace_colour = rng.random() < 0.5
        word = rng.choice(SHOPPER_WORDS[colour_name if replace_colour else captions.CLASS_NAMES[label]])
        text = template.format(colour=word if replace_colour else colour_name, noun=noun if replace_colour else word)
        return text, word
    raise ValueError(kind)


def attributes(read_words):
    """The classes and colours a reading names: class nouns' words (longest first) and colour names."""
    nouns = sorted(((tuple(words(noun)), label) for label, ns in enumerate(captions.CLASS_NOUNS) for noun in ns), key=lambda p: -len(p[0]))
    classes, colours, i = set(), set(), 0
    while i < len(read_words):
        for noun, label in nouns:
            if tuple(read_words[i : i + len(noun)]) == noun:
                classes.add(label)
                i += len(noun)
                break
        else:
            if read_words[i] in captions.COLOUR_NAMES:
                colours.add(captions.COLOUR_NAMES.index(read_words[i]))
            i += 1
    return classes, colours


def read_right(tokenizer, text, label, colour):
    try:
        read_words = tokenizer.analyse(text, truncate=True).words
    except ValueError:
        return False
    return UNK_TOKEN not in read_words and attributes(read_words) == ({label}, {colour})


def measure(seed=0, limit=None):
    data = captions.colourised_fashion_mnist("train", seed=seed, limit=limit)
    wn = lexicon.open_wordnet()
    rules = lexicon.shopper_rules(wordnet=wn)
    tokenizers = {
        "v1": TokenizerV1.fit(data.captions, max_length=12),
        "v2": Tokenizer.fit(data.captions, max_length=12, **rules),
    }
    halves = {
        "WordNet map alone": lexicon.wordnet_synonyms(wordnet=wn),
        "hand list alone": {" ".join(words(k)): v for k, v in lexicon.EVERYDAY_SYNONYMS.items()},
    }
    rng = np.random.default_rng(seed)
    prompts = base_prompts()
    rows, examples = [], {}
    for kind in KINDS:
        reworded = [(reword(kind, *prompt, rng), prompt) for prompt in prompts]
        row = {"kind": kind, "prompts": len(reworded)}
        for name, tokenizer in tokenizers.items():
            right = [read_right(tokenizer, text, label, colour) for (text, _), (_, label, colour, _, _) in reworded]
            row[name] = round(float(np.mean(right)), 4)
            if name == "v2":
                examples[kind] = [text for ((text, _), _), ok in zip(reworded, right) if not ok][:8]
                if kind == "typos":
                    for short in (True, False):
                        chosen = [ok for ((_, word), _), ok in zip(reworded, right) if (len(word) <= 3) == short]
                        row[f"v2 {'3-letter' if short else 'longer'} words"] = round(float(np.mean(chosen)), 4)
                if kind == "synonyms":
                    for half, synonyms in halves.items():
                        alone = Tokenizer.fit(data.captions, max_length=12, **{**rules, "synonyms": synonyms})
                        row[f"v2 {half}"] = round(float(np.mean([read_right(alone, t, l, c) for (t, _), (_, l, c, _, _) in reworded])), 4)
        rows.append(row)
    return {"rows": rows, "misread_examples_v2": examples, "seed": seed, "training_captions": len(data), "synonyms": len(tokenizers["v2"].synonyms), "not_typos": len(tokenizers["v2"].not_typos)}


def format_table(result):
    lines = ["| wording | prompts | v1 (exact words) | v2 (shopper rules) |", "| --- | ---: | ---: | ---: |"]
    for row in result["rows"]:
        extra = "".join(f"; {k[3:]}: {v:.3f}" for k, v in row.items() if k.startswith("v2 "))
        lines.append(f"| {row['kind']} | {row['prompts']} | {row['v1']:.3f} | {row['v2']:.3f}{extra} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="wording-t2i.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="fit the tokenizers on the first N training garments' captions")
    args = parser.parse_args(argv)
    result = measure(args.seed, args.limit)
    print(format_table(result))
    for kind, texts in result["misread_examples_v2"].items():
        if texts:
            print(f"misread ({kind}): " + " | ".join(texts))
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
