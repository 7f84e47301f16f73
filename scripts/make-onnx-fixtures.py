#!/usr/bin/python3
"""
Writes test/fixtures/onnx/NAME/{model.onnx,cases.json} and the example models/sentiment-onnx/1/model.onnx:
small PyTorch models (nn.RNN, nn.LSTM, nn.GRU) with fixed seeds, exported by torch.onnx.export itself (opset 14,
dynamic batch and time axes), with a few inputs and torch's own outputs for them, so the ONNX loader is tested
against what torch computes. Beside them, one-node RNN, LSTM and GRU graphs built with onnx.helper for what torch
never exports (direction reverse, layout 1, sequence_lens, clip, other activations, GRU linear_before_reset 0,
all-zero peepholes) with a NumPy reading of the ONNX definitions as the expected outputs, and the graphs the server
must refuse.

Run with Debian's torch (1.13) and onnx (1.12): /usr/bin/python3 scripts/make-onnx-fixtures.py
The tests do not need Python: they read the committed files, and also run each model.onnx in onnxruntime-node.

cases.json: {"cases": [{"inputs": {NAME: {"datatype", "shape", "data"}}, "outputs": {NAME: {"shape", "data"}}}]},
data flat and row-major; FP32 outputs as float32 values printed as doubles.
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
FIXTURES = os.path.join(ROOT, 'test', 'fixtures', 'onnx')
OPSET = 14


def tensor_json(array, datatype):
    array = np.asarray(array)
    return {'datatype': datatype, 'shape': list(array.shape), 'data': array.reshape(-1).tolist()}


def write(name, model_bytes, cases, target=None):
    directory = target or os.path.join(FIXTURES, name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'model.onnx'), 'wb') as f:
        f.write(model_bytes)
    if cases is not None:
        with open(os.path.join(directory, 'cases.json'), 'w') as f:
            json.dump({'cases': cases}, f, separators=(',', ':'))
            f.write('\n')


def export(module, example, input_names, output_names, dynamic_axes):
    import io

    buffer = io.BytesIO()
    torch.onnx.export(
        module,
        example,
        buffer,
        opset_version=OPSET,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        do_constant_folding=True,
    )
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model)
    return buffer.getvalue()


class Recurrent(torch.nn.Module):
    """nn.RNN alone: y and h_n, with an h0 input or not."""

    def __init__(self, input_size, hidden, layers, bidirectional, nonlinearity, bias, batch_first, with_h0):
        super().__init__()
        self.rnn = torch.nn.RNN(
            input_size,
            hidden,
            num_layers=layers,
            bidirectional=bidirectional,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=batch_first,
        )
        self.with_h0 = with_h0

    def forward(self, x, h0=None):
        y, h_n = self.rnn(x, h0) if self.with_h0 else self.rnn(x)
        return y, h_n


def rnn_variant(name, seed, input_size, hidden, layers, bidirectional, nonlinearity, bias, batch_first, with_h0):
    torch.manual_seed(seed)
    module = Recurrent(input_size, hidden, layers, bidirectional, nonlinearity, bias, batch_first, with_h0).eval()
    dirs = 2 if bidirectional else 1
    batch_axis, time_axis = (0, 1) if batch_first else (1, 0)

    def x_of(batch, time):
        shape = (batch, time, input_size) if batch_first else (time, batch, input_size)
        return torch.randn(*shape)

    names = ['x', 'h0'] if with_h0 else ['x']
    axes = {'x': {batch_axis: 'batch', time_axis: 'time'}, 'y': {batch_axis: 'batch', time_axis: 'time'}}
    axes['h_n'] = {1: 'batch'}
    if with_h0:
        axes['h0'] = {1: 'batch'}
    example = (x_of(2, 3), torch.randn(layers * dirs, 2, hidden)) if with_h0 else (x_of(2, 3),)
    model = export(module, example, names, ['y', 'h_n'], axes)
    cases = []
    for batch, time in ((2, 5), (3, 1)):
        inputs = (x_of(batch, time), torch.randn(layers * dirs, batch, hidden)) if with_h0 else (x_of(batch, time),)
        with torch.no_grad():
            y, h_n = module(*inputs)
        cases.append(
            {
                'inputs': {n: tensor_json(t.numpy(), 'FP32') for n, t in zip(names, inputs)},
                'outputs': {'y': tensor_json(y.numpy(), 'FP32'), 'h_n': tensor_json(h_n.numpy(), 'FP32')},
            }
        )
    write(name, model, cases)


class EmbeddingTagger(torch.nn.Module):
    """Token ids → Embedding → RNN → Linear on every step → log-softmax: a tagger."""

    def __init__(self, vocabulary, embedding, hidden, classes):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocabulary, embedding)
        self.rnn = torch.nn.RNN(embedding, hidden, batch_first=True)
        self.linear = torch.nn.Linear(hidden, classes)

    def forward(self, ids):
        y, _ = self.rnn(self.embedding(ids))
        return torch.log_softmax(self.linear(y), dim=-1)


class LastStepClassifier(torch.nn.Module):
    """(Embedding →) RNN, LSTM or GRU → out[:, -1, :] → Linear (→ softmax): many-to-one."""

    def __init__(self, vocabulary, input_size, hidden, classes, softmax, bidirectional=False, cell=torch.nn.RNN):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocabulary, input_size) if vocabulary else None
        self.rnn = cell(input_size, hidden, batch_first=True, bidirectional=bidirectional)
        self.linear = torch.nn.Linear(hidden * (2 if bidirectional else 1), classes)
        self.softmax = softmax

    def forward(self, x):
        if self.embedding is not None:
            x = self.embedding(x)
        y, _ = self.rnn(x)
        logits = self.linear(y[:, -1, :])
        return torch.softmax(logits, dim=-1) if self.softmax else logits


def head_variant(name, seed, module_of, ids, input_size, output_name, target=None):
    torch.manual_seed(seed)
    module = module_of().eval()

    def x_of(batch, time):
        if ids:
            return torch.randint(0, ids, (batch, time), dtype=torch.int64)
        return torch.randn(batch, time, input_size)

    input_name = 'ids' if ids else 'x'
    axes = {input_name: {0: 'batch', 1: 'time'}, output_name: {0: 'batch'}}
    if output_name == 'log_probs':
        axes[output_name] = {0: 'batch', 1: 'time'}
    model = export(module, (x_of(2, 3),), [input_name], [output_name], axes)
    cases = []
    for batch, time in ((2, 6), (1, 2)):
        x = x_of(batch, time)
        with torch.no_grad():
            out = module(x)
        cases.append(
            {
                'inputs': {input_name: tensor_json(x.numpy(), 'INT64' if ids else 'FP32')},
                'outputs': {output_name: tensor_json(out.numpy(), 'FP32')},
            }
        )
    write(name, model, cases, target)


# --- One-node RNN graphs, with the ONNX definition in NumPy (float32 storage, float64 sums) as the expectation.

ACTIVATIONS = {
    'Tanh': np.tanh,
    'Relu': lambda x: np.maximum(x, 0),
    'Sigmoid': lambda x: 1 / (1 + np.exp(-x)),
    'HardSigmoid': lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    'Softsign': lambda x: x / (1 + np.abs(x)),
    'Elu': lambda x: np.where(x > 0, x, np.exp(x) - 1),
}


def onnx_rnn(x, w, r, b, lengths, h0, direction, activations, clip, layout):
    """The ONNX RNN operator (opset 14) as its definition reads; x [seq, batch, input] (layout 0)."""
    if layout == 1:
        x = x.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
    seq, batch, _ = x.shape
    dirs, hidden, _ = w.shape
    lengths = np.full(batch, seq) if lengths is None else lengths
    y = np.zeros((seq, dirs, batch, hidden), np.float32)
    y_h = np.zeros((dirs, batch, hidden), np.float32)
    for d in range(dirs):
        reverse = direction == 'reverse' or (direction == 'bidirectional' and d == 1)
        act = ACTIVATIONS[activations[d]]
        for n in range(batch):
            h = np.zeros(hidden, np.float64) if h0 is None else h0[d, n].astype(np.float64)
            steps = range(lengths[n] - 1, -1, -1) if reverse else range(lengths[n])
            for t in steps:
                pre = x[t, n].astype(np.float64) @ w[d].T.astype(np.float64) + h @ r[d].T.astype(np.float64)
                if b is not None:
                    pre += b[d, :hidden].astype(np.float64) + b[d, hidden:].astype(np.float64)
                if clip is not None:
                    pre = np.clip(pre, -clip, clip)
                h = act(pre).astype(np.float32).astype(np.float64)
                y[t, d, n] = h
            y_h[d, n] = h
    if layout == 1:
        return y.transpose(2, 0, 1, 3), y_h.transpose(1, 0, 2)
    return y, y_h


def write_layout0_twin(name, model, node_name):
    """onnxruntime refuses layout 1 ("Batchwise recurrent operations are not supported"): the tests run it on
    this twin, the same weights time-major, with the inputs and outputs transposed."""
    twin = onnx.ModelProto()
    twin.CopyFrom(model)
    node = [n for n in twin.graph.node if n.name == node_name][0]
    for attribute in list(node.attribute):
        if attribute.name == 'layout':
            node.attribute.remove(attribute)
    for info in list(twin.graph.input) + list(twin.graph.output):
        dims = info.type.tensor_type.shape.dim
        if len(dims) == 1:
            continue
        order = [1, 0, 2] if len(dims) == 3 else [1, 2, 0, 3]
        values = [onnx.TensorShapeProto.Dimension() for _ in order]
        for value, source in zip(values, order):
            value.CopyFrom(dims[source])
        del dims[:]
        dims.extend(values)
    onnx.checker.check_model(twin)
    os.makedirs(os.path.join(FIXTURES, name), exist_ok=True)
    with open(os.path.join(FIXTURES, name, 'ort-layout0.onnx'), 'wb') as f:
        f.write(twin.SerializeToString())


def rnn_node_variant(
    name,
    seed,
    direction='forward',
    activations=None,
    clip=None,
    layout=0,
    with_lengths=False,
    with_h0=False,
    with_bias=True,
    extra_attributes=None,
    x_type=TensorProto.FLOAT,
    op='RNN',
    expected=True,
):
    rng = np.random.default_rng(seed)
    input_size, hidden = 3, 4
    dirs = 2 if direction == 'bidirectional' else 1
    w = rng.standard_normal((dirs, hidden, input_size)).astype(np.float32) * 0.8
    r = rng.standard_normal((dirs, hidden, hidden)).astype(np.float32) * 0.5
    b = rng.standard_normal((dirs, 2 * hidden)).astype(np.float32) * 0.3
    inits = [helper.make_tensor('W', TensorProto.FLOAT, w.shape, w.reshape(-1).tolist())]
    inits.append(helper.make_tensor('R', TensorProto.FLOAT, r.shape, r.reshape(-1).tolist()))
    node_inputs = ['X', 'W', 'R']
    if with_bias:
        inits.append(helper.make_tensor('B', TensorProto.FLOAT, b.shape, b.reshape(-1).tolist()))
        node_inputs.append('B')
    else:
        node_inputs.append('')
    x_shape = ['batch', 'time', input_size] if layout == 1 else ['time', 'batch', input_size]
    graph_inputs = [helper.make_tensor_value_info('X', x_type, x_shape)]
    if with_lengths:
        graph_inputs.append(helper.make_tensor_value_info('sequence_lens', TensorProto.INT32, ['batch']))
    node_inputs.append('sequence_lens' if with_lengths else '')
    if with_h0:
        h_shape = ['batch', dirs, hidden] if layout == 1 else [dirs, 'batch', hidden]
        graph_inputs.append(helper.make_tensor_value_info('initial_h', TensorProto.FLOAT, h_shape))
        node_inputs.append('initial_h')
    while node_inputs[-1] == '':
        node_inputs.pop()
    attributes = {'hidden_size': hidden, 'direction': direction}
    if activations is not None:
        attributes['activations'] = activations
    if clip is not None:
        attributes['clip'] = clip
    if layout:
        attributes['layout'] = layout
    attributes.update(extra_attributes or {})
    node = helper.make_node(op, node_inputs, ['Y', 'Y_h'], name='rnn', **attributes)
    y_shape = ['batch', 'time', dirs, hidden] if layout == 1 else ['time', dirs, 'batch', hidden]
    yh_shape = ['batch', dirs, hidden] if layout == 1 else [dirs, 'batch', hidden]
    graph = helper.make_graph(
        [node],
        name,
        graph_inputs,
        [
            helper.make_tensor_value_info('Y', TensorProto.FLOAT, y_shape),
            helper.make_tensor_value_info('Y_h', TensorProto.FLOAT, yh_shape),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='make-onnx-fixtures')
    model.ir_version = 7
    if layout == 1:
        write_layout0_twin(name, model, 'rnn')
    if not expected:
        write(name, model.SerializeToString(), None)
        return
    onnx.checker.check_model(model)
    cases = []
    for batch, time in ((3, 4), (1, 2)):
        x = (rng.standard_normal((time, batch, input_size)) * 1.5).astype(np.float32)
        lengths = rng.integers(0, time + 1, batch).astype(np.int32) if with_lengths else None
        if lengths is not None:
            lengths[0] = time
        h0 = rng.standard_normal((dirs, batch, hidden)).astype(np.float32) if with_h0 else None
        xl = x.transpose(1, 0, 2) if layout == 1 else x
        h0l = None if h0 is None else (h0.transpose(1, 0, 2) if layout == 1 else h0)
        y, y_h = onnx_rnn(xl, w, r, b if with_bias else None, lengths, h0l, direction,
                          activations or ['Tanh'] * dirs, clip, layout)
        inputs = {'X': tensor_json(xl, 'FP32')}
        if with_lengths:
            inputs['sequence_lens'] = tensor_json(lengths, 'INT32')
        if with_h0:
            inputs['initial_h'] = tensor_json(h0l, 'FP32')
        cases.append({'inputs': inputs, 'outputs': {'Y': tensor_json(y, 'FP32'), 'Y_h': tensor_json(y_h, 'FP32')}})
    write(name, model.SerializeToString(), cases)


class Gated(torch.nn.Module):
    """nn.LSTM or nn.GRU alone: y and h_n (and c_n), with h0 (and c0) inputs or not."""

    def __init__(self, cell, input_size, hidden, layers, bidirectional, bias, batch_first, with_h0):
        super().__init__()
        self.rnn = cell(
            input_size, hidden, num_layers=layers, bidirectional=bidirectional, bias=bias, batch_first=batch_first
        )
        self.lstm = cell is torch.nn.LSTM
        self.with_h0 = with_h0

    def forward(self, x, h0=None, c0=None):
        if not self.with_h0:
            y, state = self.rnn(x)
        else:
            y, state = self.rnn(x, (h0, c0) if self.lstm else h0)
        return (y, state[0], state[1]) if self.lstm else (y, state)


def gated_variant(name, seed, cell, input_size, hidden, layers, bidirectional, bias, batch_first, with_h0):
    torch.manual_seed(seed)
    module = Gated(cell, input_size, hidden, layers, bidirectional, bias, batch_first, with_h0).eval()
    lstm = cell is torch.nn.LSTM
    dirs = 2 if bidirectional else 1
    batch_axis, time_axis = (0, 1) if batch_first else (1, 0)

    def x_of(batch, time):
        shape = (batch, time, input_size) if batch_first else (time, batch, input_size)
        return torch.randn(*shape)

    def inputs_of(batch, time):
        states = [torch.randn(layers * dirs, batch, hidden) for _ in range((2 if lstm else 1) if with_h0 else 0)]
        return (x_of(batch, time), *states)

    names = ['x'] + ((['h0', 'c0'] if lstm else ['h0']) if with_h0 else [])
    outputs = ['y', 'h_n', 'c_n'] if lstm else ['y', 'h_n']
    axes = {'x': {batch_axis: 'batch', time_axis: 'time'}, 'y': {batch_axis: 'batch', time_axis: 'time'}}
    for state in names[1:] + outputs[1:]:
        axes[state] = {1: 'batch'}
    model = export(module, inputs_of(2, 3), names, outputs, axes)
    cases = []
    for batch, time in ((2, 5), (3, 1)):
        inputs = inputs_of(batch, time)
        with torch.no_grad():
            results = module(*inputs)
        cases.append(
            {
                'inputs': {n: tensor_json(t.numpy(), 'FP32') for n, t in zip(names, inputs)},
                'outputs': {n: tensor_json(t.numpy(), 'FP32') for n, t in zip(outputs, results)},
            }
        )
    write(name, model, cases)


def onnx_gated(op, x, w, r, b, lengths, h0, c0, direction, activations, clip, lbr):
    """The ONNX LSTM or GRU operator (opset 14) as its definition reads, P = 0; x [seq, batch, input] (layout 0).
    LSTM gate blocks i, o, f, c; GRU z, r, h. Sums in float64, states kept as float32."""
    seq, batch, _ = x.shape
    dirs, rows, _ = w.shape
    gates = 4 if op == 'LSTM' else 3
    hidden = rows // gates
    per = 3 if op == 'LSTM' else 2
    lengths = np.full(batch, seq) if lengths is None else lengths
    y = np.zeros((seq, dirs, batch, hidden), np.float32)
    y_h = np.zeros((dirs, batch, hidden), np.float32)
    y_c = np.zeros((dirs, batch, hidden), np.float32)
    f64 = lambda a: a.astype(np.float64)
    clipped = (lambda v: v) if clip is None else (lambda v: np.clip(v, -clip, clip))
    for d in range(dirs):
        reverse = direction == 'reverse' or (direction == 'bidirectional' and d == 1)
        acts = [ACTIVATIONS[a] for a in activations[per * d:per * d + per]]
        wd, rd = f64(w[d]), f64(r[d])
        wb = np.zeros(rows) if b is None else f64(b[d, :rows])
        rb = np.zeros(rows) if b is None else f64(b[d, rows:])
        block = lambda v, k: v[k * hidden:(k + 1) * hidden]
        for n in range(batch):
            h = np.zeros(hidden) if h0 is None else f64(h0[d, n])
            c = np.zeros(hidden) if c0 is None else f64(c0[d, n])
            steps = range(lengths[n] - 1, -1, -1) if reverse else range(lengths[n])
            for t in steps:
                xw = f64(x[t, n]) @ wd.T + wb
                if op == 'LSTM':
                    pre = clipped(xw + h @ rd.T + rb)
                    i, o, f, g = (block(pre, k) for k in range(4))
                    c = f64(np.float32(acts[0](f) * c + acts[0](i) * acts[1](g)))
                    h = f64(np.float32(acts[0](o) * acts[2](c)))
                else:
                    hr = h @ rd.T + rb
                    z = acts[0](clipped(block(xw, 0) + block(hr, 0)))
                    rr = acts[0](clipped(block(xw, 1) + block(hr, 1)))
                    if lbr:
                        cand = acts[1](clipped(block(xw, 2) + rr * block(hr, 2)))
                    else:
                        cand = acts[1](clipped(block(xw, 2) + (rr * h) @ block(rd, 2).T + block(rb, 2)))
                    h = f64(np.float32((1 - z) * cand + z * h))
                y[t, d, n] = h
            if lengths[n] > 0:
                y_h[d, n] = h
                y_c[d, n] = c
    return y, y_h, y_c


def gated_node_variant(
    name,
    seed,
    op,
    direction='forward',
    activations=None,
    clip=None,
    layout=0,
    with_lengths=False,
    with_h0=False,
    with_c0=False,
    with_bias=True,
    lbr=None,
    peepholes=None,
    extra_attributes=None,
    expected=True,
):
    """One LSTM or GRU node; peepholes: None, 'zero' or 'nonzero' (an initializer P)."""
    rng = np.random.default_rng(seed)
    input_size, hidden = 3, 4
    gates = 4 if op == 'LSTM' else 3
    dirs = 2 if direction == 'bidirectional' else 1
    w = rng.standard_normal((dirs, gates * hidden, input_size)).astype(np.float32) * 0.8
    r = rng.standard_normal((dirs, gates * hidden, hidden)).astype(np.float32) * 0.5
    b = rng.standard_normal((dirs, 2 * gates * hidden)).astype(np.float32) * 0.3
    inits = [
        helper.make_tensor('W', TensorProto.FLOAT, w.shape, w.reshape(-1).tolist()),
        helper.make_tensor('R', TensorProto.FLOAT, r.shape, r.reshape(-1).tolist()),
    ]
    node_inputs = ['X', 'W', 'R']
    if with_bias:
        inits.append(helper.make_tensor('B', TensorProto.FLOAT, b.shape, b.reshape(-1).tolist()))
    node_inputs.append('B' if with_bias else '')
    x_shape = ['batch', 'time', input_size] if layout == 1 else ['time', 'batch', input_size]
    state_shape = ['batch', dirs, hidden] if layout == 1 else [dirs, 'batch', hidden]
    graph_inputs = [helper.make_tensor_value_info('X', TensorProto.FLOAT, x_shape)]
    if with_lengths:
        graph_inputs.append(helper.make_tensor_value_info('sequence_lens', TensorProto.INT32, ['batch']))
    node_inputs.append('sequence_lens' if with_lengths else '')
    for state, present in (('initial_h', with_h0), ('initial_c', with_c0)):
        if state == 'initial_c' and op != 'LSTM':
            continue
        if present:
            graph_inputs.append(helper.make_tensor_value_info(state, TensorProto.FLOAT, state_shape))
        node_inputs.append(state if present else '')
    if peepholes is not None:
        p = np.zeros((dirs, 3 * hidden), np.float32)
        if peepholes == 'nonzero':
            p[dirs - 1, 5] = 0.25
        inits.append(helper.make_tensor('P', TensorProto.FLOAT, p.shape, p.reshape(-1).tolist()))
        node_inputs.append('P')
    while node_inputs[-1] == '':
        node_inputs.pop()
    attributes = {'hidden_size': hidden, 'direction': direction}
    if activations is not None:
        attributes['activations'] = activations
    if clip is not None:
        attributes['clip'] = clip
    if layout:
        attributes['layout'] = layout
    if lbr is not None:
        attributes['linear_before_reset'] = lbr
    attributes.update(extra_attributes or {})
    outputs = ['Y', 'Y_h', 'Y_c'] if op == 'LSTM' else ['Y', 'Y_h']
    node = helper.make_node(op, node_inputs, outputs, name='cell', **attributes)
    y_shape = ['batch', 'time', dirs, hidden] if layout == 1 else ['time', dirs, 'batch', hidden]
    graph = helper.make_graph(
        [node],
        name,
        graph_inputs,
        [helper.make_tensor_value_info('Y', TensorProto.FLOAT, y_shape)]
        + [helper.make_tensor_value_info(o, TensorProto.FLOAT, state_shape) for o in outputs[1:]],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='make-onnx-fixtures')
    model.ir_version = 7
    if layout == 1:
        write_layout0_twin(name, model, 'cell')
    if not expected:
        write(name, model.SerializeToString(), None)
        return
    onnx.checker.check_model(model)
    per = 3 if op == 'LSTM' else 2
    defaults = ['Sigmoid', 'Tanh', 'Tanh'][:per] * dirs
    cases = []
    for batch, time in ((3, 4), (1, 2)):
        x = (rng.standard_normal((time, batch, input_size)) * 1.5).astype(np.float32)
        lengths = rng.integers(0, time + 1, batch).astype(np.int32) if with_lengths else None
        if lengths is not None:
            lengths[0] = time
        h0 = rng.standard_normal((dirs, batch, hidden)).astype(np.float32) if with_h0 else None
        c0 = rng.standard_normal((dirs, batch, hidden)).astype(np.float32) if with_c0 else None
        y, y_h, y_c = onnx_gated(op, x, w, r, b if with_bias else None, lengths, h0, c0, direction,
                                 activations or defaults, clip, lbr == 1)
        if layout == 1:
            x, y, y_h, y_c = x.transpose(1, 0, 2), y.transpose(2, 0, 1, 3), y_h.transpose(1, 0, 2), y_c.transpose(1, 0, 2)
            h0 = None if h0 is None else h0.transpose(1, 0, 2)
            c0 = None if c0 is None else c0.transpose(1, 0, 2)
        inputs = {'X': tensor_json(x, 'FP32')}
        if with_lengths:
            inputs['sequence_lens'] = tensor_json(lengths, 'INT32')
        if with_h0:
            inputs['initial_h'] = tensor_json(h0, 'FP32')
        if with_c0:
            inputs['initial_c'] = tensor_json(c0, 'FP32')
        results = {'Y': tensor_json(y, 'FP32'), 'Y_h': tensor_json(y_h, 'FP32')}
        if op == 'LSTM':
            results['Y_c'] = tensor_json(y_c, 'FP32')
        cases.append({'inputs': inputs, 'outputs': results})
    write(name, model.SerializeToString(), cases)


def unknown_operator():
    """Cos between the input and the RNN: refused at start-up, naming Cos, its node and the file."""
    x = helper.make_tensor_value_info('X', TensorProto.FLOAT, ['time', 'batch', 3])
    y = helper.make_tensor_value_info('Y', TensorProto.FLOAT, ['time', 'batch', 3])
    graph = helper.make_graph([helper.make_node('Cos', ['X'], ['Y'], name='wobble')], 'cos', [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])
    model.ir_version = 7
    write('refuse-cos', model.SerializeToString(), None)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # nn.RNN: every option of the issue at least once, in both settings.
    rnn_variant('rnn-1-tanh-bf', 1, 3, 4, 1, False, 'tanh', True, True, False)
    rnn_variant('rnn-2-bi-relu-nobias-h0', 2, 3, 4, 2, True, 'relu', False, False, True)
    rnn_variant('rnn-3-bi-tanh-bf', 3, 2, 3, 3, True, 'tanh', True, True, False)
    rnn_variant('rnn-2-relu-bf-h0', 4, 3, 5, 2, False, 'relu', True, True, True)
    rnn_variant('rnn-1-bi-nobias', 5, 4, 3, 1, True, 'tanh', False, False, False)
    rnn_variant('rnn-3-relu-nobias-h0', 6, 2, 3, 3, False, 'relu', False, False, True)
    # Heads and tails.
    head_variant('embedding-tagger', 7, lambda: EmbeddingTagger(10, 4, 5, 3), 10, None, 'log_probs')
    head_variant('last-step-linear', 8, lambda: LastStepClassifier(0, 3, 5, 2, False), 0, 3, 'logits')
    head_variant('last-step-softmax-bi', 9, lambda: LastStepClassifier(0, 3, 4, 3, True, True), 0, 3, 'probs')
    head_variant('embedding-classifier', 10, lambda: LastStepClassifier(12, 4, 6, 2, True), 12, None, 'probs')
    # The example repository's model: a tiny many-to-one classifier over token ids.
    head_variant(
        'sentiment-onnx',
        11,
        lambda: LastStepClassifier(16, 4, 8, 2, True),
        16,
        None,
        'probs',
        os.path.join(ROOT, 'models', 'sentiment-onnx', '1'),
    )
    os.remove(os.path.join(ROOT, 'models', 'sentiment-onnx', '1', 'cases.json'))
    # One-node graphs for the RNN operator's own attributes and inputs.
    rnn_node_variant('node-reverse', 20, direction='reverse')
    rnn_node_variant('node-layout1-h0', 21, layout=1, with_h0=True, direction='bidirectional')
    rnn_node_variant('node-lengths', 22, with_lengths=True, with_h0=True)
    rnn_node_variant('node-lengths-bi', 23, with_lengths=True, direction='bidirectional')
    rnn_node_variant('node-clip', 24, clip=0.5, with_bias=False)
    rnn_node_variant('node-activations', 25, direction='bidirectional', activations=['Sigmoid', 'Relu'])
    rnn_node_variant('node-hardsigmoid-layout1', 26, activations=['HardSigmoid'], layout=1, with_lengths=True)
    # Refused at start-up.
    rnn_node_variant('refuse-activation', 30, activations=['LeakyRelu'], expected=False)
    rnn_node_variant('refuse-attribute', 31, extra_attributes={'activation_alpha': [0.5]}, expected=False)
    rnn_node_variant('refuse-datatype', 32, x_type=TensorProto.DOUBLE, expected=False)
    unknown_operator()
    # nn.LSTM and nn.GRU exported by torch: layers, directions, batch_first, h0 (and c0), bias or not.
    lstm, gru = torch.nn.LSTM, torch.nn.GRU
    gated_variant('lstm-1-bf', 40, lstm, 3, 4, 1, False, True, True, False)
    gated_variant('lstm-2-bi-h0-nobias', 41, lstm, 3, 4, 2, True, False, False, True)
    gated_variant('lstm-2-bf-h0', 42, lstm, 2, 5, 2, False, True, True, True)
    gated_variant('lstm-1-bi-bf', 43, lstm, 4, 3, 1, True, True, True, False)
    gated_variant('gru-1-bf', 44, gru, 3, 4, 1, False, True, True, False)
    gated_variant('gru-2-bi-h0-nobias', 45, gru, 3, 4, 2, True, False, False, True)
    gated_variant('gru-2-bf-h0', 46, gru, 2, 5, 2, False, True, True, True)
    gated_variant('gru-1-bi-bf', 47, gru, 4, 3, 1, True, True, True, False)
    # Many-to-one heads: the last step through Linear (and softmax), with an Embedding front or not.
    head_variant('lstm-last-step-softmax', 48, lambda: LastStepClassifier(0, 3, 5, 3, True, cell=lstm), 0, 3, 'probs')
    head_variant(
        'lstm-embedding-classifier-bi',
        49,
        lambda: LastStepClassifier(12, 4, 6, 2, True, True, cell=lstm),
        12,
        None,
        'probs',
    )
    head_variant('gru-last-step-linear-bi', 50, lambda: LastStepClassifier(0, 3, 4, 2, False, True, gru), 0, 3, 'logits')
    head_variant('gru-embedding-classifier', 51, lambda: LastStepClassifier(12, 4, 6, 3, True, cell=gru), 12, None, 'probs')
    # One-node LSTM and GRU graphs for what torch does not export.
    gated_node_variant('lstm-node-reverse', 60, 'LSTM', direction='reverse')
    gated_node_variant('lstm-node-layout1-h0c0', 61, 'LSTM', direction='bidirectional', layout=1, with_h0=True,
                       with_c0=True)
    gated_node_variant('lstm-node-lengths-bi', 62, 'LSTM', direction='bidirectional', with_lengths=True, with_h0=True,
                       with_c0=True)
    gated_node_variant('lstm-node-clip', 63, 'LSTM', clip=0.5, with_bias=False, with_c0=True)
    gated_node_variant('lstm-node-zero-peepholes', 64, 'LSTM', peepholes='zero', with_h0=True)
    gated_node_variant('lstm-node-hardsigmoid-layout1', 65, 'LSTM', activations=['HardSigmoid', 'Tanh', 'Tanh'],
                       layout=1, with_lengths=True)
    gated_node_variant('gru-node-lbr0', 66, 'GRU', lbr=0, with_h0=True)
    gated_node_variant('gru-node-lbr1-reverse', 67, 'GRU', lbr=1, direction='reverse')
    gated_node_variant('gru-node-layout1-lengths', 68, 'GRU', layout=1, with_lengths=True, with_h0=True,
                       direction='bidirectional')
    gated_node_variant('gru-node-clip-bi', 69, 'GRU', clip=0.7, direction='bidirectional', lbr=1, with_bias=False)
    gated_node_variant('gru-node-lengths-lbr0', 70, 'GRU', lbr=0, with_lengths=True)
    # Refused at start-up.
    gated_node_variant('refuse-lstm-peepholes', 80, 'LSTM', peepholes='nonzero', direction='bidirectional',
                       expected=False)
    gated_node_variant('refuse-lstm-input-forget', 81, 'LSTM', extra_attributes={'input_forget': 1}, expected=False)
    gated_node_variant('refuse-lstm-activations', 82, 'LSTM', activations=['Sigmoid', 'Tanh', 'Relu'], expected=False)
    gated_node_variant('refuse-gru-lbr', 83, 'GRU', lbr=2, expected=False)


if __name__ == '__main__':
    main()
