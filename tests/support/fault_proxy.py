"""A proxy on loopback in front of the real index that injects faults into uploads, in order:
each upload POST takes the next fault from the script; once it runs out, uploads pass."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from tests.support.index import IndexServer
from tests.support.loopback import Request, Response, forward, serve

Fault = Literal["503", "drop", "slow", "pass"]


@dataclass
class FaultProxy:
    index: IndexServer
    faults: list[Fault]
    slow_seconds: float = 4.0
    delay: float = 0.0  # every upload held this long before it reaches the index
    url: str = ""
    landed: Counter[str] = field(default_factory=Counter)  # file name -> uploads the index took
    order: list[str] = field(default_factory=list)  # the files the index took, in order
    started: list[str] = field(default_factory=list)  # the files whose upload began, in order
    # ("start", file) when an upload reaches the proxy, ("end", file) once the index answered
    # it: ordering is asserted on these events, never on how long anything took.
    events: list[tuple[str, str]] = field(default_factory=list)
    posts: int = 0

    @property
    def upload_url(self) -> str:
        return f"{self.url}/"

    def route(self, request: Request) -> Response:
        if request.method != "POST":
            return forward(request, self.index.upload_url)
        self.posts += 1
        marker = b'name="content"; filename="'
        begin = request.body.find(marker) + len(marker)
        sent = request.body[begin : request.body.find(b'"', begin)].decode()
        self.started.append(sent)
        self.events.append(("start", sent))
        fault = self.faults.pop(0) if self.faults else None
        if fault == "503":
            return Response(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        if fault == "drop":
            return Response(0, drop=True)
        time.sleep(self.delay)
        answer = forward(request, self.index.upload_url)
        self.events.append(("end", sent))
        if answer.status == 200:
            marker = b'name="content"; filename="'
            start = request.body.find(marker) + len(marker)
            filename = request.body[start : request.body.find(b'"', start)].decode()
            self.landed[filename] += 1
            self.order.append(filename)
        if fault == "slow":
            time.sleep(self.slow_seconds)  # the upload landed; the answer comes too late
        return answer


@contextmanager
def fault_proxy(index: IndexServer, *faults: Fault, delay: float = 0.0) -> Iterator[FaultProxy]:
    proxy = FaultProxy(index, list(faults), delay=delay)
    with serve(proxy.route) as url:
        proxy.url = url
        yield proxy
