"""The container's entrypoint: inputs arrive as INPUT_* variables, as the runner passes them."""

import os

from pypi_release import release
from pypi_release._inputs import secret_variables
from pypi_release._secrets import hidden_from_process

if __name__ == "__main__":
    # Credentials leave this process's environment block before anything else runs.
    raise SystemExit(release(hidden_from_process(os.environ, secret_variables())))
