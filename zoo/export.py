"""Writes a trained generator out as an artifact other apps can run (the contract: docs/artifacts.md).

`export_generator(model, "exports/my-dcgan")` writes, into a temporary folder moved into place
only when everything checked out:

- `generator.onnx`: inputs as in `model.export_inputs()` (`z`: float32 [batch, latent_dim]),
  output `image`: float32 [batch, H, W, C] in [-1, 1], dynamic batch, the card's key facts in
  the ONNX metadata;
- `saved_model/`: the same function as a TF SavedModel, signature `serving_default`; its
  variables are also the Keras weights: one variable collection per network the export runs
  (`generator_weights`, ...), in the order of the network's `weights`, from which
  `load_keras_model` rebuilds the Keras model without a second copy of the weights;
- `card.json`: what the generator is, how it was made (and how Keras rebuilds it) and the
  sha256 of every file.

The ONNX and SavedModel outputs must match the Keras generator within `atol` on random inputs,
or `ExportError` is raised and nothing is written. Exports are float32: a model trained in a
mixed policy (bfloat16 or float16 arithmetic, float32 weights) is exported from a float32 copy
with its weights, and the card says how it was trained.
"""

import errno
import glob
import itertools
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from zoo.cards import FORMAT_VERSION, validate_card
from zoo.cards import schema as card_schema
from zoo.files import LeftAside, atomic_write_json, current_umask, exchange, left_by_ended_writer, sha256, to_json, writer_mark

ONNX_OPSET = 17
PARITY_ATOL = 1e-4
# Facts copied from card.json into the ONNX metadata_props, so a bare .onnx explains itself.
METADATA_KEYS = ("name", "family", "latent_dim", "image_shape", "layout", "output_range", "classes", "format_version")
# The model's facts that say how to feed and read the graph: `card=` may repeat them, not change them.
BINDING_FACTS = ("name", "family", "latent_dim", "image_shape", "layout", "output_range", "classes", "tokenizer")


class ExportError(RuntimeError):
    """An export whose files could not be written or do not match the Keras generator."""


def export_generator(model, directory, name=None, card=None, atol=PARITY_ATOL, overwrite=False):
    """Exports `model`'s generator to `directory`; returns the parsed `card.json`.

    Args:
        model: a trained `zoo` GAN (a `BaseGAN`).
        directory: the artifact folder to create (e.g. `exports/dcgan-fashion-mnist`).
        name: the artifact's name; default: the folder's name.
        card: extra facts for `card.json` (dataset, training command and time, quality, ...).
        atol: the largest absolute difference allowed between Keras and the exported files.
        overwrite: replace an existing artifact in `directory`. The old artifact stays whole
            until the new one is complete and checked, then the two are swapped and the old
            one's files deleted; files put into `directory` while the export ran are kept
            beside it, in `<directory>.kept`, and a warning says so (`_remove_replaced`).

    Raises FileExistsError, before any work, when `directory` exists and is not an artifact (a
    run folder, a folder of your own: export never deletes what it did not write), holds files
    its card does not list, or is an artifact and `overwrite` is False.
    """
    check_export_backend()
    import tensorflow as tf

    from zoo.validation import check_number

    directory = Path(directory)
    check_exportable(model)
    check_finite_weights(model)
    atol = check_number("atol", atol, 0, 1, low_open=True)
    check_staging_name(directory)  # before the name's checks: a name given with --name does not shorten the folder's
    name = directory.name if name is None else name
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"`name` must be a non-empty string (the artifact's name in card.json), got {name!r}.")
    longest = card_schema()["properties"]["name"]["maxLength"]
    if len(name) > longest:
        raise ValueError(f"`name` ({name[:40]}...) is {len(name)} characters; a card's name holds at most {longest} (default: the folder's name): give a shorter one (--name).")
    facts = {"name": name, **model.card()}
    check_card_facts(card, facts)
    check_replaceable(directory, overwrite)
    directory.parent.mkdir(parents=True, exist_ok=True)
    trained_in = compute_precision(model)
    if trained_in != "float32":
        model = float32_copy(model)
    ranges = model.input_ranges()
    card = {
        **facts,
        **({"precision": {"trained": trained_in, "exported": "float32"}} if trained_in != "float32" else {}),
        **(card or {}),
        "inputs": {
            key: {"shape": ["batch", *shape[1:]], "dtype": _onnx_dtype(dtype), **({"range": list(ranges[key])} if key in ranges else {})}
            for key, (shape, dtype) in model.export_inputs().items()
        },
        "outputs": {"image": {"shape": ["batch", *model.image_shape], "dtype": "float32"}},
        "keras": keras_facts(model),
        "format_version": FORMAT_VERSION,
    }
    input_signature = [
        tf.TensorSpec(shape, _onnx_dtype(dtype), name=key) for key, (shape, dtype) in model.export_inputs().items()
    ]
    input_names = [spec.name for spec in input_signature]

    def serve(*inputs):
        return {"image": model.export_call(dict(zip(input_names, inputs)))}

    serve = tf.function(serve, input_signature=input_signature)
    remove_stale_staging(directory)
    remove_left_aside(directory)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=_staging_prefix(directory)))
    staging.chmod(0o777 & ~current_umask())
    swapped = False
    try:
        # Traced with Keras's own convolutions (`zoo.layers`' "keras"): the files hold standard
        # `ConvTranspose`/`Conv` ops that every runtime knows and tunes (`zoo.onnx_tuning`
        # rewrites them into its faster forms), not the training-time forms' pads and slices: the
        # published DCGAN's tuned file ran 1.8× faster at batch 256 (9,866 against 5,488
        # images/s, 2-core Xeon), the same function.
        from zoo import layers as convolutions

        with convolutions.implementation("keras"):
            _write_saved_model(model, serve, input_signature, staging / "saved_model")
            _write_onnx(serve, input_signature, staging / "generator.onnx", card)
        examples = model.export_example(5, seed=0)
        expected = np.asarray(model.export_call(examples))
        check_parity(staging, examples, expected, atol)
        card["parity"] = {"atol": atol, "checked_on": "5 random inputs, ONNX and SavedModel against Keras"}
        card["files"] = {path: sha256(staging / path) for path in _artifact_files(staging)}
        validate_card(json.loads(to_json(card)), f"the card of {directory}")  # what runtime.load will check, before it replaces anything
        atomic_write_json(staging / "card.json", card)
        swapped = _move_into_place(staging, directory, overwrite)
    finally:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
    if swapped:  # staging holds the old folder, and what the user put there meanwhile
        _remove_replaced(staging, directory)
    return card


def check_export_backend():
    """Refuses, before any work, to export on a Keras backend other than TensorFlow: the
    SavedModel and tf2onnx trace the generator as a `tf.function`, which runs TensorFlow
    variables only. A model trained on JAX exports from a TensorFlow process (its `.keras` file
    loads there)."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            f"Export writes a TensorFlow SavedModel and converts it to ONNX with tf2onnx, which needs Keras's TensorFlow backend; "
            f"this process runs on {backend} (KERAS_BACKEND). A model trained on {backend} exports from TensorFlow: save it as "
            "a .keras file and run KERAS_BACKEND=tensorflow python -m zoo export MODEL.keras DIRECTORY."
        )


def check_exportable(model):
    """Refuses, before any work, what is not a zoo GAN: its generator network alone (a Keras
    Functional) has no card facts or export hooks."""
    from zoo.models.base import BaseGAN

    if not isinstance(model, BaseGAN):
        raise TypeError(f"export_generator exports a zoo GAN (zoo.DCGAN, zoo.ConditionalGAN, ...), not a {type(model).__name__}; "
                        "pass the GAN itself, not its generator network.")


def check_finite_weights(model):
    """Refuses a generator whose weights hold NaN or infinity (a diverged training, which
    `zoo train` stops and does not save; a model trained by hand may still hold them): its
    images would be NaN, and the export would report a parity failure instead of the cause."""
    import keras

    for name, network in model.sampling_networks().items():
        values = [keras.ops.convert_to_numpy(weight) for weight in network.weights]
        bad = sum(int(np.size(value) - np.isfinite(value).sum()) for value in values)
        if bad:
            raise ValueError(f"The {name}'s weights hold {bad:,} NaN or infinite values (a diverged training?): its images would be NaN. "
                             "Export a checkpoint from before it diverged.")


def check_card_facts(card, facts):
    """Refuses `card` (export_generator's extra facts) unless it is a JSON object of JSON values
    that repeats the model's binding facts (`BINDING_FACTS`: names, shapes, classes, tokenizer)
    without changing them: a card that renamed the classes would draw one class under another's
    name in every app."""
    if card is None:
        return
    if not isinstance(card, dict):
        raise TypeError(f"`card` must be a dict of extra facts for card.json, got {type(card).__name__}.")
    try:
        to_json(card)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`card` must hold JSON values only (strings, numbers, lists, dicts): {error}") from None
    as_json = {key: (json.loads(to_json(card[key])), json.loads(to_json(facts[key]))) for key in BINDING_FACTS if key in card and key in facts}
    changed = [key for key, (given, fixed) in as_json.items() if given != fixed]
    if changed:
        differences = "; ".join(f"{key}: the model's {json.dumps(as_json[key][1])[:80]}, the card's {json.dumps(as_json[key][0])[:80]}" for key in changed)
        raise ValueError(f"`card` changes facts the model fixes ({differences}); leave them out (they are written from the model).")


def compute_precision(model):
    """The dtype policy the exported networks compute in: "float32", or e.g. "mixed_bfloat16"
    for a model trained in a mixed policy (`zoo train --precision`)."""
    for network in model.sampling_networks().values():
        for layer in network._flatten_layers(include_self=False, recursive=True):
            if layer.weights and layer.dtype_policy.compute_dtype != "float32":
                return layer.dtype_policy.name
    return "float32"


def float32_copy(model):
    """The same model built in the float32 policy with the same weights (a mixed policy keeps
    its weights in float32 already): exports are float32 whatever the training precision."""
    import keras

    config = {**model.get_config(), "dtype": "float32"}
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = type(model).from_config(config)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def _write_saved_model(model, serve, input_signature, path):
    import keras

    # The endpoint tracks the variables it uses (the moving average's, when the model keeps
    # one). The collections name those same tf.Variables (stored once) in Keras's order;
    # `archive.track(...)` or collections of the Keras wrappers would store every weight twice.
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serving_default", serve, input_signature=input_signature)
    for network_name, network in model.sampling_networks().items():
        archive.add_variable_collection(f"{network_name}_weights", [weight.value for weight in network.weights])
    archive.write_out(str(path), verbose=False)


def keras_facts(model):
    """card.json's `keras`: the registered class and config that rebuild the model, and the
    saved_model/ variable collection holding each exported network's weights."""
    import keras

    return {
        "class": keras.saving.get_registered_name(type(model)),
        "module": type(model).__module__,
        "config": model.get_config(),
        "weights": {network_name: f"{network_name}_weights" for network_name in model.sampling_networks()},
        "weights_layout": (
            "variable collections of saved_model/: tf.train.load_checkpoint('saved_model/variables/variables') "
            "keys '<collection>/<i>/.ATTRIBUTES/VARIABLE_VALUE', i in the order of the network's Keras `weights`"
        ),
        "keras_version": keras.__version__,
    }


def load_keras_model(directory):
    """The zoo model of an exported artifact folder, with its exported networks' weights restored.

    Built from the card's `keras` facts (only the zoo's own registered classes) and the weights
    in `saved_model/`'s variable collections; the discriminator is not exported and is freshly
    initialised: this is for sampling, fine-tuning the generator or re-exporting, not for
    resuming the original training.
    """
    import importlib

    import keras
    import tensorflow as tf

    from zoo.cards import load_card

    directory = Path(directory)
    card = load_card(directory / "card.json")
    facts = card.get("keras")
    if not facts or card.get("format_version", 1) < FORMAT_VERSION:
        raise ValueError(f"{directory} holds no Keras weights in its saved_model/ (card format {card.get('format_version', 1)}); run it with zoo.runtime.load.")
    if not facts["module"].startswith("zoo."):  # only the zoo's own classes are built
        raise ValueError(f"{directory / 'card.json'} names a model class outside the zoo: {facts['module']}.")
    variables = directory / "saved_model" / "variables" / "variables"
    if not Path(f"{variables}.index").is_file():
        raise FileNotFoundError(
            f"{directory / 'saved_model'} is missing or incomplete (no variables/variables.index): the Keras weights live there. "
            "Fetch the whole artifact again; its generator.onnx still runs with zoo.runtime.load."
        )
    importlib.import_module(facts["module"])  # registers the class with Keras
    model_class = keras.saving.get_registered_object(facts["class"])
    if model_class is None:
        raise ValueError(f"{directory / 'card.json'} names an unknown model class {facts['class']!r}.")
    check_config_size(model_class, facts["config"], directory / "card.json")
    model = model_class.from_config(facts["config"])
    try:
        reader = tf.train.load_checkpoint(str(variables))
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"{directory / 'saved_model'} holds no readable weights: {error}") from None
    networks = model.sampling_networks()
    for network_name, collection in facts["weights"].items():
        network = networks[network_name]
        keys = [f"{collection}/{i}/.ATTRIBUTES/VARIABLE_VALUE" for i in range(len(network.weights))]
        missing = [key for key in keys if not reader.has_tensor(key)]
        if missing:
            raise ValueError(f"{directory / 'saved_model'} lacks {len(missing)} of the {len(keys)} weights of `{network_name}` (first: {missing[0]}).")
        network.set_weights([reader.get_tensor(key) for key in keys])
    if model.sampling_generator is not model.generator:  # training would continue from the exported average
        model.generator.set_weights(model.sampling_generator.get_weights())
    return model


# A card's Keras config may ask for at most this many weights (GAN, D and the moving average
# together): the published generators have about 10 million; a config asking for billions is
# refused before anything is allocated.
MAX_PARAMETERS = 200_000_000


def check_config_size(model_class, config, path):
    """Counts the weights `model_class.from_config(config)` would create, without allocating them
    (built in a `keras.StatelessScope` whose variables are never initialised), and raises
    ValueError naming `path` when they exceed `MAX_PARAMETERS`."""
    import warnings

    import keras

    try:
        from keras.src.backend.common import global_state  # the list of deferred variables, cleared below

        pending = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    except (ImportError, AttributeError, TypeError) as error:  # Keras internals moved: build without the dry run
        warnings.warn(f"Cannot size {path}'s Keras config before building it ({error}); building it unchecked.", stacklevel=2)
        return
    before = len(pending)
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = model_class.from_config({**config, "ema_decay": None})  # the average is a copy of the generator
            counts = {name: sum(int(np.prod(w.shape)) for w in network.weights) for name, network in
                      (("generator", model.generator), ("discriminator", model.discriminator))}
    finally:
        del pending[before:]  # never initialised: nothing was allocated for them
    total = sum(counts.values()) + (counts["generator"] if config.get("ema_decay") else 0)
    if total > MAX_PARAMETERS:
        raise ValueError(
            f"{path}: keras.config asks for a model of {total:,} weights ({total * 4 / 2**30:.1f} GiB as float32; generator "
            f"{counts['generator']:,}), more than the {MAX_PARAMETERS:,} a card may ask for; refused before allocating it."
        )


def _write_onnx(serve, input_signature, path, card):
    import onnx
    import tf2onnx

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=input_signature, opset=ONNX_OPSET)
    for value in list(proto.graph.input) + list(proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "ganzoo"
    for key in METADATA_KEYS:
        if card.get(key) is not None:
            value = card[key]
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value if isinstance(value, str) else to_json(value, indent=None).strip()
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


def check_parity(directory, inputs, expected, atol=PARITY_ATOL):
    """Runs the ONNX file and the SavedModel in `directory` on `inputs`; raises ExportError on mismatch."""
    import onnxruntime
    import tensorflow as tf

    session = onnxruntime.InferenceSession(str(Path(directory) / "generator.onnx"), providers=["CPUExecutionProvider"])
    outputs = {"ONNX": session.run(["image"], inputs)[0]}
    signature = tf.saved_model.load(str(Path(directory) / "saved_model")).signatures["serving_default"]
    outputs["SavedModel"] = signature(**{key: tf.constant(value) for key, value in inputs.items()})["image"].numpy()
    for fmt, actual in outputs.items():
        if actual.shape != expected.shape:
            raise ExportError(f"{fmt} output has shape {actual.shape}, Keras gives {expected.shape}.")
        difference = float(np.max(np.abs(actual - expected)))
        if not difference <= atol:
            raise ExportError(f"{fmt} output differs from Keras by up to {difference:.3g} (allowed {atol:.1g}).")


def _artifact_files(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.name != "card.json")


def check_replaceable(directory, overwrite):
    """Raises FileExistsError unless writing an artifact to `directory` loses nothing: it does not
    exist, is empty, or holds an artifact (its card.json and the files that card lists, and
    variants earlier versions derived beside it) and `overwrite` is True."""
    directory = Path(directory)
    if not directory.exists() and not directory.is_symlink():
        return
    if not directory.is_dir() or directory.is_symlink():
        raise FileExistsError(f"{directory} exists and is not an artifact folder; export would replace it. Choose another path.")
    entries = _entries(directory)
    card = _listing_card(directory)
    if card is None:
        found = list(itertools.islice(entries, 3))  # a few are enough to refuse: never walk a whole disk
        if not found:
            return
        raise FileExistsError(
            f"{directory} is not an artifact folder (no card.json listing its files) and holds files, "
            f"e.g. {', '.join(found)}; export never replaces such a folder. Choose a new folder."
        )
    extra = [path for path in sorted(entries) if not _artifact_file(directory, path, card)]
    if extra:
        raise FileExistsError(
            f"{directory} holds {len(extra)} file(s) its card.json does not list ({', '.join(extra[:3])}); replacing the "
            "artifact would delete them. Move them out or choose another folder."
        )
    if not overwrite:
        raise FileExistsError(f"{directory} holds the artifact {card.get('name')!r}; pass overwrite=True (--overwrite) to replace it.")


def _entries(directory):
    """The files under `directory` and the links to folders there (not followed), as paths
    relative to it, walked lazily."""
    return (
        (Path(root) / name).relative_to(directory).as_posix()
        for root, folders, files in os.walk(directory)
        for name in files + [f for f in folders if (Path(root) / f).is_symlink()]
    )


def _listing_card(directory):
    """The parsed card.json of `directory` when it lists the artifact's files, else None."""
    try:
        card = json.loads((Path(directory) / "card.json").read_text())
        return card if isinstance(card["files"], dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _artifact_file(directory, path, card):
    """Whether `path` (relative to `directory`) belongs to the artifact `card` describes, the only
    files export replaces: card.json, a file the card lists, or a variant derived beside it."""
    return path == "card.json" or path in card["files"] or _derived_beside(directory / path, card)


def _derived_beside(path, card):
    """Whether `path` is a variant that earlier versions of zoo.onnx_tuning made beside this card's generator.onnx."""
    if not (path.name.startswith("generator.") and path.name.endswith(".onnx")) or path.is_symlink():
        return False
    try:
        import onnx

        metadata = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception:  # not an ONNX file: not ours
        return False
    return metadata.get("ganzoo.source_sha256") == card["files"].get("generator.onnx")


def _staging_prefix(directory):
    """The name of the staging folder an export to `directory` is written in, less the random
    characters `tempfile.mkdtemp` adds (`STAGING_RANDOM`)."""
    return f".{directory.name}.tmp-{writer_mark()}-"


STAGING_RANDOM = 8  # the characters tempfile.mkdtemp adds to a prefix


def check_staging_name(directory):
    """Raises OSError (ENAMETOOLONG) naming `directory`, before any work, when its folder name
    leaves no room for the staging folder export writes beside it (`.<name>.tmp-<writer>-<random>`)
    within the file system's limit on one name (NAME_MAX: 255 bytes on most)."""
    limit = _name_max(directory.parent)
    length = len(os.fsencode(directory.name))
    longer = len(os.fsencode(_staging_prefix(directory))) + STAGING_RANDOM - length
    if length + longer > limit:
        raise OSError(
            errno.ENAMETOOLONG,
            f"{directory}: its name is {length} bytes, too long for the staging folder export writes beside it "
            f"(.<name>.tmp-<writer>-<random>, {longer} bytes longer) within this file system's limit of {limit} bytes on a name; "
            f"give a name of at most {limit - longer} bytes.",
        )


def _name_max(folder):
    """The longest file name, in bytes, the file system holding `folder` (or its nearest existing
    parent) allows; 255 where it does not say."""
    for parent in (folder, *folder.parents):
        try:
            return os.pathconf(parent, "PC_NAME_MAX")
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError):  # a file where a folder should be, or no pathconf (Windows)
            break
    return 255


def remove_stale_staging(directory):
    """Deletes the staging folders (`.<name>.tmp-<mark>-<random>`, the mark naming the writer:
    `zoo.files.WRITER`) that exports to `directory` killed midway left beside it; those of exports
    still running, and those of another machine or container (`zoo.files.left_by_ended_writer`),
    are kept."""
    for staging in directory.parent.glob(f".{glob.escape(directory.name)}.tmp-*-*"):
        mark = staging.name[len(directory.name) + 6:].rsplit("-", 1)[0]
        if staging.is_dir() and not staging.is_symlink() and left_by_ended_writer(mark):
            shutil.rmtree(staging, ignore_errors=True)


def remove_left_aside(directory):
    """Deletes the old artifacts that overwriting exports to `directory` could not move off to be
    deleted (`zoo.files.LeftAside`: `.<name>.exchange-<mark>` beside it, which a warning named),
    once their export has ended; those of exports still running, and those of another machine or
    container (`zoo.files.left_by_ended_writer`), are kept. Only while `directory` holds an
    artifact, the one that replaced them: where it holds none, the one aside may be the only one
    there is (an export that could not move it back said so). Each is deleted as
    `_remove_replaced` deletes: the files of the artifact its card describes, then the folders
    they leave empty; a file its card does not list is kept, and so is its folder."""
    if _listing_card(directory) is None:
        return
    for aside in directory.parent.glob(f".{glob.escape(directory.name)}.exchange-*"):
        mark = aside.name[len(directory.name) + 11:]
        if aside.is_dir() and not aside.is_symlink() and left_by_ended_writer(mark):
            _delete_artifact(aside)


def _move_into_place(staging, directory, overwrite=False):
    """Puts the finished `staging` folder at `directory`; returns whether it swapped out an old
    folder there, which `staging` then holds. With `overwrite`, an old artifact there is swapped
    out in one step (see `zoo.files.exchange`), so `directory` always holds a whole one; the
    caller then removes it with `_remove_replaced`; a swap the system refuses (a mount point, an
    immutable folder, a parent without write permission) leaves the old artifact as it was, and
    the error says so; a swap by renames whose last one fails (`zoo.files.LeftAside`) leaves the new
    artifact in place and the old one beside it, which a warning names; one that can neither put
    the new artifact in place nor move the old one back leaves the old one beside `directory`,
    and the error names where. Without it, an artifact another process put there while this one
    was made is kept, and FileExistsError says so."""
    if overwrite and directory.exists():
        try:
            exchange(staging, directory)
        except LeftAside as error:
            if not error.swapped:  # the new artifact could not go in, nor the old one back: it is aside
                raise OSError(
                    error.errno,
                    f"Cannot put the new artifact in place of the old one in {directory} ({os.strerror(error.errno)}), nor move the old one "
                    f"back there; the old artifact is left in {error.aside}: move it back to {directory}. This export was not saved.",
                ) from error
            # swapped by renames, the last of which failed: the new artifact is in place
            warnings.warn(
                f"{directory} holds the new artifact, but the old one could not be moved out of its way to be deleted "
                f"({os.strerror(error.errno)}); it is left in {error.aside}: delete it, or the first export to {directory} "
                "after this process has ended will.",
                stacklevel=3,
            )
            return False
        except OSError as error:
            raise type(error)(
                error.errno,
                f"Cannot put the new artifact in place of the old one in {directory} ({error.strerror}); the old artifact "
                "there is kept as it was and this export was not saved.",
            ) from error
        return True
    try:
        staging.rename(directory)  # replaces an empty folder only
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        raise FileExistsError(
            f"{directory} was written by another process while this export ran; it is kept and this export was not saved. "
            "Pass overwrite=True (--overwrite) to replace it, or choose another folder."
        ) from None
    return False


def _remove_replaced(old, directory):
    """Deletes the folder swapped out of `directory` (now at `old`) file by file, by
    `check_replaceable`'s rule: only the files of the artifact its card describes, then the
    folders they leave empty. `check_replaceable` looked at `directory` before the export; a file
    put there while the export ran (or a whole folder, where there was none) is not the
    artifact's: the rest of `old` is kept as `<directory>.kept` (`.kept-2`, ... when taken) beside
    `directory`, and a warning names it and the files.

    Deciding file by file, no check can go stale before the deletion: a file the card does not
    list is never deleted, whenever it appears. What remains: a file written under a name the
    card lists (over the old artifact's own generator.onnx, say) is deleted with the artifact, as
    `check_replaceable` allows; and a file written into `old` after the last of its folders was
    emptied and removed fails to be created (its writer gets the error) rather than being lost.
    After the swap only a process that already held `old` open (a shell inside it, a folder
    handle) reaches it: `directory` is the new artifact.
    """
    if _delete_artifact(old):
        return
    left = sorted(_entries(old))
    for number in itertools.count(1):
        kept = directory.with_name(f"{directory.name}.kept" + (f"-{number}" if number > 1 else ""))
        if kept.exists() or kept.is_symlink():
            continue
        try:
            old.rename(kept)  # out of the staging name, which the next export deletes
            break
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise OSError(error.errno, f"{directory} gained {len(left)} file(s) its card.json does not list while this export ran "
                                           f"({', '.join(left[:3])}); they are in {old}, which could not be renamed to {kept} "
                                           f"({error.strerror}). Move them out before the next export to {directory}, which deletes that folder.") from None
    warnings.warn(
        f"{directory} gained {len(left)} file(s) its card.json does not list while this export ran ({', '.join(left[:3])}"
        f"{', ...' if len(left) > 3 else ''}); they are kept in {kept}, and {directory} holds the new artifact. "
        "Move them where you want them.",
        stacklevel=3,
    )


def _delete_artifact(folder):
    """Deletes, in `folder`, the files of the artifact its card describes (`_artifact_file`), then
    the folders they leave empty, `folder` too; returns whether `folder` is gone. Anything else in
    it (a file the card does not list, one that cannot be deleted) stays, with its folders."""
    card = _listing_card(folder)
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(root) / name
            if card is not None and _artifact_file(folder, path.relative_to(folder).as_posix(), card):
                try:
                    path.unlink()
                except OSError:  # kept
                    pass
        for name in folders:
            try:
                os.rmdir(Path(root) / name)  # only once empty; never a link to a folder
            except OSError:
                pass
    try:
        folder.rmdir()
        return True
    except OSError:
        return False


def _onnx_dtype(dtype):
    return {"float32": "float32", "int64": "int64", "int32": "int64"}[str(dtype)]
