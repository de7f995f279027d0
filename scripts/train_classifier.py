"""Trains the Fashion-MNIST classifier that `zoo.metrics` takes its features from.

    .venv/bin/python scripts/train_classifier.py            # 5 epochs on the 60,000 train images

Writes `exports/classifier-fashion-mnist/classifier.keras` and `classifier.json` (architecture
facts, test accuracy on the 10,000 test images, training time and machine, sha256).
"""

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo.classifier import DEFAULT_DIR, train_classifier  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_DIR), help="folder to write (default: exports/classifier-fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "scripts/train_classifier.py", *(argv if argv is not None else sys.argv[1:])])
    card = train_classifier(args.out, args.epochs, args.batch_size, args.limit, args.data_dir, command=command)
    print(f"Test accuracy {card['test_accuracy']:.4f}; wrote {args.out}")


if __name__ == "__main__":
    main()
