"""A run folder keeps what it holds: one `train` at a time, every session's record, strict JSON,
the same settings on resume, and a Ctrl-C that says where the last checkpoint is."""

import gc
import json
import signal
import subprocess
import sys
import time

import keras
import pytest

from tests.test_faults import wait_for
from zoo.files import FolderInUse, FolderLock, load_json
from zoo.training import train

TRAIN = [sys.executable, "-m", "zoo", "train", "gan", "--limit", "256", "--batch-size", "32", "--latent-dim", "8",
         "--g-units", "16", "--no-jit"]


# A gan whose model.keras (32 MB) takes a moment to write, for tests that stop a run while it is written.
LARGER = [*TRAIN[:5], "--limit", "64", "--batch-size", "32", "--latent-dim", "8", "--g-units", "1024,1024", "--d-units", "1024", "--no-jit"]


def tiny_train(out, **kwargs):
    options = {"epochs": 1, "batch_size": 32, "limit": 64, "jit_compile": False, "verbose": 0,
               "model_kwargs": {"latent_dim": 8, "g_units": (16,), "d_units": (16,)}, **kwargs}
    return train("gan", out, **options)


def strict(path):
    """The JSON at `path`, parsed as other languages do: NaN or Infinity fail."""
    return load_json(path)


@pytest.mark.faults
def test_a_second_train_into_the_same_folder_fails_at_once_naming_the_folder_and_the_holders_pid(tmp_path, fashion_dir):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", f"from zoo.files import FolderLock\nimport sys, time\n"
                               f"with FolderLock({str(run)!r}, 'training'):\n    print('locked', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = subprocess.run([*TRAIN, "--epochs", "1", "--out", str(run)], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and time.monotonic() - started < 60
        assert f"{run} is in use by another process (pid {holder.pid}, training since" in second.stderr
        assert "Traceback" not in second.stderr and not (run / "checkpoints").exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without a word: its lock file stays, but the lock went with it and is taken over.
    assert f"pid {holder.pid}" in (run / ".lock").read_text()
    tiny_train(run)
    assert (run / "model.keras").is_file()
    with FolderLock(run):  # and released when train returns
        pass


@pytest.mark.inputs
@pytest.mark.parametrize("option, value", [("epochs", 0), ("epochs", -2), ("batch_size", 0), ("batch_size", -1), ("limit", 0), ("limit", -1),
                                           ("seed", -1), ("seed", 2**32), ("seed", 2**63)])
def test_epochs_batch_size_limit_and_seed_out_of_range_are_refused_before_anything_is_written(tmp_path, option, value):
    with pytest.raises(ValueError, match=f"`{option}` must be an integer in \\[{0 if option == 'seed' else 1}, "):
        tiny_train(tmp_path / "run", **{option: value})
    assert not (tmp_path / "run").exists()


@pytest.mark.inputs
def test_the_command_line_says_what_is_wrong_with_batch_size_0(tmp_path, fashion_dir):
    result = subprocess.run([*TRAIN, "--epochs", "1", "--batch-size", "0", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "`batch_size` must be an integer in [1, " in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.faults
def test_reruns_keep_every_sessions_record_in_strict_json(tmp_path, fashion_dir):
    run = tmp_path / "run"
    tiny_train(run, epochs=2, command="first")
    first = strict(run / "training.json")
    model = (run / "model.keras").read_bytes()
    tiny_train(run, epochs=1, command="smaller")  # fewer epochs than done: nothing to train, nothing lost
    assert strict(run / "training.json") == first and (run / "model.keras").read_bytes() == model
    tiny_train(run, epochs=3, command="more")
    record = strict(run / "training.json")
    assert [(s["command"], s["from_epoch"], s["to_epoch"], s["status"]) for s in record["sessions"]] == [
        ("first", 0, 2, "finished"), ("more", 2, 3, "finished")]
    assert record["epochs"] == 3 and record["seconds"] == pytest.approx(sum(s["seconds"] for s in record["sessions"]), abs=0.2)
    assert len(record["final_logs"]) == 4 and record["command"] == "more"

    # A record of an earlier version (one session, NaN in it) becomes the first session, in strict JSON.
    legacy = {**first, "images_per_second": float("nan"), "final_logs": {}}
    for key in ("sessions",):
        legacy.pop(key)
    (run / "training.json").write_text(json.dumps(legacy))
    tiny_train(run, epochs=4, command="after legacy")
    record = strict(run / "training.json")
    assert [s["command"] for s in record["sessions"]] == ["first", "after legacy"]
    assert record["sessions"][0]["images_per_second"] is None


@pytest.mark.inputs
def test_resuming_with_another_loss_batch_size_or_limit_is_refused_with_both_settings_named(tmp_path, fashion_dir):
    run = tmp_path / "run"
    tiny_train(run, loss="hinge")
    before = (run / "training.json").read_bytes()
    with pytest.raises(ValueError, match=f"{run} was trained with --loss hinge; this run asks for --loss minimax"):
        tiny_train(run, epochs=2, loss="minimax")
    with pytest.raises(ValueError, match="--batch-size 32; this run asks for --batch-size 16"):
        tiny_train(run, epochs=2, loss="hinge", batch_size=16)
    with pytest.raises(ValueError, match="--limit 64; this run asks for --limit 128"):  # other data: another run
        tiny_train(run, epochs=2, loss="hinge", limit=128)
    assert (run / "training.json").read_bytes() == before
    tiny_train(run, epochs=2, loss="hinge")  # the same settings resume
    assert strict(run / "training.json")["epochs"] == 2


@pytest.mark.faults
def test_ctrl_c_during_training_says_where_the_last_checkpoint_is_and_how_to_resume(tmp_path, fashion_dir):
    run = tmp_path / "run"
    process = subprocess.Popen([*TRAIN, "--epochs", "100000", "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(run / "checkpoints" / "epoch_0001.weights.h5", process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert f"The last checkpoint is {run / 'checkpoints'}/epoch_" in err and "again to resume from it" in err
    session = strict(run / "training.json")["sessions"][-1]
    assert session["status"] == "interrupted" and session["to_epoch"] >= 1


class CtrlCInGarbageCollection(keras.callbacks.Callback):
    """Presses Ctrl-C, after the first step, while Python's garbage collector runs a callback (as
    it runs jax's whenever Keras has imported jax): Python prints the KeyboardInterrupt as
    "Exception ignored" and drops it."""

    pressed_after_batch = None

    def on_train_batch_end(self, batch, logs=None):
        if self.pressed_after_batch is None:
            self.pressed_after_batch = batch
            gc.callbacks.append(self.press)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(self.press)

    def press(self, phase, info):
        if phase == "start":
            signal.raise_signal(signal.SIGINT)


@pytest.mark.faults
def test_a_ctrl_c_python_drops_inside_a_garbage_collector_callback_still_stops_training(tmp_path, fashion_dir, capsys, monkeypatch):
    run = tmp_path / "run"
    ctrl_c, dropped = CtrlCInGarbageCollection(), []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))  # where Python puts it
    with pytest.raises(KeyboardInterrupt):
        tiny_train(run, epochs=50, callbacks=[ctrl_c])
    assert ctrl_c.pressed_after_batch == 0 and dropped == [KeyboardInterrupt]
    assert "Interrupted before the first epoch finished" in capsys.readouterr().err
    session = strict(run / "training.json")["sessions"][-1]
    assert session["status"] == "interrupted" and session["to_epoch"] == 0  # stopped at the next step, in the first epoch


@pytest.mark.faults
def test_sigterm_during_training_is_recorded_as_an_interruption_and_the_run_resumes(tmp_path, fashion_dir):
    run = tmp_path / "run"
    process = subprocess.Popen([*TRAIN, "--epochs", "100000", "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(run / "checkpoints" / "epoch_0001.weights.h5", process)
    process.terminate()  # SIGTERM, as a scheduler preempting the job sends
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "Stopped (SIGTERM)." in err and f"The last checkpoint is {run / 'checkpoints'}/epoch_" in err and "Traceback" not in err
    session = strict(run / "training.json")["sessions"][-1]
    assert session["status"] == "interrupted (SIGTERM)" and session["to_epoch"] >= 1 and "pid" not in session
    done = session["to_epoch"]
    resumed = subprocess.run([*TRAIN, "--epochs", str(done + 1), "--out", str(run)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]  # the lock was let go: the run resumes at once
    assert [(s["from_epoch"], s["status"]) for s in strict(run / "training.json")["sessions"]][-1] == (done, "finished")


@pytest.mark.inputs
def test_a_folder_that_is_not_a_run_keeps_the_files_training_would_replace(tmp_path, fashion_dir):
    user = tmp_path / "user"
    (user / "samples").mkdir(parents=True)
    (user / "model.keras").write_text("my model")
    (user / "samples" / "epoch_001.png").write_text("my picture")
    with pytest.raises(FileExistsError, match=f"{user} is not a training run \\(it has no training.json\\) but holds model.keras, samples"):
        tiny_train(user)
    assert (user / "model.keras").read_text() == "my model" and (user / "samples" / "epoch_001.png").read_text() == "my picture"
    assert sorted(p.name for p in user.iterdir()) == ["model.keras", "samples"]  # not even a lock file left
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError, match="afile is a file, not a folder"):
        tiny_train(tmp_path / "afile")
    # Other files are not in the way, and a run is resumed where it is (its training.json says it is one).
    others = tmp_path / "others"
    others.mkdir()
    (others / "notes.txt").write_text("mine")
    tiny_train(others)
    assert (others / "notes.txt").read_text() == "mine" and (others / "model.keras").is_file()
    tiny_train(others, epochs=2)
    assert strict(others / "training.json")["epochs"] == 2


@pytest.mark.faults
def test_a_run_whose_checkpoints_are_gone_is_refused_instead_of_retrained_over_its_model(tmp_path, fashion_dir):
    import shutil

    run = tmp_path / "run"
    tiny_train(run, epochs=2)
    model, record = (run / "model.keras").read_bytes(), (run / "training.json").read_bytes()
    shutil.rmtree(run / "checkpoints")
    for epochs in (2, 3):  # the same settings, or more epochs: either would start over from epoch 0
        with pytest.raises(ValueError, match=f"{run / 'training.json'} records 2 epochs trained, but {run / 'checkpoints'} holds no checkpoint"):
            tiny_train(run, epochs=epochs)
    with pytest.raises(ValueError, match="records 2 epochs trained"):  # another family into it, as the CLI would
        train("dcgan", run, epochs=1, batch_size=32, limit=64, jit_compile=False, verbose=0)
    assert (run / "model.keras").read_bytes() == model and (run / "training.json").read_bytes() == record


@pytest.mark.inputs
@pytest.mark.parametrize("sessions, named", [([1], "sessions\\[0\\] is 1, not a session \\(a JSON object\\)"),
                                             ([{"to_epoch": "x"}], 'sessions\\[0\\].to_epoch is "x", not a number')])
def test_a_training_record_of_the_wrong_shape_is_refused_naming_the_entry(tmp_path, sessions, named):
    run = tmp_path / "run"
    run.mkdir()
    (run / "training.json").write_text(json.dumps({"sessions": sessions}))
    with pytest.raises(ValueError, match=f"{run / 'training.json'}: {named}; move the file aside"):
        tiny_train(run)
    assert json.loads((run / "training.json").read_text()) == {"sessions": sessions}


@pytest.mark.inputs
def test_a_train_refused_for_its_data_leaves_no_empty_run_folder(tmp_path, capsys):
    from zoo.cli import main

    (tmp_path / "empty").mkdir()
    for options in (["--data-dir", str(tmp_path / "nowhere")], ["--images", str(tmp_path / "empty")]):
        assert main(["train", "dcgan", "--epochs", "1", *options, "--out", str(tmp_path / "run")]) == 2
        assert "error:" in capsys.readouterr().err and not (tmp_path / "run").exists()
    (tmp_path / "mine").mkdir()  # a folder that was there before keeps being there
    assert main(["train", "dcgan", "--epochs", "1", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine").is_dir()


@pytest.mark.faults
def test_a_run_stopped_between_its_last_checkpoint_and_model_keras_gets_the_new_model_on_rerun(tmp_path, fashion_dir):
    import keras

    from zoo.cli import main

    run = tmp_path / "run"
    # Networks large enough that writing model.keras takes a while (32 MB): time to stop the process before it is done.
    options = {"model_kwargs": {"latent_dim": 8, "ema_decay": None, "g_units": (1024, 1024), "d_units": (1024,)}}  # as the command line gives them
    tiny_train(run, epochs=1, **options)
    earlier = (run / "model.keras").read_bytes()
    process = subprocess.Popen([*LARGER, "--epochs", "2", "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = run / "checkpoints" / "epoch_0002.weights.h5"
    while not checkpoint.exists():
        assert process.poll() is None, "training ended before its last checkpoint"
        time.sleep(0.001)
    process.send_signal(signal.SIGSTOP)  # after the last checkpoint, before model.keras is replaced
    assert (run / "model.keras").read_bytes() == earlier, "stopped too late to test this"
    process.kill()
    process.wait()
    # An export now describes the weights it exports: epoch 1's, not the session stopped after them.
    assert main(["export", str(run / "model.keras"), str(tmp_path / "first")]) == 0
    first = strict(tmp_path / "first" / "card.json")["training"]
    assert len(strict(run / "training.json")["sessions"]) == 2 and first["epochs"] == 1 and len(first["sessions"]) == 1

    model = tiny_train(run, epochs=2, **options)  # nothing left to train, but model.keras is still epoch 1's
    saved = keras.models.load_model(run / "model.keras", safe_mode=True)
    assert int(saved.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 2 * 64 // 32
    record = strict(run / "training.json")
    assert [s["status"] for s in record["sessions"]] == ["finished", "killed (ended without finishing)"]
    assert record["model_keras"]["epoch"] == 2
    assert main(["export", str(run / "model.keras"), str(tmp_path / "second")]) == 0
    assert strict(tmp_path / "second" / "card.json")["training"] == record  # the whole record: every session trained these weights


@pytest.mark.faults
def test_ctrl_c_while_model_keras_is_written_is_recorded_as_an_interruption(tmp_path, fashion_dir):
    for attempt in range(3):
        run = tmp_path / f"run{attempt}"
        process = subprocess.Popen([*LARGER, "--epochs", "1", "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while not list(run.glob(".model.keras.*")):  # the temporary file model.keras is written to, then renamed
            assert process.poll() is None, "training ended before writing model.keras"
            time.sleep(0.001)
        process.send_signal(signal.SIGSTOP)
        if (run / "model.keras").exists() or not list(run.glob(".model.keras.*")):  # renamed into place before the stop: too late
            process.kill()
            process.wait()
            continue
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGCONT)
        out, err = process.communicate(timeout=120)
        break
    else:
        pytest.fail("three trainings were stopped too late: each had renamed model.keras into place")
    assert process.returncode == 130 and not (run / "model.keras").exists() and not list(run.glob(".model.keras.*")), (out + err)[-2000:]
    assert f"The last checkpoint is {run / 'checkpoints'}/epoch_0001.weights.h5 (epoch 1)" in err
    session = strict(run / "training.json")["sessions"][-1]
    assert session["status"] == "interrupted" and session["to_epoch"] == 1 and "pid" not in session


@pytest.mark.faults
def test_the_partial_model_keras_of_a_run_killed_while_writing_it_is_deleted_by_the_next_train(tmp_path, fashion_dir):
    run = tmp_path / "run"
    process = subprocess.Popen([*LARGER, "--epochs", "1", "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not list(run.glob(".model.keras.*")):
        assert process.poll() is None, "training ended before writing model.keras"
        time.sleep(0.001)
    process.kill()
    process.wait()
    assert not (run / "model.keras").exists() and len(list(run.glob(".model.keras.*"))) == 1  # 32 MB, half written
    result = subprocess.run([*LARGER, "--epochs", "1", "--out", str(run)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in run.iterdir()) == [".lock", "checkpoints", "model.keras", "samples", "training.json"]


def test_a_run_started_from_python_resumes_from_the_command_line_whose_options_spell_out_the_defaults(tmp_path, fashion_dir):
    from zoo.cli import main

    run = tmp_path / "run"
    tiny_train(run, epochs=1)  # model_kwargs without ema_decay: the model's default, None
    assert main([*TRAIN[3:], "--d-units", "16", "--epochs", "2", "--limit", "64", "--out", str(run)]) == 0  # the CLI passes ema_decay None
    sessions = strict(run / "training.json")["sessions"]
    assert [(s["from_epoch"], s["to_epoch"], s["status"]) for s in sessions] == [(0, 1, "finished"), (1, 2, "finished")]
    with pytest.raises(ValueError, match="model options"):  # an option that differs from the run's is still refused
        tiny_train(run, epochs=3, model_kwargs={"latent_dim": 8, "g_units": (16,), "d_units": (16,), "ema_decay": 0.9})
