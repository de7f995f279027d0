#!/usr/bin/env bash
# Installs the Debian packages ganzoo needs: the real Fashion-MNIST (IDX .gz files in
# /usr/share/datasets/fashion-mnist), WordNet 3.0 (wordnet-base, /usr/share/wordnet: the
# synonyms of the text-to-image tokenizer, zoo/lexicon.py), Chromium for the web example's tests (headless, driven by
# playwright-core; no test tool downloads a browser), and Node.js with npm where node is
# missing. Uses sudo when not run as root.
set -euo pipefail
packages=(dataset-fashion-mnist wordnet-base chromium)
if ! command -v node >/dev/null; then packages+=(nodejs npm); fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v apt-get >/dev/null; then
  echo "apt-get not found: install Fashion-MNIST's IDX files yourself and set GANZOO_FASHION_MNIST_DIR, or use --source tfds." >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
# playwright-core (the web example's tests) needs Node.js 20 or newer; Debian 12's nodejs is 18.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "warning: Node.js $(node --version) is older than 20: install Node.js 20+ (e.g. from nodejs.org) for apps/web's tests." >&2
fi
