"""Training on your own images: a folder of JPEG/PNG files (one sub-folder per class for cgan),
and TFDS datasets by name (mocked here: TFDS downloads need internet)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from zoo import image_folder
from zoo.cli import main


def disc(size, colour, background=(0, 0, 0), mode="RGB", radius=None):
    """A coloured disc on a plain background, `size` = (width, height)."""
    width, height = size
    y, x = np.mgrid[:height, :width]
    inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (radius or min(size) / 3) ** 2
    pixels = np.where(inside[..., None], np.array(colour, np.uint8), np.array(background, np.uint8)).astype(np.uint8)
    return Image.fromarray(pixels).convert(mode)


@pytest.fixture
def colour_folder(tmp_path):
    """24 images of discs: PNG and JPEG, RGB and grey, various sizes, some in a nested folder."""
    folder = tmp_path / "faces"
    (folder / "more").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(24):
        colour = tuple(int(c) for c in rng.integers(60, 255, 3))
        image = disc((48 + index % 3 * 8, 40), colour, mode="L" if index % 4 == 0 else "RGB")
        target = folder / ("more" if index % 5 == 0 else "") / f"img_{index:02d}.{'jpg' if index % 2 else 'png'}"
        image.save(target)
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def class_folder(tmp_path):
    """Two classes of grey images, one sub-folder each (keras.utils.image_dataset_from_directory's layout)."""
    folder = tmp_path / "shapes"
    for name, radius in (("big", 12), ("small", 5)):
        (folder / name).mkdir(parents=True)
        for index in range(16):
            disc((32, 32), (255, 255, 255), mode="L", radius=radius + index % 3).save(folder / name / f"{index}.png")
    return folder


def test_scan_finds_every_image_and_picks_rgb_when_any_is_colour(colour_folder):
    found = image_folder.scan(colour_folder)
    assert len(found) == 24 and found.channels == 3 and found.labels is None
    pixels = image_folder.read_image(found.paths[1], 32, found.channels)
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    assert pixels[16, 16].max() > 50 and pixels[0, 0].max() < 10  # the disc in the centre of the square crop


def test_16_bit_grey_pngs_are_scaled_to_8_bits_not_clipped_white(tmp_path):
    pixels = np.full((16, 16), 1000, np.uint16)
    pixels[:, 8:] = 30000
    Image.fromarray(pixels).save(tmp_path / "deep.png")  # a 16-bit grey PNG
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    found = image_folder.scan(tmp_path)
    grey = image_folder.read_image(found.paths[0], 16, found.channels)
    assert found.channels == 1 and grey[0, 0, 0] == round(1000 / 257) and grey[0, 15, 0] == round(30000 / 257)
    colour = image_folder.read_image(found.paths[0], 16, 3)  # the same in a folder with colour images
    assert colour[0, 0].tolist() == [4] * 3 and colour[0, 15].tolist() == [117] * 3


def test_classes_are_the_sub_folders_in_order(class_folder):
    found = image_folder.scan(class_folder, with_labels=True)
    assert found.class_names == ("big", "small") and found.channels == 1
    assert found.labels.tolist() == [0] * 16 + [1] * 16
    batches = image_folder.dataset(found, 16, batch_size=8, with_labels=True, seed=0)
    images, labels = batches[0]
    assert len(batches) == 4 and images.shape == (8, 16, 16, 1) and labels.dtype == np.int32
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.max() > 0.9


def test_a_limit_draws_its_images_from_every_class(tmp_path):
    for index in range(5):
        (tmp_path / f"class_{index}").mkdir()
        for image in range(6):
            disc((8, 8), (40 * index,) * 3, mode="L").save(tmp_path / f"class_{index}" / f"{image}.png")
    found = image_folder.scan(tmp_path, with_labels=True)  # lists class_0's six images first, then class_1's, ...
    batches = image_folder.dataset(found, 8, batch_size=5, with_labels=True, seed=0, limit=15)
    labels = np.concatenate([batches[index][1] for index in range(len(batches))])
    assert len(labels) == 15 and set(labels.tolist()) == {0, 1, 2, 3, 4}
    same_limit_other_seed = image_folder.dataset(found, 8, batch_size=5, with_labels=True, seed=1, limit=15)
    assert same_limit_other_seed.indices.tolist() == batches.indices.tolist()
    assert set(batches.indices) < set(image_folder.dataset(found, 8, batch_size=5, with_labels=True, limit=20).indices)


@pytest.mark.inputs
def test_folders_without_usable_images_get_clear_errors(tmp_path, colour_folder):
    with pytest.raises(FileNotFoundError, match="No folder of images"):
        image_folder.scan(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images in .*found nothing"):
        image_folder.scan(tmp_path / "empty")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="1 file\\(s\\), none with an image suffix"):
        image_folder.scan(tmp_path / "texts")
    with pytest.raises(ValueError, match="one sub-folder of images per class .* found 1"):
        image_folder.scan(colour_folder, with_labels=True)


@pytest.mark.inputs
def test_unreadable_files_and_empty_classes_are_named(tmp_path, class_folder):
    (class_folder / "small" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (class_folder / "big" / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="2 of the 34 images .* cannot be read: big/empty.jpg .*small/broken.png"):
        image_folder.scan(class_folder, with_labels=True)
    (class_folder / "small" / "broken.png").unlink()
    (class_folder / "big" / "empty.jpg").unlink()
    (class_folder / "none").mkdir()
    with pytest.raises(ValueError, match="Class folder\\(s\\) without images in .*: none"):
        image_folder.scan(class_folder, with_labels=True)


def without_root_s_read_override():
    """The command prefix that runs a process as this user but without the right to read what its
    permissions forbid: root reads any folder (CAP_DAC_OVERRIDE) unless `setpriv` drops it."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): a locked folder would still be read")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


@pytest.mark.inputs
def test_a_folder_that_cannot_be_listed_is_named_not_left_out(colour_folder):
    locked = colour_folder / "more"
    locked.chmod(0)
    try:
        scan = f"from zoo import image_folder; print(len(image_folder.scan({str(colour_folder)!r})))"
        result = subprocess.run([*without_root_s_read_override(), sys.executable, "-c", scan], capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1, result.stdout  # not trained on the 19 images it could list
    assert f"1 folder(s) under {colour_folder} cannot be listed, so their images would be left out: {locked} (PermissionError)" in result.stderr
    assert len(image_folder.scan(colour_folder)) == 24  # readable again: all of them


@pytest.mark.inputs
def test_an_image_too_large_for_pil_is_listed_with_the_unreadable(colour_folder):
    Image.new("1", (20000, 20000)).save(colour_folder / "huge.png")  # 4·10⁸ pixels, over PIL's limit
    with pytest.raises(ValueError, match="1 of the 25 images .* cannot be read: huge.png \\(DecompressionBombError: Image size .* attack\\)\\. Remove"):
        image_folder.scan(colour_folder)


@pytest.mark.inputs
def test_a_half_written_image_is_named_before_training(colour_folder, tmp_path):
    jpeg = (colour_folder / "img_01.jpg").read_bytes()
    (colour_folder / "img_01.jpg").write_bytes(jpeg[:-100])  # copies cut off before their end
    png = (colour_folder / "img_02.png").read_bytes()
    (colour_folder / "img_02.png").write_bytes(png[: len(png) // 2])
    args = ["train", "dcgan", "--images", str(colour_folder), "--image-size", "8", "--batch-size", "2", "--epochs", "1", "--no-calibrate", "--no-jit", "--out", str(tmp_path / "run")]
    result = subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: 2 of the 24 images" in result.stderr
    assert "img_01.jpg (OSError: image file is truncated" in result.stderr and "img_02.png (OSError: image file is truncated)" in result.stderr


@pytest.mark.inputs
def test_an_image_broken_inside_is_named_when_it_is_read(colour_folder):
    noise = np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)
    Image.fromarray(noise).save(colour_folder / "noise.png")
    png = bytearray((colour_folder / "noise.png").read_bytes())
    png[len(png) // 2 : len(png) // 2 + 50] = bytes(50)  # its pixel data overwritten, its end whole
    (colour_folder / "noise.png").write_bytes(png)
    found = image_folder.scan(colour_folder)  # `scan` checks headers and ends, not every pixel
    with pytest.raises(ValueError, match="noise.png: cannot read the image: broken data stream .*; remove or replace it"):
        image_folder.read_image(colour_folder / "noise.png", 8, found.channels)


def test_training_names_an_image_broken_inside_when_it_reaches_it_without_a_traceback(colour_folder, tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)
    Image.fromarray(noise).save(colour_folder / "noise.png")
    png = bytearray((colour_folder / "noise.png").read_bytes())
    png[len(png) // 2 : len(png) // 2 + 50] = bytes(50)
    (colour_folder / "noise.png").write_bytes(png)
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "zoo", "train", "dcgan", "--images", str(colour_folder), "--image-size", "8",
                             "--batch-size", "2", "--epochs", "1", "--latent-dim", "8", "--no-calibrate", "--no-jit", "--out", str(run)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"error: {colour_folder / 'noise.png'}: cannot read the image: broken data stream" in result.stderr
    assert "Traceback" not in result.stderr
    session = json.loads((run / "training.json").read_text())["sessions"][-1]
    assert session["status"].startswith(f"failed: ValueError: {colour_folder / 'noise.png'}: cannot read the image")


def test_train_dcgan_on_a_folder_of_images_then_sample_it(colour_folder, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "dcgan", "--images", str(colour_folder), "--image-size", "32", "--epochs", "1", "--batch-size", "8", "--latent-dim", "8", "--no-jit", "--out", str(run)]
    assert main(args) == 0
    record = json.loads((run / "training.json").read_text())
    assert record["dataset"] == f"24 images in {colour_folder}, as 32×32×3"
    assert record["final_logs"]["d_loss"] == pytest.approx(record["final_logs"]["d_loss"])  # finite, recorded
    assert Image.open(run / "samples" / "epoch_001.png").mode == "RGB"
    assert main(["sample", str(run / "model.keras"), "-n", "4", "--scale", "1", "-o", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2)


def test_train_cgan_on_class_folders_draws_a_class_by_its_folder_name(class_folder, tmp_path):
    from zoo.saving import load_model

    run = tmp_path / "cgan"
    args = ["train", "cgan", "--images", str(class_folder), "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--latent-dim", "8", "--no-jit", "--out", str(run)]
    assert main(args) == 0
    model = load_model(run / "model.keras")
    assert model.class_names == ("big", "small") and model.image_shape == (16, 16, 1)
    assert main(["sample", str(run / "model.keras"), "--label", "small", "-n", "4", "-o", str(tmp_path / "small.png")]) == 0


@pytest.mark.inputs
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--image-size", "50"], "DCGAN cannot make 50×50 images: its side must be 3 to 7 doubled"),
        (["--image-size", "4"], "image size must be a whole number of pixels from 8 to 1024"),
        (["--source", "tfds"], "either --images DIR"),
    ],
)
def test_sizes_the_model_cannot_take_are_refused_before_training(colour_folder, tmp_path, capsys, extra, message):
    assert main(["train", "dcgan", "--images", str(colour_folder), "--out", str(tmp_path / "run"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.inputs
def test_image_size_is_refused_for_fashion_mnist(tmp_path, capsys):
    assert main(["train", "dcgan", "--image-size", "64", "--out", str(tmp_path / "run")]) == 2
    assert "Fashion-MNIST images are 28×28" in capsys.readouterr().err


def test_train_on_a_tfds_dataset_by_name(tmp_path):
    import tensorflow_datasets as tfds

    run = tmp_path / "mnist"
    with tfds.testing.mock_data(num_examples=32):  # stands in for the download a user online gets
        args = ["train", "cgan", "--source", "tfds", "--dataset", "mnist", "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--latent-dim", "8", "--no-jit", "--out", str(run)]
        assert main(args) == 0
    record = json.loads((run / "training.json").read_text())
    assert record["dataset"] == "TFDS mnist train, as 16×16×1"


@pytest.mark.inputs
def test_an_unknown_tfds_dataset_is_named(tmp_path, capsys):
    assert main(["train", "dcgan", "--source", "tfds", "--dataset", "no_such_dataset_xyz", "--out", str(tmp_path / "run")]) == 2
    assert "Unknown TFDS dataset 'no_such_dataset_xyz'" in capsys.readouterr().err
