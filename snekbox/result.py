"""What a finished job produced: its output, how it ended, and the files it left in /home."""

from __future__ import annotations

import base64
import dataclasses
import enum
import signal


class Status(enum.StrEnum):
    """Why a job ended, so a client can tell a timeout from running out of memory."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    OOM = "oom"
    OUTPUT_LIMIT = "output_limit"
    SIGNAL = "signal"
    INTERNAL_ERROR = "internal_error"


@dataclasses.dataclass(frozen=True)
class FileAttachment:
    """A file under /home, by its path relative to /home."""

    path: str
    content: bytes

    def to_json(self, content: str | None = None) -> dict:
        """As in an answer; `content`, if given, stands in for the base64 of the content."""
        return {
            "path": self.path,
            "size": len(self.content),
            "content": base64.b64encode(self.content).decode("ascii")
            if content is None
            else content,
        }


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """The outcome of one job. `returncode` is None when the job could not be run at all."""

    stdout: str
    returncode: int | None
    status: Status
    duration: float = 0.0
    truncated: bool = False
    files: tuple[FileAttachment, ...] = ()

    @property
    def signal(self) -> str | None:
        """The name of the signal that ended the job, from the 128+N convention."""
        code = self.returncode
        if code is None or self.status in (Status.OK, Status.ERROR, Status.INTERNAL_ERROR):
            return None
        try:
            return signal.Signals(code - 128).name
        except ValueError:
            return None

    def to_json(self, file_content: str | None = None) -> dict:
        """As in an answer; `file_content`, if given, stands in for each file's base64."""
        return {
            "stdout": self.stdout,
            "returncode": self.returncode,
            "status": self.status.value,
            "signal": self.signal,
            "duration": round(self.duration, 4),
            "truncated": self.truncated,
            "files": [f.to_json(file_content) for f in self.files],
        }

    @classmethod
    def internal_error(cls, reason: str) -> EvalResult:
        return cls(stdout=reason, returncode=None, status=Status.INTERNAL_ERROR)
