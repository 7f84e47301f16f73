#!/usr/bin/python3
"""
Writes test/fixtures/pytorch/cases.json: small torch.nn.RNN models (fixed seeds) with their state_dicts,
inputs, h0 and torch's own output and h_n, for test/http/routes/rnn/pytorch.test.ts (which needs no Python).

Run from the repository root: /usr/bin/python3 scripts/make-pytorch-fixtures.py (torch 1.13 or later).
Every number is a float32 torch computed; the JSON holds each one's exact value as a double.
"""
import json
import os

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'pytorch', 'cases.json')


def case(name, seed, *, input_size, hidden_size, num_layers, bidirectional=False, bias=True,
         nonlinearity='tanh', batch=2, time=4, h0=False, lengths=None):
    """One nn.RNN (batch_first) and its answer; with `lengths` the batch goes through pack_padded_sequence."""
    torch.manual_seed(seed)
    rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, nonlinearity=nonlinearity, bias=bias,
                 batch_first=True, bidirectional=bidirectional)
    directions = 2 if bidirectional else 1
    x = torch.randn(batch, time, input_size)
    initial = torch.randn(num_layers * directions, batch, hidden_size) if h0 else None
    with torch.no_grad():
        if lengths is None:
            output, h_n = rnn(x, initial)
        else:
            # Padding that is not zero: the packed sequence must never read it.
            for b, n in enumerate(lengths):
                x[b, n:] = 7.0
            packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
            packed_output, h_n = rnn(packed, initial)
            output, _ = pad_packed_sequence(packed_output, batch_first=True, total_length=time)
    return {
        'name': name,
        'nn.RNN': {'input_size': input_size, 'hidden_size': hidden_size, 'num_layers': num_layers,
                   'nonlinearity': nonlinearity, 'bias': bias, 'bidirectional': bidirectional,
                   'batch_first': True},
        'stateDict': {key: value.tolist() for key, value in rnn.state_dict().items()},
        'inputs': x.tolist(),
        'h0': None if initial is None else initial.tolist(),
        'lengths': lengths,
        'output': output.tolist(),
        'h_n': h_n.tolist(),
    }


def main():
    torch.set_num_threads(1)
    cases = [
        case('one layer, h0', 1, input_size=3, hidden_size=4, num_layers=1, h0=True),
        case('one layer, no bias', 2, input_size=3, hidden_size=4, num_layers=1, bias=False),
        case('two layers, relu, no bias, h0', 3, input_size=2, hidden_size=3, num_layers=2, bias=False,
             nonlinearity='relu', h0=True),
        case('three layers', 4, input_size=3, hidden_size=3, num_layers=3, batch=3, time=3),
        case('bidirectional, one layer, h0', 5, input_size=3, hidden_size=2, num_layers=1, bidirectional=True,
             h0=True),
        case('bidirectional, two layers, no bias, h0', 6, input_size=2, hidden_size=3, num_layers=2,
             bidirectional=True, bias=False, h0=True),
        case('packed sequence, one layer', 7, input_size=3, hidden_size=3, num_layers=1, batch=3, time=5,
             lengths=[5, 2, 3]),
        case('packed sequence, two bidirectional layers, h0', 8, input_size=2, hidden_size=3, num_layers=2,
             bidirectional=True, batch=3, time=5, h0=True, lengths=[3, 5, 1]),
    ]
    with open(OUT, 'w') as f:
        json.dump({'generatedBy': f'torch {torch.__version__}, scripts/make-pytorch-fixtures.py',
                   'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
