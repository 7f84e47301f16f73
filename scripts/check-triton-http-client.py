"""
Triton's own Python HTTP client (tritonclient.http, from the sources of triton-inference-server/client) against a
running rnn-serve: every call a Triton user makes, unchanged, with the answers checked against the server's own
JSON answers (fetched with urllib, not with the client). Run by scripts/check-triton-clients.sh, which puts the
client's sources on PYTHONPATH and starts the server (or, with --redis, two servers sharing a Redis); prints one
line per check and exits non-zero on a failure.

Stateful sequences (sequence_id, sequence_start, sequence_end): eight sequences streamed in chunks, interleaved,
on a SimpleRNN (`hello`) and an LSTM (`lstm`), each equal bit for bit to the sequence sent whole. Given two
servers, the chunks alternate between them (with REDIS_URL, either continues any sequence).

    python3 scripts/check-triton-http-client.py http://127.0.0.1:8080 [http://127.0.0.1:8081]
"""

import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
import tritonclient.http._utils as httputils
from tritonclient.utils import InferenceServerException

BASES = sys.argv[1:] or ["http://127.0.0.1:8080"]
BASE = BASES[0]
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

# --- Stateful sequences -----------------------------------------------------------------------------------------

# What the client sends: sequence_id as the JSON number or string it was given, with both flags.
probe = httpclient.InferInput("input", [1, 1, 4], "FP32")
probe.set_data_from_numpy(np.zeros((1, 1, 4), dtype=np.float32), binary_data=False)
for sequence_id in (42, 2**64 - 1, "user-7"):
    body, _ = httputils._get_inference_request([probe], "", None, sequence_id, True, False, 0, None, None)
    sent = json.loads(body)["parameters"]
    check(
        f"the client sends sequence_id {sequence_id!r} as {type(sequence_id).__name__}: {json.dumps(sent)}",
        sent["sequence_id"] == sequence_id and type(sent["sequence_id"]) is type(sequence_id)
        and sent["sequence_start"] is True and sent["sequence_end"] is False,
        sent,
    )

# Each round's chunks are sent at once (async_infer), as eight streams would send them.
clients = [httpclient.InferenceServerClient(url=base.split("://", 1)[1], concurrency=8) for base in BASES]
where = f"{len(clients)} servers, chunks alternating" if len(clients) > 1 else "one server"


def bits(array):
    """A float32 array's bits, to compare bit for bit."""
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def request(values, binary, names):
    inputs = [httpclient.InferInput("input", list(values.shape), "FP32")]
    inputs[0].set_data_from_numpy(values, binary_data=binary)
    return {"inputs": inputs, "outputs": [httpclient.InferRequestedOutput(name, binary_data=True) for name in names]}


def infer(client, model, values, binary, names, **sequence):
    result = client.infer(model, **request(values, binary, names), **sequence)
    return {name: result.as_numpy(name) for name in names}


def stream_eight(model, features, names):
    """Eight sequences in chunks, interleaved round by round; integer and string ids, JSON and binary inputs."""
    rng = np.random.default_rng(len(model))
    sequences = [rng.standard_normal((1, 6 + s, features)).astype(np.float32) for s in range(8)]
    ids = [2**64 - 1 if s == 0 else 1000 + s if s % 2 == 0 else f"stream-{model}-{s}" for s in range(8)]
    # Sequence s in chunks of 1, 2 and 3 steps, in an order of its own.
    sizes = [[(s + k) % 3 + 1 for k in range(10)] for s in range(8)]
    cuts = []
    for s, sequence in enumerate(sequences):
        bounds, at = [0], 0
        for size in sizes[s]:
            at = min(at + size, sequence.shape[1])
            bounds.append(at)
            if at == sequence.shape[1]:
                break
        cuts.append(bounds)
    wholes = [infer(clients[0], model, sequence, True, names) for sequence in sequences]
    got = [{"output": []} for _ in sequences]
    for r in range(max(len(c) - 1 for c in cuts)):
        pending = []
        for s, sequence in enumerate(sequences):
            if r >= len(cuts[s]) - 1:
                continue
            chunk = sequence[:, cuts[s][r] : cuts[s][r + 1], :]
            last = r == len(cuts[s]) - 2
            sent = clients[(r + s) % len(clients)].async_infer(
                model, **request(chunk, (r + s) % 2 == 0, names),
                sequence_id=ids[s], sequence_start=r == 0, sequence_end=last,
            )
            pending.append((s, last, sent))
        for s, last, sent in pending:
            result = sent.get_result()
            got[s]["output"].append(result.as_numpy("output"))
            if last:
                got[s].update({name: result.as_numpy(name) for name in names if name != "output"})
    for s in range(8):
        chunks = len(cuts[s]) - 1
        output = np.concatenate(got[s]["output"], axis=1)
        same = all(np.array_equal(bits(got[s][name] if name != "output" else output), bits(wholes[s][name])) for name in names)
        check(
            f"{model}: sequence {ids[s]!r} in {chunks} chunks, interleaved with 7 others ({where}), equals it sent whole: {', '.join(names)} bit for bit",
            same,
            {name: (got[s].get(name), wholes[s][name]) for name in names if name != "output"},
        )
    return ids


for model, features, names in (("hello", 4, ("output", "state")), ("lstm", 3, ("output", "state", "cell_state"))):
    ids = stream_eight(model, features, names)
    step = np.zeros((1, 1, features), dtype=np.float32)
    # Every sequence ended with its last chunk: continuing one without the start flag is refused, in Triton's words.
    try:
        infer(clients[-1], model, step, True, names, sequence_id=ids[1])
        check(f"{model}: an ended sequence is not continued", False, "answered")
    except InferenceServerException as error:
        check(f"{model}: an ended sequence is not continued: {error.message()[:90]}...", "must specify the START flag" in str(error), str(error))

for c in clients:
    c.close()
client.close()
print(f"{failures} failed")
sys.exit(1 if failures else 0)
