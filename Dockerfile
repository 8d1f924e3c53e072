# The pypi-release action's image. BASE_IMAGE defaults to the real, digest-pinned base that
# runners pull; tests on machines without a registry pass a locally made stand-in.
ARG BASE_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE_IMAGE} AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/runtime.txt /tmp/runtime.txt
# Every runtime dependency from the lock file, each checked against its hash. The venv gets
# no pip or setuptools of its own (nothing installs into it at run time): the base's pip fills it.
RUN python3 -m venv --without-pip /opt/venv \
    && python3 -m pip --python /opt/venv/bin/python install --no-deps --require-hashes \
       -r /tmp/runtime.txt

FROM ${BASE_IMAGE}
# git: the last commit's time (SOURCE_DATE_EPOCH) and version plugins such as setuptools-scm.
# The workspace belongs to the runner's user, not root: mark it safe for git, system-wide.
# DL3008 (pin apt versions) is ignored: the base is pinned by digest, and pinning git to a
# Debian revision would break the build whenever Debian ships a security fix for it.
# Perl comes with git for its scripts (add -p, send-email, svn) that no build runs: it is
# removed, with git's manual; the commands version plugins run (log, describe, ls-files,
# rev-parse, status) are C, and the last line checks them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && dpkg --purge --force-depends perl perl-modules-5.36 libperl5.36 liberror-perl git-man \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/dpkg.log /var/log/apt \
    && git config --system --add safe.directory '*' \
    && git init -q /tmp/check \
    && git -C /tmp/check -c user.name=c -c user.email=c@c.invalid commit -q --allow-empty -m c \
    && git -C /tmp/check log -1 --format=%ct && git -C /tmp/check describe --always \
    && git -C /tmp/check ls-files && git -C /tmp/check status --porcelain \
    && rm -rf /tmp/check
COPY --from=dependencies /opt/venv /opt/venv
# The release workflow passes the version and the commit; the action prints them first thing.
ARG VERSION=dev
ARG REVISION=unknown
ENV PYPI_RELEASE_IMAGE_VERSION=$VERSION PYPI_RELEASE_IMAGE_REVISION=$REVISION
COPY action.yml entrypoint.py /action/
COPY src/pypi_release /action/src/pypi_release
# The package runs from /action/src (a .pth file), so action.yml beside it is the one it reads.
RUN /opt/venv/bin/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'pypi_release.pth').write_text('/action/src\n')" \
    && /opt/venv/bin/python -m compileall -q /action/src
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The runner mounts the workspace here and makes it the working directory (--workdir); the
# same default makes a plain `docker run` behave alike. No USER: container actions run as
# root so the workspace and the file-command files stay writable (GitHub's advice).
WORKDIR /github/workspace
# env -u / python -I: variables that earlier steps exported into the job (setup-python's
# LD_LIBRARY_PATH, PYTHONPATH, PYTHONHOME) must not reach the image's own Python.
ENTRYPOINT ["/usr/bin/env", "-u", "LD_LIBRARY_PATH", "-u", "LD_PRELOAD", "/opt/venv/bin/python", "-I", "/action/entrypoint.py"]
