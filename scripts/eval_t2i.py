"""Scores a text-to-image generator's caption fidelity and draws its sample sheet.

    .venv/bin/python scripts/eval_t2i.py exports/t2i-fashion-mnist --figure docs/images/t2i_samples.png

A thin wrapper of `zoo.t2i_metrics` (the same as `python -m zoo eval <t2i artifact>`), plus
`--figure`: a PNG of samples for seen pairs, held-out pairs and held-out phrasings, each row
labelled, drawn from the source given (through onnxruntime for an artifact folder).
"""

import argparse
import sys


def main(argv=None):
    from zoo import cli, t2i_metrics

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="artifact folder, generator.onnx or .keras file, or a published name")
    parser.add_argument("--judge", help="the attribute judge's .keras file (default: trained once into the cache)")
    parser.add_argument("--figure", help="PNG of samples to write (a .png name; an existing file there must be a picture)")
    parser.add_argument("--no-eval", action="store_true", help="only draw the figure")
    args = parser.parse_args(argv)
    if args.figure:  # before the evaluation's minutes, not after them
        try:
            t2i_metrics.check_figure_path(args.figure)
        except ValueError as error:
            parser.error(str(error))
    if not args.no_eval:
        code = cli.main(["eval", args.source, *(["--judge", args.judge] if args.judge else [])])
        if code:
            return code
    if args.figure:
        print(f"Figure: {t2i_metrics.draw_sheet(t2i_metrics.open_source(args.source), args.figure)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
