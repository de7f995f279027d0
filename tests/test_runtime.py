"""The onnxruntime wrapper: the exported generator with no TensorFlow in the loop."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zoo import runtime
from zoo.export import export_generator
from zoo.models import DCGAN


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    gan = DCGAN(latent_dim=12, g_filters=8, d_filters=8, seed=0)
    directory = tmp_path_factory.mktemp("exports") / "tiny-dcgan"
    export_generator(gan, directory)
    return gan, directory


def test_sampling_is_deterministic_for_a_seed_and_matches_keras(artifact):
    gan, directory = artifact
    generator = runtime.load(directory)
    assert generator.latent_dim == 12 and generator.image_shape == (28, 28, 1)
    first = generator.generate(10, seed=5, batch_size=4)
    np.testing.assert_array_equal(first, generator.generate(10, seed=5))
    assert not np.array_equal(first, generator.generate(10, seed=6))
    np.testing.assert_allclose(first, gan.generate(10, seed=5), atol=1e-4)


def test_runs_on_cpu_when_no_gpu_is_present(artifact):
    generator = runtime.load(artifact[1])
    assert generator.providers[-1] == "CPUExecutionProvider"
    assert generator.card["family"] == "dcgan"


@pytest.mark.inputs
def test_wrong_latent_size_is_named(artifact):
    generator = runtime.load(artifact[1])
    with pytest.raises(ValueError, match=r"\(n, 12\)"):
        generator(np.zeros((2, 100), np.float32))


@pytest.mark.inputs
@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_non_positive_sample_count_is_refused(artifact, n):
    with pytest.raises(ValueError, match="positive integer"):
        runtime.load(artifact[1]).generate(n)


@pytest.mark.inputs
def test_non_finite_noise_is_refused(artifact):
    z = np.zeros((2, 12), np.float32)
    z[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        runtime.load(artifact[1])(z)


@pytest.mark.files
def test_missing_and_corrupt_files_give_clear_errors(artifact, tmp_path):
    with pytest.raises(FileNotFoundError, match="No exported generator"):
        runtime.load(tmp_path / "nothing-here")
    corrupt = tmp_path / "generator.onnx"
    corrupt.write_bytes((artifact[1] / "generator.onnx").read_bytes()[:5000])
    with pytest.raises(ValueError, match="not a loadable ONNX generator"):
        runtime.load(corrupt)


@pytest.mark.inputs
def test_a_missing_folder_given_as_a_path_is_named_as_missing_not_as_an_unknown_published_name(tmp_path, monkeypatch):
    """README: "pass ./name for the folder"; a typo in it was answered "No published generator named './name'"."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="No exported generator at my-dcgan "):
        runtime.load("./my-dcgan")
    with pytest.raises(ValueError, match="No published generator named 'my-dcgan'"):
        runtime.load("my-dcgan")


@pytest.mark.inputs
def test_wrong_dtype_is_named(artifact):
    with pytest.raises(ValueError, match="real numbers"):
        runtime.load(artifact[1])(np.full((2, 12), "x"))


@pytest.mark.inputs
def test_huge_counts_stream_in_bounded_batches_with_the_same_images(artifact):
    generator = runtime.load(artifact[1])
    chunks = list(generator.iter_batches(2_500, seed=1, batch_size=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    np.testing.assert_array_equal(np.concatenate(chunks), generator.generate(2_500, seed=1))
    z = np.random.default_rng(0).standard_normal((runtime.MAX_BATCH * 2 + 3, 12), dtype=np.float32)
    assert generator(z).shape == (runtime.MAX_BATCH * 2 + 3, 28, 28, 1)  # one call, run in chunks


@pytest.mark.inputs
def test_a_large_call_runs_in_cache_sized_chunks_with_the_same_images(artifact):
    z = np.random.default_rng(2).standard_normal((150, 12), dtype=np.float32)
    chunked = runtime.load(artifact[1])  # on the CPU: calls of `CPU_ROWS_PER_CALL` rows, here 64 + 64 + 22
    assert chunked.rows_per_call == runtime.CPU_ROWS_PER_CALL
    whole = runtime.load(artifact[1], rows_per_call=runtime.MAX_BATCH)
    one_by_one = runtime.load(artifact[1], rows_per_call=1)
    np.testing.assert_allclose(chunked(z), whole(z), atol=1e-5)
    np.testing.assert_allclose(chunked(z), one_by_one(z), atol=1e-5)
    for bad in (0, runtime.MAX_BATCH + 1, 2.0, "64"):
        with pytest.raises(ValueError, match="rows_per_call"):
            runtime.load(artifact[1], rows_per_call=bad)


def external_data_copy(artifact_dir, folder, location="weights.bin"):
    """Saves the artifact's ONNX with its weights in a side file, as large models are."""
    import onnx

    model = onnx.load(str(artifact_dir / "generator.onnx"))
    folder.mkdir()
    onnx.save(model, str(folder / "generator.onnx"), save_as_external_data=True, location=location, size_threshold=1024)
    return folder / "generator.onnx"


def rename_external_data(onnx_path, location):
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(onnx_path))


@pytest.mark.files
def test_external_data_is_accepted_only_under_plain_names_inside_the_folder(artifact, tmp_path):
    onnx_path = external_data_copy(artifact[1], tmp_path / "split")
    z = np.zeros((2, 12), np.float32)
    np.testing.assert_allclose(runtime.load(onnx_path)(z), runtime.load(artifact[1])(z), atol=1e-6)

    (tmp_path / "outside.bin").write_bytes((tmp_path / "split" / "weights.bin").read_bytes())
    (tmp_path / "split" / "link.bin").symlink_to(tmp_path / "outside.bin")
    for location in [str(tmp_path / "outside.bin"), "../outside.bin", "link.bin", "missing.bin"]:
        rename_external_data(onnx_path, location)
        with pytest.raises(ValueError, match="not a plain relative name|missing, a link, or outside"):
            runtime.load(onnx_path)


@pytest.mark.faults
def test_serves_8_threads_thousands_of_calls_with_flat_memory(artifact):
    import threading

    import psutil

    generator = runtime.load(artifact[1])
    expected = generator(np.ones((3, 12), np.float32))
    process = psutil.Process()
    errors, calls_per_thread = [], 300

    def hammer():
        try:
            for _ in range(calls_per_thread):
                np.testing.assert_allclose(generator(np.ones((3, 12), np.float32)), expected, atol=1e-6)
        except Exception as error:  # collected and asserted below, in the main thread
            errors.append(error)

    def run_round():
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run_round()  # warm-up: arenas and thread pools reach their working size
    before = process.memory_info().rss
    run_round()
    run_round()
    growth_mb = (process.memory_info().rss - before) / 2**20
    assert errors == []
    assert growth_mb < 20, f"memory grew by {growth_mb:.1f} MiB over 4,800 calls"


ONE_CALL = {  # the same call for Keras and onnxruntime, per family
    "gan": {},
    "dcgan": {"truncation": 1.0},
    "cgan": {"labels": ["dress", 9, "sandal,bag"]},
    "t2i": {"prompt": "a red dress"},
}


@pytest.mark.parametrize("name", ["dcgan-fashion-mnist", "cgan-fashion-mnist", "t2i-fashion-mnist"])
def test_one_generate_call_gives_the_same_images_from_keras_and_onnxruntime(name):
    import zoo

    generator = runtime.load(name)
    model = zoo.load_generator(name)
    arguments = ONE_CALL[generator.card["family"]]
    onnx_images = generator.generate(6, seed=4, **arguments)
    np.testing.assert_allclose(onnx_images, model.generate(6, seed=4, **arguments), atol=1e-4)
    assert generator.conditional == model.conditional
    if generator.conditional:
        assert generator.class_names == model.class_names
        # names or ids, one image per label when n is left out, as Keras's
        np.testing.assert_array_equal(generator.generate(seed=1, labels=["dress", 3]), generator.generate(2, seed=1, labels=3))
    z = zoo.latent.interpolate(*zoo.latent.sample_latent(2, generator.latent_dim, seed=9), steps=4)
    conditions = {key: value for key, value in arguments.items() if key != "truncation"}
    np.testing.assert_allclose(generator.generate(z=z, **conditions), model.generate(z=z, **conditions), atol=1e-4)


def test_a_generator_says_what_it_is(artifact):
    generator = runtime.load(artifact[1])
    assert repr(generator) == (
        f"Generator('tiny-dcgan', family='dcgan', latent_dim=12, images=28×28×1, provider='CPUExecutionProvider', path='{generator.model_path}')"
    )
    assert generator.name == "tiny-dcgan" and not generator.conditional and generator.class_names == ()
    assert "classes=10" in repr(runtime.load("cgan-fashion-mnist"))


@pytest.mark.inputs
def test_arguments_a_generator_cannot_use_are_refused(artifact):
    generator = runtime.load(artifact[1])
    with pytest.raises(ValueError, match="not class-conditional"):
        generator.generate(2, labels="dress")
    with pytest.raises(ValueError, match="takes no prompt"):
        generator.generate(2, prompt="a red dress")
    with pytest.raises(ValueError, match="`n`=3 but `z` holds 2 rows"):
        generator.generate(3, z=np.zeros((2, 12), np.float32))
    with pytest.raises(ValueError, match="truncate it yourself"):
        generator.generate(z=np.zeros((2, 12), np.float32), truncation=1.0)
    with pytest.raises(ValueError, match="Unknown class 'dres'"):
        runtime.load("cgan-fashion-mnist").generate(2, labels="dres")


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.inputs
@pytest.mark.parametrize("label", [-1, 10, 2**40])
def test_class_ids_out_of_range_are_refused_not_wrapped(label):
    """onnxruntime's Gather reads id -1 as the last class, and 2**40 became class 0 through an int32 cast."""
    generator = runtime.load(ROOT / "exports" / "cgan-fashion-mnist")
    z = np.zeros((2, generator.latent_dim), np.float32)
    with pytest.raises(ValueError, match=f"`label` holds class ids outside \\[0, 9\\]: {label} at index 1"):
        generator(z, label=np.array([3, label], np.int64))
    with pytest.raises(ValueError, match="whole numbers"):
        generator(z, label=np.array([3.0, 1.5]))
    with pytest.raises(ValueError, match="`label` is one value; give one per row of `z` \\(2\\), e.g. np.full\\(2, 3\\)"):
        generator(z, label=3)
    assert generator(z, label=np.array([0, 9])).shape == (2, 28, 28, 1)


@pytest.mark.inputs
@pytest.mark.parametrize("token", [-1, "vocabulary size"])
def test_token_ids_out_of_range_are_refused(token):
    generator = runtime.load(ROOT / "exports" / "t2i-fashion-mnist")
    size = len(generator.card["tokenizer"]["vocabulary"])
    tokens = generator.tokenizer(["a red dress"])
    tokens[0, 0] = size if token == "vocabulary size" else token
    with pytest.raises(ValueError, match=f"`tokens` holds vocabulary ids outside \\[0, {size - 1}\\]"):
        generator(np.zeros((1, generator.latent_dim), np.float32), tokens=tokens)


@pytest.mark.inputs
def test_labels_and_tokens_of_the_wrong_shape_are_refused_naming_the_shape():
    """A column of labels (n, 1), as pandas or a reshape gives, was onnxruntime's bare InvalidArgument."""
    cgan = runtime.load(ROOT / "exports" / "cgan-fashion-mnist")
    z = np.zeros((2, cgan.latent_dim), np.float32)
    with pytest.raises(ValueError, match=r"`label` must have shape \(n,\), got \(2, 1\)"):
        cgan(z, label=np.array([[3], [5]]))
    assert cgan(z, label=np.array([3, 5])).shape == (2, 28, 28, 1)
    t2i = runtime.load(ROOT / "exports" / "t2i-fashion-mnist")
    tokens = t2i.tokenizer(["a red dress"])
    with pytest.raises(ValueError, match=r"`tokens` must have shape \(n, 12\), got \(1, 5\)"):
        t2i(np.zeros((1, t2i.latent_dim), np.float32), tokens=tokens[:, :5])


def broken_cards(card):
    """(description, card text, what the error must say) of cards that are not what they claim."""
    return [
        ("classes a string", json.dumps({**card, "classes": "dress"}), "card.json: classes: 'dress' is not of type 'array'"),
        ("a list", json.dumps([card]), "card.json: \\(the card itself\\): .* is not of type 'object'"),
        ("20 classes for 10", json.dumps({**card, "classes": [f"class {i}" for i in range(20)]}),
         "card.json: inputs.label.range: \\[0, 9\\] does not match classes \\(ids 0 to 19\\)"),
        ("5 classes for ids 0..9", json.dumps({**card, "classes": card["classes"][:5]}),
         "card.json: inputs.label.range: \\[0, 9\\] does not match classes \\(ids 0 to 4\\)"),
        ("20 classes for 10, no range", json.dumps({**card, "classes": [f"class {i}" for i in range(20)],
                                                   "inputs": {**card["inputs"], "label": {"shape": ["batch"], "dtype": "int64"}}}),
         "card.json: classes: the graph cannot take the card's largest ids \\(label 19\\)"),
        ("latent size", json.dumps({**card, "latent_dim": 7, "inputs": {**card["inputs"], "z": {"shape": ["batch", 7], "dtype": "float32"}}}),
         "card.json: latent_dim: 7, but the graph's z has 100 values per row"),
        ("NaN", json.dumps(card).replace('"latent_dim": 100', '"latent_dim": NaN'), "card.json is not valid JSON: NaN is not JSON"),
        ("missing input", json.dumps({**card, "inputs": {"z": card["inputs"]["z"]}}), "card.json: inputs: the card names \\['z'\\], the graph takes \\['label', 'z'\\]"),
        ("a newer format", json.dumps({**card, "format_version": 3}), "card.json: format_version: 3, newer than this ganzoo reads \\(up to 2\\); upgrade"),
        ("another family", json.dumps({**card, "family": "dcgan"}), "card.json: family: dcgan generators take \\['z'\\], but the graph takes \\['label', 'z'\\]"),
        ("inputs a name", json.dumps({**card, "inputs": "z"}), "card.json: inputs: 'z' is not of type 'object'"),
    ]


@pytest.mark.files
@pytest.mark.parametrize("case", range(11))
def test_a_card_that_does_not_describe_its_generator_is_refused_naming_file_and_field(tmp_path, case):
    folder = tmp_path / "cgan"
    shutil.copytree(ROOT / "exports" / "cgan-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    what, text, message = broken_cards(card)[case]
    (folder / "card.json").write_text(text)
    with pytest.raises(ValueError, match=f"{folder}/{message}"):
        runtime.load(folder)


@pytest.mark.inputs
def test_a_count_that_cannot_fit_in_memory_is_refused_at_once_with_the_estimate():
    import time

    from zoo.images import available_memory

    generator = runtime.load(ROOT / "exports" / "dcgan-fashion-mnist")
    too_many = available_memory() // (28 * 28 * 4)  # one copy of the images alone fills the memory
    started = time.monotonic()
    with pytest.raises(ValueError, match=f"{too_many:,} images of 28×28×1 would need about .* of memory; .* is available.*iter_batches"):
        generator.generate(too_many, seed=0)
    assert time.monotonic() - started < 5  # refused before any batch ran
    assert generator.generate(3, seed=0).shape == (3, 28, 28, 1)


@pytest.mark.files
def test_a_bare_class_conditional_onnx_file_takes_labels_by_the_names_in_its_metadata(tmp_path):
    shutil.copy(ROOT / "exports" / "cgan-fashion-mnist" / "generator.onnx", tmp_path / "cgan.onnx")
    bare = runtime.load(tmp_path / "cgan.onnx")
    assert bare.card == {} and len(bare.class_names) == 10
    assert bare.family == "cgan" and "family='cgan'" in repr(bare)  # from the metadata, as the classes
    published = runtime.load(ROOT / "exports" / "cgan-fashion-mnist")
    assert bare.class_names == published.class_names
    for labels in (3, published.class_names[3], [published.class_names[3]]):
        np.testing.assert_allclose(bare.generate(2, seed=1, labels=labels), published.generate(2, seed=1, labels=3), atol=1e-6)
    with pytest.raises(ValueError, match="Unknown class 'dres'"):
        bare.generate(2, labels="dres")


@pytest.mark.files
@pytest.mark.parametrize("golden", ["a red dress", [1, 2], [{"ids": [3, 12]}]])
def test_a_text_to_image_card_with_mistyped_golden_captions_is_refused_naming_the_field(tmp_path, golden):
    folder = tmp_path / "t2i"
    shutil.copytree(ROOT / "exports" / "t2i-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    card["tokenizer"]["golden"] = golden
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=f"{folder}/card.json: tokenizer.golden"):
        runtime.load(folder).generate(1, prompt="a red dress")


@pytest.mark.files
def test_an_unconditional_card_that_lists_classes_is_refused(tmp_path):
    folder = tmp_path / "dcgan"
    shutil.copytree(ROOT / "exports" / "dcgan-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "classes": ["a", "b"]}))
    with pytest.raises(ValueError, match=f"{folder}/card.json: classes: the card lists classes, but the graph takes no label"):
        runtime.load(folder)


@pytest.mark.inputs
@pytest.mark.parametrize("prompt, message", [
    (5, "A prompt must be a caption \\(str\\) or a list of captions, one per image; got int"),
    (b"a red dress", "A prompt must be text \\(str\\), got bytes: decode it first"),
    (["a red dress"] * 3, "Got 3 prompts for 2 images"),
    ({"a red dress", "a blue coat"}, "got a set, which has no order: pass a list"),  # the images' order changed with PYTHONHASHSEED
])
def test_prompts_that_are_not_captions_are_refused_naming_what_was_given(prompt, message):
    generator = runtime.load(ROOT / "exports" / "t2i-fashion-mnist")
    with pytest.raises(ValueError, match=message):
        generator.generate(2, seed=0, prompt=prompt)
    assert generator.generate(2, seed=0, prompt=["a red dress", "a blue shirt"]).shape[0] == 2


@pytest.mark.files
def test_a_card_whose_sha256_of_the_graph_is_another_files_is_refused(tmp_path):
    """The card describes some generator (quality, classes, training): a retrained or swapped graph of the same shapes is refused."""
    folder = tmp_path / "dcgan"
    shutil.copytree(ROOT / "exports" / "dcgan-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "files": {**card["files"], "generator.onnx": "0" * 64}}))
    with pytest.raises(ValueError, match=f"{folder}/card.json: files.generator.onnx: sha256 000000000000…, but {folder}/generator.onnx has "):
        runtime.load(folder)
    (folder / "card.json").write_text(json.dumps(card))
    assert runtime.load(folder).generate(2, seed=0).shape == (2, 28, 28, 1)


@pytest.mark.files
def test_a_renamed_onnx_beside_a_card_is_held_to_the_cards_generator(tmp_path):
    """A card describes its folder's generator.onnx: a copy under another name runs under it, another model does not."""
    folder = tmp_path / "cgan"
    shutil.copytree(ROOT / "exports" / "cgan-fashion-mnist", folder)
    shutil.copy(folder / "generator.onnx", folder / "copy.onnx")
    renamed = runtime.load(folder / "copy.onnx")
    np.testing.assert_array_equal(renamed.generate(2, seed=1, labels="dress"), runtime.load(folder).generate(2, seed=1, labels="dress"))
    shutil.copy(ROOT / "exports" / "dcgan-fashion-mnist" / "generator.onnx", folder / "other.onnx")
    with pytest.raises(ValueError, match=f"{folder}/card.json: files.generator.onnx: sha256 .*, but {folder}/other.onnx has .*"
                                         "move it out of the folder that holds card.json"):
        runtime.load(folder / "other.onnx")
    (folder / "other.onnx").rename(tmp_path / "other.onnx")  # on its own it is a bare generator
    assert runtime.load(tmp_path / "other.onnx").generate(1, seed=0).shape == (1, 28, 28, 1)


def graph_file(path, z_shape, image_shape, reshape):
    """A bare .onnx taking `z` of `z_shape` to `image` of `image_shape` (Reshape to `reshape`, or Identity)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Reshape", ["z", "shape"], ["image"]) if reshape else helper.make_node("Identity", ["z"], ["image"])]
    constants = [helper.make_tensor("shape", TensorProto.INT64, [len(reshape)], reshape)] if reshape else []
    graph = helper.make_graph(nodes, "not-quite-a-generator", [helper.make_tensor_value_info("z", TensorProto.FLOAT, z_shape)],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, image_shape)], constants)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


@pytest.mark.files
@pytest.mark.parametrize("z_shape, image_shape, reshape, named", [
    (["batch"], ["batch", 1, 1, 1], [-1, 1, 1, 1], "input 'z' has the shape \\['batch'\\]"),
    (["batch", "D"], ["batch", 2, 2, 1], [-1, 2, 2, 1], "input 'z' has the shape \\['batch', 'D'\\]"),
    (["batch", 4], ["batch", 4], None, "output 'image' has the shape \\['batch', 4\\]"),
    ([1, 4], [1, 2, 2, 1], [1, 2, 2, 1], "input 'z' has the shape \\[1, 4\\]"),
])
def test_a_graph_that_is_not_a_generator_is_refused_naming_the_shape(tmp_path, z_shape, image_shape, reshape, named):
    path = graph_file(tmp_path / "model.onnx", z_shape, image_shape, reshape)
    with pytest.raises(ValueError, match=f"{path}: {named}, but a zoo generator's is"):
        runtime.load(path)
    generator = runtime.load(graph_file(tmp_path / "fine.onnx", ["batch", 4], ["batch", 2, 2, 1], [-1, 2, 2, 1]))
    assert (generator.latent_dim, generator.image_shape) == (4, (2, 2, 1))
    np.testing.assert_array_equal(generator(np.full((3, 4), 0.5, np.float32)), np.full((3, 2, 2, 1), 0.5, np.float32))
