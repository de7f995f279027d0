"""Runs exported generators with onnxruntime alone: no TensorFlow, no Keras.

```python
from zoo import runtime
generator = runtime.load("exports/dcgan-fashion-mnist")  # or a published name: runtime.load("dcgan-fashion-mnist")
images = generator.generate(16, seed=0)  # (16, 28, 28, 1) float32 in [-1, 1]
for chunk in generator.iter_batches(1_000_000, seed=0):  # bounded memory for huge counts
    ...
dresses = runtime.load("cgan-fashion-mnist").generate(8, seed=0, labels="dress")  # as Keras's generate
```

CUDA is used when onnxruntime offers it and an NVIDIA driver is present (cuDNN's exhaustive
algorithm search, inputs and outputs bound to the device with IO binding); the CPU otherwise.
Sessions run the tuned graph of `zoo.onnx_tuning` (derived from the artifact's `generator.onnx`
into the cache on first use, and verified against its record there on every load), or its
float16 variant with `precision="float16"` (for GPUs), or its int8 variant with
`precision="int8"` (CPUs with int8 dot-product instructions: several times faster, images within
`zoo.onnx_tuning.INT8_TOLERANCE`; chosen only when asked). On the CPU in float32, calls of
`WINOGRAD_MIN_BATCH` rows or more run in a second session, made on the first such call, of the
tuned graph with its small-map convolutions in Winograd's form (`zoo.winograd`: the same function
to float rounding, fewer multiplications; at batch 1 its larger transformed weights make it
slower, so single images keep the first session). On the CPU a call runs in chunks of
`CPU_ROWS_PER_CALL` rows, whose tensors between layers stay in the caches (`rows_per_call`
overrides it).
A session serves concurrent calls from many threads.
"""

import ctypes.util
import json
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from zoo import onnx_tuning
from zoo.cards import CardError, check_against_graph, id_ranges, load_card
from zoo.files import check_regular_file, sha256
from zoo.labels import check_ids, resolve_labels
from zoo.latent import NormalStream, check_latent, latent_input
from zoo.validation import check_int

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
MAX_BATCH = 1024  # rows per onnxruntime call: bounds the memory of one call on huge inputs
# Rows per onnxruntime call on the CPU. Larger calls write tensors between layers that no longer
# fit the caches: at 1,024 rows per call the published DCGAN ran at 6,148 images/s against 9,765
# at 64 (float32; int8 8,689 against 14,237), and the TF tutorial's generator at 256 rows ran
# 1.07-1.26x faster in calls of 64 (int8 1.02-1.19x); 64 and 128 were within 4% of each other
# on every generator measured (2-core Xeon, 2026-11-28, docs/speed.md). GPUs keep `MAX_BATCH`.
CPU_ROWS_PER_CALL = 64
PRECISIONS = ("float32", "float16", "int8")  # the arithmetic a session runs (inputs and outputs stay float32)
# Rows from which a CPU float32 call runs the Winograd variant: the tutorial generator ran 1.3×
# faster at batch 2 and 2.0× at 256, 0.96× at batch 1 (one core of a 2-core Xeon).
WINOGRAD_MIN_BATCH = 2


def available_providers():
    """The providers of `PREFERRED_PROVIDERS` this onnxruntime build offers, best first (CUDA with its options).

    CUDA is offered only where an NVIDIA driver is installed: onnxruntime-gpu lists it on any
    machine, and asking for it without a GPU only logs a failure before falling back to CPU.
    """
    offered = set(onnxruntime.get_available_providers())
    if not (ctypes.util.find_library("cuda") or ctypes.util.find_library("nvcuda")):
        offered.discard("CUDAExecutionProvider")
    return [onnx_tuning.cuda_provider() if provider == "CUDAExecutionProvider" else provider for provider in PREFERRED_PROVIDERS if provider in offered]


def check_external_data(onnx_path):
    """Refuses ONNX external data outside the model's folder: absolute paths, `..`, links.

    Large ONNX models keep weights in side files named inside the model; a crafted model could
    name any file on the machine. Only plain relative names of regular files in the model's
    own folder are accepted.
    """
    onnx_path = Path(onnx_path)
    model = onnx.load(str(onnx_path), load_external_data=False)
    folder = onnx_path.parent.resolve()
    for tensor in _all_tensors(model.graph):
        if not onnx.external_data_helper.uses_external_data(tensor):
            continue
        location = onnx.external_data_helper.ExternalDataInfo(tensor).location
        relative = Path(location)
        target = onnx_path.parent / relative
        if relative.is_absolute() or ".." in relative.parts or not location or location.startswith("~"):
            raise ValueError(f"{onnx_path}: external data {location!r} is not a plain relative name inside the model's folder.")
        if target.is_symlink() or not target.is_file() or folder not in target.resolve().parents:
            raise ValueError(f"{onnx_path}: external data {location!r} is missing, a link, or outside the model's folder.")


def _all_tensors(graph):
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            subgraphs = ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs)
            for subgraph in subgraphs:
                yield from _all_tensors(subgraph)


def check_model_file(onnx_path):
    """The external-data check and `onnx.checker`'s full check; raises on a bad file, else
    returns the model it loaded (its external data loaded in)."""
    check_external_data(onnx_path)
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model, full_check=True)
    return model


def tuned_model(onnx_path, optimized=True, precision="float32"):
    """The file a session should load for `onnx_path`: its optimised, float16 or int8 variant, derived
    into the cache when no verified one is there (`zoo.onnx_tuning.derive`), or the file itself.
    When the variant cannot be written or does not match its source, the file itself, with a warning."""
    if precision == "float32" and not optimized:
        return onnx_path
    variant = "optimized" if precision == "float32" else precision
    try:
        return onnx_tuning.derive(onnx_path, variant)
    except (OSError, onnx_tuning.DerivationError) as error:
        warnings.warn(f"Running {onnx_path} as exported: could not make its {variant} variant ({error}).", stacklevel=3)
        return onnx_path


class Generator:
    """An exported generator (`generator.onnx` with its `card.json`) in an onnxruntime session.

    Args:
        path: the artifact folder, or a `generator.onnx` file.
        providers: onnxruntime execution providers; default: CUDA when available (with
            `zoo.onnx_tuning.cuda_provider`'s options), then CPU.
        session_options: an `onnxruntime.SessionOptions` (see `zoo.onnx_tuning.session_options`),
            or None for onnxruntime's defaults.
        check: run `onnx.checker` (full check) and the external-data check before loading.
        optimized: run the optimised variant (`zoo.onnx_tuning.optimize`: the same function,
            faster), derived into the cache on first use; False: the file as exported.
        precision: "float32"; "float16" for the float16 variant (for CUDA); "int8" for the
            int8 variant (quantized, calibrated on the generator's own inputs; for CPUs with
            VNNI, AMX or Arm's dot product). Both keep float32 inputs and outputs.
        io_binding: bind inputs and outputs to the provider's device (default: on CUDA).
        rows_per_call: the most rows one onnxruntime call runs; larger inputs run in chunks
            (default: `CPU_ROWS_PER_CALL` on the CPU, `MAX_BATCH` on CUDA).
    """

    def __init__(self, path, providers=None, session_options=None, check=True, optimized=True, precision="float32", io_binding=None, rows_per_call=None):
        path = Path(path)
        onnx_path = path / "generator.onnx" if path.is_dir() else path
        if not os.path.lexists(onnx_path):
            raise FileNotFoundError(f"No exported generator at {onnx_path} (expected an artifact folder or a .onnx file).")
        check_regular_file(onnx_path)  # a folder or named pipe (which would be waited on) named, not read
        if precision not in PRECISIONS:
            raise ValueError(f"`precision` must be one of {PRECISIONS}, got {precision!r}.")
        if rows_per_call is not None:
            rows_per_call = check_int("rows_per_call", rows_per_call, 1, MAX_BATCH)
        card_path = onnx_path.with_name("card.json")
        # CardError (a ValueError) names file and field; a folder or pipe there is refused, not run as no card
        self.card = load_card(check_regular_file(card_path)) if os.path.lexists(card_path) else {}
        if check:
            check_listed_digest(self.card, onnx_path, card_path)
        providers = list(providers or available_providers())
        try:
            checked = check_model_file(onnx_path) if check else None
            latent_dim, image_shape = generator_shapes(onnx_path, checked)  # before a variant is derived by running it
            model_path = tuned_model(onnx_path, optimized, precision)
            if check and model_path != onnx_path:
                check_model_file(model_path)
            self.session = onnxruntime.InferenceSession(str(model_path), sess_options=session_options, providers=providers)
        except ValueError:
            raise
        except Exception as error:  # onnx and onnxruntime raise their own exception types for bad files
            raise ValueError(f"{onnx_path} is not a loadable ONNX generator: {error}") from error
        self.path, self.model_path = onnx_path, model_path
        self.precision = precision if model_path != onnx_path else "float32"  # what runs (a variant that failed: float32)
        self._session_options, self._providers, self._check = session_options, providers, check
        self.large_batch_path = None  # the Winograd variant, once a large call has made its session
        self._large_batch_lock = threading.Lock()
        self.published = None  # the published name, when `load` resolved one to these verified files
        self.device = "cuda" if self.providers[0] == "CUDAExecutionProvider" else "cpu"
        self.io_binding = self.device == "cuda" if io_binding is None else bool(io_binding)
        self.rows_per_call = rows_per_call or (MAX_BATCH if self.device == "cuda" else CPU_ROWS_PER_CALL)
        # None: made on the first large call; False: none (not the CPU, not the tuned float32 graph)
        self._large_batch_session = None if (self.device, self.precision, model_path != onnx_path) == ("cpu", "float32", True) else False
        self.inputs = {value.name: value for value in self.session.get_inputs()}
        self.latent_dim, self.image_shape = latent_dim, image_shape
        if self.card:
            check_against_graph(self.card, self.session, card_path)
        self.id_ranges = self._id_ranges()

    def _id_ranges(self):
        """name -> highest valid id of each integer input: from card.json (`zoo.cards.id_ranges`),
        else the class names in the ONNX metadata, else None (then only negative ids are refused)."""
        ranges = {name: None for name, value in self.inputs.items() if "int" in value.type}
        ranges.update({name: high for name, high in id_ranges(self.card).items() if name in ranges})
        if ranges.get("label", 0) is None:
            classes = self._metadata_classes()
            ranges["label"] = len(classes) - 1 if classes else None
        return ranges

    def describe(self):
        """Which files run, in words: the generator, whether it is a published one, the variant run."""
        what = str(self.path) + (f" (the published {self.published}, files verified against the registry)" if self.published else "")
        if self.model_path != self.path:
            what += f", run as its verified derived variant {self.model_path}"
        if self.large_batch_path:
            what += f" ({WINOGRAD_MIN_BATCH} images or more: {self.large_batch_path})"
        return what

    @property
    def providers(self):
        """The execution providers the session really runs on."""
        return self.session.get_providers()

    def __call__(self, z, **conditions):
        """Runs the generator on noise `z` (n, latent_dim); returns images (n, H, W, C) in [-1, 1].

        Extra inputs of conditional generators (e.g. `label`) are passed by name. Inputs larger
        than `rows_per_call` rows run in chunks of it.
        """
        z = check_latent(z, self.latent_dim)
        feeds = {"z": z, **{name: np.asarray(value) for name, value in conditions.items()}}
        missing, unknown = set(self.inputs) - set(feeds), set(feeds) - set(self.inputs)
        if missing or unknown:
            raise ValueError(f"This generator takes the inputs {sorted(self.inputs)}; missing {sorted(missing)}, unknown {sorted(unknown)}.")
        for name, value in feeds.items():
            if value.ndim == 0:
                raise ValueError(f"`{name}` is one value; give one per row of `z` ({len(z)}), e.g. np.full({len(z)}, {value.item()!r}).")
            if len(value) != len(z):
                raise ValueError(f"`{name}` has {len(value)} rows but `z` has {len(z)}.")
            sizes = self.inputs[name].shape[1:]  # a column of labels (n, 1) would reach onnxruntime as a bare InvalidArgument
            if value.ndim != len(sizes) + 1 or any(isinstance(size, int) and size != given for size, given in zip(sizes, value.shape[1:])):
                expected = ", ".join(["n", *(str(size) for size in sizes)]) + ("," if not sizes else "")
                raise ValueError(f"`{name}` must have shape ({expected}), got {value.shape}.")
        for name, high in self.id_ranges.items():  # a wrapped or cast id would draw another class or word silently
            feeds[name] = check_ids(name, feeds[name], high, "class ids" if name == "label" else "vocabulary ids")
        step = self.rows_per_call
        chunks = [self._run({name: value[start : start + step] for name, value in feeds.items()}) for start in range(0, len(z), step)]
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def session_for(self, rows):
        """The session that runs a call of `rows` rows: the Winograd variant's from
        `WINOGRAD_MIN_BATCH` rows on the CPU in float32 (made on the first such call, when the
        generator has a convolution to rewrite), else the main one."""
        if rows < WINOGRAD_MIN_BATCH or self._large_batch_session is False:
            return self.session
        with self._large_batch_lock:
            if self._large_batch_session is None:
                self._large_batch_session = self._make_large_batch_session()
        return self._large_batch_session or self.session

    def _make_large_batch_session(self):
        """A session of the Winograd variant, or False when it rewrites nothing or cannot be made
        (then the main session runs every call; a failure is warned about)."""
        try:
            if not onnx_tuning.winograd_candidates(self.model_path):  # nothing to rewrite: no second file
                return False
            path = onnx_tuning.derive(self.path, "winograd")
            if self._check:
                check_model_file(path)
            session = onnxruntime.InferenceSession(str(path), sess_options=self._session_options, providers=self._providers)
        except Exception as error:  # the main session still runs every call
            warnings.warn(f"Large batches of {self.path} run its tuned graph: could not make its Winograd variant ({error}).", stacklevel=4)
            return False
        self.large_batch_path = path
        return session

    def _run(self, feeds):
        session = self.session_for(len(feeds["z"]))
        if not self.io_binding:
            return session.run(["image"], feeds)[0]
        binding = session.io_binding()  # one per call: a session serves many threads
        for name, value in feeds.items():
            binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value), self.device))
        binding.bind_output("image", self.device)
        session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    @property
    def name(self):
        """The artifact's name (card.json), else its folder's."""
        return self.card.get("name") or self.path.parent.name

    @property
    def family(self):
        """The GAN family that made it ("dcgan", "cgan", ...): card.json's, else the ONNX metadata's, else None."""
        return self.card.get("family") or self._metadata("family")

    def _metadata(self, key):
        """The export's `key` in the ONNX file's metadata (`zoo.export.METADATA_KEYS`), or None."""
        return self.session.get_modelmeta().custom_metadata_map.get(key) or None

    @property
    def conditional(self):
        """Whether the generator takes class labels (as Keras's `model.conditional`)."""
        return "label" in self.inputs

    @property
    def class_names(self):
        """The class names of a class-conditional generator, in id order: card.json's "classes",
        else those the export wrote into the ONNX file's metadata (a bare `.onnx` explains itself)."""
        if not self.conditional:
            return ()
        classes = self.card.get("classes") or self._metadata_classes()
        if not classes:
            raise ValueError(f"{self.path} takes a label but neither a card.json nor its ONNX metadata lists its classes.")
        return tuple(classes)

    def _metadata_classes(self):
        """The "classes" of the ONNX metadata as a list of names, or None where absent or malformed."""
        try:
            classes = json.loads(self._metadata("classes") or "null")
        except ValueError:
            return None
        return classes if isinstance(classes, list) and classes and all(isinstance(name, str) for name in classes) else None

    @property
    def num_classes(self):
        return len(self.class_names)

    def __repr__(self):
        shape = "×".join(str(side) for side in self.image_shape)
        extra = f", classes={self.num_classes}" if self.conditional else ", prompt=True" if "tokens" in self.inputs else ""
        return (
            f"Generator({self.name!r}, family={self.family!r}, latent_dim={self.latent_dim}, "
            f"images={shape}{extra}, provider={self.providers[0]!r}, path='{self.model_path}')"
        )

    def iter_batches(self, n=None, seed=None, z=None, *, labels=None, prompt=None, truncation=None, batch_size=256):
        """Yields the images of `generate` in batches of `batch_size`, drawing the noise batch by batch.

        Memory stays bounded by one batch whatever `n` is; the images are those of
        `generate(n, seed, ...)` with the same arguments.
        """
        batch_size = check_int("batch_size", batch_size)
        if z is None and n is None and labels is not None and self.conditional:
            n = len(resolve_labels(labels, self.class_names))  # one image per label given, as Keras's
        if z is not None:
            z = latent_input(n, self.latent_dim, z=z, truncation=truncation)
            n = len(z)
        n = check_int("n", n)
        label_ids = self._check_labels(labels, n)
        prompts = self._check_prompt(prompt, n)
        stream = NormalStream(seed) if z is None else None
        for start in range(0, n, batch_size):
            rows = min(batch_size, n - start)
            conditions = {}
            if label_ids is not None:
                conditions["label"] = label_ids[start : start + rows]
            if prompts is not None:
                conditions["tokens"] = self.tokenizer(prompts[start : start + rows] if isinstance(prompts, list) else [prompts] * rows)
            noise = z[start : start + rows] if z is not None else stream.latent(rows, self.latent_dim, truncation)
            yield self(noise, **conditions)

    def generate(self, n=None, seed=None, z=None, *, labels=None, prompt=None, truncation=None, batch_size=256):
        """Returns `n` images (float32 NHWC in [-1, 1]) from noise drawn with `seed`, run in batches.

        The same call as the Keras models' `generate`, with the same images for the same
        arguments: the noise is `zoo.latent.sample_latent(n, latent_dim, seed, truncation)`
        (docs/artifacts.md, "Noise"), or `z` itself when given.

        Args:
            n: number of images; default: the rows of `z`, or one per label given.
            seed: the noise seed, 0 to 2**64 - 1; None: a fresh random one.
            z: the noise itself (n, latent_dim), e.g. from `zoo.latent.interpolate`.
            labels: class-conditional generators: class ids or names ("dress", 3,
                ["sandal", 9], "dress,coat"), repeated in turn to fill `n`; default: all
                classes in turn.
            prompt: text-to-image generators: one caption for all images or a list of `n`,
                tokenized by the rules and vocabulary of its card.json (`zoo.text`).
            truncation: the truncation trick: noise values beyond this magnitude are drawn
                again (`zoo.latent.sample_latent`).
            batch_size: images per onnxruntime call.
        """
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0:
            from zoo.images import check_images_fit

            check_images_fit(n, self.image_shape)  # refused at once, not after minutes of batches
        return np.concatenate(list(self.iter_batches(n, seed, z, labels=labels, prompt=prompt, truncation=truncation, batch_size=batch_size)))

    def _check_labels(self, labels, n):
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{self.name} is not class-conditional: it takes no labels.")
            return None
        return resolve_labels(labels, self.class_names, n)

    @property
    def tokenizer(self):
        """The `zoo.text.Tokenizer` of a text-to-image generator, from card.json's "tokenizer" (and its
        `class_nouns` and `colours`, which the note on a caption uses to name several garments or colours)."""
        if getattr(self, "_tokenizer", None) is None:
            from zoo.text import Tokenizer

            if "tokenizer" not in self.card:
                raise ValueError(f"{self.path} takes `tokens` but its card.json has no tokenizer spec.")
            self._tokenizer = Tokenizer.from_spec(self.card["tokenizer"], self.card.get("class_nouns"), self.card.get("colours"))
        return self._tokenizer

    def _check_prompt(self, prompt, n):
        if "tokens" not in self.inputs:
            if prompt is not None:
                raise ValueError(f"{self.name} is not a text-to-image generator: it takes no prompt.")
            return None
        if prompt is None:
            raise ValueError(f"{self.name} is a text-to-image generator: it needs a prompt, e.g. prompt='a red dress' (--prompt \"a red dress\" on the command line).")
        from zoo.text import prompt_sequence

        prompts = prompt_sequence(prompt)
        if not isinstance(prompts, str) and len(prompts) != n:
            raise ValueError(f"Got {len(prompts)} prompts for {n} images: pass one prompt, or one per image.")
        self.tokenizer(prompts)  # a bad caption is refused before any image is made
        notes = [note for note in dict.fromkeys(self.tokenizer.analyse(text).note() for text in ([prompts] if isinstance(prompts, str) else prompts)) if note]
        if notes:  # typos fixed, synonyms replaced, words ignored, several garments or colours
            from zoo.text import PromptWarning

            more = f" (and {len(notes) - 3} more prompts)" if len(notes) > 3 else ""
            warnings.warn(" ".join(notes[:3]) + more, PromptWarning, stacklevel=3)
        return prompts


def generator_shapes(onnx_path, model=None):
    """`(latent_dim, image_shape)` of a graph that is a generator: noise `z` of shape (batch, latent)
    in, images (batch, height, width, channels) out, every size but the batch's fixed and the batch
    free (the zoo runs any number of rows). Anything else is refused, naming what is wrong.
    `model`: the file's ModelProto when it is loaded already (`check_model_file`), else it is read."""
    graph = (model or onnx.load(str(onnx_path), load_external_data=False)).graph
    constants = {tensor.name for tensor in graph.initializer}
    shapes = {value.name: [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value.type.tensor_type.shape.dim]
              for value in [*graph.input, *graph.output] if value.name not in constants}
    inputs = [value.name for value in graph.input if value.name not in constants]
    if "z" not in inputs:
        raise ValueError(f"{onnx_path} has no input named 'z' (inputs: {sorted(inputs)}): it is not a zoo generator.")

    def fixed(shape, rank, what):
        if len(shape) != rank or isinstance(shape[0], int) or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
            raise ValueError(f"{onnx_path}: {what} has the shape {list(shape)}, but a zoo generator's is {rank}-dimensional, "
                             "a free batch size first, then fixed sizes: it is not a zoo generator (or was exported with a fixed batch).")
        return shape[1:]

    (latent_dim,) = fixed(shapes["z"], 2, "input 'z'")
    output = graph.output[0].name
    return latent_dim, tuple(fixed(shapes[output], 4, f"output {output!r}"))


def check_listed_digest(card, onnx_path, card_path):
    """Raises CardError when `card` lists `onnx_path` under "files" with another sha256: the card
    then describes some other generator (its quality, classes, training), whatever the graph's
    shapes say. A .onnx the card does not list by name (a renamed copy, or another model dropped
    into the folder) is held to the card's generator.onnx."""
    files = card.get("files", {})
    entry = onnx_path.name if onnx_path.name in files else "generator.onnx"
    listed = files.get(entry)
    actual = sha256(onnx_path) if listed is not None else None
    if actual != listed:
        advice = ("Re-export, or use the generator.onnx the card was written with." if entry == onnx_path.name else
                  f"To run {onnx_path.name} on its own, move it out of the folder that holds {card_path.name}.")
        raise CardError(
            f"{card_path}: files.{entry}: sha256 {listed[:12]}…, but {onnx_path} has {actual[:12]}…: "
            f"the card describes another file. {advice}"
        )


def load(path, **kwargs):
    """Opens an exported generator; see `Generator`.

    `path` is an artifact folder or `.onnx` file, or the name of a published generator
    (`zoo.list_models()`), which is downloaded once, checked and cached by `zoo.registry.fetch`.
    A published name given as a string always means the published, verified files: a folder of
    that name in the current directory is not used in its place (a warning says so when its
    files differ); pass `./name` or a `Path` to run such a folder.
    """
    folder, published = resolve(path)
    generator = Generator(folder, **kwargs)
    generator.published = published
    return generator


def resolve(path):
    """`(the artifact folder or .onnx file to run, the published name it is or None)` for `load`'s `path`."""
    from zoo import registry

    if isinstance(path, str) and path in registry.names():
        folder = registry.fetch(path)
        here = Path(path)
        if here.exists() and here.resolve() != folder.resolve() and not registry.matches(here, path):
            warnings.warn(
                f"Running the published {path} from {folder}. The folder {here.resolve()} here has the same name but is "
                f"not that generator (its files differ from the registry's sha256); pass './{path}' to run it instead.",
                stacklevel=3,
            )
        return folder, path
    if not Path(path).exists() and str(path) == Path(path).name and Path(path).suffix != ".onnx":  # not "./name", a path
        return registry.fetch(str(path)), str(path)  # a bare name: published, or a ValueError listing those that are
    return path, None
