"""The container's entrypoint: inputs arrive as INPUT_* variables, as the runner passes them."""

import os

from pypi_release import release

if __name__ == "__main__":
    raise SystemExit(release(os.environ))
