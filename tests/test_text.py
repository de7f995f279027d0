"""The caption tokenizer: its rules, its JSON spec with golden ids, and its refusals."""

import json
import subprocess
import sys

import numpy as np
import pytest

from zoo.text import PAD_ID, UNK_ID, Tokenizer, words

CAPTIONS = ["a red dress", "a dress in blue", "blue colored coat", "coat, red", "the t-shirt is red"]


@pytest.fixture
def tokenizer():
    return Tokenizer.fit(CAPTIONS, max_length=6)


def test_words_are_lowercase_runs_of_letters():
    assert words("T-shirt, RED!") == ["t", "shirt", "red"]
    assert words("  a  dress\tin\nblue ") == ["a", "dress", "in", "blue"]
    assert words("dress #2 in pink") == ["dress", "in", "pink"]
    assert words("café") == ["caf"]  # letters a-z only: anything else separates words


def test_vocabulary_starts_with_padding_and_unknown_then_most_frequent_words(tokenizer):
    assert tokenizer.vocabulary[:2] == ["<pad>", "<unk>"]
    assert tokenizer.vocabulary[2:5] == ["red", "a", "blue"]  # 3, 2, 2 occurrences; ties alphabetical
    assert Tokenizer.fit(CAPTIONS).max_length == 5  # default: the longest caption's words, "the t shirt is red"


def test_encode_maps_words_to_ids_pads_with_zero_and_unknown_words_to_one(tokenizer):
    ids = tokenizer.encode("A RED zebra")
    assert ids == [tokenizer.vocabulary.index("a"), tokenizer.vocabulary.index("red"), UNK_ID, PAD_ID, PAD_ID, PAD_ID]
    assert tokenizer.unknown_words("A RED zebra") == ["zebra"]
    batch = tokenizer(["a red dress", "coat"])
    assert batch.dtype == np.int64 and batch.shape == (2, 6)


def test_decode_round_trips_known_words(tokenizer):
    for caption in CAPTIONS:
        assert tokenizer.decode(tokenizer.encode(caption)) == " ".join(words(caption))
    assert tokenizer.decode(tokenizer.encode("a purple dress")) == "a <unk> dress"


def test_spec_round_trips_through_json_and_carries_golden_ids(tokenizer):
    spec = json.loads(json.dumps(tokenizer.spec(golden_captions=["a red dress", "Coat, BLUE!", "zebra"])))
    assert spec["golden"][2] == {"caption": "zebra", "ids": [UNK_ID, 0, 0, 0, 0, 0]}
    restored = Tokenizer.from_spec(spec)
    assert restored.vocabulary == tokenizer.vocabulary and restored.max_length == tokenizer.max_length
    for caption in [*CAPTIONS, "a zebra coat"]:
        assert restored.encode(caption) == tokenizer.encode(caption)


@pytest.mark.inputs
def test_a_spec_whose_golden_ids_disagree_with_its_rules_is_refused(tokenizer):
    spec = tokenizer.spec(golden_captions=["a red dress"])
    spec["golden"][0]["ids"][0] += 1
    with pytest.raises(ValueError, match="golden ids"):
        Tokenizer.from_spec(spec)
    with pytest.raises(ValueError, match="tokenizer spec"):
        Tokenizer.from_spec({"type": "bpe"})


@pytest.mark.inputs
@pytest.mark.parametrize("caption", ["", "   ", "123 !!", "???"])
def test_a_caption_without_words_is_refused(tokenizer, caption):
    with pytest.raises(ValueError, match="holds no words"):
        tokenizer.encode(caption)


@pytest.mark.inputs
def test_an_over_long_caption_is_refused_unless_truncation_is_asked_for(tokenizer):
    caption = "a red dress in blue with a coat"
    with pytest.raises(ValueError, match="at most 6"):
        tokenizer.encode(caption)
    assert tokenizer.encode(caption, truncate=True) == tokenizer.encode("a red dress in blue with")


@pytest.mark.inputs
@pytest.mark.parametrize("caption", [None, 3, b"a red dress", "a" * 20_000])
def test_non_captions_are_refused(tokenizer, caption):
    with pytest.raises(ValueError, match="caption|Caption"):
        tokenizer.encode(caption)


@pytest.mark.inputs
@pytest.mark.parametrize(
    "vocabulary, max_length, message",
    [
        (["red", "<unk>"], 4, "must start"),
        (["<pad>", "<unk>", "red", "red"], 4, "twice"),
        (["<pad>", "<unk>", "Red"], 4, "lowercase"),
        (["<pad>", "<unk>", "red"], 0, "max_length"),
    ],
)
def test_bad_vocabularies_and_lengths_are_refused(vocabulary, max_length, message):
    with pytest.raises(ValueError, match=message):
        Tokenizer(vocabulary, max_length)


def test_tokenizer_and_runtime_import_without_tensorflow():
    code = "import sys, zoo.text, zoo.runtime; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
