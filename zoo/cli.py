"""The `python -m zoo` command line: train, export, sample, and a demo that does all three."""

import argparse
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

from zoo.saving import load_model
from zoo.text import PromptWarning
from zoo.validation import check_int

# What `train` offers, written out so that `--help` and `sample` of an ONNX artifact load no
# TensorFlow or Keras; tests/test_cli.py holds them equal to zoo.models.MODELS,
# zoo.losses.LOSSES and zoo.models.base.UPDATES.
FAMILIES = ("cgan", "dcgan", "gan")
LOSSES = ("hinge", "least_squares", "minimax", "non_saturating", "wgan_gp")
UPDATES = ("alternating", "simultaneous")
# Options that count images or pixels: whole numbers from 1 up (`train` checks its own).
COUNTS = ("num_images", "scale")

DESCRIPTION = """\
ganzoo: train GANs with Keras, export their generators to ONNX and SavedModel, sample them.

  python -m zoo train dcgan --epochs 5            # writes runs/dcgan/ (resumes if it exists)
  python -m zoo export runs/dcgan/model.keras exports/my-dcgan
  python -m zoo sample exports/my-dcgan -n 64     # PNG grid through onnxruntime
  python -m zoo sample dcgan-fashion-mnist -n 64  # a published generator, downloaded once and cached
  python -m zoo demo                              # all three, briefly, on Fashion-MNIST
  python -m zoo train cgan --loss hinge           # class-conditional GAN (also: gan, dcgan)
  python -m zoo sample cgan --label dress -n 16   # dresses from runs/cgan/model.keras
  python -m zoo eval exports/my-dcgan             # FID, KID, precision/recall beside the real-data floor
  python -m zoo sample t2i --prompt "a red dress" -n 16  # text to image: exports/t2i-fashion-mnist
"""


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m zoo", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,export,sample,demo,eval}")

    train = commands.add_parser("train", help="train a model on Fashion-MNIST", description="Train a GAN on Fashion-MNIST with model.fit. Re-running on the same --out folder resumes from its last checkpoint.")
    train.add_argument("model", nargs="?", default="dcgan", choices=FAMILIES, help="model family (default: dcgan)")
    add_training_options(train)

    export = commands.add_parser("export", help="export a trained generator to ONNX + SavedModel", description="Export the generator of a trained .keras model to an artifact folder (generator.onnx, saved_model/, card.json), checking parity with Keras.")
    export.add_argument("model_file", help="a .keras file written by `train` (e.g. runs/dcgan/model.keras)")
    export.add_argument("directory", help="artifact folder to write (e.g. exports/my-dcgan)")
    export.add_argument("--name", help="artifact name for card.json (default: the folder's name)")
    export.add_argument("--overwrite", action="store_true", help="replace the artifact already in DIRECTORY (kept until the new one is complete); a folder that is not an artifact is never replaced")

    sample = commands.add_parser("sample", help="write a PNG grid of generated images", description="Generate images from an exported artifact (through onnxruntime) or a .keras file and write them as one PNG grid.")
    sample.add_argument("source", help="artifact folder, generator.onnx or .keras file, or a model name (e.g. cgan) for what `train` wrote to runs/<model>/model.keras, or a published name (e.g. dcgan-fashion-mnist: downloaded once, checked and cached; see zoo.list_models())")
    sample.add_argument("-n", "--num-images", type=int, default=64, help="number of images (default: 64)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sample.add_argument("-o", "--output", default="samples.png", help="PNG to write (default: samples.png)")
    sample.add_argument("--scale", type=int, default=2, help="pixel scale of the PNG (default: 2)")
    sample.add_argument("--prompt", help='text-to-image models: the caption to draw, e.g. "a red dress"')
    sample.add_argument("--label", action="append", help="class-conditional models: class to draw, by name or id; repeat or comma-separate (--label dress --label 9, --label dress,coat); default: all classes in turn")

    demo = commands.add_parser("demo", help="train briefly, export, sample through onnxruntime", description="Train a DCGAN briefly on Fashion-MNIST, export it, and sample a grid through onnxruntime.")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--epochs", type=int, default=2, help="training epochs (default: 2)")
    demo.add_argument("--limit", type=int, help="train on the first N images only")
    demo.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")

    evaluate = commands.add_parser("eval", help="measure FID, KID, precision/recall (and class accuracy)", description="Score a generator against real Fashion-MNIST (zoo.metrics): FID and KID beside the real-data floor (real train against real test), precision and recall, class accuracy of class-conditional models. Prints a table and writes JSON.")
    evaluate.add_argument("source", help="artifact folder, generator.onnx or .keras file")
    evaluate.add_argument("-n", "--num-images", type=int, default=10_000, help="images per set, real and generated (default: 10000)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the noise and of the real subset (default: 0)")
    evaluate.add_argument("--features", choices=("classifier", "inception"), default="classifier", help="feature extractor: the zoo's Fashion-MNIST classifier, or InceptionV3 with ImageNet weights (downloads them) (default: classifier)")
    evaluate.add_argument("-o", "--output", help="JSON to write (default: eval-<name>.json)")
    evaluate.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")
    return parser


def add_training_options(parser):
    parser.add_argument("--epochs", type=int, default=5, help="total epochs; a resumed run continues up to this (default: 5)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    parser.add_argument("--out", help="run folder (default: runs/<model>)")
    parser.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files (default: $GANZOO_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--source", choices=("local", "tfds"), default="local", help="read local IDX files or download through tensorflow-datasets (default: local)")
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--latent-dim", type=int, default=100, help="size of the noise vector z (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--log-dir", help="TensorBoard log folder (losses and sample images)")
    parser.add_argument("--no-jit", action="store_true", help="do not compile the training step with XLA")
    parser.add_argument("--mirrored", action="store_true", help="train on every local GPU with tf.distribute.MirroredStrategy (--batch-size is the global batch)")
    parser.add_argument("--loss", default="non_saturating", choices=LOSSES, help="adversarial loss (default: non_saturating)")
    parser.add_argument("--update", choices=UPDATES, default="alternating", help="alternating: Algorithm 1, D then G on fresh noise; simultaneous: both gradients from one batch of samples, as TF's DCGAN tutorial, one generator pass fewer (default: alternating)")
    parser.add_argument("--ema-decay", type=float, help="keep a moving average of the generator's weights for sampling and export (e.g. 0.999)")
    parser.add_argument("--g-units", type=layer_widths, help="gan only: widths of the generator's hidden layers, input side first (default: 256,512,1024)")


def layer_widths(text):
    """`--g-units 256,512,512` -> (256, 512, 512)."""
    try:
        return tuple(int(width) for width in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 256,512,512, got {text!r}") from None


def run_train(args):
    from zoo.training import train

    out = args.out or f"runs/{args.model}"
    model_kwargs = {"latent_dim": args.latent_dim, "ema_decay": args.ema_decay}
    if args.g_units is not None:
        if args.model != "gan":
            raise ValueError(f"--g-units sets the widths of the GAN's MLP layers; {args.model} has convolutional layers.")
        model_kwargs["g_units"] = args.g_units
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
        jit_compile=not args.no_jit,
        log_dir=args.log_dir,
        strategy=mirrored_strategy() if args.mirrored else None,
        command=shlex.join(["python", "-m", "zoo", *sys.argv[1:]]),
    )
    print(f"Trained model: {out}/model.keras  (samples per epoch in {out}/samples/)")


def mirrored_strategy():
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy()
    print(f"Training on {strategy.num_replicas_in_sync} device(s) with MirroredStrategy.")
    return strategy


def run_export(args):
    card = export_model_file(args.model_file, args.directory, args.name, overwrite=args.overwrite)
    print(f"Exported {card['name']} to {args.directory} (parity within {card['parity']['atol']:g}).")


def export_model_file(model_file, directory, name=None, overwrite=False):
    """Loads a trained `.keras` file (safe mode) and exports its generator; returns the card."""
    from zoo.export import export_generator

    model = load_model(model_file)
    training_record = Path(model_file).with_name("training.json")
    card = {"training": json.loads(training_record.read_text())} if training_record.is_file() else {}
    if "training" in card:
        card["dataset"] = card["training"].get("dataset")
    return export_generator(model, directory, name=name, card=card, overwrite=overwrite)


def run_sample(args):
    from zoo.images import save_grid

    source = Path(args.source)
    if not source.exists() and args.source in FAMILIES:  # `sample cgan`: the model `train cgan` wrote
        source = Path("runs") / args.source / "model.keras"
    if not source.exists() and args.source == "t2i":  # the export of scripts/eval_t2i.py, else what scripts/train_t2i.py wrote
        source = next((p for p in (Path("exports/t2i-fashion-mnist"), Path("runs/t2i/model.keras")) if p.exists()), Path("exports/t2i-fashion-mnist"))
    started = time.perf_counter()
    if source.suffix == ".keras":
        model = load_model(source)
        check_label_option(args.label, model.conditional, source)
        labels = {"labels": args.label} if model.conditional else {}
        if args.prompt is not None and not hasattr(model, "tokenizer"):
            raise ValueError(f"{source} is not a text-to-image model; --prompt applies to models such as t2i.")
        text = {"prompt": args.prompt} if hasattr(model, "tokenizer") else {}
        images = model.generate(args.num_images, seed=args.seed, **labels, **text)
        engine = "Keras"
    else:
        from zoo import runtime

        generator = runtime.load(args.source if source == Path(args.source) else source)  # a published name stays a name
        print(f"Generator: {generator.describe()}")
        check_label_option(args.label, "label" in generator.inputs, source)
        if "label" in generator.inputs:
            images = sample_conditional_onnx(generator, args.num_images, args.seed, args.label)
        else:
            images = generator.generate(args.num_images, seed=args.seed, prompt=args.prompt)
        engine = f"onnxruntime ({generator.providers[0]})"
    if args.prompt is not None:  # one line on how the prompt was read: typos fixed, synonyms, unknown words ignored
        note = (model if source.suffix == ".keras" else generator).tokenizer.analyse(args.prompt).note()
        if note:
            print(note, file=sys.stderr)
    seconds = time.perf_counter() - started
    path = save_grid(images, args.output, scale=args.scale)
    print(f"Wrote {len(images)} samples to {path} ({engine}, {seconds:.2f} s)")


def check_label_option(labels, conditional, source):
    if labels and not conditional:
        raise ValueError(f"{source} is not class-conditional; --label applies to class-conditional models such as cgan.")


def sample_conditional_onnx(generator, n, seed, labels):
    """Draws `n` images of `labels` (names or ids, as `card.json` lists the classes) through onnxruntime."""
    from zoo.labels import resolve_labels
    from zoo.latent import sample_latent

    class_names = generator.card.get("classes")
    if not class_names:
        raise ValueError(f"{generator.path} takes a label but has no card.json listing its classes.")
    return generator(sample_latent(n, generator.latent_dim, seed), label=resolve_labels(labels, class_names, n))


def run_eval(args):
    from zoo import metrics

    extractor = metrics.inception_features() if args.features == "inception" else None
    results = metrics.evaluate(args.source, n=args.num_images, extractor=extractor, seed=args.seed, data_dir=args.data_dir)
    print(metrics.format_table([results]))
    path = metrics.write_json(results, args.output or f"eval-{results['name']}.json")
    print(f"Wrote {path}")


def run_demo(args):
    from zoo import runtime
    from zoo.images import save_grid
    from zoo.training import train

    out = Path(args.out)
    started = time.perf_counter()
    train("dcgan", out, epochs=args.epochs, limit=args.limit, data_dir=args.data_dir, command=shlex.join(["python", "-m", "zoo", *sys.argv[1:]]))
    export_model_file(out / "model.keras", out / "export", name="dcgan-fashion-mnist-demo", overwrite=True)  # the demo's own artifact
    generator = runtime.load(out / "export")
    path = save_grid(generator.generate(64, seed=0), out / "samples.png", scale=3)
    record = json.loads((out / "training.json").read_text())
    print(
        f"\nDemo done in {time.perf_counter() - started:.0f} s: trained {record['epochs']} epochs at "
        f"{record['images_per_second'] or 0:.0f} images/s, exported to {out / 'export'}.\n"
        f"Samples (through onnxruntime on {generator.providers[0]}): {path.resolve()}"
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    handler = {"train": run_train, "export": run_export, "sample": run_sample, "demo": run_demo, "eval": run_eval}[args.command]
    try:
        for option in COUNTS:
            if getattr(args, option, None) is not None:
                check_int("--" + option.replace("_", "-"), getattr(args, option))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PromptWarning)  # run_sample prints the prompt's reading as one line
            handler(args)
    except (ValueError, OSError) as error:  # OSError: missing or existing files, zoo.registry.DownloadError
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # `train` has said where its last checkpoint is
        print("Stopped (Ctrl-C).", file=sys.stderr)
        return 130
    return 0
