"""The `python -m zoo` command line (installed as `ganzoo`): train, export, sample, list, eval, demo.

`--help`, `list`, and `sample` or `eval` of an exported generator (a folder, an ONNX file or a
published name) need only onnxruntime: they never import TensorFlow or Keras, so they start
in well under a second. TensorFlow's own log lines are silenced unless `--verbose` is given.
"""

import argparse
import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

from zoo import __version__
from zoo.text import PromptWarning
from zoo.validation import check_int

# What `train` offers, written out so that `--help` and `sample` of an ONNX artifact load no
# TensorFlow or Keras; tests/test_cli.py holds them equal to zoo.models.MODELS,
# zoo.losses.LOSSES and zoo.models.base.UPDATES.
FAMILIES = ("cgan", "dcgan", "gan", "t2i")
LOSSES = ("hinge", "least_squares", "minimax", "non_saturating", "wgan_gp")
UPDATES = ("alternating", "reuse", "simultaneous")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # zoo.speed.PRECISIONS
CONVOLUTIONS = ("phases", "keras", "winograd")  # zoo.layers.IMPLEMENTATIONS
# Options that count images or pixels: whole numbers from 1 up (`train` checks its own).
COUNTS = ("num_images", "scale")
# Options whose value is free text, which may start with a dash: a caption such as "-red". (Class
# names and ids of --label never do; a file name that does is written ./-x.png, as for any tool.)
FREE_TEXT_OPTIONS = ("--prompt",)

# A family name given to `sample` or `eval` means what `train` wrote (runs/<family>/model.keras),
# else the published generator of that family.
RUN_NAMES = {"gan": "gan-fashion-mnist", "dcgan": "dcgan-fashion-mnist", "cgan": "cgan-fashion-mnist", "t2i": "t2i-fashion-mnist"}

DESCRIPTION = """\
ganzoo: train GANs with Keras, export their generators to ONNX and SavedModel, sample them.

  {prog} list                                  # the published generators: quality, size, local or not
  {prog} sample dcgan-fashion-mnist -n 64      # a published generator through onnxruntime: samples.png
  {prog} sample cgan-fashion-mnist --label dress -n 16
  {prog} sample t2i-fashion-mnist --prompt "a red dress" -n 16
  {prog} eval cgan-fashion-mnist               # FID, KID, precision/recall, density/coverage beside real data
  {prog} train dcgan --epochs 5                # writes runs/dcgan/ (resumes if it exists)
  {prog} train dcgan --images faces/ --image-size 64   # your own images (cgan: a sub-folder per class)
  {prog} train t2i --epochs 3 --batch-size 64 --latent-dim 64 --ema-decay 0.999   # text to image: the published recipe
  {prog} eval t2i-fashion-mnist                # text to image: does it draw what the caption says?
  {prog} export runs/dcgan/model.keras exports/my-dcgan
  {prog} sample exports/my-dcgan -n 64         # an artifact folder, a .onnx or a .keras file
  {prog} demo                                  # train briefly, export and sample, on Fashion-MNIST

A generator is an artifact folder, a .onnx file, a .keras file, a published name (see `list`:
downloaded once, checked and cached), or a family name (gan, dcgan, cgan, t2i) for what `train`
wrote to runs/<family>/model.keras, else that family's published generator.
"""
GENERATOR_HELP = "artifact folder, .onnx or .keras file, published name (see `list`), or family name (runs/<family>/model.keras, else the published one)"


class Once(argparse.Action):
    """An option given at most once: a second one would silently replace the first."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} is given more than once; give one (it is drawn in every image)")
        setattr(namespace, self.dest, values)


def build_parser(prog="python -m zoo"):
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION.format(prog=prog), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's own log lines too")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,train,export,sample,demo,eval}")

    commands.add_parser("list", parents=[verbose], help="list the published generators", description="The published generators: family, measured quality, size, and whether a verified copy is here already (no download needed).")

    train = commands.add_parser("train", parents=[verbose], help="train a model (Fashion-MNIST, a TFDS dataset or your own images)", description="Train a GAN with model.fit on Fashion-MNIST (default), a TFDS dataset (--source tfds --dataset NAME) or a folder of your own images (--images DIR). Re-running on the same --out folder resumes from its last checkpoint.")
    train.add_argument("model", nargs="?", default="dcgan", choices=FAMILIES, help="model family (default: dcgan)")
    add_training_options(train)

    export = commands.add_parser("export", parents=[verbose], help="export a trained generator to ONNX + SavedModel", description="Export the generator of a trained .keras model to an artifact folder (generator.onnx, saved_model/, card.json), checking parity with Keras.")
    export.add_argument("model_file", help="a .keras file written by `train` (e.g. runs/dcgan/model.keras)")
    export.add_argument("directory", help="artifact folder to write (e.g. exports/my-dcgan)")
    export.add_argument("--name", help="artifact name for card.json (default: the folder's name)")
    export.add_argument("--overwrite", action="store_true", help="replace the artifact already in DIRECTORY (kept until the new one is complete); a folder that is not an artifact is never replaced")

    sample = commands.add_parser("sample", parents=[verbose], help="write a PNG grid of generated images", description="Generate images and write them as one PNG grid: exported generators run through onnxruntime alone, .keras files through Keras. The Node and web apps (apps/) take the same options and draw the same images for the same seed.")
    sample.add_argument("source", help=GENERATOR_HELP)
    sample.add_argument("-n", "--num-images", type=int, default=64, help="number of images (default: 64)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed, 0 to 2**64-1 (default: 0)")
    sample.add_argument("-o", "--output", default="samples.png", help="picture to write, in the format its extension names: .png, .jpg, .webp, ...; a file there is replaced (default: samples.png)")
    sample.add_argument("--scale", type=int, default=2, help="pixel scale of the grid (default: 2)")
    sample.add_argument("--label", action="append", help="class-conditional models: class to draw, by name or id; repeat or comma-separate (--label dress --label 9, --label dress,coat); default: all classes in turn")
    sample.add_argument("--prompt", action=Once, help='text-to-image models: the caption to draw, e.g. "a red dress"; the argument after --prompt is the caption even when it starts with a dash (--prompt -red)')
    sample.add_argument("--truncation", type=float, help="the truncation trick: redraw noise values beyond this magnitude (e.g. 1.0; fewer odd samples, less variety)")

    demo = commands.add_parser("demo", parents=[verbose], help="train briefly, export, sample through onnxruntime", description="Train a DCGAN briefly on Fashion-MNIST, export it, and sample a grid through onnxruntime.")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--epochs", type=int, default=2, help="training epochs (default: 2)")
    demo.add_argument("--limit", type=int, help="train on the first N images only")
    demo.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")

    evaluate = commands.add_parser("eval", parents=[verbose], help="measure FID, KID, precision/recall, density/coverage (and class accuracy); caption fidelity of text to image", description="Score a generator against real Fashion-MNIST (zoo.metrics): FID and KID beside the real-data floor (real train against real test), precision and recall, density and coverage (with what real test images score), class accuracy of class-conditional models. A text-to-image generator is scored on its captions instead (zoo.t2i_metrics): class and colour accuracy of its samples for seen pairs, held-out pairs (each, and the worst) and held-out phrasings, beside an attribute judge's accuracy on real images (the ceiling), and the spread of samples per caption. Prints a table and writes JSON.")
    evaluate.add_argument("source", help=GENERATOR_HELP)
    evaluate.add_argument("-n", "--num-images", type=int, help="images per set, real and generated, 6 to 10000 (the test split) (default: 10000)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the noise and of the real subset (default: 0)")
    evaluate.add_argument("--features", choices=("classifier", "inception"), default="classifier", help="feature extractor: the zoo's Fashion-MNIST classifier, or InceptionV3 with ImageNet weights (downloads them) (default: classifier)")
    evaluate.add_argument("-o", "--output", help="JSON to write, a .json name; an existing file is replaced only if it is an earlier eval report (default: eval-<name>.json)")
    evaluate.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")
    evaluate.add_argument("--precision", choices=("float32", "float16", "int8"), default="float32", help="ONNX artifacts: the variant zoo.runtime runs (int8: quantized, for CPUs with VNNI/AMX; float16: for GPUs) (default: float32)")
    evaluate.add_argument("--judge", help="text to image: the attribute judge's .keras file (default: trained once into the cache, a few minutes)")
    return parser


def add_training_options(parser):
    parser.add_argument("--epochs", type=int, default=5, help="total epochs; a resumed run continues up to this (default: 5)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    parser.add_argument("--out", help="run folder, new or an earlier run's (resumed); a folder of other files that holds model.keras, samples/ or checkpoints/ is refused (default: runs/<model>)")
    parser.add_argument("--images", metavar="DIR", help="train on your own images: a folder of JPEG/PNG files, RGB or grey (cgan: one sub-folder per class, as keras.utils.image_dataset_from_directory reads them)")
    parser.add_argument("--image-size", type=int, help="side of the square images to train on; --images: each image's central square is resized to it (default 64); TFDS datasets: default their own size")
    parser.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files (default: $GANZOO_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--source", choices=("local", "tfds"), default="local", help="local: Fashion-MNIST's IDX files (or --images); tfds: download --dataset through tensorflow-datasets, which needs internet (default: local)")
    parser.add_argument("--dataset", default="fashion_mnist", help="with --source tfds: the TFDS dataset, e.g. mnist, cifar10, celeb_a (default: fashion_mnist)")
    parser.add_argument("--limit", type=int, help="train on N images only: Fashion-MNIST's and TFDS's first N, N drawn at random (a fixed draw) from an --images folder")
    parser.add_argument("--latent-dim", type=int, default=100, help="size of the noise vector z (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, 0 to 2**32-1 (default: 0)")
    parser.add_argument("--log-dir", help="TensorBoard log folder (losses and sample images)")
    jit = parser.add_mutually_exclusive_group()
    jit.add_argument("--jit", dest="jit_compile", action="store_const", const=True, default="auto", help="compile the training step with XLA (default: whichever is faster on this machine, see --calibrate)")
    jit.add_argument("--no-jit", dest="jit_compile", action="store_const", const=False, help="run the training step op by op, without XLA")
    parser.add_argument("--convolutions", choices=("auto", *CONVOLUTIONS), default="auto", help="how zoo.layers computes convolutions: phases (strided ones as stride-1 convolutions), keras (Keras's own) or winograd (Keras's, with 5×5 stride-1 ones of small maps in Winograd's form); the same function (default: auto, the faster on this machine)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), help="Keras dtype policy of the networks: mixed_bfloat16 pays only where the CPU or GPU runs bfloat16 natively (AVX512_BF16, AMX, GPUs from compute capability 8.0), mixed_float16 on GPUs; auto: float32, or bfloat16 where it is native and the calibration measures it faster (unmeasured: on GPUs only). Outputs, losses and exports stay float32; --precision float32 repeats the published recipes exactly (default: auto for dcgan, whose bfloat16 quality was measured; float32 for the others)")
    calibrate = parser.add_mutually_exclusive_group()
    calibrate.add_argument("--calibrate", dest="calibrate", action="store_const", const=True, default=None, help="measure the auto choices on this machine (a minute, once: cached in $GANZOO_CACHE/calibration) (default: for runs of 250,000 images or more; shorter runs decide by the CPU's flags)")
    calibrate.add_argument("--no-calibrate", dest="calibrate", action="store_const", const=False, help="decide the auto choices by the CPU's flags, without measuring")
    parser.add_argument("--mirrored", action="store_true", help="train on every local GPU with tf.distribute.MirroredStrategy (--batch-size is the global batch)")
    parser.add_argument("--loss", default="non_saturating", choices=LOSSES, help="adversarial loss (default: non_saturating)")
    parser.add_argument("--update", choices=UPDATES, help="alternating: Algorithm 1, D then G on fresh noise; reuse: Algorithm 1, G stepping on the samples D just scored, as PyTorch's DCGAN example (one generator pass fewer per step); simultaneous: both gradients from one forward pass, as TF's DCGAN tutorial (3G+6D per step instead of 4G+9D) (default: a resumed run's own, else reuse where the model takes it: one D step per G step, not t2i; else alternating)")
    parser.add_argument("--ema-decay", type=float, help="keep a moving average of the generator's weights for sampling and export (e.g. 0.999)")
    parser.add_argument("--g-units", type=layer_widths, help="gan only: widths of the generator's hidden layers, input side first (default: 256,512,1024)")
    parser.add_argument("--d-units", type=layer_widths, help="gan only: widths of the discriminator's hidden layers, input side first (default: 1024,512,256)")
    parser.add_argument("--g-filters", type=int, help="dcgan, cgan: filters of the generator's last hidden layer, doubled before it (default: 64)")
    parser.add_argument("--g-depth", type=int, help="dcgan, cgan: 3×3 stride-1 convolutions added at each of the generator's hidden resolutions (default: 0)")
    parser.add_argument("--d-filters", type=int, help="dcgan, cgan: filters of the discriminator's first layer, doubled after it (default: 64)")
    parser.add_argument("--spectral-norm", action="store_true", help="spectral normalisation of the discriminator's layers, no batch norm in it (Miyato et al. 2018; pair with --loss hinge)")
    parser.add_argument("--projection", action="store_true", help="cgan only: projection discriminator (Miyato & Koyama 2018)")
    parser.add_argument("--clusters", type=int, help="dcgan only: self-condition on this many clusters of the training images, found by k-means before training (Liu et al. 2020); z[:, 0] picks the cluster (default: none)")
    parser.add_argument("--cluster-embedding-dim", type=int, help="dcgan with --clusters: size of the generator's cluster embedding (default: 36)")
    parser.add_argument("--d-lr", type=float, help="discriminator's Adam learning rate (default: the loss's, 2e-4 for most); a larger one than --g-lr is TTUR (Heusel et al. 2017)")
    parser.add_argument("--g-lr", type=float, help="generator's Adam learning rate (default: the loss's, 2e-4 for most)")
    parser.add_argument("--beta-1", type=float, help="Adam's beta_1 for both networks (default: the loss's, 0.5 for most)")
    parser.add_argument("--time-limit", type=float, metavar="MINUTES", help="stop after this many minutes of training (at the end of a step; that epoch's checkpoint holds the part trained), e.g. to compare recipes at equal time")
    parser.add_argument("--fid-every", type=int, metavar="EPOCHS", help="Fashion-MNIST: print and record FID, density and coverage of 2,000 samples every EPOCHS epochs (zoo.callbacks.FIDMonitor)")
    parser.add_argument("--time-limit-clock", choices=("wall", "cpu"), default="wall", help="what --time-limit counts: wall: elapsed time; cpu: this process's processor time, the same compute on a core shared with other jobs (default: wall)")


def layer_widths(text):
    """`--g-units 256,512,512` -> (256, 512, 512)."""
    try:
        return tuple(int(width) for width in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 256,512,512, got {text!r}") from None


def run_train(args):
    load_keras(args.verbose)
    from zoo.training import train

    out = args.out or f"runs/{args.model}"
    model_kwargs = {"latent_dim": args.latent_dim, "ema_decay": args.ema_decay}
    if args.g_units is not None:
        if args.model != "gan":
            raise ValueError(f"--g-units sets the widths of the GAN's MLP layers; {args.model} has convolutional layers.")
        model_kwargs["g_units"] = args.g_units
    if args.images and args.source == "tfds":
        raise ValueError("Give either --images DIR (your own images) or --source tfds --dataset NAME, not both.")
    for flag, key, families in (
        ("--d-units", "d_units", ("gan",)),
        ("--g-filters", "g_filters", ("dcgan", "cgan")),
        ("--g-depth", "g_depth", ("dcgan", "cgan")),
        ("--d-filters", "d_filters", ("dcgan", "cgan")),
        ("--projection", "projection", ("cgan",)),
        ("--clusters", "clusters", ("dcgan",)),
        ("--cluster-embedding-dim", "cluster_embedding_dim", ("dcgan",)),
    ):
        value = getattr(args, key)
        if value is not None and value is not False:
            if args.model not in families:
                raise ValueError(f"{flag} applies to {' and '.join(families)}, not to {args.model}.")
            model_kwargs[key] = value
    if args.cluster_embedding_dim is not None and args.clusters is None:
        raise ValueError("--cluster-embedding-dim sizes the embedding of --clusters; give --clusters too.")
    if args.spectral_norm:
        model_kwargs["spectral_norm"] = True
    if args.time_limit is not None and not args.time_limit > 0:
        raise ValueError(f"--time-limit must be a positive number of minutes, got {args.time_limit}.")
    train(
        args.model,
        out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        source=args.source,
        limit=args.limit,
        seed=args.seed,
        model_kwargs=model_kwargs,
        loss=args.loss,
        update=args.update,
        jit_compile=args.jit_compile,
        convolutions=args.convolutions,
        precision=args.precision,
        calibrate=args.calibrate,
        log_dir=args.log_dir,
        strategy=mirrored_strategy() if args.mirrored else None,
        command=shlex.join(["python", "-m", "zoo", *sys.argv[1:]]),
        images=args.images,
        image_size=args.image_size,
        dataset=args.dataset if args.source == "tfds" else None,
        optimizer={key: value for key, value in (("d_learning_rate", args.d_lr), ("g_learning_rate", args.g_lr), ("beta_1", args.beta_1)) if value is not None},
        time_limit=None if args.time_limit is None else args.time_limit * 60,
        time_limit_clock=args.time_limit_clock,
        fid_every=args.fid_every,
    )
    print(f"Trained model: {out}/model.keras  (samples per epoch in {out}/samples/)")


def mirrored_strategy():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"--mirrored trains with tf.distribute, which needs the TensorFlow backend (this is {keras.backend.backend()}).")
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy()
    print(f"Training on {strategy.num_replicas_in_sync} device(s) with MirroredStrategy.")
    return strategy


def run_export(args):
    load_keras(args.verbose)
    card = export_model_file(args.model_file, args.directory, args.name, overwrite=args.overwrite)
    print(f"Exported {card['name']} to {args.directory} (parity within {card['parity']['atol']:g}).")


def export_model_file(model_file, directory, name=None, overwrite=False):
    """Loads a trained `.keras` file (safe mode) and exports its generator; returns the card."""
    from zoo.export import check_export_backend, export_generator
    from zoo.saving import load_gan
    from zoo.training import model_record

    check_export_backend()  # before the model file is loaded
    model = load_gan(model_file)
    training_record = Path(model_file).with_name("training.json")
    card = {"training": model_record(json.loads(training_record.read_text()), model_file)} if training_record.is_file() else {}
    if "training" in card:
        card["dataset"] = card["training"].get("dataset")
    return export_generator(model, directory, name=name, card=card, overwrite=overwrite)


def resolve_generator(text):
    """`(what to open, the published name or None, which files in words)` for the generator the
    user named (see `GENERATOR_HELP`). A published name always means the published, verified
    files (a same-named folder here runs as `./name`). Raises ValueError naming what was tried."""
    from zoo import registry

    published = registry.names()
    path = Path(text)
    if text in RUN_NAMES and not path.exists():
        run = Path("runs") / text / "model.keras"
        if run.is_file():
            return run, None, f"{run} (what `train {text}` wrote)"
        text = RUN_NAMES[text]
    if text in published:
        found = registry.locate(text)
        source = {"exports": "this checkout's exports/", "ganzoo-models": "the ganzoo-models package", "cache": "the cache"}.get(found and found[1], "downloaded")
        other = path.exists() and not (found and path.resolve() == found[0].resolve())  # inside exports/, the folder here is the published one
        shadow = f"; the folder ./{text} here is not it (run it as ./{text})" if other else ""
        return text, text, f"published {text} ({source}, sha256-checked{shadow})"
    if path.is_file() and path.suffix not in (".onnx", ".keras"):
        raise ValueError(f"{path} is not a generator: give an artifact folder, a .onnx or .keras file, or a published name (see `python -m zoo list`).")
    if path.exists():
        return path, None, str(path)
    raise ValueError(
        f"No generator {text!r}: not an existing file or folder, not a family name ({', '.join(RUN_NAMES)}), "
        f"and not a published name ({', '.join(published) or 'none yet'}; see `python -m zoo list`)."
    )


def open_generator(path, verbose=False):
    """A `.keras` file as its Keras model, anything else (a published name too) as a `zoo.runtime.Generator`."""
    if isinstance(path, Path) and path.suffix == ".keras":
        load_keras(verbose)
        from zoo.saving import load_gan

        return load_gan(path), "Keras"
    from zoo import runtime

    generator = runtime.load(path)
    return generator, f"onnxruntime, {generator.providers[0]}"


def run_sample(args):
    from zoo.files import check_output_file
    from zoo.images import check_grid, image_format, save_grid
    from zoo.latent import MAX_SEED, check_truncation

    image_format(args.output)  # an extension we cannot write is refused before any work
    check_output_file(args.output)
    check_int("--seed", args.seed, 0, MAX_SEED)
    if args.truncation is not None:
        check_truncation(args.truncation, "--truncation")
    path, _, how = resolve_generator(args.source)
    generator, engine = open_generator(path, args.verbose)
    if hasattr(generator, "describe"):
        print(f"Generator: {generator.describe()}")
    check_grid(args.num_images, generator.image_shape, args.scale)  # refused with the memory estimate before any image is made
    started = time.perf_counter()
    images = generator.generate(args.num_images, seed=args.seed, labels=args.label, prompt=args.prompt, truncation=args.truncation)
    if args.prompt is not None:  # one line on how the prompt was read: typos, synonyms, words ignored, several garments
        note = generator.tokenizer.analyse(args.prompt).note()
        if note:
            print(note, file=sys.stderr)
    seconds = time.perf_counter() - started
    path = save_grid(images, args.output, scale=args.scale, source=path)  # NaN images are refused naming the generator
    print(f"Wrote {len(images)} samples to {path} ({engine}, {seconds:.2f} s) from {how}")


def run_list(args):
    from zoo import registry

    rows = [("name", "family", "images", "quality", "size", "here")]
    for model in registry.list_models():
        found = model.local_copy()
        here = {"exports": "yes (exports/)", "ganzoo-models": "yes (ganzoo-models)", "cache": "yes (cache)"}[found[1]] if found else "no: downloads on first use"
        rows.append((model.name, model.family, "×".join(map(str, model.image_shape)), model.quality_summary, model.size, here))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(f"\nSample one: python -m zoo sample {rows[1][0] if len(rows) > 1 else 'NAME'} -n 64. Cache: {registry.cache_dir()}")


def run_eval(args):
    from zoo import metrics
    from zoo.latent import MAX_SEED

    check_int("--seed", args.seed, 0, MAX_SEED)
    if args.output:
        metrics.check_report_path(args.output)  # before the evaluation: a wrong -o costs nothing
    path, name, how = resolve_generator(args.source)

    def report_path(name):  # checked before the scoring: a file of the user's at the default name is refused before, not after
        output = args.output or f"eval-{name}.json"
        metrics.check_report_path(output)
        return output

    if (isinstance(path, Path) and path.suffix == ".keras") or args.features == "inception":
        load_keras(args.verbose)
    print(f"Scoring {how}")
    from zoo import t2i_metrics

    if t2i_metrics.is_text_to_image(path):  # caption fidelity under an attribute judge, not FID
        given = [option for option, value in (("-n", args.num_images), ("--features", args.features != "classifier"), ("--precision", args.precision != "float32")) if value]
        if given:
            raise ValueError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to FID scoring; a text-to-image generator is "
                             "scored on its captions (zoo.t2i_metrics: a fixed set of captions and noises), which takes only --judge, --seed, --data-dir and -o.")
        output = report_path(name or metrics.path_name(path))
        load_keras(args.verbose, purpose="Scoring a text-to-image generator (its attribute judge is a Keras model)")
        results = t2i_metrics.evaluate_source(path, judge=args.judge, seed=args.seed, data_dir=args.data_dir)
        print(t2i_metrics.format_table(results))
        print(f"Wrote {metrics.write_json(results, output)}")
        return
    if args.judge is not None:
        raise ValueError(f"--judge applies to text-to-image generators; {path} is scored by FID.")
    extractor = metrics.inception_features() if args.features == "inception" else None
    source = path
    if args.precision != "float32":
        if isinstance(path, Path) and path.suffix == ".keras":
            raise ValueError(f"--precision {args.precision} applies to exported ONNX generators; {path} is a Keras model.")
        from zoo import runtime

        source = runtime.load(path, precision=args.precision)
        if source.precision != args.precision:  # runtime falls back to the exported graph, with a warning; a score of it would be mislabelled
            raise ValueError(f"--precision {args.precision}: the {args.precision} variant of {source.path} could not be made (the warning above says why), "
                             "so nothing was scored (its float32 scores would pass for them). Fix what the warning names (GANZOO_CACHE moves the cache), or score it without --precision.")
        print(f"Running {source.describe()}")
        name = f"{name or source.card.get('name') or source.path.parent.name}-{source.precision}"
    name = name or metrics.path_name(path)
    output = report_path(name)
    results = metrics.evaluate(source, n=args.num_images or 10_000, extractor=extractor, seed=args.seed, data_dir=args.data_dir, name=name)
    print(metrics.format_table([results]))
    output = metrics.write_json(results, output)
    print(f"Wrote {output}")


def run_demo(args):
    load_keras(args.verbose)
    from zoo import runtime
    from zoo.export import check_export_backend, check_replaceable
    from zoo.images import save_grid
    from zoo.training import train

    out = Path(args.out)
    check_export_backend()  # the demo exports what it trains: refused before training, not after
    check_replaceable(out / "export", overwrite=True)  # the user's files there: refused before training
    started = time.perf_counter()
    train("dcgan", out, epochs=args.epochs, limit=args.limit, data_dir=args.data_dir, command=shlex.join(["python", "-m", "zoo", *sys.argv[1:]]))
    export_model_file(out / "model.keras", out / "export", name="dcgan-fashion-mnist-demo", overwrite=True)  # the demo's own artifact
    generator = runtime.load(out / "export")
    path = save_grid(generator.generate(64, seed=0), out / "samples.png", scale=3)
    record = json.loads((out / "training.json").read_text())
    print(
        f"\nDemo done in {time.perf_counter() - started:.0f} s: trained {record['epochs']} epoch{'' if record['epochs'] == 1 else 's'} at "
        f"{record['images_per_second'] or 0:.0f} images/s, exported to {out / 'export'}.\n"
        f"Samples (through onnxruntime on {generator.providers[0]}): {path.resolve()}"
    )


def load_keras(verbose=False, purpose=None):
    """Imports Keras (and TensorFlow, its backend here), keeping their native start-up log lines
    (absl, oneDNN, CUDA probing) off the terminal unless `verbose`. `purpose` says, when Keras is
    missing, what needed it (default: a Keras file or training)."""
    if "keras" in sys.modules:
        return
    try:
        import importlib.util

        backend = keras_backend_name()
        missing = [module for module in ("keras", backend) if importlib.util.find_spec(module) is None]
    except ValueError:
        missing = []
    if backend not in KERAS_BACKENDS:
        raise ValueError(f"KERAS_BACKEND (or ~/.keras/keras.json) names {backend!r}, which is not a Keras backend; the zoo trains on "
                         "'tensorflow' (the default), 'jax' or 'torch'.")
    if missing:
        install = {"jax": "pip install 'ganzoo[jax]'", "torch": "pip install 'ganzoo[train]' torch"}.get(backend, "pip install 'ganzoo[train]'")
        raise MissingDependency(
            f"{purpose or 'This'} needs {' and '.join(missing)}, which this install lacks: {install}"
            + ("." if purpose else " (exported generators and published names run without it).")
        )
    if verbose:
        import keras  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logging: errors only at level 3
    with native_stderr_captured() as captured:
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
        except BaseException:
            sys.stderr.write(captured())  # a failed import shows everything it said
            raise
    with contextlib.suppress(ImportError):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)


KERAS_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")  # the names Keras 3 accepts


def keras_backend_name():
    """The backend Keras will load (KERAS_BACKEND, else keras.json's, else tensorflow), read as
    Keras reads it but without importing it: JAX trains without TensorFlow installed."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    try:
        config = json.loads((Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json").read_text())
        return config.get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


@contextlib.contextmanager
def native_stderr_captured():
    """Points file descriptor 2 at a temporary file for the block (native libraries write there
    before their log levels apply); yields a function returning what was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)

        def captured():
            capture.seek(0)
            return capture.read().decode(errors="replace")

        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class MissingDependency(ImportError):
    """A command that needs a package the install lacks (e.g. Keras in an onnxruntime-only install)."""


def program_name():
    """`ganzoo` when run as the installed command, `python -m zoo` otherwise."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m zoo" if name in ("__main__.py", "-c", "") or name.endswith(".py") else name


def join_free_text_values(argv):
    """`argv` with each `--prompt VALUE` whose VALUE starts with a dash written `--prompt=VALUE`.

    argparse takes "-red" for an option and refuses `--prompt -red` ("expected one argument"); the
    Node app takes the argument after --prompt as the caption, whatever it starts with, and so
    does this CLI. The value wins over an option it looks like: `--prompt --seed 3` draws the
    caption "--seed" (refused: it names no garment or colour) and refuses 3 as an unrecognised
    argument, as Node does; a --prompt with nothing after it is still refused by argparse. Nothing
    after a bare `--` (everything after it is positional) is joined.
    """
    joined, rest = [], list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            return joined + [arg, *rest]
        if arg in FREE_TEXT_OPTIONS and rest and rest[0].startswith("-"):
            arg = f"{arg}={rest.pop(0)}"
        joined.append(arg)
    return joined


def decoded_argument(text):
    """A command-line argument with the bytes its locale's encoding does not decode as U+FFFD.

    Python keeps such bytes as lone surrogates (U+DC80 to U+DCFF, as `os.fsdecode` gives them),
    which a note quotes as an escape; Node reads argv as UTF-8 with one U+FFFD for each maximal
    ill-formed sequence, the Unicode standard's practice that Python's "replace" also follows.
    The byte FF in "red FF dress" is then U+FFFD in both apps, whose note says that bytes were
    not UTF-8. An argument that never came from bytes (a lone surrogate given to `main`) is left
    as it is.
    """
    try:
        return os.fsencode(text).decode(sys.getfilesystemencoding(), "replace")
    except UnicodeError:
        return text


def main(argv=None):
    args = build_parser(program_name()).parse_args(join_free_text_values(sys.argv[1:] if argv is None else argv))
    if getattr(args, "prompt", None) is not None:  # the prompt as the Node app reads it; paths keep their bytes
        args.prompt = decoded_argument(args.prompt)
    handler = {"train": run_train, "export": run_export, "sample": run_sample, "list": run_list, "demo": run_demo, "eval": run_eval}[args.command]
    try:
        for option in COUNTS:
            if getattr(args, option, None) is not None:
                check_int("--" + option.replace("_", "-"), getattr(args, option))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PromptWarning)  # run_sample prints the prompt's reading as one line
            handler(args)
    except (ValueError, OSError, MissingDependency) as error:  # OSError: missing or existing files, zoo.registry.DownloadError
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # `train` has said where its last checkpoint is; SIGTERM arrives as `zoo.training.Terminated`
        print(f"Stopped ({getattr(stop, 'signal_name', 'Ctrl-C')}).", file=sys.stderr)
        return getattr(stop, "exit_code", 130)
    return 0
