#!/usr/bin/env python3
"""Triton's own Python gRPC client (tritonclient.grpc) against a running rnn-serve.

Run it through scripts/check-triton-grpc-client.sh, which puts the client's sources (a checkout of
triton-inference-server/client, not part of this repository) and stubs generated from proto/triton/ on
PYTHONPATH, starts the server with an API key, and passes its address and key here.

Each check prints `ok - ...` or `not ok - ...: why`; the exit status is the number of checks that failed.
"""

import argparse
import queue
import sys
import traceback

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

# hello's answer to "h", "e" (one-hot over h, e, l, o), as the README shows it: output [1, 2, 3], state [1, 3].
HELLO_INPUT = np.array([[[1, 0, 0, 0], [0, 1, 0, 0]]], dtype=np.float32)
HELLO_OUTPUT = np.array(
    [[[0.5370495915412903, -0.33637553453445435, 0.12435299903154373],
      [-0.04734589532017708, 0.5262801647186279, 0.22420813143253326]]],
    dtype=np.float32,
)

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def hello_inputs(values=HELLO_INPUT):
    tensor = grpcclient.InferInput("input", list(values.shape), "FP32")
    tensor.set_data_from_numpy(values)  # raw_input_contents, as the client always sends
    return [tensor]


def refusal(call):
    """The InferenceServerException `call` raises; an AssertionError when it answers."""
    try:
        call()
    except InferenceServerException as error:
        return error
    raise AssertionError("answered; expected an error")


@check
def liveness_and_readiness_need_no_key(client, headers):
    assert client.is_server_live() is True
    assert client.is_server_ready() is True


@check
def server_metadata(client, headers):
    metadata = client.get_server_metadata(headers=headers)
    assert metadata.name == "rnn-serve", metadata
    assert list(metadata.extensions) == [
        "binary_tensor_data",
        "classification",
        "model_repository",
        "model_repository(unload_dependents)",
    ], metadata
    as_json = client.get_server_metadata(headers=headers, as_json=True)
    assert as_json["name"] == "rnn-serve", as_json


@check
def without_the_key_unauthenticated(client, headers):
    error = refusal(lambda: client.get_server_metadata())
    assert error.status() == "StatusCode.UNAUTHENTICATED", error.status()
    assert "send Authorization: Bearer <key>" in error.message(), error.message()
    wrong = refusal(lambda: client.get_server_metadata(headers={"authorization": "Bearer not-the-key-0123456789"}))
    assert wrong.status() == "StatusCode.PERMISSION_DENIED", wrong.status()


@check
def model_metadata(client, headers):
    metadata = client.get_model_metadata("hello", headers=headers)
    assert metadata.name == "hello" and list(metadata.versions) == ["1"], metadata
    assert metadata.platform == "rnn-serve_json", metadata.platform
    assert [(i.name, i.datatype, list(i.shape)) for i in metadata.inputs] == [("input", "FP32", [-1, -1, 4])]
    assert [(o.name, list(o.shape)) for o in metadata.outputs] == [("output", [-1, -1, 3]), ("state", [-1, 3])]
    versioned = client.get_model_metadata("hello", model_version="1", headers=headers, as_json=True)
    assert versioned["name"] == "hello", versioned


@check
def model_readiness(client, headers):
    assert client.is_model_ready("hello", headers=headers) is True
    assert client.is_model_ready("hello", "1", headers=headers) is True
    error = refusal(lambda: client.is_model_ready("nope", headers=headers))
    assert error.status() == "StatusCode.NOT_FOUND", error.status()
    assert "there is no model 'nope'" in error.message(), error.message()


@check
def infer_fp32_with_raw_tensors(client, headers):
    result = client.infer("hello", hello_inputs(), request_id="triton-1", headers=headers)
    assert result.get_response().id == "triton-1"
    assert result.get_response().model_version == "1"
    output = result.as_numpy("output")
    assert output.dtype == np.float32 and output.shape == (1, 2, 3), (output.dtype, output.shape)
    assert np.array_equal(output, HELLO_OUTPUT), output
    assert np.array_equal(result.as_numpy("state"), HELLO_OUTPUT[:, -1, :])


@check
def infer_requested_output_and_sequence_parameters(client, headers):
    result = client.infer(
        "hello",
        hello_inputs(),
        outputs=[grpcclient.InferRequestedOutput("state")],
        sequence_id=42,
        sequence_start=True,
        sequence_end=True,
        priority=1,
        timeout=10_000_000,
        headers=headers,
    )
    assert result.as_numpy("output") is None
    assert np.array_equal(result.as_numpy("state"), HELLO_OUTPUT[:, -1, :])
    named = client.infer("hello", hello_inputs(), sequence_id="session-a", sequence_start=True, headers=headers)
    assert named.as_numpy("state") is not None


@check
def infer_classification(client, headers):
    ids = grpcclient.InferInput("input", [1, 2, 1], "INT64")
    ids.set_data_from_numpy(np.array([[[1], [2]]], dtype=np.int64))
    result = client.infer(
        "next-char", [ids], outputs=[grpcclient.InferRequestedOutput("output", class_count=2)], headers=headers
    )
    classes = result.as_numpy("output")
    assert classes.shape == (1, 2), classes.shape
    scores = [entry.decode("utf-8").split(":") for entry in classes.flatten()]
    assert all(len(parts) == 3 for parts in scores), classes
    assert float(scores[0][0]) >= float(scores[1][0]), classes


@check
def infer_errors(client, headers):
    wrong = grpcclient.InferInput("input", [1, 2, 4], "UINT8")  # a datatype the model does not take
    wrong.set_data_from_numpy(HELLO_INPUT.astype(np.uint8))
    error = refusal(lambda: client.infer("hello", [wrong], headers=headers))
    assert error.status() == "StatusCode.INVALID_ARGUMENT", error.status()
    assert error.message().startswith("inputs[0].datatype: is 'UINT8'"), error.message()
    steps = grpcclient.InferInput("input", [1, 2, 3], "FP32")
    steps.set_data_from_numpy(np.zeros((1, 2, 3), dtype=np.float32))
    error = refusal(lambda: client.infer("hello", [steps], headers=headers))
    assert error.status() == "StatusCode.INVALID_ARGUMENT", error.status()
    missing = refusal(lambda: client.infer("nope", hello_inputs(), headers=headers))
    assert missing.status() == "StatusCode.NOT_FOUND", missing.status()


@check
def streaming_infer(client, headers):
    answers = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)), headers=headers)
    try:
        client.async_stream_infer("hello", hello_inputs(), request_id="s1")
        client.async_stream_infer("nope", hello_inputs(), request_id="s2")
        client.async_stream_infer(
            "hello", hello_inputs(HELLO_INPUT[:, :1, :]), request_id="s3", sequence_id=7, sequence_start=True
        )
        got = [answers.get(timeout=20) for _ in range(3)]
    finally:
        client.stop_stream()
    (first, first_error), (_, second_error), (third, third_error) = got
    assert first_error is None and third_error is None, (first_error, third_error)
    assert first.get_response().id == "s1" and np.array_equal(first.as_numpy("output"), HELLO_OUTPUT)
    assert isinstance(second_error, InferenceServerException), second_error
    assert "there is no model 'nope'" in second_error.message(), second_error.message()
    assert third.get_response().id == "s3", "the stream went on after the error"
    assert np.array_equal(third.as_numpy("output"), HELLO_OUTPUT[:, :1, :])


@check
def sequences_interleaved_on_a_stream(client, headers):
    """Two sequences sent a step at a time, interleaved, answer what the two steps answer whole, bit for bit."""
    answers = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)), headers=headers)
    largest = 2**63 - 1  # the client sends a number as int64_param: kept exact, not rounded to a double
    try:
        for sequence in (largest, "chat-7"):
            client.async_stream_infer(
                "hello",
                hello_inputs(HELLO_INPUT[:, :1, :]),
                request_id=f"{sequence}/0",
                sequence_id=sequence,
                sequence_start=True,
            )
        client.async_stream_infer("hello", hello_inputs(HELLO_INPUT[:, 1:, :]), request_id="never", sequence_id=12345)
        for sequence in (largest, "chat-7"):
            client.async_stream_infer(
                "hello",
                hello_inputs(HELLO_INPUT[:, 1:, :]),
                request_id=f"{sequence}/1",
                sequence_id=sequence,
                sequence_end=True,
            )
        got = [answers.get(timeout=20) for _ in range(5)]
    finally:
        client.stop_stream()
    errors = [error for _, error in got if error is not None]
    assert len(errors) == 1, [str(error) for error in errors]
    assert "must specify the START flag" in errors[0].message(), errors[0].message()
    results = {result.get_response().id: result for result, error in got if error is None}
    for sequence in (largest, "chat-7"):
        first, second = results[f"{sequence}/0"], results[f"{sequence}/1"]
        steps = np.concatenate([first.as_numpy("output"), second.as_numpy("output")], axis=1)
        assert np.array_equal(steps, HELLO_OUTPUT), (sequence, steps)
        assert np.array_equal(second.as_numpy("state"), HELLO_OUTPUT[:, -1, :]), sequence


@check
def a_sequence_never_started_is_invalid_argument(client, headers):
    error = refusal(lambda: client.infer("hello", hello_inputs(), sequence_id=12346, headers=headers))
    assert error.status() == "StatusCode.INVALID_ARGUMENT", error.status()
    assert error.message().startswith(
        'parameters.sequence_id: inference request for sequence 12346 to model "hello" must specify the START flag'
    ), error.message()


@check
def repository_index_unload_and_load(client, headers):
    """The server runs with MODEL_CONTROL_MODE=explicit and every model loaded (check-triton-grpc-client.sh)."""
    index = client.get_model_repository_index(headers=headers, as_json=True)
    states = {(model["name"], model.get("version", "")): model["state"] for model in index["models"]}
    assert states[("hello", "1")] == "READY", index
    client.unload_model("next-char", headers=headers)
    error = refusal(lambda: client.is_model_ready("next-char", headers=headers))
    assert error.status() == "StatusCode.NOT_FOUND", error.status()
    index = client.get_model_repository_index(headers=headers)
    unloaded = [(m.state, m.reason) for m in index.models if m.name == "next-char"]
    assert unloaded == [("UNAVAILABLE", "unloaded")], unloaded
    client.load_model("next-char", headers=headers, config='{"max_batch_size": 4}')
    assert client.is_model_ready("next-char", headers=headers) is True
    missing = refusal(lambda: client.load_model("nope", headers=headers))
    assert missing.status() == "StatusCode.NOT_FOUND", missing.status()
    assert "there is no model directory 'nope'" in missing.message(), missing.message()
    files = refusal(lambda: client.load_model("hello", headers=headers, config="{}", files={"file:1/model.json": b"{}"}))
    assert files.status() == "StatusCode.INVALID_ARGUMENT", files.status()
    assert "file overrides are not supported" in files.message(), files.message()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="host:port of rnn-serve's gRPC server")
    parser.add_argument("--api-key", required=True, help="one of the server's API_KEYS")
    args = parser.parse_args()
    headers = {"authorization": f"Bearer {args.api_key}"}
    failed = 0
    with grpcclient.InferenceServerClient(url=args.url) as client:
        for function in CHECKS:
            name = function.__name__.replace("_", " ")
            try:
                function(client, headers)
                print(f"ok - {name}")
            except Exception as error:  # every failure is reported, and the others still run
                failed += 1
                detail = "".join(traceback.format_exception_only(type(error), error)).strip()
                print(f"not ok - {name}: {detail}")
    print(f"{len(CHECKS) - failed} passed, {failed} failed (tritonclient.grpc against {args.url})")
    return failed


if __name__ == "__main__":
    sys.exit(main())
