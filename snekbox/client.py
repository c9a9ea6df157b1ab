"""A client for any snekbox deployment, synchronous or asyncio, typed both ways.

    with Client("http://127.0.0.1:8060", token="...") as snekbox:
        result = snekbox.eval("print(6 * 7)")
        print(result.stdout, result.status)

Every error answer becomes an exception that carries the server's title and description;
a 503 (every job slot taken) is retried a few times, as soon as its Retry-After allows.
It speaks only HTTP, so it needs nothing else of snekbox.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Iterable, Mapping
from time import sleep
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8060"
# Retry-After values beyond this are not waited for: the error is raised instead.
MAX_RETRY_WAIT = 30.0


@dataclasses.dataclass(frozen=True)
class File:
    """A file under the job's /home, by its path relative to /home."""

    path: str
    content: bytes


@dataclasses.dataclass(frozen=True)
class Result:
    """How a job ended, as POST /eval answers it, with its files decoded."""

    stdout: str
    returncode: int | None
    status: str
    signal: str | None
    duration: float
    truncated: bool
    files: tuple[File, ...]
    request_id: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclasses.dataclass(frozen=True)
class JudgedCase:
    """A test case's verdict (accepted, wrong_answer, ...) and result (without files), as
    POST /judge answers it; `difference` is the first line that differs, for a wrong answer."""

    index: int
    name: str | None
    verdict: str
    difference: dict[str, Any] | None
    result: Result


@dataclasses.dataclass(frozen=True)
class Judgement:
    cases: tuple[JudgedCase, ...]
    passed: int
    total: int
    duration: float


@dataclasses.dataclass(frozen=True)
class Runtime:
    name: str
    version: str
    executable_path: str
    default: bool


class SnekboxError(Exception):
    """An error answer: its HTTP status, and the server's title and description."""

    def __init__(self, status: int, title: str, description: str):
        super().__init__(f"{status} {title}: {description}")
        self.status = status
        self.title = title
        self.description = description


class BadRequest(SnekboxError):
    """400: the request cannot be run as given (the description says why)."""


class Unauthorized(SnekboxError):
    """401: a token is needed, or the one given is wrong."""


class TooLarge(SnekboxError):
    """413: the request, its stdin or its files are over the service's limits."""


class Unavailable(SnekboxError):
    """503: every job slot was still taken after the retries."""


ERRORS = {400: BadRequest, 401: Unauthorized, 413: TooLarge, 503: Unavailable}


def eval_body(
    code: str | None = None,
    *,
    args: Iterable[str] | None = None,
    files: Mapping[str, bytes] | None = None,
    stdin: str | None = None,
    time: float | None = None,
    memory: int | None = None,
    output: int | None = None,
    processes: int | None = None,
    version: str | None = None,
    executable_path: str | None = None,
    figures: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of POST /eval; fields left as None are the server's defaults."""
    limits = {
        name: value
        for name, value in (
            ("time", time),
            ("memory", memory),
            ("output", output),
            ("processes", processes),
        )
        if value is not None
    }
    body: dict[str, Any] = {
        "input": code,
        "args": None if args is None else list(args),
        "files": None
        if files is None
        else [
            {"path": path, "content": base64.b64encode(content).decode("ascii")}
            for path, content in files.items()
        ],
        "stdin": stdin,
        "limits": limits or None,
        "version": version,
        "executable_path": executable_path,
        "figures": figures,
    }
    return {name: value for name, value in body.items() if value is not None}


def judge_body(
    code: str | None,
    cases: Iterable[Mapping[str, Any]],
    compare: str | None,
    **fields: Any,
) -> dict[str, Any]:
    """The JSON body of POST /judge: eval_body's, the cases (each a dict of name, stdin,
    args, expected_stdout, limits) and the comparison mode (None: the server's default)."""
    body = {**eval_body(code, **fields), "cases": [dict(case) for case in cases]}
    return body if compare is None else {**body, "compare": compare}


def parse_result(response: httpx.Response) -> Result:
    return _result(response.json(), response.headers.get("X-Request-ID", ""))


def parse_judgement(response: httpx.Response) -> Judgement:
    document, request_id = response.json(), response.headers.get("X-Request-ID", "")
    return Judgement(
        cases=tuple(
            JudgedCase(
                case["index"],
                case["name"],
                case["verdict"],
                case["difference"],
                _result(case, request_id),
            )
            for case in document["cases"]
        ),
        **document["summary"],
    )


def _result(document: dict[str, Any], request_id: str) -> Result:
    return Result(
        stdout=document["stdout"],
        returncode=document["returncode"],
        status=document["status"],
        signal=document["signal"],
        duration=document["duration"],
        truncated=document["truncated"],
        files=tuple(
            File(f["path"], base64.b64decode(f["content"])) for f in document.get("files", [])
        ),
        request_id=request_id,
    )


def parse_runtimes(response: httpx.Response) -> list[Runtime]:
    return [Runtime(**runtime) for runtime in response.json()["runtimes"]]


def raise_for_error(response: httpx.Response) -> None:
    """The exception of an error answer, with the server's own words where it gave them."""
    if response.is_success:
        return
    try:
        document = response.json()
        title, description = document["title"], document["description"]
    except (ValueError, KeyError, TypeError):
        title, description = response.reason_phrase, response.text[:500]
    raise ERRORS.get(response.status_code, SnekboxError)(response.status_code, title, description)


def retry_wait(response: httpx.Response, attempt: int, retries: int) -> float | None:
    """Seconds to wait before trying again, or None to give the answer as it is."""
    if response.status_code != 503 or attempt >= retries:
        return None
    try:
        wait = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        wait = 1.0
    return wait if 0 <= wait <= MAX_RETRY_WAIT else None


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Client:
    """Synchronous: one connection pool to one snekbox."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
    ):
        self.retries = retries
        self.http = httpx.Client(base_url=url, headers=_headers(token), timeout=timeout)

    def eval(
        self, code: str | None = None, *, request_id: str | None = None, **fields: Any
    ) -> Result:
        """Run `code` (or `args=[...]`) with the fields of eval_body; the result, or the
        error answer raised."""
        headers = {"X-Request-ID": request_id} if request_id else {}
        return parse_result(
            self._send("POST", "/eval", json=eval_body(code, **fields), headers=headers)
        )

    def judge(
        self,
        code: str | None = None,
        *,
        cases: Iterable[Mapping[str, Any]],
        compare: str | None = None,
        **fields: Any,
    ) -> Judgement:
        """Run `code` on each of `cases` in a fresh jail (see judge_body); the verdicts."""
        body = judge_body(code, cases, compare, **fields)
        return parse_judgement(self._send("POST", "/judge", json=body))

    def runtimes(self) -> list[Runtime]:
        return parse_runtimes(self._send("GET", "/runtimes"))

    def openapi(self) -> dict[str, Any]:
        """The service's OpenAPI document: its request schema holds its limits."""
        return self._send("GET", "/openapi.json").json()

    def health(self) -> dict[str, Any]:
        """The /health answer, whether the service is healthy (200) or not (503)."""
        return self.http.get("/health").json()

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        attempt = 0
        while True:
            response = self.http.request(method, path, **options)
            wait = retry_wait(response, attempt, self.retries)
            if wait is None:
                raise_for_error(response)
                return response
            attempt += 1
            sleep(wait)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient:
    """The same for asyncio."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
    ):
        self.retries = retries
        self.http = httpx.AsyncClient(base_url=url, headers=_headers(token), timeout=timeout)

    async def eval(
        self, code: str | None = None, *, request_id: str | None = None, **fields: Any
    ) -> Result:
        headers = {"X-Request-ID": request_id} if request_id else {}
        return parse_result(
            await self._send("POST", "/eval", json=eval_body(code, **fields), headers=headers)
        )

    async def judge(
        self,
        code: str | None = None,
        *,
        cases: Iterable[Mapping[str, Any]],
        compare: str | None = None,
        **fields: Any,
    ) -> Judgement:
        body = judge_body(code, cases, compare, **fields)
        return parse_judgement(await self._send("POST", "/judge", json=body))

    async def runtimes(self) -> list[Runtime]:
        return parse_runtimes(await self._send("GET", "/runtimes"))

    async def health(self) -> dict[str, Any]:
        return (await self.http.get("/health")).json()

    async def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        attempt = 0
        while True:
            response = await self.http.request(method, path, **options)
            wait = retry_wait(response, attempt, self.retries)
            if wait is None:
                raise_for_error(response)
                return response
            attempt += 1
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
