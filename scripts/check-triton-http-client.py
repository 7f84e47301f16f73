"""
Triton's own Python HTTP client (tritonclient.http, from the sources of triton-inference-server/client) against a
running rnn-serve: every call a Triton user makes, unchanged, with the answers checked against the server's own
JSON answers (fetched with urllib, not with the client). Run by scripts/check-triton-clients.sh, which puts the
client's sources on PYTHONPATH and starts the server; prints one line per check and exits non-zero on a failure.

    python3 scripts/check-triton-http-client.py http://127.0.0.1:8080
"""

import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
URL = BASE.split("://", 1)[1]
failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures += 1


def post(path, body):
    request = urllib.request.Request(
        BASE + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


client = httpclient.InferenceServerClient(url=URL)
check("is_server_live", client.is_server_live())
check("is_server_ready", client.is_server_ready())
metadata = client.get_server_metadata()
check("get_server_metadata names the server", metadata["name"] == "rnn-serve", metadata)
check("is_model_ready(hello)", client.is_model_ready("hello"))
check("is_model_ready(hello, version 1)", client.is_model_ready("hello", "1"))
model = client.get_model_metadata("hello")
check("get_model_metadata(hello): input [-1, -1, 4] FP32", model["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, -1, 4]}, model)

# The lecture's hello, one-hot over h, e, l, o.
hello = np.array([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]]], dtype=np.float32)
expected = post(
    "/v2/models/hello/infer",
    {"inputs": [{"name": "input", "shape": [1, 5, 4], "datatype": "FP32", "data": hello.flatten().tolist()}]},
)
want = {o["name"]: np.array(o["data"], dtype=np.float32).reshape(o["shape"]) for o in expected["outputs"]}

for binary in (False, True):
    form = "binary" if binary else "JSON"
    inputs = [httpclient.InferInput("input", list(hello.shape), "FP32")]
    inputs[0].set_data_from_numpy(hello, binary_data=binary)
    outputs = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("output", "state")]
    result = client.infer("hello", inputs, outputs=outputs, request_id="req-1")
    for name in ("output", "state"):
        got = result.as_numpy(name)
        check(f"infer ({form}): {name} equals the server's JSON answer, bit for bit", got is not None and got.dtype == np.float32 and np.array_equal(got, want[name]), got)
    check(f"infer ({form}): the answer carries the request id", result.get_response()["id"] == "req-1")

# Schedule parameters as the client sends them: priority and timeout (µs).
inputs = [httpclient.InferInput("input", list(hello.shape), "FP32")]
inputs[0].set_data_from_numpy(hello, binary_data=True)
result = client.infer("hello", inputs, priority=1, timeout=5_000_000)
check("infer with priority and timeout", np.array_equal(result.as_numpy("output"), want["output"]))
try:
    client.infer("hello", inputs, priority=99)
    check("a priority beyond the levels is refused", False, "answered")
except InferenceServerException as error:
    check("a priority beyond the levels is refused, naming it", "priority" in str(error), str(error))

# Classification, as the client asks for it (class_count), over the shipped next-char model.
ids = np.array([[[0], [1], [2]]], dtype=np.float32)
inputs = [httpclient.InferInput("input", [1, 3, 1], "FP32")]
inputs[0].set_data_from_numpy(ids, binary_data=True)
result = client.infer("next-char", inputs, outputs=[httpclient.InferRequestedOutput("output", binary_data=True, class_count=2)])
classes = result.as_numpy("output")
check("classification: top 2 as BYTES score:index:label", classes is not None and classes.shape == (1, 2) and classes[0][0].decode().endswith(":2:l"), classes)

# An ONNX model and errors as the client reports them.
try:
    client.infer("no-such-model", inputs)
    check("an unknown model is an error", False, "answered")
except InferenceServerException as error:
    check("an unknown model is an error naming it", "no-such-model" in str(error), str(error))
try:
    bad = [httpclient.InferInput("input", [1, 2, 3], "FP32")]
    bad[0].set_data_from_numpy(np.zeros((1, 2, 3), dtype=np.float32))
    client.infer("hello", bad)
    check("a wrong shape is an error", False, "answered")
except InferenceServerException as error:
    check("a wrong shape is an error naming the tensor", "inputs[0]" in str(error), str(error))

client.close()
print(f"{failures} failed")
sys.exit(1 if failures else 0)
