"""ganzoo's published generators and the metrics' classifier, as data (`exports/<name>/...`).

`ganzoo` finds them here by itself: `zoo.registry` uses this folder for a published name when
every file matches the sha256 of its registry (after a source checkout's `exports/`, before
the cache and any download), so `ganzoo sample dcgan-fashion-mnist` and `ganzoo eval` work
offline once this package is installed.
"""

from pathlib import Path

EXPORTS = Path(__file__).with_name("exports")
