"""Trains the text-to-image GAN (GAN-INT-CLS) on captioned, colourised Fashion-MNIST.

    .venv/bin/python scripts/train_t2i.py --out runs/t2i --epochs 8 --minutes 35

Steps: build the captioned data (held-out combinations and phrasings left out, see
`zoo.captions`), fit the tokenizer on the training captions, pretrain the text encoder to
name each caption's class and colour and freeze it, then train the GAN with `fit`. After
every epoch (`--steps-per-epoch` batches) the run folder gets `model.keras` (whole, written
atomically), a grid of samples for a few prompts in `samples/`, and `training.json`; training
stops once `--minutes` have passed, at the end of the batch under way. Evaluate and export with `scripts/eval_t2i.py`.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import keras

from zoo import captions
from zoo.bench import machine_description
from zoo.files import atomic_write, atomic_write_json
from zoo.images import save_grid
from zoo.latent import sample_latent
from zoo.models.t2i import TextToImageGAN, pretrain_text_encoder
from zoo.text import Tokenizer

PROMPTS = ("a red dress", "a blue dress", "a yellow sneaker", "green trousers", "a white bag", "a purple coat", "a pink sandal", "an orange pullover")
MAX_LENGTH = 12  # T: training captions have at most 5 words; room for longer prompts


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: a sample grid (8 images per prompt), `model.keras` and a training
    record; after each batch, a stop once the time budget is spent."""

    def __init__(self, out, seconds, record):
        super().__init__()
        self.out, self.seconds, self.record = Path(out), seconds, record
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        prompts = [prompt for prompt in PROMPTS for _ in range(8)]
        z = sample_latent(len(prompts), self.model.latent_dim, seed=0)
        save_grid(self.model.generate(z=z, prompt=prompts), self.out / "samples" / f"epoch_{epoch + 1:03d}.png", columns=8, scale=2)
        atomic_write(self.out / "model.keras", self.model.save)
        elapsed = time.perf_counter() - self.started
        self.record.update({"epochs": epoch + 1, "seconds": round(elapsed, 1), "final_logs": {k: float(v) for k, v in (logs or {}).items()}})
        atomic_write_json(self.out / "training.json", self.record)
        print(f"epoch {epoch + 1}: {elapsed / 60:.1f} min, " + ", ".join(f"{k} {float(v):.3f}" for k, v in (logs or {}).items()), flush=True)

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/t2i")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--steps-per-epoch", type=int, default=150)
    parser.add_argument("--minutes", type=float, default=35.0, help="stop after the epoch that passes this")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, help="use the first N garments only")
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--filters", type=int, default=32, help="g_filters and d_filters")
    parser.add_argument("--ema-decay", type=float, default=0.99, help="short: a CPU run takes only a few thousand steps")
    parser.add_argument("--diversity-weight", type=float, default=1.0, help="mode-seeking term; 0: Reed et al. alone")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    data = captions.colourised_fashion_mnist("train", seed=args.seed, limit=args.limit)
    tokenizer = Tokenizer.fit(data.captions, max_length=MAX_LENGTH)
    model = TextToImageGAN(
        tokenizer.vocabulary,
        tokenizer.max_length,
        latent_dim=args.latent_dim,
        image_shape=data.images.shape[1:],
        g_filters=args.filters,
        d_filters=args.filters,
        ema_decay=args.ema_decay,
        diversity_weight=args.diversity_weight,
        seed=args.seed,
    )
    started = time.perf_counter()
    history = pretrain_text_encoder(
        model.text_encoder,
        tokenizer(data.captions),
        {"class": (data.labels, len(captions.CLASS_NAMES)), "colour": (data.colours, len(captions.COLOUR_NAMES))},
        epochs=3,
    )
    pretraining = {key: round(float(values[-1]), 4) for key, values in history.history.items()}
    print(f"text encoder pretrained in {time.perf_counter() - started:.0f} s: {pretraining}", flush=True)

    model.compile(jit_compile=True)
    record = {
        "command": shlex.join(["python", "scripts/train_t2i.py", *(argv if argv is not None else sys.argv[1:])]),
        "family": model.family,
        "dataset": f"colourised, captioned Fashion-MNIST train ({len(data)} garments; held-out combinations and phrasings excluded)",
        "batch_size": args.batch_size,
        "text_encoder_pretraining": pretraining,
        "machine": machine_description(),
    }
    dataset = captions.matching_dataset(data, tokenizer, batch_size=args.batch_size, seed=args.seed)
    model.fit(dataset.repeat(), epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, callbacks=[EpochEnd(args.out, args.minutes * 60, record)], verbose=2)


if __name__ == "__main__":
    main()
