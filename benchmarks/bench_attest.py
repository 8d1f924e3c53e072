"""Signing many files, two ways, in one run: pypi-release's attestation phase (one
certificate, the transparency-log entries made by up to 8 threads, each attestation verified)
against the loop the standard publishing action runs (one signer, one file after another,
not verified), both with sigstore's and pypi-attestations' own client.

Both sign against the loopback Sigstore of the tests (tests/support/fake_sigstore.py) with a
latency added to every answer, as the round trip to Sigstore's public instance would be
(--latency, 0.15 s by default). Prints each round, then the medians and the ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypi_release._attesting import attest_release  # noqa: E402
from pypi_release._console import Console  # noqa: E402
from pypi_release._context import RunContext  # noqa: E402
from pypi_release._distributions import Distribution, read_distribution  # noqa: E402
from pypi_release._http import RetryPolicy  # noqa: E402
from pypi_release._oidc import IdTokenRequest  # noqa: E402
from pypi_release._secrets import Secret  # noqa: E402
from tests.support.distfiles import make_wheel  # noqa: E402
from tests.support.fake_github import REQUEST_TOKEN, FakeGitHub, fake_github, make_jwt  # noqa: E402
from tests.support.fake_sigstore import FakeSigstore, fake_sigstore  # noqa: E402


def wheels(folder: Path, count: int) -> list[Distribution]:
    folder.mkdir(parents=True)
    tags = [f"cp3{minor}-cp3{minor}-manylinux_2_17_x86_64" for minor in range(8, 14)]
    made = [
        make_wheel(folder, f"pkg{n // len(tags)}", "1.0", tag=tags[n % len(tags)])
        for n in range(count)
    ]
    return [read_distribution(path) for path in made]


def ours(dists: list[Distribution], github: FakeGitHub, sigstore: FakeSigstore) -> None:
    from sigstore.models import ClientTrustConfig

    attest_release(
        dists,
        find_existing=False,
        context=RunContext(
            in_actions=True,
            repository="octo-org/sample",
            workflow_ref="octo-org/sample/.github/workflows/release.yml@refs/tags/1.0",
            id_token_request=IdTokenRequest(github.oidc_url, Secret(REQUEST_TOKEN)),
        ),
        trust=ClientTrustConfig.from_json(json.dumps(sigstore.trust_config())),
        console=Console(in_actions=True, out=io.StringIO()),
        policy=RetryPolicy(),
    )


def sequential(dists: list[Distribution], github: FakeGitHub, sigstore: FakeSigstore) -> None:
    from pypi_attestations import Attestation
    from pypi_attestations import Distribution as Subject
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    now = int(time.time())
    token = make_jwt({**github.claims, "aud": "sigstore", "iat": now, "nbf": now, "exp": now + 300})
    trust = ClientTrustConfig.from_json(json.dumps(sigstore.trust_config()))
    with SigningContext.from_trust_config(trust).signer(IdentityToken(token)) as signer:
        for dist in dists:
            attestation = Attestation.sign(signer, Subject.from_file(dist.path))
            dist.path.with_name(dist.filename + ".publish.attestation").write_text(
                attestation.model_dump_json()
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"pypi-release": [], "sequential": []}
    with fake_github() as github, fake_sigstore(latency=args.latency) as sigstore:
        for round_ in range(args.rounds):
            for name, sign in (("pypi-release", ours), ("sequential", sequential)):
                with tempfile.TemporaryDirectory() as scratch:
                    dists = wheels(Path(scratch) / "dist", args.files)
                    start = time.perf_counter()
                    sign(dists, github, sigstore)
                    times[name].append(time.perf_counter() - start)
                print(f"round {round_ + 1}: {name:13} {times[name][-1]:.2f} s", flush=True)
    ours_median = statistics.median(times["pypi-release"])
    theirs = statistics.median(times["sequential"])
    print(
        f"{args.files} files, {args.latency:g} s a round trip: pypi-release {ours_median:.2f} s "
        f"(verified too), sequential {theirs:.2f} s: {ours_median / theirs:.2f}x"
    )


if __name__ == "__main__":
    main()
