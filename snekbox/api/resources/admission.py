"""What POST /eval and POST /judge share: reading a request into a spec, held in budget."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

import falcon

from snekbox.api import body, sse
from snekbox.api.budget import BodyBudget
from snekbox.api.stream import EventStream, Put
from snekbox.jobs import Jobs
from snekbox.settings import Settings

Spec = TypeVar("Spec")


class Admission:
    """Reads a request's body within the worker's body budget and parses it into a spec;
    bad input and a busy service become 4xx and 503 answers through the app's handlers."""

    def __init__(self, jobs: Jobs, settings: Settings, bodies: BodyBudget, shape: body.Shape):
        self.jobs = jobs
        self.settings = settings
        self.bodies = bodies
        self.shape = shape

    def read(
        self,
        req: falcon.Request,
        held: contextlib.ExitStack,
        parse: Callable[[object], Spec],
        size: Callable[[Spec], int],
    ) -> Spec:
        """The request's spec; its body's bytes are held in `held` until the answer is
        sent, only `size(spec)` of them (what its jobs need) once it is parsed."""
        body.check_headers(req, self.settings.max_body_size)
        hold = held.enter_context(self.bodies.hold())
        document = body.read_json(req, self.settings.max_body_size, self.shape, hold)
        spec = parse(document)  # a 400 even when every slot is busy
        del document  # from here on the request holds only its spec's bytes
        hold.settle(size(spec))
        return spec

    def stream(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        held: contextlib.ExitStack,
        work: Callable[[Put], None],
        started: threading.Event,
        cancel: threading.Event,
        media_type: str = sse.MEDIA_TYPE,
    ) -> None:
        """Answer with what `work` puts (events, see EventStream), which from then on holds
        what the request held."""
        client = req.env.get("gunicorn.socket")
        stream = EventStream(
            work,
            started,
            cancel,
            client if isinstance(client, socket.socket) else None,
            self.settings.request_timeout,
        )
        stream.begin()
        stream.on_close(held.pop_all().close)
        resp.content_type = media_type
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("X-Accel-Buffering", "no")  # a proxy (nginx) passes each event on at once
        resp.stream = stream
