"""Captioned data: colourised Fashion-MNIST with held-out pairs and phrasings, and your own folders."""

import json

import numpy as np
import pytest
from PIL import Image

from zoo import captions
from zoo.text import Tokenizer, TokenizerV1, words


@pytest.fixture(scope="module")
def train_data(fashion_dir):
    return captions.colourised_fashion_mnist("train", limit=3000, seed=0)


def test_colourised_garments_are_rgb_and_tinted_with_their_colour(train_data):
    assert train_data.images.shape == (3000, 28, 28, 3) and train_data.images.dtype == np.uint8
    for colour_name, rgb in captions.COLOURS.items():
        chosen = train_data.images[train_data.colours == captions.COLOUR_NAMES.index(colour_name)]
        channel_sums = chosen.reshape(-1, 3).astype(np.float64).sum(0)
        expected = np.asarray(rgb, np.float64)
        np.testing.assert_allclose(channel_sums / channel_sums.sum(), expected / expected.sum(), atol=0.01)


def test_captions_name_the_class_and_the_colour(train_data):
    assert len(train_data.captions) == len(train_data.images)
    for text, label, colour in zip(train_data.captions[:500], train_data.labels, train_data.colours):
        assert captions.COLOUR_NAMES[colour] in words(text)
        assert any(" ".join(words(noun)) in " ".join(words(text)) for noun in captions.CLASS_NOUNS[label])
    assert len(set(train_data.captions)) > 300  # templates and synonyms vary the wording
    assert {"a red dress", "red colored dress", "a dress in red", "dress, red"} <= {
        captions.caption(3, 0, template) for template in captions.TRAIN_TEMPLATES
    }


def test_held_out_pairs_never_appear_in_training_and_are_all_there_when_asked(train_data, fashion_dir):
    seen = set(zip(train_data.labels.tolist(), train_data.colours.tolist()))
    assert seen.isdisjoint(captions.HELD_OUT_IDS)
    assert len(seen) == 10 * 8 - len(captions.HELD_OUT_IDS)
    held_out = captions.colourised_fashion_mnist("test", combos="held_out", limit=2000)
    assert set(zip(held_out.labels.tolist(), held_out.colours.tolist())) == set(captions.HELD_OUT_IDS)


def test_held_out_phrasings_are_new_wording_that_the_tokenizer_reads_by_its_filler_rule(train_data):
    v1 = TokenizerV1.fit(train_data.captions)
    tokenizer = Tokenizer.fit(train_data.captions)
    training_captions = set(train_data.captions)
    new_words = set()
    for template in captions.HELD_OUT_TEMPLATES:
        text = captions.caption(3, 0, template)
        assert text not in training_captions
        new_words |= set(v1.unknown_words(text))  # new to the words of training ...
        assert tokenizer.analyse(text).words == ["dress", "red"] or tokenizer.analyse(text).words == ["red", "dress"]
        assert tokenizer.unknown_words(text) == []  # ... but fillers of the v2 tokenizer, dropped as training's are
    assert {"photo", "of", "that", "my"} <= new_words


def test_mismatched_captions_always_come_from_another_group():
    groups = np.array([0, 0, 0, 1, 2, 2, 5, 5, 5, 5])
    rng = np.random.default_rng(0)
    drawn = np.stack([captions.mismatched_indices(groups, rng) for _ in range(200)])
    assert np.all(groups[drawn] != groups)
    assert set(drawn[:, 0].tolist()) == {3, 4, 5, 6, 7, 8, 9}  # every other-group row is drawn
    with pytest.raises(ValueError, match="one group"):
        captions.mismatched_indices(np.zeros(4), rng)


def test_matching_dataset_pairs_each_image_with_a_caption_of_another_pair(train_data):
    tokenizer = Tokenizer.fit(train_data.captions, max_length=12)
    group_of = {tokenizer.decode(tokenizer.encode(t)): g for t, g in zip(train_data.captions, train_data.groups)}
    batches = list(captions.matching_dataset(train_data, tokenizer, batch_size=64, seed=1).take(3))
    for batch in batches:
        assert batch["images"].shape == (64, 28, 28, 3)
        assert float(batch["images"].numpy().min()) >= -1.0 and float(batch["images"].numpy().max()) <= 1.0
        right = [group_of[tokenizer.decode(ids)] for ids in batch["tokens"].numpy()]
        wrong = [group_of[tokenizer.decode(ids)] for ids in batch["wrong_tokens"].numpy()]
        assert all(r != w for r, w in zip(right, wrong))


def write_folder(folder, rows, fmt):
    folder.mkdir()
    for index, colour in enumerate(("red", "blue", "green")):
        Image.new("RGB", (40, 30), colour).save(folder / f"{index}.png")
    if fmt == "csv":
        lines = ["image,caption,label"] + [f"{r['image']},{r['caption']},{r['label']}" for r in rows]
        (folder / "captions.csv").write_text("\n".join(lines) + "\n")
    else:
        (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_your_own_folder_of_captioned_images_loads(tmp_path, fmt):
    rows = [
        {"image": "0.png", "caption": "a red square", "label": "r"},
        {"image": "0.png", "caption": "red box", "label": "r"},
        {"image": "1.png", "caption": "a blue square", "label": "b"},
        {"image": "2.png", "caption": "green", "label": "g"},
    ]
    write_folder(tmp_path / "birds", rows, fmt)
    loaded = captions.load_captioned_folder(tmp_path / "birds", image_size=32)
    assert loaded.images.shape == (4, 32, 32, 3)
    assert loaded.captions == [r["caption"] for r in rows]
    assert loaded.groups.tolist() == [0, 0, 1, 2]
    assert tuple(loaded.images[2, 5, 5]) == (0, 0, 255)


@pytest.mark.inputs
@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"image": "../secret.png", "caption": "x", "label": "a"}], "outside"),
        ([{"image": "9.png", "caption": "x", "label": "a"}], "no image file"),
        ([{"image": "0.png", "caption": "", "label": "a"}], "non-empty"),
    ],
)
def test_bad_caption_rows_are_refused_with_the_row_named(tmp_path, rows, message):
    write_folder(tmp_path / "mine", rows, "jsonl")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        captions.load_captioned_folder(tmp_path / "mine")


@pytest.mark.inputs
def test_a_captions_csv_without_the_needed_columns_is_refused(tmp_path):
    (tmp_path / "captions.csv").write_text("file,text\n0.png,a red square\n")
    with pytest.raises(ValueError, match="'image' and 'caption'"):
        captions.load_captioned_folder(tmp_path)
