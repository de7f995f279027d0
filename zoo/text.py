"""The caption tokenizer of the text-to-image models: plain rules, shipped with the artifact.

Pure Python and numpy (no TensorFlow, no WordNet), so that `zoo.runtime` and apps in other
languages tokenize exactly as training did. `Tokenizer.spec()` writes the rules and all their
data into card.json ("ganzoo-words-v2"); `Tokenizer.from_spec()` reads them back, and still
reads the plain word tokenizer of older artifacts ("ganzoo-words-v1", `TokenizerV1`).

The rules of "ganzoo-words-v2", in order, map what a shopper types onto the vocabulary:

1. lowercase the caption and delete apostrophes (' ’ ‘ `), so "don't" is one word;
2. words are the runs of letters a-z: everything else (punctuation, digits, hyphens, extra
   spaces) separates words, so "T-shirt, RED!!" gives ["t", "shirt", "red"];
3. each word is *read* as a known word. Standalone words are the vocabulary, the fillers and the
   one-word synonyms; phrase words are the other words of synonym phrases ("running" of
   "running shoe"). A word reads as itself or its first singular form (-ies → -y, -es → -,
   -s → -: "dresses" → "dress", "bags" → "bag") that is standalone, else that is a phrase word.
   Otherwise, when the word or a singular form has at least `min_typo_length` letters and none
   of its forms is listed in `not_typos` (real words such as "bed" or "coal", which are not
   typos of "red" or "coat"), it reads as the one standalone word (else the one phrase word) at
   Damerau-Levenshtein distance 1 from its first form that has one: one letter inserted,
   deleted, replaced, or two neighbours swapped ("sneakr" → "sneaker", "yelow" → "yellow").
   The forms tried here are the word and the singular forms English spelling allows: -es → -
   after s, x, z, ch or sh alone, -s → - not after s or u ("minus" is no plural "minu", a typo
   of "mint": `typo_forms`). A
   match that is a plural of another match does not count ("sandasl": "sandal", not also
   "sandals"); two matches left make the word ambiguous ("purle": "purple" or "purse"). An
   ambiguous or unmatched word stays unknown, and so does one whose match is a filler (it
   would be dropped anyway: "hat" is reported as ignored, not as a typo of "that");
4. synonym phrases are replaced, longest first, left to right: "tee shirt" → "t shirt",
   "crimson" → "red", "blue jeans" → "blue trousers" (`synonyms`: phrase → vocabulary words);
5. fillers ("show", "me", "please", "a", "the", "picture", "of" ...: `FILLERS`) are dropped,
   and so are the words still unknown: those are *reported* (`analyse(caption).unknown`,
   printed by the CLI and the apps), never fed to the model as `<unk>`;
6. each remaining word becomes its index in `vocabulary` (0 is padding, 1 the unused `<unk>`),
   padded with 0 on the right to `max_length`.

A caption is refused with a ValueError when it holds no letters, when none of its words is a
keyword (the garment and colour words: a prompt without them would draw something random), or
when it reads as more than `max_length` words (unless `truncate=True`: the first are kept, and
the note lists the words cut; then a keyword must be among the words kept).
Refusals and notes quote at most 60 characters of a caption and list at most 10 of its words
(`quoted`, `listed`), so a caption of thousands of characters gives a message of one short line.
No rule folds other letters into a-z: "ｒｅｄ ｄｒｅｓｓ", typed in full-width letters, holds no word, and
its refusal names each character not read, with what to type ("'ｒ' U+FF52 FULLWIDTH LATIN SMALL
LETTER R (type r)": `not_read`).

The note (`Analysis.note()`) also tells, as advice that never changes the ids, what a caption asks
that the model cannot draw: a negation ignored ("not red" draws red: `NEGATIONS`), words with
letters outside a-z ("café", of which only "caf" is read; "ｓｈｉｒｔ", to be typed "shirt"), U+FFFD
(bytes that were not UTF-8), numbers ("2 shirts"), and two or more
garments or colours, given the tokenizer's `garments` and `colours` (card.json's `class_nouns` and
`colours`). Its typos are those the ids hold: "ess", read as "mess" of "mess jacket" with no
"jacket" after it, is dropped by rule 5 and told as an unknown word alone (`Analysis.typos`).

```python
tokenizer = Tokenizer.fit(["a red dress", "a blue coat"], max_length=4, synonyms={"frock": "dress", "crimson": "red"})
tokenizer.encode("Show me two CRIMSON frocks, please")   # [red, dress, 0, 0] as ids
tokenizer.analyse("a crimsn dress with pockets")         # words red dress; typo crimsn → crimson; unknown: pockets
Tokenizer.from_spec(tokenizer.spec())                    # the same tokenizer, from card.json's "tokenizer"
shop = Tokenizer.from_spec(card["tokenizer"], card["class_nouns"], card["colours"])  # with the card's garments and colours
shop.analyse("a red dress, not a coat").note()          # "Read … as 'red dress coat' (negation ignored: not — the model
                                                         # cannot leave anything out; several garments: dress, coat — …)."
```

`zoo.lexicon` builds the synonyms (WordNet 3.0 and a hand list), keywords and `not_typos` of
the colourised Fashion-MNIST captions.
"""

import bisect
import collections
import collections.abc
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from zoo.validation import check_int

PAD_ID = 0
UNK_ID = 1
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
WORD_PATTERN = "[a-z]+"
APOSTROPHES = "'’‘`"
SPEC_TYPE = "ganzoo-words-v2"
SPEC_TYPE_V1 = "ganzoo-words-v1"
MAX_CAPTION_CHARS = 10_000  # longer strings are not captions: refused before any work
PLURAL_SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""))  # (ending, replacement), tried in this order
ES_PLURAL_AFTER = ("s", "x", "z", "ch", "sh")  # for typos, -es is a plural ending after these alone ("boxes"; "minutes" is "minute" + s) ...
S_SINGULAR_AFTER = ("s", "u")  # ... and -s none after these: "dress", "minus", "bus" are no plurals (`typo_forms`)
MIN_TYPO_LENGTH = 3  # two-letter words have too many neighbours to correct ("an" → "in", "on", "a")
QUOTED_CHARS = 60  # a message quotes at most this much of a caption (`quoted`) ...
LISTED_WORDS = 10  # ... and lists at most this many of its words (`listed`): a pasted page stays a line
NEGATIONS = frozenset(  # unknown words the note calls out: the model cannot draw "not red", it draws red
    "no not non nor neither never none without except dont doesnt isnt arent cant cannot wont".split()
)
REPLACEMENT_CHARACTER = "\ufffd"  # what a decoder puts for bytes that are not UTF-8 (Node's argv, a URL's %FF, `python -m zoo sample`)
NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"  # decimal digits (Unicode Nd, as JavaScript's \p{Nd}): "2", "1,000", "3.5"
NUMBER_WORDS = frozenset(  # unknown words the note tells as numbers ("one" is a filler)
    "two three four five six seven eight nine ten eleven twelve twenty dozen hundred thousand".split()
)
FILLERS = tuple(
    """
    a an the some any this that these those one ones my your our his her their its me i we you us it
    show give draw paint make generate create render sketch display get find see want need like would
    could can will please pls plz let lets look looking search for buy wear wearing hi hello thanks thank
    picture pictures photo photos photograph image images pic pics drawing illustration sample samples
    example examples item items product thing something
    of in on with and or to is are be was which
    colour color coloured colored colours colors shade kind type style pair pairs just only also very really
    """.split()
)



def shared_spec(max_length):
    """What card.json says the same way for both tokenizer versions: words, ids, length limits."""
    return {
        "word_pattern": WORD_PATTERN,
        "pad_id": PAD_ID,
        "unk_id": UNK_ID,
        "max_length": max_length,
        "over_length": "error (the Python tokenizer's truncate=True keeps the first max_length words)",
        "empty": "error: a caption must hold at least one word",
    }

class PromptWarning(UserWarning):
    """How a prompt was read when it was not word for word: typos fixed, synonyms replaced,
    unknown words, negations, other letters and numbers ignored, several garments or colours
    named (`Analysis.note()`)."""


@dataclass
class Analysis:
    """How a tokenizer read one caption.

    Attributes:
        caption: the caption as given.
        words: the vocabulary words the ids stand for, in order.
        ids: `max_length` token ids (`words` as ids, padded with 0).
        corrections: (typed, read as) pairs of the one-letter typos fixed (rule 3), whatever
            rules 4 and 5 then do with the word read.
        synonyms: (phrase as read, vocabulary words) pairs of the synonyms replaced.
        unknown: the typed words dropped because they are not known (reported, not fed).
        keywords: the words of `words` that name a garment or colour (all known words when
            the tokenizer has no keyword list).
        typos: the pairs of `corrections` that the note lists as typos: those whose word read
            the ids (or `cut`) hold, as itself or through a synonym. A typo read as a word of a
            synonym phrase that no phrase then takes ("ess" → "mess", of "mess jacket") is
            dropped as unknown (rule 5), and the note tells it as such, not as a correction.
        ignored: the words of `unknown` that the note lists as unknown: less the negations, the
            number words and the pieces of the `outside` words.
        negations: the words of `unknown` that negate (`NEGATIONS`: "not", "without" ...).
        outside: the typed words (runs of letters and marks) holding a letter outside a-z, such
            as "café": only their runs of a-z are read ("caf").
        numbers: the numbers typed, in digits ("2" of "2 shirts") or unknown words (`NUMBER_WORDS`:
            "two" of "two shirts"), in the caption's order; none is read.
        garments: one noun for each different garment `words` name ("dress", "shirt"), when the
            tokenizer knows the garments (card.json's `class_nouns`).
        colours: each different colour `words` name, when the tokenizer knows the colours.
        cut: the words read past `max_length` that `truncate=True` left out of `words` and the
            ids; the note lists them, so that its typos, synonyms and unknown words, which are
            those of the whole caption, tell what became of each word typed.

    `ids`, `unknown` and `corrections` are the contract (card.json's golden entries); the rest
    is advice for people, gathered in `note()`.
    """

    caption: str
    words: list
    ids: list
    corrections: list = field(default_factory=list)
    synonyms: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    keywords: list = field(default_factory=list)
    typos: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    negations: list = field(default_factory=list)
    outside: list = field(default_factory=list)
    numbers: list = field(default_factory=list)
    garments: list = field(default_factory=list)
    colours: list = field(default_factory=list)
    cut: list = field(default_factory=list)

    def note(self):
        """One line for people on what was corrected, replaced, ignored or cannot be drawn as
        asked; "" if nothing was. Each port writes it word for word alike (ganzoo.mjs's `note`)."""
        parts = []
        if self.typos:
            parts.append("typos " + listed(f"{typed}→{read}" for typed, read in self.typos))
        if self.synonyms:
            parts.append("synonyms " + listed(f"{typed}→{read}" for typed, read in self.synonyms))
        if self.cut:  # truncate=True, in Python alone: the apps refuse an over-long caption
            parts.append(f"words past the first {len(self.words)} cut: {listed(self.cut, ' ')}")
        if self.ignored:
            parts.append("unknown words ignored: " + listed(self.ignored))
        if self.negations:
            parts.append(f"negation ignored: {listed(self.negations)} — the model cannot leave anything out")
        if self.outside:
            parts.append("letters outside a-z not read: " + listed(map(with_ascii_form, self.outside)))
        if REPLACEMENT_CHARACTER in self.caption:
            parts.append(f"replacement characters not read: {self.caption.count(REPLACEMENT_CHARACTER)} × {REPLACEMENT_CHARACTER} — bytes that were not UTF-8")
        if self.numbers:
            parts.append(f"numbers ignored: {listed(self.numbers)} — the number of images is set separately")
        several = [f"several {kind}: {listed(named)}" for kind, named in (("garments", self.garments), ("colours", self.colours)) if len(named) > 1]
        if several:
            one = " in ".join(what for what, named in (("one garment", self.garments), ("one colour", self.colours)) if len(named) > 1)
            parts.append(f"{'; '.join(several)} — the model draws {one} per image")
        if not parts:
            return ""
        return f"Read {quoted(self.caption)} as {' '.join(self.words)!r} ({'; '.join(parts)})."


class Tokenizer:
    """Maps captions to fixed-length int64 token ids by the "ganzoo-words-v2" rules (module doc).

    Args:
        vocabulary: the words, with `vocabulary[0] == "<pad>"` and `vocabulary[1] == "<unk>"`.
        max_length: T, the number of ids per caption.
        synonyms: {phrase: replacement}, both strings of words; a replacement's words must be in
            the vocabulary, and a one-word phrase must not be a vocabulary word.
        keywords: the vocabulary words that name what to draw (garments, colours); a caption
            needs at least one. None: every vocabulary word is a keyword. Keywords outside the
            vocabulary are ignored (a small training set may lack some).
        fillers: words dropped silently (default `FILLERS`); a vocabulary word is never a filler.
        not_typos: real words that are never corrected as typos of a known word.
        min_typo_length: the fewest letters a word (or its singular form) needs to be corrected
            as a typo; 0 turns typo correction off.
        garments: the nouns of each garment, as card.json's `class_nouns` ([["dress", "gown"],
            ["coat", "jacket"], ...]), so that the note names the different garments a caption
            asks for. Advice only: the ids never depend on it, and it is not part of `spec()`.
        colours: the colour names (card.json's `colours`), for the same note on colours.
    """

    spec_type = SPEC_TYPE

    def __init__(self, vocabulary, max_length, synonyms=None, keywords=None, fillers=FILLERS, not_typos=(), min_typo_length=MIN_TYPO_LENGTH, garments=None, colours=None):
        self.vocabulary = check_vocabulary(vocabulary)
        self.max_length = check_int("max_length", max_length, 1, 1024)
        self.ids = {word: index for index, word in enumerate(self.vocabulary)}
        vocabulary_words = set(self.vocabulary[2:])
        self.fillers = sorted(set(check_words(fillers, "filler")) - vocabulary_words)
        self.synonyms = {}
        for phrase, replacement in dict(synonyms or {}).items():
            key, value = " ".join(words(phrase)), words(replacement) if isinstance(replacement, str) else None
            if not key or not value:
                raise ValueError(f"Synonym {phrase!r} → {replacement!r}: both must be words of letters a-z.")
            if key in vocabulary_words or key in self.fillers:
                raise ValueError(f"Synonym {phrase!r} is a vocabulary word or a filler itself: it cannot be replaced.")
            missing = [word for word in value if word not in vocabulary_words]
            if missing:
                raise ValueError(f"Synonym {phrase!r} → {replacement!r}: {missing} not in the vocabulary.")
            if value != key.split():
                self.synonyms[key] = " ".join(value)
        self.keywords = sorted(vocabulary_words if keywords is None else vocabulary_words & set(check_words(keywords, "keyword")))
        if not self.keywords:
            raise ValueError("None of the keywords is in the vocabulary: no caption could be drawn.")
        self.min_typo_length = check_int("min_typo_length", min_typo_length, 0, 100)
        self.standalone = vocabulary_words | set(self.fillers) | {phrase for phrase in self.synonyms if " " not in phrase}
        self.phrase_words = {word for phrase in self.synonyms for word in phrase.split()} - self.standalone
        self.known = self.standalone | self.phrase_words
        self.not_typos = sorted(set(check_words(not_typos, "not_typos entry")) - self.known)
        self._not_typos = set(self.not_typos)
        self._keyword_set = set(self.keywords)
        self._filler_set = set(self.fillers)
        self._longest_phrase = max((len(phrase.split()) for phrase in self.synonyms), default=1)
        self._readings = {}
        self.garments = check_nouns(garments, "garments", "lists of nouns, one list per garment (card.json's class_nouns)")
        self.colours = check_nouns(colours, "colours", "colour names (card.json's colours)", grouped=False)
        self._garment_phrases = noun_phrases(self.garments)
        self._colour_phrases = noun_phrases([[name] for name in self.colours])

    @classmethod
    def fit(cls, captions, max_length=None, min_count=1, synonyms=None, keywords=None, fillers=FILLERS, not_typos=(), min_typo_length=MIN_TYPO_LENGTH, garments=None, colours=None):
        """Builds the vocabulary of `captions`: their words after synonyms are replaced and
        fillers dropped, most frequent first, then alphabetical.

        `max_length` defaults to the most words a caption has after that. Synonyms whose
        replacement is not in the vocabulary, and `not_typos` words that are not one letter from
        a known word, nor have a singular form that is (`typo_forms`), are left out (so the spec
        holds only what can apply).
        """
        captions = list(captions)
        synonyms = {" ".join(words(k)): " ".join(words(v)) for k, v in dict(synonyms or {}).items()}
        fillers = set(check_words(fillers, "filler"))
        longest = max((len(phrase.split()) for phrase in synonyms), default=1)
        readings = [[w for w, _ in replace_phrases(words(caption), synonyms, longest)[0] if w not in fillers] for caption in captions]
        counts = collections.Counter(word for reading in readings for word in reading)
        kept = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise ValueError("The captions hold no words to build a vocabulary from (fillers do not count).")
        vocabulary = set(kept)
        synonyms = {k: v for k, v in synonyms.items() if set(v.split()) <= vocabulary and k not in vocabulary and k not in fillers}
        known = vocabulary | fillers | {word for phrase in synonyms for word in phrase.split()}
        near = {edit for word in known for edit in one_edit_neighbours(word) if len(edit) >= min_typo_length}
        not_typos = sorted(word for word in set(not_typos) - known if any(form in near for form in [word, *typo_forms(word)]))
        length = max_length or max(len(reading) for reading in readings)
        return cls([PAD_TOKEN, UNK_TOKEN, *kept], length, synonyms, keywords, tuple(fillers), not_typos, min_typo_length, garments, colours)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def analyse(self, caption, truncate=False):
        """How `caption` is read (an `Analysis`): its words, ids, corrections, synonyms and
        unknown words, and the advice of its note. Raises ValueError for a caption that cannot be
        drawn (module doc)."""
        text = plain_text(caption)
        spans = [match.span() for match in re.finditer(WORD_PATTERN, text)]
        typed = [text[start:end] for start, end in spans]
        kept, corrected, synonyms, unknown_at = self.read_words(caption, typed)
        corrections = [(typed[i], reading) for i, reading in corrected]
        unknown = [typed[i] for i in unknown_at]
        kept, cut = (kept[: self.max_length], kept[self.max_length :]) if truncate else (kept, [])
        keywords = [word for word in kept if word in self._keyword_set]  # of the words the ids hold, not of those cut
        if not keywords:
            ignored = f" (unknown words: {listed(unknown)})" if unknown else ""
            first = f" in the first {self.max_length} words, which truncate=True keeps (cut: {listed(cut, ' ')})" if cut else ""
            raise ValueError(
                f"Caption {quoted(caption)} names no garment or colour this model knows{first}{ignored}. "
                f"Use at least one of its words{' among the first ' + str(self.max_length) if cut else ''}: {', '.join(self.keywords)}.{not_read(caption)}"
            )
        if len(kept) > self.max_length:
            raise ValueError(
                f"Caption {quoted(caption)} reads as {len(kept)} words ({listed(kept, ' ')}); this tokenizer takes at most "
                f"{self.max_length}. Shorten it (in Python, the tokenizer's truncate=True keeps the first words)."
            )
        ids = [self.ids[word] for word in kept] + [PAD_ID] * (self.max_length - len(kept))
        return Analysis(caption, kept, ids, corrections, synonyms, unknown, keywords, *self.advice(text, spans, unknown_at, kept, corrected), cut=cut)

    def advice(self, text, spans, unknown_at, kept, corrected=()):
        """What the note says besides the reading: (typos, ignored, negations, outside, numbers,
        garments, colours) of `Analysis`, from the caption as rule 1 left it (`text`), the
        (start, end) of its words, the indices of the unknown ones, the words kept and the typos
        corrected as (index, word read)."""
        typed = [text[start:end] for start, end in spans]
        dropped = set(unknown_at)  # a typo read as a phrase word no phrase takes: dropped, told as unknown alone
        outside = [(start, end) for start, end in letter_runs(text) if not re.fullmatch(WORD_PATTERN, text[start:end])]
        starts = [start for start, _ in outside]
        pieces = {i for i, (start, _) in enumerate(spans) if (j := bisect.bisect_right(starts, start) - 1) >= 0 and start < outside[j][1]}
        told = [i for i in unknown_at if i not in pieces]  # the pieces of "café" are told as "café", not as "caf"
        numbers = [(found.start(), found.group()) for found in re.finditer(NUMBER_PATTERN, text)]
        numbers += [(spans[i][0], typed[i]) for i in told if typed[i] in NUMBER_WORDS]
        return (
            [(typed[i], reading) for i, reading in corrected if i not in dropped],
            [typed[i] for i in told if typed[i] not in NEGATIONS and typed[i] not in NUMBER_WORDS],
            [typed[i] for i in told if typed[i] in NEGATIONS],
            [text[start:end] for start, end in outside],
            [number for _, number in sorted(numbers)],
            named(kept, self._garment_phrases),
            named(kept, self._colour_phrases),
        )

    def read(self, caption):
        """Rules 1-5 without the refusals but an empty one: (vocabulary words, typo corrections,
        synonyms replaced, unknown words)."""
        typed = words(caption)
        kept, corrected, synonyms, unknown_at = self.read_words(caption, typed)
        return kept, [(typed[i], reading) for i, reading in corrected], synonyms, [typed[i] for i in unknown_at]

    def read_words(self, caption, typed):
        """Rules 3-5 on the words `typed` of `caption` (rule 2): as `read`, but the typos corrected
        as (index in `typed`, word read) and the unknown words as their indices in `typed`."""
        if not typed:
            raise ValueError(f"Caption {quoted(caption)} holds no words (letters a-z): describe the image, e.g. 'a red dress'.{not_read(caption)}")
        read, corrected = [], []
        for i, word in enumerate(typed):
            reading, typo = self.read_word(word)
            read.append(reading)
            if typo:
                corrected.append((i, reading))
        replaced, synonyms = replace_phrases(read, self.synonyms, self._longest_phrase)
        kept, unknown_at = [], []
        for word, at in replaced:
            if word in self.ids:
                kept.append(word)
            elif word not in self._filler_set:
                unknown_at.append(at)  # a synonym's words are vocabulary words: an unknown word is one typed word
        return kept, corrected, synonyms, unknown_at

    def read_word(self, word):
        """Rule 3: (the known word `word` reads as, or `word` if none; whether it was a typo)."""
        if word not in self._readings:
            if len(self._readings) > 100_000:  # bounded memory whatever callers type
                self._readings.clear()
            self._readings[word] = self._read_word(word)
        return self._readings[word]

    def _read_word(self, word):
        forms = [word, *singular_forms(word)]
        for known in (self.standalone, self.phrase_words):
            for form in forms:
                if form in known:
                    return form, False
        if self.min_typo_length == 0 or any(form in self._not_typos for form in forms):
            return word, False
        for form in [word, *typo_forms(word)]:
            if len(form) < self.min_typo_length:
                continue
            for known in (self.standalone, self.phrase_words):
                matches = {candidate for candidate in known if abs(len(candidate) - len(form)) <= 1 and within_one_edit(form, candidate)}
                matches = {m for m in matches if not matches.intersection(singular_forms(m))}  # "sandals" and "sandal": one word
                if len(matches) == 1 and not matches & self._filler_set:
                    return matches.pop(), True
                if matches:
                    return word, False  # ambiguous, or a filler: reported as unknown ("hat", not "that")
        return word, False

    def encode(self, caption, truncate=False):
        """One caption -> a list of `max_length` ids (see the module's rules)."""
        return self.analyse(caption, truncate).ids

    def __call__(self, captions, truncate=False):
        """A caption or a list of captions -> int64 ids of shape (n, max_length)."""
        if isinstance(captions, str):
            captions = [captions]
        captions = list(captions)
        if not captions:
            raise ValueError("No captions given.")
        for caption in captions:
            if not isinstance(caption, str):
                raise ValueError(f"A caption must be a string, got {type(caption).__name__}.")
        unique = {caption: self.encode(caption, truncate) for caption in dict.fromkeys(captions)}
        return np.array([unique[caption] for caption in captions], dtype=np.int64).reshape(len(captions), self.max_length)

    def decode(self, ids):
        """Ids -> the words they stand for, padding dropped."""
        return " ".join(self.vocabulary[int(i)] for i in ids if int(i) != PAD_ID)

    def unknown_words(self, caption):
        """The typed words of `caption` that are dropped as unknown (see `analyse`)."""
        return self.read(caption)[3]

    def spec(self, golden_captions=()):
        """The tokenizer as JSON-ready data for card.json, with golden caption -> ids pairs.

        A golden caption the tokenizer refuses is listed with `"error"` instead of ids, so
        ports check that they refuse it too.
        """
        spec = {
            "type": SPEC_TYPE,
            "rules": (
                "1 lowercase, delete apostrophes; 2 words = runs of a-z; 3 read each word (forms: the word, then its "
                "singular forms by plurals) as its first form that is standalone (vocabulary, fillers, one-word synonyms), "
                "else that is a word of a synonym phrase; else, if no form is in typos.not_typos, for each form of at least "
                "typos.min_length letters in turn (the word, then its singular forms but -es after other than s, x, z, ch or sh "
                "and -s after s or u): the standalone words (else the phrase words) at Damerau-Levenshtein "
                "distance 1, less those whose singular form is among them: one non-filler is the reading, one filler or two "
                "or more leave the word unknown, none tries the next form; 4 replace synonym phrases, longest first, left to right; 5 drop fillers "
                "and unknown words (report the unknown ones); 6 ids = vocabulary indices, right-padded with 0 to max_length. "
                "Refuse a caption with no letters, none of the keywords, or more than max_length words."
            ),
            "lowercase": True,
            "apostrophes": APOSTROPHES,
            **shared_spec(self.max_length),
            "no_keyword": "error: a caption must hold at least one keyword",
            "plurals": [list(pair) for pair in PLURAL_SUFFIXES],
            "typos": {"distance": "Damerau-Levenshtein (optimal string alignment) = 1", "min_length": self.min_typo_length, "not_typos": list(self.not_typos)},
            "fillers": list(self.fillers),
            "synonyms": dict(sorted(self.synonyms.items())),
            "keywords": list(self.keywords),
            "vocabulary": list(self.vocabulary),
        }
        if golden_captions:
            spec["golden"] = [self._golden(caption) for caption in golden_captions]
        return spec

    def _golden(self, caption):
        try:
            analysis = self.analyse(caption)
        except ValueError as error:
            return {"caption": caption, "error": str(error)}
        return {"caption": caption, "ids": analysis.ids, "unknown": analysis.unknown, "corrections": [list(pair) for pair in analysis.corrections]}

    @classmethod
    def from_spec(cls, spec, garments=None, colours=None):
        """The tokenizer that `spec()` (card.json's "tokenizer") describes; checks its golden ids.
        `garments` and `colours` (card.json's `class_nouns` and `colours`) are for the note.

        A "ganzoo-words-v1" spec (older artifacts) gives a `TokenizerV1`.
        """
        found = spec.get("type") if isinstance(spec, dict) else type(spec).__name__
        if found == SPEC_TYPE_V1:
            return TokenizerV1.from_spec(spec, garments, colours)
        if found != SPEC_TYPE:
            raise ValueError(f"Not a {SPEC_TYPE} (or {SPEC_TYPE_V1}) tokenizer spec (type {found!r}).")
        rules = (spec.get("pad_id"), spec.get("unk_id"), spec.get("word_pattern"), spec.get("apostrophes"), spec.get("plurals"))
        if rules != (PAD_ID, UNK_ID, WORD_PATTERN, APOSTROPHES, [list(pair) for pair in PLURAL_SUFFIXES]):
            raise ValueError("Tokenizer spec rules differ from this tokenizer's (pad_id 0, unk_id 1, words [a-z]+, its apostrophes and plurals).")
        try:
            typos = spec["typos"]
            tokenizer = cls(
                spec["vocabulary"], spec["max_length"], spec["synonyms"], spec["keywords"], spec["fillers"], typos["not_typos"], typos["min_length"], garments, colours
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"Tokenizer spec is missing or mistypes a field: {error!r}.") from error
        golden_entries = spec.get("golden", [])
        if not isinstance(golden_entries, list) or not all(isinstance(g, dict) and isinstance(g.get("caption"), str) for g in golden_entries):
            raise ValueError("Tokenizer spec's golden must be a list of objects, each with its caption (a string).")
        for golden in golden_entries:
            mine = tokenizer._golden(golden["caption"])
            if ("error" in golden) != ("error" in mine) or any(mine.get(key) != golden[key] for key in ("ids", "unknown", "corrections") if key in golden):
                raise ValueError(f"Tokenizer spec's golden ids for {quoted(golden['caption'])} do not match its own rules.")
        return tokenizer

    def __repr__(self):
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size}, max_length={self.max_length}, synonyms={len(self.synonyms)})"


class TokenizerV1(Tokenizer):
    """The "ganzoo-words-v1" tokenizer of older artifacts: lowercase, words are runs of a-z, each
    word's vocabulary index or 1 (`<unk>`) for an unknown word, right-padded with 0. No fillers,
    plurals, typos, synonyms or keywords: unknown words are fed as `<unk>` (and reported)."""

    spec_type = SPEC_TYPE_V1

    def __init__(self, vocabulary, max_length, garments=None, colours=None):
        super().__init__(vocabulary, max_length, fillers=(), min_typo_length=0, garments=garments, colours=colours)

    @classmethod
    def fit(cls, captions, max_length=None, min_count=1):
        counts = collections.Counter(word for caption in captions for word in words_v1(caption))
        kept = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise ValueError("The captions hold no words to build a vocabulary from.")
        return cls([PAD_TOKEN, UNK_TOKEN, *kept], max_length or max(len(words_v1(caption)) for caption in captions))

    def read_words(self, caption, typed):
        if not typed:
            raise ValueError(f"Caption {quoted(caption)} holds no words (letters a-z): describe the image, e.g. 'a red dress'.{not_read(caption)}")
        return [word if word in self.ids else UNK_TOKEN for word in typed], [], [], [i for i, word in enumerate(typed) if word not in self.ids]

    def read(self, caption):
        typed = words_v1(caption)
        read, _, _, unknown_at = self.read_words(caption, typed)
        return read, [], [], [typed[i] for i in unknown_at]

    def analyse(self, caption, truncate=False):
        text = check_caption(caption).lower()
        spans = [match.span() for match in re.finditer(WORD_PATTERN, text)]
        typed = [text[start:end] for start, end in spans]
        read, _, _, unknown_at = self.read_words(caption, typed)
        unknown = [typed[i] for i in unknown_at]
        if len(read) > self.max_length and not truncate:
            raise ValueError(
                f"Caption {quoted(caption)} has {len(read)} words; this tokenizer takes at most {self.max_length}. "
                "Shorten it (or pass truncate=True to keep the first words)."
            )
        read, cut = read[: self.max_length], read[self.max_length :]
        ids = [self.ids[word] for word in read] + [PAD_ID] * (self.max_length - len(read))
        keywords = [word for word in read if word != UNK_TOKEN]
        return Analysis(caption, read, ids, [], [], unknown, keywords, *self.advice(text, spans, unknown_at, read), cut=cut)

    def spec(self, golden_captions=()):
        spec = {
            "type": SPEC_TYPE_V1,
            "rules": "ids = [vocabulary.index(w) if w in vocabulary else 1 for w in re.findall('[a-z]+', caption.lower())], right-padded with 0 to max_length",
            "lowercase": True,
            **shared_spec(self.max_length),
            "vocabulary": list(self.vocabulary),
        }
        if golden_captions:
            spec["golden"] = [{"caption": caption, "ids": self.encode(caption)} for caption in golden_captions]
        return spec

    @classmethod
    def from_spec(cls, spec, garments=None, colours=None):
        if not isinstance(spec, dict) or spec.get("type") != SPEC_TYPE_V1:
            raise ValueError(f"Not a {SPEC_TYPE_V1} tokenizer spec.")
        if (spec.get("pad_id"), spec.get("unk_id"), spec.get("word_pattern")) != (PAD_ID, UNK_ID, WORD_PATTERN):
            raise ValueError("Tokenizer spec rules differ from this tokenizer's (pad_id 0, unk_id 1, words [a-z]+).")
        tokenizer = cls(spec["vocabulary"], spec["max_length"], garments, colours)
        for golden in spec.get("golden", ()):
            if tokenizer.encode(golden["caption"]) != list(golden["ids"]):
                raise ValueError(f"Tokenizer spec's golden ids for {quoted(golden['caption'])} do not match its own rules.")
        return tokenizer


def prompt_sequence(prompt):
    """`prompt` itself when it is one caption (a str), else the captions it holds, as a list.
    Bytes, things that hold no captions (a number) and sets (no order: which image gets which caption
    would change from run to run) are refused naming what was given."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (bytes, bytearray)):
        raise ValueError("A prompt must be text (str), got bytes: decode it first, e.g. prompt.decode('utf-8').")
    if isinstance(prompt, collections.abc.Set):
        raise ValueError(f"A prompt must be a caption (str) or a list of captions, one per image; got a {type(prompt).__name__}, which has no order: pass a list.")
    try:
        return list(prompt)
    except TypeError:
        raise ValueError(f"A prompt must be a caption (str) or a list of captions, one per image; got {type(prompt).__name__}.") from None


def quoted(caption):
    """`caption` as a message quotes it: its repr(), or when longer than QUOTED_CHARS characters the
    repr() of its first ones followed by "… (N characters)". A refusal of a pasted page then fits
    on a line, and still shows how it starts; ganzoo.mjs's `quoteCaption` writes the same."""
    if len(caption) <= QUOTED_CHARS:
        return repr(caption)
    return f"{caption[:QUOTED_CHARS]!r}… ({len(caption)} characters)"


def listed(words, separator=", "):
    """`words` (strings) joined by `separator` as a message lists them: all of them, or the first
    LISTED_WORDS followed by `separator` and "… and N more"; a word longer than QUOTED_CHARS
    characters as its first ones and "… (N characters)" (`listWords` in ganzoo.mjs writes the same)."""
    words = [word if len(word) <= QUOTED_CHARS else f"{word[:QUOTED_CHARS]}… ({len(word)} characters)" for word in words]
    if len(words) <= LISTED_WORDS:
        return separator.join(words)
    return separator.join(words[:LISTED_WORDS]) + f"{separator}… and {len(words) - LISTED_WORDS} more"


def not_read(caption):
    """What a refusal of `caption` adds on its characters that rule 2 does not read: " Characters
    outside a-z not read: " and each of them once, in order (`described`), or "" when it has none.
    Those are its letters and marks (Unicode L and M) whose lowercase is not a-z, such as the
    full-width "ｒｅｄ" of East Asian input methods or "é", and U+FFFD, which stands for bytes that
    were not UTF-8. ganzoo.mjs's `notRead` writes the same words."""
    unread = dict.fromkeys(
        character
        for character in caption
        if character == REPLACEMENT_CHARACTER or (unicodedata.category(character)[0] in "LM" and not re.fullmatch(WORD_PATTERN, character.lower()))
    )
    return f" Characters outside a-z not read: {listed(map(described, unread))}." if unread else ""


def described(character):
    """`character` as a refusal names it: quoted, its code point, its Unicode name where both ports
    know it (the full-width Latin letters U+FF21-U+FF5A and U+FFFD: JavaScript has no table of
    names), and what to type instead where its compatibility form (NFKC) is letters a-z:
    "'ｒ' U+FF52 FULLWIDTH LATIN SMALL LETTER R (type r)", "'𝐫' U+1D42B (type r)", "'é' U+00E9"."""
    code = ord(character)
    name = f" {unicodedata.name(character)}" if 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A or code == 0xFFFD else ""
    advice = " (bytes that were not UTF-8)" if character == REPLACEMENT_CHARACTER else to_type_instead(character)
    return f"{character!r} U+{code:04X}{name}{advice}"


def with_ascii_form(word):
    """A word of letters outside a-z as the note lists it: followed by what to type instead where
    its compatibility form (NFKC) is letters a-z ("ｓｈｉｒｔ (type shirt)"), else as it is ("café")."""
    return word + to_type_instead(word)


def to_type_instead(text):
    """" (type shirt)" for `text` whose compatibility form (NFKC) is letters a-z ("ｓｈｉｒｔ"), else ""."""
    ascii_form = unicodedata.normalize("NFKC", text)
    return f" (type {ascii_form})" if re.fullmatch("[A-Za-z]+", ascii_form) else ""


def check_caption(caption):
    if not isinstance(caption, str):
        raise ValueError(f"A caption must be a string, got {type(caption).__name__}.")
    if len(caption) > MAX_CAPTION_CHARS:
        raise ValueError(f"Caption of {len(caption)} characters is too long (at most {MAX_CAPTION_CHARS}).")
    return caption


def words(caption):
    """The words of a caption by rules 1 and 2: lowercase, apostrophes deleted, runs of a-z."""
    return re.findall(WORD_PATTERN, plain_text(caption))


def plain_text(caption):
    """A caption by rule 1: lowercase, apostrophes deleted."""
    caption = check_caption(caption).lower()
    for apostrophe in APOSTROPHES:
        caption = caption.replace(apostrophe, "")
    return caption


def letter_runs(text):
    """The (start, end) of each run of letters and marks (Unicode categories L and M) of `text`:
    its words as typed, in any script ("café", "straße", "日本"), of which rule 2 reads the runs of
    a-z alone. ganzoo.mjs finds the same runs with /[\\p{L}\\p{M}]+/gu."""
    runs, start = [], None
    for i, character in enumerate(text):
        letter = unicodedata.category(character)[0] in "LM"
        if letter and start is None:
            start = i
        elif not letter and start is not None:
            runs.append((start, i))
            start = None
    return runs + ([(start, len(text))] if start is not None else [])


def check_nouns(nouns, what, expected, grouped=True):
    """`nouns` as a list of lists of nouns (`grouped`: card.json's `class_nouns`) or of nouns (the
    keys of its `colours`), each with letters a-z; None: []."""
    if nouns is None:
        return []
    checked = list(nouns) if isinstance(nouns, collections.abc.Iterable) and not isinstance(nouns, str) else None
    if grouped and checked is not None:
        checked = [list(group) if isinstance(group, (list, tuple)) and group else None for group in checked]
    if checked is None or not all(group is not None and all(is_noun(noun) for noun in group) for group in (checked if grouped else [checked])):
        raise ValueError(f"The {what} must be {expected}, with letters a-z; got {nouns!r:.80}.")
    return checked


def is_noun(noun):
    return isinstance(noun, str) and re.search(WORD_PATTERN, noun.lower()) is not None


def noun_phrases(groups):
    """{the words of a noun (rule 2): (its group, the noun)} of lists of nouns; the first group wins."""
    phrases = {}
    for group, nouns in enumerate(groups):
        for noun in nouns:
            phrases.setdefault(tuple(words(noun)), (group, noun))
    return phrases


def named(read, phrases):
    """One noun of each different group of `phrases` (`noun_phrases`) that the words `read`
    name, in order: the phrases are matched left to right, the longest first ("t shirt" is the
    t-shirt, not a shirt)."""
    longest = max((len(phrase) for phrase in phrases), default=0)
    found, i = {}, 0
    while i < len(read):
        for n in range(min(longest, len(read) - i), 0, -1):
            hit = phrases.get(tuple(read[i : i + n]))
            if hit:
                found.setdefault(hit[0], hit[1])
                i += n
                break
        else:
            i += 1
    return list(found.values())


def words_v1(caption):
    """The words of a caption by the v1 rules: lowercase runs of a-z (apostrophes separate)."""
    return re.findall(WORD_PATTERN, check_caption(caption).lower())


def singular_forms(word):
    """The singular forms rule 3 tries for `word`, in order: -ies → -y, -es → -, -s → -."""
    return [word[: -len(ending)] + replacement for ending, replacement in PLURAL_SUFFIXES if word.endswith(ending) and len(word) > len(ending)]


def typo_forms(word):
    """The singular forms rule 3 corrects a typo in: `singular_forms` less those whose ending
    English spelling does not make a plural ending. -es is one after s, x, z, ch or sh alone
    ("boxes", "dresses"; "minutes" is "minute" + s), and -s is none after s or u ("dress",
    "minus", "bus"), so that "minus" is not read as "minu", one letter from "mint" (green), nor
    "bonus" as "bone" (white). A typed plural still finds its word through its other forms
    ("grenes": "grene", a typo of "green")."""
    forms = []
    for ending, replacement in PLURAL_SUFFIXES:
        stem = word[: -len(ending)]
        if not word.endswith(ending) or not stem:
            continue
        if (ending == "es" and not stem.endswith(ES_PLURAL_AFTER)) or (ending == "s" and stem.endswith(S_SINGULAR_AFTER)):
            continue
        forms.append(stem + replacement)
    return forms


def within_one_edit(a, b):
    """Whether `a` and `b` differ by exactly one insertion, deletion, substitution or swap of
    two neighbouring letters (Damerau-Levenshtein distance 1, optimal string alignment)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1 :]


def one_edit_neighbours(word):
    """Every string of letters a-z at Damerau-Levenshtein distance 1 from `word`."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {left + right[1:] for left, right in splits if right}
    edits |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    edits |= {left + c + right[1:] for left, right in splits if right for c in letters}
    edits |= {left + c + right for left, right in splits for c in letters}
    edits.discard(word)
    return edits


def replace_phrases(read, synonyms, longest):
    """Rule 4: replaces the synonym phrases of the words `read`, longest first, left to right.

    Returns ([(word, index in `read` of the first word it came from), ...], [(phrase, replacement), ...]).
    """
    out, replaced, i = [], [], 0
    while i < len(read):
        for n in range(min(longest, len(read) - i), 0, -1):
            phrase = " ".join(read[i : i + n])
            if phrase in synonyms:
                out.extend((word, i) for word in synonyms[phrase].split())
                replaced.append((phrase, synonyms[phrase]))
                i += n
                break
        else:
            out.append((read[i], i))
            i += 1
    return out, replaced


def check_vocabulary(vocabulary):
    vocabulary = list(vocabulary)
    if vocabulary[:2] != [PAD_TOKEN, UNK_TOKEN]:
        raise ValueError(f"The vocabulary must start with {PAD_TOKEN!r}, {UNK_TOKEN!r}; got {vocabulary[:2]!r}.")
    for word in vocabulary[2:]:
        if not isinstance(word, str) or not re.fullmatch(WORD_PATTERN, word):
            raise ValueError(f"Vocabulary entry {word!r} is not a word of lowercase letters a-z.")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("The vocabulary holds a word twice.")
    return vocabulary


def check_words(entries, what):
    if isinstance(entries, str):
        raise ValueError(f"Give the {what} words as a list, not one string ({entries!r}).")
    entries = list(entries)
    for entry in entries:
        if not isinstance(entry, str) or not re.fullmatch(WORD_PATTERN, entry):
            raise ValueError(f"{what.capitalize()} {entry!r} is not a word of lowercase letters a-z.")
    return entries
