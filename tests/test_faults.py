"""Faults: a killed training run resumes; a save that runs out of disk loses nothing."""

import errno
import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import keras
import pytest

from zoo.callbacks import GANCheckpoint
from zoo.export import export_generator, sha256
from zoo.files import check_free_space
from zoo.models import DCGAN

TRAIN = [sys.executable, "-m", "zoo", "train", "dcgan", "--epochs", "3", "--limit", "2048", "--batch-size", "32",
         "--latent-dim", "8", "--no-jit"]


def wait_until(condition, process, timeout=300, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"training ended before {what} held"
        assert time.monotonic() < deadline, f"{what} did not hold in {timeout} s"
        time.sleep(0.05)


def wait_for(path, process, timeout=300):
    wait_until(path.exists, process, timeout, what=f"{path} appearing")


@pytest.mark.faults
def test_a_run_killed_with_sigkill_mid_epoch_resumes_from_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([*TRAIN, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(run / "checkpoints" / "epoch_0001.weights.h5", process)
    wait_until(lambda: json.loads((run / "training.json").read_text())["sessions"][-1]["to_epoch"] == 1, process, what="epoch 1 in training.json")
    process.send_signal(signal.SIGKILL)  # somewhere in epoch 2
    process.wait()
    assert not (run / "model.keras").exists()

    resumed = subprocess.run([*TRAIN, "--out", str(run)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming from" in resumed.stdout and "(epoch 1)" in resumed.stdout
    model = keras.models.load_model(run / "model.keras", safe_mode=True)
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 3 * 2048 // 32
    assert [p.name for _, p in GANCheckpoint(run / "checkpoints").checkpoints()] == ["epoch_0003.weights.h5"]
    record = json.loads((run / "training.json").read_text())
    assert len(record["final_logs"]) == 4
    killed, finished = record["sessions"]
    assert killed["status"].startswith("killed") and (killed["from_epoch"], killed["to_epoch"]) == (0, 1)
    assert killed["seconds"] > 0 and killed["images"] == 2048  # its time up to its checkpoint is kept
    assert record["seconds"] == round(killed["seconds"] + finished["seconds"], 1)


def run_with_disk_full(script, tmp_path, limit_bytes=40_000):
    """Runs `script` in a fresh Python whose file writes fail past `limit_bytes` (EFBIG), as on a full disk."""
    preamble = textwrap.dedent(f"""
        import resource, signal
        def disk_full():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes}))
    """)
    return subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)


def tiny_dcgan():
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    return gan


@pytest.mark.faults
def test_an_export_that_runs_out_of_disk_leaves_the_previous_artifact_whole(tmp_path):
    card = export_generator(tiny_dcgan(), tmp_path / "artifact")
    result = run_with_disk_full("""
        from zoo.export import export_generator
        from zoo.models import DCGAN
        model = DCGAN(latent_dim=8, g_filters=64, d_filters=8, seed=1)
        disk_full()
        export_generator(model, "artifact", overwrite=True)
    """, tmp_path)
    assert result.returncode != 0 and "File too large" in result.stderr
    assert json.loads((tmp_path / "artifact" / "card.json").read_text()) == card
    for relative, digest in card["files"].items():
        assert sha256(tmp_path / "artifact" / relative) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]  # no staging folder left behind


@pytest.mark.faults
def test_a_checkpoint_save_that_runs_out_of_disk_keeps_the_previous_checkpoint(tmp_path, real_batches):
    gan = tiny_dcgan()
    gan.fit(real_batches.take(2), epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    saved = (tmp_path / "ckpt" / "epoch_0001.weights.h5").read_bytes()
    result = run_with_disk_full("""
        from zoo import data
        from zoo.callbacks import GANCheckpoint
        from zoo.models import DCGAN
        gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
        gan.compile()
        batches = data.load_fashion_mnist(batch_size=32, limit=64, shuffle=False)
        disk_full()
        gan.fit(batches, epochs=2, verbose=0, callbacks=[GANCheckpoint("ckpt")])
    """, tmp_path, limit_bytes=len(saved) // 2)
    assert result.returncode != 0, "the save should have failed"
    assert sorted((tmp_path / "ckpt").glob("epoch_*")) == [tmp_path / "ckpt" / "epoch_0001.weights.h5"]
    assert (tmp_path / "ckpt" / "epoch_0001.weights.h5").read_bytes() == saved
    resumed = tiny_dcgan()
    resumed.fit(real_batches.take(2), epochs=1, verbose=0, callbacks=[GANCheckpoint(tmp_path / "ckpt")])
    assert int(resumed.g_optimizer.iterations) == 2  # loaded from the intact checkpoint, nothing retrained
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["epoch_0001.weights.h5", "state.json"]


@pytest.mark.faults
def test_a_checkpoint_that_cannot_fit_on_the_disk_is_refused_before_hdf5_writes_a_byte(tmp_path, real_batches):
    # HDF5 meets a full disk in its own cleanup and ends Python with a segmentation fault, so the
    # free space is checked first, against a bound on the checkpoint's size.
    checkpoint = GANCheckpoint(tmp_path / "ckpt")
    gan = tiny_dcgan()
    gan.fit(real_batches.take(2), epochs=1, verbose=0, callbacks=[checkpoint])
    written = (tmp_path / "ckpt" / "epoch_0001.weights.h5").stat().st_size
    assert written <= checkpoint.checkpoint_bytes() <= written + (2 << 20)

    too_much = shutil.disk_usage(tmp_path).free * 2
    with pytest.raises(OSError, match=rf"Not enough free space in {tmp_path / 'ckpt'} for the checkpoint epoch_0002.weights.h5: about .* MB needed, .* MB free") as raised:
        check_free_space(tmp_path / "ckpt" / "epoch_0002.weights.h5", too_much, "the checkpoint epoch_0002.weights.h5")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "ckpt" / "epoch_0002.weights.h5")
    check_free_space(tmp_path / "ckpt" / "epoch_0002.weights.h5", checkpoint.checkpoint_bytes(), "a checkpoint")  # room for one


@pytest.mark.faults
def test_a_write_that_runs_out_of_disk_names_the_file_and_keeps_the_previous_one(tmp_path):
    (tmp_path / "notes.txt").write_text("before")
    result = run_with_disk_full("""
        from zoo.files import atomic_write_text
        disk_full()
        atomic_write_text("notes.txt", "x" * 100_000)
    """, tmp_path, limit_bytes=1000)
    assert result.returncode != 0 and f"OSError: [Errno 27] Cannot write notes.txt: File too large" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.faults
def test_a_file_that_cannot_be_written_is_named_not_its_temporary_twin(tmp_path):
    from zoo.files import atomic_write_text

    (tmp_path / "afile").write_text("mine")
    with pytest.raises(OSError, match=f"Cannot write {tmp_path}/afile/grid.png: "):
        atomic_write_text(tmp_path / "afile" / "grid.png", "x")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OSError, match=f"Cannot write {tmp_path}/folder.png: "):
        atomic_write_text(tmp_path / "folder.png", "x")
    assert (tmp_path / "afile").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder.png"]


@pytest.mark.faults
def test_an_artifact_another_export_wrote_meanwhile_is_not_replaced_without_overwrite(tmp_path):
    tiny_dcgan().save(tmp_path / "model.keras")
    target = tmp_path / "artifact"
    card = export_generator(DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=1), tmp_path / "other")
    process = subprocess.Popen([sys.executable, "-m", "zoo", "export", str(tmp_path / "model.keras"), str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: any(tmp_path.glob(".artifact.tmp-*")), process, what="the export's staging folder")  # target checked: free
    (tmp_path / "other").rename(target)  # another export gets there first
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2 and f"error: {target} was written by another process while this export ran" in err, err[-2000:]
    assert json.loads((target / "card.json").read_text()) == card
    for relative, digest in card["files"].items():
        assert sha256(target / relative) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact", "model.keras"]


@pytest.mark.faults
def test_the_staging_folder_of_an_export_killed_midway_is_removed_by_the_next_export(tmp_path):
    tiny_dcgan().save(tmp_path / "model.keras")
    target = tmp_path / "artifact"
    process = subprocess.Popen([sys.executable, "-m", "zoo", "export", str(tmp_path / "model.keras"), str(target)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: any(tmp_path.glob(".artifact.tmp-*/saved_model")), process, what="the export writing its SavedModel")
    process.kill()
    process.wait()
    assert not target.exists() and len(list(tmp_path.glob(".artifact.tmp-*"))) == 1  # left by the killed export
    running = subprocess.Popen(["sleep", "60"])  # another export still at work: its staging folder is kept
    try:
        (tmp_path / f".artifact.tmp-{running.pid}-abc").mkdir()
        card = export_generator(tiny_dcgan(), target)
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".artifact.tmp-{running.pid}-abc", "artifact", "model.keras"]
    finally:
        running.kill()
        running.wait()
    assert json.loads((target / "card.json").read_text()) == card


@pytest.mark.faults
def test_export_staging_folders_of_another_machine_or_container_are_kept_whatever_their_pid(tmp_path, only_ended_writers_removed):
    # Exports to a folder shared with other containers or machines: a staging folder tagged by
    # another may be a live export's there.
    from zoo.export import remove_stale_staging

    only_ended_writers_removed(".artifact.tmp-{mark}-a1b2", lambda: remove_stale_staging(tmp_path / "artifact"), folders=True)
