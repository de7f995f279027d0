"""Serves the repository on 127.0.0.1 for the web example (onnxruntime-web fetches its .wasm).

    python apps/web/serve.py [--port 8000] [--model NAME]
    # then open http://127.0.0.1:8000/apps/web/?model=dcgan-fashion-mnist

Prints the page's address as its first line (port 0 picks a free port). A port outside 0..65535
or one already in use is refused in one line (exit status 2).
"""

import argparse
import errno
import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class Handler(SimpleHTTPRequestHandler):
    # Python's table lacks .mjs on some versions; browsers refuse modules served as text/plain.
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass

    # The page fetches files (card.json, generator.onnx): a folder's HTML listing would be read as JSON
    # ("Unexpected token '<'"), and opening a named pipe would hold this thread for ever. Both are a 404,
    # which the page names with its URL. A folder with an index.html (the page's own) is served as ever.
    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.exists() and not path.is_dir() and not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "Not a file (a named pipe, socket or device)")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "A folder, not a file")


def port_number(text):
    """`text` as a TCP port, 1..65535 or 0 (a free port); argparse's error otherwise."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: give 1..65535, or 0 for a free one")
    return port


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port_number, default=8000, help="1..65535, or 0 for a free port (default: 8000)")
    parser.add_argument("--model", default="dcgan-fashion-mnist", help="a published name, or an artifact folder's URL relative to the page (default: dcgan-fashion-mnist)")
    args = parser.parse_args(argv)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), functools.partial(Handler, directory=str(ROOT)))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            parser.error(f"port {args.port} on 127.0.0.1 is in use; pick another with --port, or --port 0 for a free one")
        parser.error(f"cannot serve on 127.0.0.1:{args.port}: {error.strerror or error}")
    print(f"http://127.0.0.1:{server.server_port}/apps/web/?model={args.model}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
