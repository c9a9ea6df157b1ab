"""A job's result as MCP content for a model: a verdict line, the output, then the files.

Images the job wrote (PNG, JPEG, GIF) become image content, other files (SVG too: it is
markup that may hold script, and models take no SVG image) embedded resources. All of it
is bounded, so that one job cannot flood an agent's context: long output keeps its head
and tail, and files past the limits are named in a (bounded) note instead.
"""

from __future__ import annotations

import base64
import mimetypes
from urllib.parse import quote

from mcp.types import (
    BlobResourceContents,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)

from snekbox.client import File, Result

MAX_OUTPUT_CHARS = 20_000  # of the output shown: its first and its last half
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # of one image
MAX_FILE_BYTES = 256 * 1024  # of one other file
MAX_FILES_BYTES = 8 * 1024 * 1024  # of all files sent back together
MAX_FILES = 20
MAX_NOTE_CHARS = 2_000  # of the note naming the files left out

# The image types models take, each with how its bytes may begin and how they end: a file
# named like an image that is not one, or is cut short (a job stopped while saving it), goes
# back as a resource, as a model's API refuses broken images.
IMAGE_SHAPES = {
    "image/png": ((b"\x89PNG\r\n\x1a\n",), b"IEND\xaeB`\x82"),
    "image/jpeg": ((b"\xff\xd8\xff",), b"\xff\xd9"),
    "image/gif": ((b"GIF87a", b"GIF89a"), b";"),
}
STATUSES = {
    "ok": "ok",
    "error": "error (exited with a non-zero code)",
    "timeout": "timeout (stopped at the time limit)",
    "oom": "out of memory (killed at the memory limit)",
    "output_limit": "output limit (stopped for too much output)",
    "signal": "killed by a signal",
    "internal_error": "internal error (snekbox could not run the job; not the code's fault)",
}


def verdict(result: Result) -> str:
    """One line: status, return code, duration and whether the output was cut."""
    parts = [
        f"status: {STATUSES.get(result.status, result.status)}",
        f"return code: {result.returncode}",
    ]
    if result.signal:
        parts.append(f"signal: {result.signal}")
    parts.append(f"duration: {result.duration:.2f} s")
    parts.append("output: truncated at the limit" if result.truncated else "output: complete")
    return "; ".join(parts)


def output(text: str) -> str:
    """The output, or its first and last MAX_OUTPUT_CHARS / 2 characters around a note."""
    if not text:
        return "(no output)"
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    half = MAX_OUTPUT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters left out ...]\n{text[-half:]}"


def image_type(file: File) -> str | None:
    """The MIME type of a file that is an image a model can take, else None."""
    kind = mimetypes.guess_type(file.path)[0]
    if kind not in IMAGE_SHAPES:
        return None
    starts, end = IMAGE_SHAPES[kind]
    return kind if file.content.startswith(starts) and file.content.endswith(end) else None


def file_block(file: File) -> ContentBlock:
    kind = image_type(file)
    if kind is not None:
        return ImageContent(data=base64.b64encode(file.content).decode("ascii"), mime_type=kind)
    uri = "snekbox:///home/" + quote(file.path)
    mime = mimetypes.guess_type(file.path)[0]
    try:
        text = file.content.decode("utf-8")
    except UnicodeDecodeError:
        blob = base64.b64encode(file.content).decode("ascii")
        return EmbeddedResource(
            resource=BlobResourceContents(
                uri=uri, mime_type=mime or "application/octet-stream", blob=blob
            )
        )
    return EmbeddedResource(
        resource=TextResourceContents(uri=uri, mime_type=mime or "text/plain", text=text)
    )


def blocks(result: Result) -> list[ContentBlock]:
    """The verdict, the output, and each file within the limits; a note names the rest."""
    found: list[ContentBlock] = [
        TextContent(text=verdict(result)),
        TextContent(text=output(result.stdout)),
    ]
    room, left_out = MAX_FILES_BYTES, []
    for file in result.files:
        size = len(file.content)
        most = MAX_IMAGE_BYTES if image_type(file) else MAX_FILE_BYTES
        if size > most or size > room or len(found) - 2 >= MAX_FILES:
            left_out.append(f"{file.path} ({size} bytes)")
            continue
        room -= size
        found.append(file_block(file))
    if left_out:
        found.append(TextContent(text=note(left_out)))
    return found


def note(left_out: list[str]) -> str:
    """Names the files left out, within MAX_NOTE_CHARS however many and long they are."""
    text = (
        f"Files left out, over the limits ({MAX_FILES} files, {MAX_IMAGE_BYTES} bytes an "
        f"image, {MAX_FILE_BYTES} another file, {MAX_FILES_BYTES} in all): " + ", ".join(left_out)
    )
    if len(text) <= MAX_NOTE_CHARS:
        return text
    end = f" ... ({len(left_out)} files in all)"
    return text[: MAX_NOTE_CHARS - len(end)] + end
