"""Serves the repository on 127.0.0.1 for the web example (onnxruntime-web fetches its .wasm).

    python apps/web/serve.py [--port 8000] [--model NAME]
    # then open http://127.0.0.1:8000/apps/web/?model=dcgan-fashion-mnist

Prints the page's address as its first line (port 0 picks a free port).
"""

import argparse
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class Handler(SimpleHTTPRequestHandler):
    # Python's table lacks .mjs on some versions; browsers refuse modules served as text/plain.
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="dcgan-fashion-mnist", help="a published name, or an artifact folder's URL relative to the page (default: dcgan-fashion-mnist)")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), functools.partial(Handler, directory=str(ROOT)))
    print(f"http://127.0.0.1:{server.server_port}/apps/web/?model={args.model}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
