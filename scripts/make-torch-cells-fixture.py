"""
Writes test/fixtures/torch-cells/*.json: PyTorch nn.LSTM and nn.GRU (float32, CPU) run on random weights
and inputs, with the values PyTorch computed itself, for test/engine/gated-torch.test.ts. The tests read
the JSON only; they do not need Python.

    /usr/bin/python3 scripts/make-torch-cells-fixture.py      (Debian's python3-torch; 1.13 when written)

Each file: the module's configuration, its state_dict (flat row-major lists with shapes), the input
[batch, time, inputDim] (batch_first), h0 (and c0) [layers·directions, batch, h], optional lengths (run
through pack_padded_sequence, so padded steps output zeros and each direction stops at its own end),
and PyTorch's output [batch, time, directions·h], h_n (and c_n).
"""
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'torch-cells'


def flat(tensor):
    return {'shape': list(tensor.shape), 'data': [float(v) for v in tensor.detach().reshape(-1).tolist()]}


def case(name, cell, seed, batch, time, input_size, hidden, layers, bidirectional, lengths=None):
    torch.manual_seed(seed)
    make = torch.nn.LSTM if cell == 'lstm' else torch.nn.GRU
    module = make(input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    directions = 2 if bidirectional else 1
    x = torch.rand(batch, time, input_size) * 4 - 2
    h0 = torch.rand(layers * directions, batch, hidden) * 2 - 1
    c0 = torch.rand(layers * directions, batch, hidden) * 4 - 2
    state = (h0, c0) if cell == 'lstm' else h0
    with torch.no_grad():
        if lengths is None:
            y, final = module(x, state)
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lengths), batch_first=True, enforce_sorted=False
            )
            y_packed, final = module(packed, state)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y_packed, batch_first=True, total_length=time)
    h_n, c_n = final if cell == 'lstm' else (final, None)
    fixture = {
        'generator': f'scripts/make-torch-cells-fixture.py, torch {torch.__version__}',
        'cell': cell,
        'inputSize': input_size,
        'hiddenSize': hidden,
        'numLayers': layers,
        'bidirectional': bidirectional,
        'stateDict': {key: flat(value) for key, value in module.state_dict().items()},
        'input': flat(x),
        'h0': flat(h0),
        'output': flat(y),
        'hN': flat(h_n),
    }
    if lengths is not None:
        fixture['lengths'] = lengths
    if cell == 'lstm':
        fixture['c0'] = flat(c0)
        fixture['cN'] = flat(c_n)
    (OUT / f'{name}.json').write_text(json.dumps(fixture) + '\n')


OUT.mkdir(parents=True, exist_ok=True)
case('lstm', 'lstm', 1, batch=3, time=6, input_size=4, hidden=5, layers=2, bidirectional=True)
case('gru', 'gru', 2, batch=3, time=6, input_size=4, hidden=5, layers=2, bidirectional=True)
case('lstm-lengths', 'lstm', 3, batch=3, time=6, input_size=4, hidden=5, layers=2, bidirectional=True, lengths=[6, 2, 4])
case('gru-lengths', 'gru', 4, batch=3, time=6, input_size=4, hidden=5, layers=1, bidirectional=True, lengths=[3, 6, 1])
case('lstm-single', 'lstm', 5, batch=2, time=7, input_size=3, hidden=8, layers=1, bidirectional=False)
