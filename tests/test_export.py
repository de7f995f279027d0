"""Export of a generator to generator.onnx + saved_model/ + card.json, with parity."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests import harness
from zoo.export import ExportError, export_generator, load_keras_model
from zoo.models import DCGAN


@pytest.fixture(scope="module")
def trained_dcgan(real_batches):
    gan = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    gan.fit(real_batches.take(3), epochs=1, verbose=0)
    return gan


def test_export_matches_keras_at_batch_1_7_and_300(trained_dcgan, tmp_path):
    card = harness.check_export(trained_dcgan, tmp_path / "dcgan")
    assert card["family"] == "dcgan" and card["latent_dim"] == 16
    assert card["image_shape"] == [28, 28, 1] and card["output_range"] == [-1.0, 1.0]
    assert set(card["files"]) >= {"generator.onnx", "saved_model/saved_model.pb"}
    assert card["parity"]["atol"] == 1e-4


def test_exports_hold_standard_convolutions_whatever_implementation_trained(trained_dcgan, tmp_path):
    """The files are traced with Keras's own convolutions: `ConvTranspose`, not the phase form's
    pads and slices, even when the model trains in another `zoo.layers` implementation."""
    import onnx

    from zoo import layers

    for implementation in layers.IMPLEMENTATIONS:
        with layers.implementation(implementation):
            harness.check_export(trained_dcgan, tmp_path / implementation)
        op_types = [node.op_type for node in onnx.load(str(tmp_path / implementation / "generator.onnx")).graph.node]
        assert op_types.count("ConvTranspose") == 2 and not {"Slice", "Pad", "Conv"} & set(op_types), op_types


def test_saved_model_serves_the_same_images(trained_dcgan, tmp_path):
    import tensorflow as tf

    export_generator(trained_dcgan, tmp_path / "dcgan")
    serve = tf.saved_model.load(str(tmp_path / "dcgan" / "saved_model")).signatures["serving_default"]
    z = trained_dcgan.export_example(9, seed=4)["z"]
    np.testing.assert_allclose(serve(z=tf.constant(z))["image"].numpy(), trained_dcgan.generate(z=z), atol=1e-5)


class DriftingDCGAN(DCGAN):
    """A generator whose exported graph disagrees with what Keras computes eagerly."""

    def export_call(self, inputs):
        images = super().export_call(inputs)
        return images + 0.5 if isinstance(inputs["z"], np.ndarray) else images


@pytest.mark.files
def test_a_parity_failure_raises_and_leaves_the_previous_artifact_whole(trained_dcgan, tmp_path):
    target = tmp_path / "dcgan"
    good = export_generator(trained_dcgan, target)
    drifting = DriftingDCGAN(latent_dim=16, g_filters=8, d_filters=8)
    with pytest.raises(ExportError, match="differs from Keras"):
        export_generator(drifting, target, overwrite=True)
    assert json.loads((target / "card.json").read_text()) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan"]  # no half-written staging folder


def test_refuses_to_replace_an_artifact_unless_asked(trained_dcgan, tmp_path):
    export_generator(trained_dcgan, tmp_path / "dcgan")
    with pytest.raises(FileExistsError):
        export_generator(trained_dcgan, tmp_path / "dcgan", overwrite=False)


@pytest.mark.files
def test_reloading_refuses_cards_that_name_classes_outside_the_zoo_or_carry_no_keras_weights(trained_dcgan, tmp_path):
    card = export_generator(trained_dcgan, tmp_path / "dcgan")
    for change, message in (
        ({"keras": {**card["keras"], "module": "os"}}, "outside the zoo"),
        ({"keras": {**card["keras"], "class": "zoo>NoSuchGAN"}}, "unknown model class"),
        ({"format_version": 1}, "no Keras weights"),
    ):
        (tmp_path / "dcgan" / "card.json").write_text(json.dumps({**card, **change}))
        with pytest.raises(ValueError, match=message):
            load_keras_model(tmp_path / "dcgan")


@pytest.mark.files
def test_export_never_replaces_a_folder_that_is_not_an_artifact(trained_dcgan, tmp_path):
    """A user's folder, or the run folder itself, is refused before any work: nothing in it is touched."""
    for folder in (tmp_path / "mine", tmp_path / "run"):
        folder.mkdir()
        (folder / "notes.txt").write_text("my notes")
    (tmp_path / "run" / "checkpoints").mkdir()
    (tmp_path / "run" / "checkpoints" / "epoch_0003.weights.h5").write_bytes(b"weights")
    for folder in (tmp_path / "mine", tmp_path / "run"):
        before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        for overwrite in (False, True):
            with pytest.raises(FileExistsError, match=f"{folder} is not an artifact folder .*Choose a new folder"):
                export_generator(trained_dcgan, folder, overwrite=overwrite)
        assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    export_generator(trained_dcgan, tmp_path / "artifact")
    (tmp_path / "artifact" / "mine.png").write_bytes(b"a picture of mine")  # a file the card does not list
    with pytest.raises(FileExistsError, match="does not list \\(mine.png\\)"):
        export_generator(trained_dcgan, tmp_path / "artifact", overwrite=True)
    assert (tmp_path / "artifact" / "mine.png").read_bytes() == b"a picture of mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact", "mine", "run"]  # no staging folder left


@pytest.mark.inputs
def test_a_folder_with_no_card_is_refused_without_walking_all_of_it():
    """`export model.keras /` once listed every file on the disk before refusing."""
    import time

    from zoo.export import check_replaceable

    started = time.monotonic()
    with pytest.raises(FileExistsError, match="/ is not an artifact folder .* holds files, e.g. "):
        check_replaceable("/", overwrite=True)
    assert time.monotonic() - started < 2


@pytest.mark.inputs
def test_a_target_name_too_long_for_its_staging_folder_is_refused_by_its_own_name_before_any_work(tmp_path, capsys):
    """Export writes into `.<name>.tmp-<writer>-<random>` beside the target, 28 bytes or so longer
    than its name: a name near the file system's 255-byte limit is refused naming the target
    and the longest name that fits, not with an error about a staging path the user never gave."""
    from zoo.cli import main
    from zoo.files import writer_mark

    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.save(tmp_path / "model.keras")
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")  # 255 bytes on most file systems
    fits = limit - len(f"..tmp-{writer_mark()}-12345678")  # the longest name whose staging name is `limit` bytes
    target = tmp_path / ("a" * (limit - 15))
    assert main(["export", str(tmp_path / "model.keras"), str(target)]) == 2
    err = capsys.readouterr().err
    assert f"error: [Errno 36] {target}: its name is {limit - 15} bytes, too long for the staging folder export writes beside it" in err, err
    assert f"within this file system's limit of {limit} bytes on a name; give a name of at most {fits} bytes." in err and f".{target.name}.tmp" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


@pytest.mark.inputs
def test_a_folder_name_longer_than_a_cards_name_is_refused_before_any_work(tmp_path):
    """The artifact's name defaults to its folder's; card.json holds names of up to 200 characters."""
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    with pytest.raises(ValueError, match="`name` \\(n{40}...\\) is 201 characters; a card's name holds at most 200 \\(default: the folder's name\\)"):
        export_generator(gan, tmp_path / ("n" * 201))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.faults
def test_replacing_an_artifact_needs_overwrite_and_keeps_the_old_one_until_the_new_one_is_whole(trained_dcgan, tmp_path):
    target = tmp_path / "dcgan"
    old = export_generator(trained_dcgan, target)
    with pytest.raises(FileExistsError, match="holds the artifact 'dcgan'; pass overwrite=True \\(--overwrite\\)"):
        export_generator(trained_dcgan, target)
    assert json.loads((target / "card.json").read_text()) == old
    with pytest.raises(ExportError):  # a replacement that fails its checks leaves the old artifact (see also test_faults)
        export_generator(DriftingDCGAN(latent_dim=16, g_filters=8, d_filters=8), target, overwrite=True)
    assert json.loads((target / "card.json").read_text()) == old
    other = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=5)
    new = export_generator(other, target, overwrite=True)
    assert new["files"] != old["files"] and json.loads((target / "card.json").read_text()) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan"]  # the old one swapped out and deleted, no staging left
    from zoo import runtime

    np.testing.assert_allclose(runtime.load(target).generate(3, seed=0), other.generate(3, seed=0), atol=1e-4)


class DCGANWithAnArrival(DCGAN):
    """A DCGAN whose export sees the user's files arrive in its target folder midway: after
    export_generator checked the folder, before it swaps the new artifact in (when it draws the
    inputs of its parity check)."""

    arrivals = ()  # (path, bytes) pairs, written when the export draws its parity inputs

    def export_example(self, n, seed=None):
        for path, data in self.arrivals:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return super().export_example(n, seed=seed)


@pytest.mark.faults
def test_files_put_into_the_target_while_an_overwriting_export_runs_are_kept_and_named(tmp_path):
    from zoo.files import sha256

    target, kept = tmp_path / "dcgan", tmp_path / "dcgan.kept"
    old = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0), target)
    replacement = DCGANWithAnArrival(latent_dim=16, g_filters=8, d_filters=8, seed=5)
    replacement.arrivals = ((target / "mine.png", b"a picture of mine"), (target / "saved_model" / "notes.txt", b"my notes"))
    with pytest.warns(UserWarning, match=f"{target} gained 2 file\\(s\\) its card.json does not list while this export ran "
                                         f"\\(mine.png, saved_model/notes.txt\\); they are kept in {kept}"):
        new = export_generator(replacement, target, overwrite=True)
    assert new["files"] != old["files"] and json.loads((target / "card.json").read_text()) == new
    assert all(sha256(target / relative) == digest for relative, digest in new["files"].items())
    assert not (target / "mine.png").exists()  # the new artifact holds its own files only
    assert {p.relative_to(kept).as_posix(): p.read_bytes() for p in kept.rglob("*") if p.is_file()} == {
        "mine.png": b"a picture of mine", "saved_model/notes.txt": b"my notes"}  # the old artifact's files are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan", "dcgan.kept"]  # no staging folder left

    # Another arrival, the first one's folder still there: kept beside it as .kept-2, the first untouched.
    replacement.arrivals = ((target / "mine.png", b"a second picture"),)
    with pytest.warns(UserWarning, match=f"they are kept in {tmp_path / 'dcgan.kept-2'}"):
        export_generator(replacement, target, overwrite=True)
    assert (tmp_path / "dcgan.kept-2" / "mine.png").read_bytes() == b"a second picture"
    assert (kept / "mine.png").read_bytes() == b"a picture of mine" and (kept / "saved_model" / "notes.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan", "dcgan.kept", "dcgan.kept-2"]

    # A folder of the user's made where there was none when the export looked is not deleted either.
    fresh = tmp_path / "fresh"
    replacement.arrivals = ((fresh / "mine.png", b"mine too"),)
    with pytest.warns(UserWarning, match=f"they are kept in {tmp_path / 'fresh.kept'}"):
        export_generator(replacement, fresh, overwrite=True)
    assert (tmp_path / "fresh.kept" / "mine.png").read_bytes() == b"mine too" and (fresh / "card.json").is_file()


class DCGANThatLocksItsTarget(DCGAN):
    """A DCGAN whose export finds its target folder made immutable (`chattr +i`) midway, after
    export_generator checked it and before the swap: the kernel then refuses to move the folder,
    as it refuses a mount point or, without root, a folder in a read-only parent."""

    target = None

    def export_example(self, n, seed=None):
        import subprocess

        subprocess.run(["chattr", "+i", str(self.target)], check=True)
        return super().export_example(n, seed=seed)


def skip_unless_folders_can_be_made_immutable(folder):
    """Skips the test where `chattr +i` cannot lock a folder: without root, or on a file system without the flag."""
    import shutil
    import subprocess

    folder.mkdir()
    try:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("needs chattr +i (root, and a file system such as ext4) to make the swap fail even for root")
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    finally:
        folder.rmdir()


@pytest.mark.faults
def test_an_overwriting_export_that_cannot_swap_its_folder_in_keeps_the_old_artifact_and_says_so(tmp_path):
    import subprocess

    skip_unless_folders_can_be_made_immutable(tmp_path / "probe")
    target = tmp_path / "dcgan"
    old = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0), target)
    files = {path.relative_to(target): path.read_bytes() for path in target.rglob("*") if path.is_file()}
    replacement = DCGANThatLocksItsTarget(latent_dim=16, g_filters=8, d_filters=8, seed=5)
    replacement.target = target
    try:
        with pytest.raises(PermissionError, match=f"Cannot put the new artifact in place of the old one in {target} \\(Operation not "
                                                  "permitted\\); the old artifact there is kept as it was and this export was not saved"):
            export_generator(replacement, target, overwrite=True)
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert {path.relative_to(target): path.read_bytes() for path in target.rglob("*") if path.is_file()} == files
    assert json.loads((target / "card.json").read_text()) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan"]  # the new one's staging folder removed, nothing else written


@pytest.mark.faults
def test_a_swap_by_two_renames_that_fails_midway_puts_the_old_folder_back(tmp_path, monkeypatch):
    """Where renameat2 cannot swap (macOS, NFS), `exchange` moves the old folder aside, then the new
    one in: should the second rename fail, the old folder goes back where it was, not left aside."""
    import subprocess

    from zoo import files

    skip_unless_folders_can_be_made_immutable(tmp_path / "probe")
    monkeypatch.setattr(files, "_renameat2_exchange", lambda first, second: False)  # as on a system without it
    new, old = tmp_path / ".dcgan.staging", tmp_path / "dcgan"
    new.mkdir()
    old.mkdir()
    (old / "card.json").write_text("the old card")
    subprocess.run(["chattr", "+i", str(new)], check=True)  # the new folder cannot be moved
    try:
        with pytest.raises(PermissionError):
            files.exchange(new, old)
    finally:
        subprocess.run(["chattr", "-i", str(new)], check=True)
    assert (old / "card.json").read_text() == "the old card"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dcgan.staging", "dcgan"]


def make_immutable_when_renamed(path):
    """Makes `path` immutable (`chattr +i`) the first time this process is about to rename it, from
    an audit hook (PEP 578) on `os.rename`: that rename then fails for real. `path` may be a
    pattern (`Path.match`: `.dcgan.tmp-*` for an export's staging folder, whose name is random).
    Returns a function that disarms the hook (hooks stay for the life of the process)."""
    import subprocess
    import sys

    armed = [True]

    def hook(event, args):
        if armed and event == "os.rename" and Path(os.fsdecode(args[0])).match(str(path)):
            armed.clear()
            subprocess.run(["chattr", "+i", os.fsdecode(args[0])], check=True)

    sys.addaudithook(hook)
    return armed.clear


def an_artifact_on_a_system_without_renameat2(tmp_path, monkeypatch):
    """`(target, its card, its files' bytes, the name exchange moves it aside to)`: an artifact at
    tmp_path/dcgan, with `zoo.files.exchange` swapping by renames, as where renameat2 cannot (macOS,
    NFS). Skips where folders cannot be made immutable (`chattr +i`: not root, or no such flag)."""
    from zoo import files
    from zoo.files import writer_mark

    skip_unless_folders_can_be_made_immutable(tmp_path / "probe")
    target = tmp_path / "dcgan"
    old = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0), target)
    old_files = {path.relative_to(target): path.read_bytes() for path in target.rglob("*") if path.is_file()}
    monkeypatch.setattr(files, "_renameat2_exchange", lambda first, second: False)  # as on a system without it
    return target, old, old_files, tmp_path / f".dcgan.exchange-{writer_mark()}"


@pytest.mark.faults
def test_an_overwriting_export_whose_old_artifact_cannot_be_moved_off_for_deletion_says_where_it_is(tmp_path, monkeypatch):
    """Where renameat2 cannot swap (macOS, NFS), `exchange` moves the old folder aside, the new one
    in, then the old one to the staging name to be deleted. Should that last rename fail, the new
    artifact is in place and the warning names the folder the old one is left in."""
    import subprocess

    target, old, old_files, aside = an_artifact_on_a_system_without_renameat2(tmp_path, monkeypatch)
    disarm = make_immutable_when_renamed(aside)
    try:
        with pytest.warns(UserWarning, match=f"{target} holds the new artifact, but the old one could not be moved out of its way to be "
                                             f"deleted \\(Operation not permitted\\); it is left in {aside}: delete it, or the first "
                                             f"export to {target} after this process has ended will"):
            new = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=5), target, overwrite=True)
    finally:
        disarm()
        if aside.exists():
            subprocess.run(["chattr", "-i", str(aside)], check=True)
    assert new["files"] != old["files"] and json.loads((target / "card.json").read_text()) == new
    assert {path.relative_to(aside): path.read_bytes() for path in aside.rglob("*") if path.is_file()} == old_files
    assert sorted(p.name for p in tmp_path.iterdir()) == [aside.name, "dcgan"]  # no staging folder left


@pytest.mark.faults
def test_an_overwriting_export_that_can_neither_swap_by_renames_nor_move_the_old_artifact_back_says_where_it_is(tmp_path, monkeypatch):
    """Where renameat2 cannot swap (macOS, NFS), `exchange` moves the old folder aside, then the new
    one in. Should that fail, and moving the old one back fail too, the old artifact is left aside
    and nothing is at the target: export said "the old artifact there is kept as it was"; it names
    where the old one is now, to be moved back."""
    import shutil
    import subprocess

    target, old, old_files, aside = an_artifact_on_a_system_without_renameat2(tmp_path, monkeypatch)
    disarm = [make_immutable_when_renamed(tmp_path / ".dcgan.tmp-*"), make_immutable_when_renamed(aside)]  # the new one, then the old one
    try:
        with pytest.raises(PermissionError, match=f"Cannot put the new artifact in place of the old one in {target} \\(Operation not permitted\\), "
                                                  f"nor move the old one back there; the old artifact is left in {aside}: move it back to {target}. "
                                                  "This export was not saved."):
            export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=5), target, overwrite=True)
    finally:
        for disarming in disarm:
            disarming()
        for folder in tmp_path.glob(".dcgan.*"):
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert not target.exists()
    assert {path.relative_to(aside): path.read_bytes() for path in aside.rglob("*") if path.is_file()} == old_files
    for staging in tmp_path.glob(".dcgan.tmp-*"):  # what was immutable of the new artifact, which export could not delete
        shutil.rmtree(staging)
    aside.rename(target)  # as the message says
    assert json.loads((target / "card.json").read_text()) == old and sorted(p.name for p in tmp_path.iterdir()) == ["dcgan"]


@pytest.mark.faults
def test_old_artifacts_left_aside_by_ended_exports_are_deleted_by_the_next_export_to_their_folder(tmp_path, dead_pid):
    """An overwriting export whose last rename fails leaves the old artifact in
    `.<name>.exchange-<mark>` (above); nothing deleted it, a whole artifact hidden beside each such
    export. The next export to the folder deletes those of ended exports, as it deletes their
    staging folders: the files their card lists, not a file put among them. One of an export still
    running, or of another machine or container, is kept; and so is any while the folder holds no
    artifact: the one aside may then be the only one (an export that could not move it back)."""
    import shutil

    from zoo.files import WRITER_TAG, writer_mark

    target = tmp_path / "dcgan"
    old = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0), target)
    stranded = tmp_path / f".dcgan.exchange-{writer_mark(dead_pid)}"
    target.rename(stranded)  # as an export that could neither swap nor move it back leaves it
    export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=1), target)
    assert json.loads((stranded / "card.json").read_text()) == old  # nothing was at the target: kept

    other_tag = "0badcafe" if WRITER_TAG != "0badcafe" else "1badcafe"
    kept = {tmp_path / f".dcgan.exchange-{mark}" for mark in (writer_mark(), f"{other_tag}-{dead_pid}")}  # running; another machine's
    untagged = tmp_path / f".dcgan.exchange-{dead_pid}"  # ended, named by a version before the tag
    for aside in (*kept, untagged):
        shutil.copytree(stranded, aside)
    (untagged / "saved_model" / "notes.txt").write_text("my notes")  # put there while its export ran
    new = export_generator(DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=5), target, overwrite=True)
    assert json.loads((target / "card.json").read_text()) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["dcgan", untagged.name, *(aside.name for aside in kept)])
    assert [p.relative_to(untagged).as_posix() for p in sorted(untagged.rglob("*"))] == ["saved_model", "saved_model/notes.txt"]
    for aside in kept:
        assert {p.relative_to(aside) for p in aside.rglob("*") if p.is_file()} == {Path("card.json"), *map(Path, old["files"])}


@pytest.mark.files
def test_loading_keras_weights_from_an_artifact_without_saved_model_says_so(trained_dcgan, tmp_path):
    import shutil

    export_generator(trained_dcgan, tmp_path / "dcgan")
    shutil.rmtree(tmp_path / "dcgan" / "saved_model")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'dcgan' / 'saved_model'} is missing or incomplete .*zoo.runtime.load"):
        load_keras_model(tmp_path / "dcgan")


@pytest.mark.files
def test_a_card_asking_for_a_huge_model_is_refused_before_anything_is_allocated(trained_dcgan, tmp_path):
    import resource
    import time

    card = export_generator(trained_dcgan, tmp_path / "dcgan")
    config = {**card["keras"]["config"], "g_filters": 4096, "d_filters": 4096}  # billions of weights
    (tmp_path / "dcgan" / "card.json").write_text(json.dumps({**card, "keras": {**card["keras"], "config": config}}))
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    with pytest.raises(ValueError, match=f"{tmp_path / 'dcgan' / 'card.json'}: keras.config asks for a model of [0-9,]+ weights .*refused before allocating"):
        load_keras_model(tmp_path / "dcgan")
    assert time.monotonic() - started < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1_000_000  # KiB: far less than the model's GiB


@pytest.mark.inputs
def test_export_refuses_arguments_it_cannot_honour_before_any_work(trained_dcgan, tmp_path):
    from zoo.models import ConditionalGAN

    cgan = ConditionalGAN(latent_dim=8, class_names=["cat", "dog", "fox"], g_filters=8, d_filters=8, seed=0)
    with pytest.raises(ValueError, match="`card` changes facts the model fixes \\(classes: the model's \\[\"cat\", \"dog\", \"fox\"\\], the card's \\[\"dog\", \"cat\", \"fox\"\\]\\)"):
        export_generator(cgan, tmp_path / "swapped", card={"classes": ["dog", "cat", "fox"]})  # "cat" would draw dogs
    with pytest.raises(ValueError, match="family: the model's \"dcgan\", the card's \"gan\""):
        export_generator(trained_dcgan, tmp_path / "a", card={"family": "gan"})
    with pytest.raises(TypeError, match="exports a zoo GAN .*, not a Functional; pass the GAN itself"):
        export_generator(trained_dcgan.generator, tmp_path / "a")
    for arguments, message in (({"name": 5}, "`name` must be a non-empty string"), ({"atol": -1}, "`atol` must be"),
                               ({"card": ["a"]}, "`card` must be a dict"), ({"card": {"dataset": tmp_path}}, "`card` must hold JSON values only")):
        with pytest.raises((TypeError, ValueError), match=message):
            export_generator(trained_dcgan, tmp_path / "a", **arguments)
    diverged = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    diverged.generator.weights[0].assign(np.full(diverged.generator.weights[0].shape, np.nan, np.float32))
    with pytest.raises(ValueError, match="The generator's weights hold [0-9,]+ NaN or infinite values"):
        export_generator(diverged, tmp_path / "a")
    assert list(tmp_path.iterdir()) == []  # refused before anything was written
    card = export_generator(cgan, tmp_path / "same", card={"classes": ["cat", "dog", "fox"], "dataset": "mine"})  # repeating is fine
    assert card["classes"] == ["cat", "dog", "fox"] and card["dataset"] == "mine"


@pytest.mark.backend
@pytest.mark.inputs
def test_export_on_another_backend_is_refused_before_any_work_naming_the_backend(tmp_path, capsys):
    """Export traces the generator with TensorFlow; on JAX it says so (and how to export a JAX-trained
    model) instead of failing inside tf.function on JAX arrays, and `demo` refuses before it trains."""
    import keras

    from zoo.cli import main

    if keras.backend.backend() == "tensorflow":
        pytest.skip("the refusal is of the other backends")
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match=f"TensorFlow backend; this process runs on {keras.backend.backend()}"):
        export_generator(gan, tmp_path / "artifact")
    assert main(["export", str(tmp_path / "model.keras"), str(tmp_path / "artifact")]) == 2
    assert "KERAS_BACKEND=tensorflow python -m zoo export" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "demo"), "--limit", "64"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no artifact, no demo run
