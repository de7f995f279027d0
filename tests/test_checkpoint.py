"""A stopped run resumes from its last checkpoint with both optimizers' state."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.harness import weights_of
from zoo.callbacks import GANCheckpoint, SampleGrid
from zoo.models import DCGAN


def fresh_dcgan():
    keras.utils.set_random_seed(0)
    gan = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    return gan


@pytest.mark.backend
@pytest.mark.faults
def test_stopped_after_one_epoch_resumes_at_the_second_with_the_same_result(real_batches, tmp_path):
    data = real_batches.take(3)
    straight = fresh_dcgan()
    straight.fit(data, epochs=2, verbose=0)

    first = fresh_dcgan()
    first.fit(data, epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    assert [p.name for _, p in GANCheckpoint(tmp_path / "ckpt").checkpoints()] == ["epoch_0001.weights.h5"]

    resumed = fresh_dcgan()  # a new process would start from scratch like this
    history = resumed.fit(data, epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    assert len(history.history["d_loss"]) == 1  # only the second epoch ran
    assert int(resumed.d_optimizer.iterations) == int(resumed.g_optimizer.iterations) == 6
    for a, b in zip(weights_of(straight.generator) + weights_of(straight.discriminator),
                    weights_of(resumed.generator) + weights_of(resumed.discriminator)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(straight.d_optimizer.variables, resumed.d_optimizer.variables):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)
    assert [p.name for _, p in GANCheckpoint(tmp_path / "ckpt").checkpoints()] == ["epoch_0002.weights.h5"]


def test_a_finished_run_is_not_trained_again(real_batches, tmp_path):
    gan = fresh_dcgan()
    gan.fit(real_batches.take(2), epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path)])
    again = fresh_dcgan()
    history = again.fit(real_batches.take(2), epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path)])
    assert history.history == {}
    assert int(again.g_optimizer.iterations) == 2


def test_sample_grid_writes_one_png_per_epoch_from_fixed_noise(real_batches, tmp_path):
    from PIL import Image

    from zoo.images import make_grid

    gan = fresh_dcgan()
    grid = SampleGrid(tmp_path / "samples", n=9, seed=3)
    gan.fit(real_batches.take(1), epochs=2, verbose=0, callbacks=[grid])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    first, last = (np.asarray(Image.open(tmp_path / "samples" / name)) for name in ("epoch_001.png", "epoch_002.png"))
    assert last.shape == (3 * 28 + 4 * 2, 3 * 28 + 4 * 2)  # 3 × 3 grey tiles of 28 pixels, 2-pixel borders
    np.testing.assert_array_equal(last, make_grid(gan.generate(9, seed=3)))  # the seed's samples after the last epoch
    assert np.any(first != last)  # the same noise, a generator one epoch further on


def test_sample_grid_and_losses_reach_tensorboard(real_batches, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gan = fresh_dcgan()
    callbacks = [SampleGrid(tmp_path / "samples", n=4, log_dir=tmp_path / "logs"), keras.callbacks.TensorBoard(tmp_path / "logs")]
    gan.fit(real_batches.take(1), epochs=1, verbose=0, callbacks=callbacks)
    tags = {}
    for events in (tmp_path / "logs").rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events), size_guidance={"tensors": 0, "images": 0})
        accumulator.Reload()
        for kind, names in accumulator.Tags().items():
            if isinstance(names, list):
                tags.setdefault(kind, set()).update(names)
    assert "samples" in tags.get("tensors", set()) | tags.get("images", set())
    assert {"epoch_d_loss", "epoch_g_loss"} <= tags.get("tensors", set()) | tags.get("scalars", set())
    assert "epoch_learning_rate" not in tags.get("tensors", set()) | tags.get("scalars", set())  # not Keras's default optimizer's, which stepped nothing


@pytest.mark.files
def test_a_corrupt_checkpoint_gives_an_error_naming_it(real_batches, tmp_path):
    fresh_dcgan().fit(real_batches.take(1), epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path)])
    checkpoint = tmp_path / "epoch_0001.weights.h5"
    checkpoint.write_bytes(checkpoint.read_bytes()[:2000])
    with pytest.raises(ValueError, match="Cannot resume from checkpoint .*epoch_0001.weights.h5"):
        fresh_dcgan().fit(real_batches.take(1), epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path)])


@pytest.mark.backend
@pytest.mark.files
def test_checkpoints_of_another_training_are_refused_not_resumed(real_batches, tmp_path):
    data = real_batches.take(2)
    fresh_dcgan().fit(data, epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    saved = (tmp_path / "ckpt" / "epoch_0001.weights.h5").read_bytes()
    other = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=5)  # the same shapes, another recipe
    other.compile(loss_fn="hinge")
    with pytest.raises(ValueError, match=f"{tmp_path / 'ckpt'} holds checkpoints of another training \\(loss: \"non_saturating\" there, \"hinge\" here\\)"):
        other.fit(data, epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    wider = DCGAN(latent_dim=16, g_filters=8, d_filters=8, spectral_norm=True, seed=0)
    wider.compile()
    with pytest.raises(ValueError, match="spectral_norm: false there, true here"):
        wider.fit(data, epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    assert (tmp_path / "ckpt" / "epoch_0001.weights.h5").read_bytes() == saved
    other_seed = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=7)  # another noise seed is the same training
    other_seed.compile()
    assert len(other_seed.fit(data, epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")]).history["d_loss"]) == 1
    with pytest.raises(ValueError, match="`keep` must be"):
        GANCheckpoint(tmp_path / "ckpt", keep=0)
    with pytest.raises(ValueError, match="`seed` must be"):  # at once, not after an epoch has trained
        SampleGrid(tmp_path / "samples", seed=-1)


@pytest.mark.faults
def test_a_new_fit_removes_what_killed_saves_left_and_keeps_a_running_save_s_file(real_batches, tmp_path, dead_pid):
    # Temporaries are named with their writer's pid: those of a process that is gone (killed while
    # saving) are deleted, weights and state.json alike; one of a process still writing stays, and
    # so does anything else, such as a folder whose name looks like a checkpoint's temporary.
    folder = tmp_path / "ckpt"
    folder.mkdir()
    killed = [folder / f".epoch_0002.weights.h5.{dead_pid}.a1b2.epoch_0002.weights.h5", folder / f".state.json.{dead_pid}.c3d4.state.json"]
    for path in killed:
        path.write_bytes(b"half written")
    running = folder / f".epoch_0002.weights.h5.{os.getpid()}.e5f6.epoch_0002.weights.h5"
    running.write_bytes(b"being written")
    (folder / ".notes.weights.h5").mkdir()
    fresh_dcgan().fit(real_batches.take(1), epochs=1, verbose=0, callbacks=[GANCheckpoint(folder)])
    assert not any(path.exists() for path in killed)
    assert running.read_bytes() == b"being written" and (folder / ".notes.weights.h5").is_dir()
    assert [p.name for _, p in GANCheckpoint(folder).checkpoints()] == ["epoch_0001.weights.h5"]


@pytest.mark.faults
def test_temporaries_of_another_machine_or_container_are_kept_whatever_their_pid(tmp_path, only_ended_writers_removed):
    # In a checkpoint folder shared with other containers or machines, a temporary tagged by another
    # may be a live writer's there, and is left for that side to clean up.
    from zoo.files import TEMPORARY, atomic_write, writer_mark

    only_ended_writers_removed(".state.json.{mark}.a1b2.state.json", GANCheckpoint(tmp_path).remove_partial_files)
    seen = []
    atomic_write(tmp_path / "state.json", lambda tmp: seen.append(TEMPORARY.fullmatch(os.path.basename(tmp))["mark"]))
    assert seen == [writer_mark()]


@pytest.mark.faults
def test_a_clean_up_in_another_pid_namespace_keeps_a_running_writer_s_temporary(tmp_path):
    # A container sharing this folder runs its clean-up while a save here is midway: there this
    # process's pid is free, and the temporary must survive for the save to finish.
    from zoo.files import atomic_write

    other_container = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", sys.executable, "-c"]
    if not shutil.which("unshare") or subprocess.run([*other_container, "pass"], capture_output=True).returncode:
        pytest.skip("no unprivileged pid namespaces here (unshare)")
    clean_up = f"from zoo.files import remove_stale_temporaries; remove_stale_temporaries({str(tmp_path)!r})"

    def write(tmp):
        Path(tmp).write_text('{"epoch": 2}')
        subprocess.run([*other_container, clean_up], check=True)

    atomic_write(tmp_path / "state.json", write)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"] and (tmp_path / "state.json").read_text() == '{"epoch": 2}'
