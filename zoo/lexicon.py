"""What shoppers type, mapped onto the captions of colourised Fashion-MNIST: synonyms from
WordNet 3.0 and a short hand list, the keywords, and the real words that are not typos.

Used when a text-to-image model is built (`Tokenizer.fit(captions, **shopper_rules())`); the
result is plain data in the tokenizer's spec (card.json), so sampling, Node and the browser need
no WordNet. WordNet is read offline from Debian's `wordnet-base` package (/usr/share/wordnet,
installed by scripts/install_system_packages.sh) with nltk's WordNet reader; nothing is
downloaded.

How `wordnet_synonyms` expands the garments and colours (WordNet 3.0, Fellbaum 1998):

- each class noun ("t-shirt", "top", "dress", "gown" ...) stands for its most frequent noun
  sense under clothing, footwear or the handbag sense of "bag" (`GARMENT_ROOTS`); each colour
  name for its most frequent noun sense under `color.n.01`, and its first adjective sense
  ("red, reddish, crimson, scarlet ..."); `EXCLUDED_SENSES` are skipped ("pants" as underwear);
- the lemmas of those senses (synonyms) and of all their hyponyms (kinds of: "frock", "sundress",
  "navy", "vermilion") map to the class's first noun or the colour name;
- a lemma reached from two classes or colours goes to the nearer one (fewest hyponym steps:
  "tee shirt" is a T-shirt, not the "shirt" it is a kind of); a tie drops it ("turtleneck" is
  both a jersey and a sweater); the dataset's own nouns and colour names, fillers, and
  `EXCLUDED_WORDS` (a checked list of howlers: fabrics, animals, places) are left out;
- a garment phrase that names a colour keeps it: "blue jean" → "blue trousers".

`EVERYDAY_SYNONYMS` adds shopper words WordNet lacks or files elsewhere ("hoodie", "backpack",
"tank top", "lilac") and wins over WordNet.
"""

import functools
import io
import re
import warnings
from pathlib import Path

from zoo.captions import CLASS_NOUNS, COLOUR_NAMES
from zoo.text import FILLERS, MIN_TYPO_LENGTH, one_edit_neighbours, typo_forms, words

WORDNET_DIR = Path("/usr/share/wordnet")  # Debian's wordnet-base: WordNet 3.0 database files
GARMENT_ROOTS = ("clothing.n.01", "footwear.n.02", "bag.n.04")
COLOUR_ROOT = "color.n.01"
EXCLUDED_SENSES = ("bloomers.n.01",)  # "pants" as women's underpants
EXCLUDED_WORDS = {  # WordNet lemmas whose everyday sense is not the garment or colour they would map to
    # fabrics: "a denim jacket", "a flannel shirt" name the cloth, not trousers
    "denim": "fabric", "flannel": "fabric", "gabardine": "fabric", "tweed": "fabric", "hessian": "fabric",
    "straw": "material", "bleach": "substance",
    # other everyday senses first
    "afghan": "blanket, dog", "mink": "animal", "lumberjack": "person", "topper": "hat", "mac": "computer",
    "mack": "truck", "chesterfield": "sofa", "newmarket": "town", "ulster": "province", "prince albert": "person",
    "banian": "tree", "banyan": "tree", "swallowtail": "butterfly", "cutaway": "diagram", "mantua": "city",
    "polonaise": "dance", "pusher": "drug dealer", "knickers": "underwear (British)", "thong": "underwear",
    # adjectives and common words that name no garment by themselves
    "waterproof": "adjective", "formal": "adjective", "strapless": "adjective", "shift": "common word",
}
EVERYDAY_SYNONYMS = {  # shopper words WordNet 3.0 lacks or files under another class
    "tshirt": "t-shirt", "tank top": "t-shirt", "tank": "t-shirt", "crop top": "t-shirt",
    "camisole": "t-shirt", "cami": "t-shirt", "vest top": "t-shirt",
    "joggers": "trousers", "jogging bottoms": "trousers", "leggings": "trousers", "pant": "trousers",
    "hoodie": "pullover", "hoody": "pullover", "turtleneck": "pullover", "polo neck": "pullover", "crew neck": "pullover",
    "crewneck": "pullover", "knitwear": "pullover",
    "puffer": "coat", "puffer jacket": "coat", "trench": "coat", "rain jacket": "coat", "overcoat": "coat",
    "flipflop": "sandal", "flip flop": "sandal",
    "polo": "shirt", "button down": "shirt", "button up": "shirt",
    "trainer": "trainers", "running shoe": "sneaker", "running trainer": "sneaker", "sport shoe": "sneaker",
    "sports shoe": "sneaker", "athletic shoe": "sneaker", "kicks": "sneaker",
    "tote": "bag", "tote bag": "bag", "backpack": "bag", "rucksack": "bag", "knapsack": "bag", "satchel": "bag",
    "shopping bag": "bag", "holdall": "bag", "carryall": "bag", "purse": "bag",
    "bootie": "ankle boot", "chelsea boot": "ankle boot", "welly": "ankle boot",
    "lilac": "purple", "plum": "purple", "fuchsia": "pink", "fuschia": "pink", "salmon": "pink", "rosy": "pink", "blush": "pink",
    "lime": "green", "mint": "green", "olive": "green", "cream": "white", "snow white": "white",
    "golden": "yellow", "mustard": "yellow", "cobalt": "blue",
}
# Checked by the tests and printed in card.json: capitals, punctuation, spaces, fillers, plurals,
# typos, synonyms (one word and phrases), unknown words, and two captions to refuse.
GOLDEN_CAPTIONS = (
    "a red dress",
    "Ankle boot, BLUE!",
    "  show me   a PINK t-shirt, please  ",
    "red sneakers",
    "Blue Jeans",
    "a black t-shirt",
    "could you draw two crimson frocks?",
    "a navy tee shirt",
    "sneakrs in bleu",
    "a yelow handbag",
    "running shoes, scarlet",
    "a zebra-striped hat in green",
    "my purse is lilac",
    "dresses #2 in pink",
    "show me something nice",
    "12345 !!",
)


def open_wordnet(directory=WORDNET_DIR):
    """nltk's WordNet reader on the database files of `directory` (Debian's wordnet-base).

    Debian ships the WordNet 3.0 database without its `lexnames` file (the 45 lexicographer
    file names of lexnames(5WN)), which nltk's reader opens first; `_DebianWordNet` supplies it.
    """
    directory = Path(directory)
    if not (directory / "data.noun").is_file():
        raise FileNotFoundError(
            f"WordNet 3.0 is not installed at {directory}: install Debian's wordnet-base (scripts/install_system_packages.sh) "
            "or pass the folder of WordNet's database files."
        )
    return _wordnet(str(directory.resolve()))


@functools.lru_cache(maxsize=2)
def _wordnet(directory):
    import nltk.data
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _DebianWordNet(WordNetCorpusReader):
        def open(self, fileid):
            if fileid == "lexnames":
                return io.StringIO("".join(f"{i:02d}\t{name}\t{LEXNAME_CATEGORIES[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES)))
            return super().open(fileid)

        def map_wn(self, version="wordnet"):
            return None  # this is WordNet 3.0 itself: nothing to map onto it (nltk would load its own copy)

    if directory not in nltk.data.path:
        nltk.data.path.append(directory)  # nltk reads only from folders on its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "multilingual functions are not available": not used here
        return _DebianWordNet(directory, None)


LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body noun.cognition "
    "noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive noun.object noun.person "
    "noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption "
    "verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative "
    "verb.weather adj.ppl"
).split()
LEXNAME_CATEGORIES = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def wordnet_synonyms(class_nouns=CLASS_NOUNS, colour_names=COLOUR_NAMES, wordnet=None):
    """{phrase: the class's first noun or the colour name} from WordNet (module doc), e.g.
    {"frock": "dress", "crimson": "red", "navy": "blue", "slacks": "trousers", "blue jean": "blue trousers"}."""
    wn = wordnet or open_wordnet()
    garment_roots = {wn.synset(name) for name in GARMENT_ROOTS}
    colour_root = {wn.synset(COLOUR_ROOT)}
    best = {}  # phrase -> (hyponym steps, target or None when two targets tie)

    def add(lemma, target, steps):
        phrase = " ".join(words(lemma.replace("_", " ")))
        if phrase and (phrase not in best or steps < best[phrase][0]):
            best[phrase] = (steps, target)
        elif phrase and steps == best[phrase][0] and best[phrase][1] != target:
            best[phrase] = (steps, None)

    def expand(seed, target):
        frontier, seen = [(seed, 0)], set()
        while frontier:
            synset, steps = frontier.pop(0)
            if synset in seen:
                continue
            seen.add(synset)
            for lemma in synset.lemma_names():
                add(lemma, target, steps)
            frontier += [(hyponym, steps + 1) for hyponym in synset.hyponyms() + synset.instance_hyponyms()]

    for nouns in class_nouns:
        for noun in nouns:
            seed = _first_sense(wn, noun, "n", garment_roots)
            if seed is not None:
                expand(seed, nouns[0])
    for colour in colour_names:
        seed = _first_sense(wn, colour, "n", colour_root)
        if seed is not None:
            expand(seed, colour)
        adjectives = [s for s in wn.synsets(colour) if s.pos() in "as" and s.name() not in EXCLUDED_SENSES]
        if adjectives:
            for lemma in adjectives[0].lemma_names():
                add(lemma, colour, 0)
            for satellite in adjectives[0].similar_tos() if adjectives[0].pos() == "a" else ():
                for lemma in satellite.lemma_names():
                    add(lemma, colour, 1)

    dataset_words = {" ".join(words(noun)) for nouns in class_nouns for noun in nouns} | set(colour_names)
    colours = set(colour_names)
    synonyms = {}
    for phrase, (_, target) in sorted(best.items()):
        if target is None or phrase in dataset_words or phrase in FILLERS or phrase in EXCLUDED_WORDS:
            continue
        kept_colours = [word for word in phrase.split() if word in colours] if target not in colours else []
        synonyms[phrase] = " ".join([*kept_colours, target])
    return synonyms


def _first_sense(wn, word, pos, roots):
    """The most frequent `pos` sense of `word` that is one of `roots` or below one."""
    for synset in wn.synsets(word.replace(" ", "_").replace("-", "_"), pos) or wn.synsets(word.replace(" ", "_"), pos):
        if synset.name() in EXCLUDED_SENSES:
            continue
        if synset in roots or roots & set(synset.closure(lambda s: s.hypernyms())):
            return synset
    return None


def real_words_near(known_words, wordnet=None, min_length=MIN_TYPO_LENGTH):
    """The WordNet lemmas (one word, any part of speech) not known themselves that the tokenizer
    would correct as a typo: one letter from a word of `known_words` ("bed", "coal", "blur" are
    words, not typos of "red", "coat", "blue"), or with a singular form that is (`typo_forms`:
    "rabies" is not "raby", a typo of "ruby"). They become the tokenizer's `not_typos` (which
    also guard their plurals: the tokenizer checks a word's singular forms too)."""
    wn = wordnet or open_wordnet()
    known = set(known_words)
    lemmas = {name.lower() for pos in "nvar" for name in wn.all_lemma_names(pos) if re.fullmatch("[A-Za-z]+", name)}
    near = {edit for word in known for edit in one_edit_neighbours(word) if len(edit) >= min_length} - known
    return sorted(lemma for lemma in lemmas - known if any(form in near for form in [lemma, *typo_forms(lemma)]))


def shopper_rules(class_nouns=CLASS_NOUNS, colour_names=COLOUR_NAMES, wordnet=None):
    """The keyword arguments of `Tokenizer.fit` for Fashion-MNIST captions: synonyms (WordNet and
    `EVERYDAY_SYNONYMS`), keywords (the class nouns' words and colour names) and not_typos."""
    wn = wordnet or open_wordnet()
    synonyms = {**wordnet_synonyms(class_nouns, colour_names, wn), **{" ".join(words(k)): v for k, v in EVERYDAY_SYNONYMS.items()}}
    keywords = sorted({word for nouns in class_nouns for noun in nouns for word in words(noun) if len(word) > 1} | set(colour_names))
    known = set(keywords) | set(FILLERS) | {word for phrase in synonyms for word in phrase.split()}
    known |= {word for nouns in class_nouns for noun in nouns for word in words(noun)}
    return {"synonyms": synonyms, "keywords": keywords, "not_typos": real_words_near(known, wn)}
