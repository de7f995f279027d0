"""The caption tokenizer of the text-to-image models: plain rules, shipped with the artifact.

Pure Python and numpy (no TensorFlow), so that `zoo.runtime` and apps in other languages
tokenize exactly as training did. The rules, all of them:

1. lowercase the caption (`str.lower`);
2. words are the runs of letters a-z (`re.findall("[a-z]+", ...)`): everything else separates
   words, so "T-shirt, red!" gives ["t", "shirt", "red"];
3. each word becomes its index in `vocabulary`; index 0 is padding, 1 is the unknown word,
   and a word not in the vocabulary becomes 1;
4. the ids are padded with 0 on the right to `max_length`.

A caption with no words (empty, or only digits and punctuation) is refused with a ValueError.
A caption of more than `max_length` words is refused too, unless `truncate=True`, which keeps
its first `max_length` words (`spec()["over_length"]` says so for ports).

```python
tokenizer = Tokenizer.fit(["a red dress", "a blue coat"], max_length=8)
tokenizer.encode("A red coat")          # [2, 3, 6, 0, 0, 0, 0, 0]
Tokenizer.from_spec(tokenizer.spec())   # the same tokenizer, from card.json's "tokenizer"
```
"""

import collections
import re

import numpy as np

PAD_ID = 0
UNK_ID = 1
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
WORD_PATTERN = "[a-z]+"
SPEC_TYPE = "ganzoo-words-v1"
MAX_CAPTION_CHARS = 10_000  # longer strings are not captions: refused before any work


class Tokenizer:
    """Maps captions to fixed-length int64 token ids by the rules of this module.

    Args:
        vocabulary: the words, with `vocabulary[0] == "<pad>"` and `vocabulary[1] == "<unk>"`.
        max_length: T, the number of ids per caption.
    """

    def __init__(self, vocabulary, max_length):
        vocabulary = list(vocabulary)
        if vocabulary[:2] != [PAD_TOKEN, UNK_TOKEN]:
            raise ValueError(f"The vocabulary must start with {PAD_TOKEN!r}, {UNK_TOKEN!r}; got {vocabulary[:2]!r}.")
        for word in vocabulary[2:]:
            if not isinstance(word, str) or not re.fullmatch(WORD_PATTERN, word):
                raise ValueError(f"Vocabulary entry {word!r} is not a word of lowercase letters a-z.")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("The vocabulary holds a word twice.")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= 1024:
            raise ValueError(f"`max_length` must be an integer in [1, 1024], got {max_length!r}.")
        self.vocabulary = vocabulary
        self.max_length = max_length
        self.ids = {word: index for index, word in enumerate(vocabulary)}

    @classmethod
    def fit(cls, captions, max_length=None, min_count=1):
        """Builds the vocabulary of `captions` (most frequent words first, then alphabetical).

        `max_length` defaults to the longest caption's number of words.
        """
        counts = collections.Counter(word for caption in captions for word in words(caption))
        kept = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise ValueError("The captions hold no words to build a vocabulary from.")
        longest = max(len(words(caption)) for caption in captions)
        return cls([PAD_TOKEN, UNK_TOKEN, *kept], max_length or longest)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def encode(self, caption, truncate=False):
        """One caption -> a list of `max_length` ids (see the module's rules)."""
        tokens = words(caption)
        if not tokens:
            raise ValueError(f"Caption {caption!r} holds no words (letters a-z): describe the image, e.g. 'a red dress'.")
        if len(tokens) > self.max_length:
            if not truncate:
                raise ValueError(
                    f"Caption {caption!r} has {len(tokens)} words; this tokenizer takes at most {self.max_length}. "
                    "Shorten it (or pass truncate=True to keep the first words)."
                )
            tokens = tokens[: self.max_length]
        ids = [self.ids.get(word, UNK_ID) for word in tokens]
        return ids + [PAD_ID] * (self.max_length - len(ids))

    def __call__(self, captions, truncate=False):
        """A caption or a list of captions -> int64 ids of shape (n, max_length)."""
        if isinstance(captions, str):
            captions = [captions]
        captions = list(captions)
        if not captions:
            raise ValueError("No captions given.")
        return np.array([self.encode(caption, truncate) for caption in captions], dtype=np.int64).reshape(len(captions), self.max_length)

    def decode(self, ids):
        """Ids -> the words they stand for, padding dropped ("<unk>" for unknown words)."""
        return " ".join(self.vocabulary[int(i)] for i in ids if int(i) != PAD_ID)

    def unknown_words(self, caption):
        """The words of `caption` that are not in the vocabulary (they become `<unk>`)."""
        return [word for word in words(caption) if word not in self.ids]

    def spec(self, golden_captions=()):
        """The tokenizer as JSON-ready data for card.json, with golden caption -> ids pairs."""
        spec = {
            "type": SPEC_TYPE,
            "rules": "ids = [vocabulary.index(w) if w in vocabulary else 1 for w in re.findall('[a-z]+', caption.lower())], right-padded with 0 to max_length",
            "lowercase": True,
            "word_pattern": WORD_PATTERN,
            "pad_id": PAD_ID,
            "unk_id": UNK_ID,
            "max_length": self.max_length,
            "over_length": "error (the Python tokenizer's truncate=True keeps the first max_length words)",
            "empty": "error: a caption must hold at least one word",
            "vocabulary": list(self.vocabulary),
        }
        if golden_captions:
            spec["golden"] = [{"caption": caption, "ids": self.encode(caption)} for caption in golden_captions]
        return spec

    @classmethod
    def from_spec(cls, spec):
        """The tokenizer that `spec()` (card.json's "tokenizer") describes; checks its golden ids."""
        if not isinstance(spec, dict) or spec.get("type") != SPEC_TYPE:
            found = spec.get("type") if isinstance(spec, dict) else type(spec).__name__
            raise ValueError(f"Not a {SPEC_TYPE} tokenizer spec (type {found!r}).")
        if (spec.get("pad_id"), spec.get("unk_id"), spec.get("word_pattern")) != (PAD_ID, UNK_ID, WORD_PATTERN):
            raise ValueError("Tokenizer spec rules differ from this tokenizer's (pad_id 0, unk_id 1, words [a-z]+).")
        tokenizer = cls(spec["vocabulary"], spec["max_length"])
        for golden in spec.get("golden", ()):
            if tokenizer.encode(golden["caption"]) != list(golden["ids"]):
                raise ValueError(f"Tokenizer spec's golden ids for {golden['caption']!r} do not match its own rules.")
        return tokenizer

    def __repr__(self):
        return f"Tokenizer(vocabulary_size={self.vocabulary_size}, max_length={self.max_length})"


def words(caption):
    """The words of a caption by rules 1 and 2: lowercase runs of the letters a-z."""
    if not isinstance(caption, str):
        raise ValueError(f"A caption must be a string, got {type(caption).__name__}.")
    if len(caption) > MAX_CAPTION_CHARS:
        raise ValueError(f"Caption of {len(caption)} characters is too long (at most {MAX_CAPTION_CHARS}).")
    return re.findall(WORD_PATTERN, caption.lower())
