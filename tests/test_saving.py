"""Untrusted .keras files: refused in safe mode before any of their code runs."""

import json
import zipfile

import keras
import pytest

from zoo.models import DCGAN
from zoo.saving import load_model


def tiny_dcgan(**kwargs):
    return DCGAN(latent_dim=4, g_filters=4, d_filters=4, **kwargs)


def rewrite_config(source, target, edit):
    """Copies a .keras zip, passing its config.json through `edit`."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for name in original.namelist():
            payload = original.read(name)
            if name == "config.json":
                payload = json.dumps(edit(json.loads(payload)))
            copy.writestr(name, payload)
    return target


def test_a_saved_zoo_model_loads(tmp_path):
    tiny_dcgan().save(tmp_path / "gan.keras")
    assert isinstance(load_model(tmp_path / "gan.keras"), DCGAN)


@pytest.mark.files
def test_a_lambda_layer_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    inputs = keras.Input((2,))
    leaves_a_mark = eval(f"lambda x: x if open({str(marker)!r}, 'w') else x")  # path baked into the bytecode
    outputs = keras.layers.Lambda(leaves_a_mark)(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    marker.unlink(missing_ok=True)  # saving traced the lambda once
    with pytest.raises(ValueError, match="Lambda"):
        load_model(tmp_path / "lambda.keras")
    assert not marker.exists()


@pytest.mark.files
def test_a_config_naming_an_outside_module_is_refused(tmp_path):
    tiny_dcgan().save(tmp_path / "gan.keras")

    def point_at_os_system(config):
        return {**config, "module": "os", "class_name": "system", "registered_name": None}

    with pytest.raises(ValueError, match="system"):
        load_model(rewrite_config(tmp_path / "gan.keras", tmp_path / "evil.keras", point_at_os_system))


@pytest.mark.files
def test_weights_that_do_not_fit_the_config_name_the_layer(tmp_path):
    tiny_dcgan().save(tmp_path / "gan.keras")

    def widen_generator(config):
        config["config"]["g_filters"] = 8
        return config

    with pytest.raises(ValueError, match=r"could not be loaded.*name=dense"):
        load_model(rewrite_config(tmp_path / "gan.keras", tmp_path / "wide.keras", widen_generator))


@pytest.mark.files
def test_legacy_h5_and_truncated_files_are_refused(tmp_path):
    model = tiny_dcgan()
    model.save(tmp_path / "gan.keras")
    (tmp_path / "gan.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match="legacy .h5"):
        load_model(tmp_path / "gan.h5")
    whole = (tmp_path / "gan.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "cut.keras")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.keras")
