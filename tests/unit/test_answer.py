"""A streamed answer is byte for byte the JSON of its result, whatever the result holds."""

import json

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from snekbox.api.answer import OUTPUT_SLICE, PIECE, Answer
from snekbox.result import EvalResult, FileAttachment, Status


def whole_json(result: EvalResult) -> bytes:
    return json.dumps(result.to_json(), ensure_ascii=False).encode()


def streamed(result: EvalResult) -> tuple[bytes, int, list[str]]:
    released = []
    answer = Answer(result, 20)
    answer.on_close(lambda: released.append("slot"))
    body = b"".join(answer)
    answer.close()
    return body, answer.size, released


files = st.lists(
    st.builds(
        FileAttachment, path=st.text(min_size=1, max_size=20), content=st.binary(max_size=3000)
    ),
    max_size=4,
)


@given(
    stdout=st.text(),
    files=files,
    status=st.sampled_from(Status),
    returncode=st.none() | st.integers(0, 255),
)
@hypothesis_settings(max_examples=300)
def test_streamed_answer_is_the_json_of_its_result(stdout, files, status, returncode):
    result = EvalResult(
        stdout=stdout, returncode=returncode, status=status, duration=0.5, files=tuple(files)
    )
    body, size, released = streamed(result)
    assert body == whole_json(result)
    assert size == len(body)
    assert released == ["slot"]


def test_long_output_and_files_larger_than_a_piece():
    big = bytes(range(256)) * (PIECE // 100)
    output = '"0123456789abcdef0123456789abcdef"\n\x01\U0001f600\\é' * 4000  # 3 slices
    assert len(output) > 2 * OUTPUT_SLICE
    result = EvalResult(
        stdout=output,
        returncode=0,
        status=Status.OK,
        files=(
            FileAttachment("big", big),
            FileAttachment("empty", b""),
            FileAttachment("odd", big[: PIECE + 1]),
        ),
    )
    body, size, _ = streamed(result)
    assert body == whole_json(result)
    assert size == len(body)


def test_pieces_stay_small():
    result = EvalResult(
        stdout="\x01" * 1_000_000,
        returncode=0,
        status=Status.OK,
        files=(FileAttachment("big", b"x" * 10 * PIECE),),
    )
    answer = Answer(result, 20)
    assert max(len(piece) for piece in answer) <= 4 * PIECE // 3
