"""The container's entrypoint: inputs arrive as INPUT_* variables, as the runner passes them."""

import os
import sys

# First, before anything heavy is imported: the credentials (and the inputs and file-command
# paths) leave this process's environment block; the process re-executes itself once.
from pypi_release._secrets import hidden_from_process

environ = hidden_from_process(os.environ)

from pypi_release import release  # noqa: E402 (after the hand-over, on purpose)

if __name__ == "__main__":
    # Which image this is, first thing in the log (the release workflow bakes these in; the
    # image's digest is the one the action.yml of the release names).
    if version := os.environ.get("PYPI_RELEASE_IMAGE_VERSION"):
        revision = os.environ.get("PYPI_RELEASE_IMAGE_REVISION", "unknown")[:12]
        print(f"pypi-release {version} (image built from commit {revision}, {os.uname().machine})")
    code = release(environ)
    # The release is over and said so: skip the interpreter's teardown (freeing every module
    # requests, twine and rich loaded: a tenth of a second). Every file and folder was closed
    # or removed by its own `with`; only the standard streams are left to flush.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
