/**
 * Request bodies for the generated checks of validation: a few valid bodies per schema that the pre-check guards
 * (BASES), and `mutate`, which breaks one in a few places or in many (odd values of every JSON kind, repeated
 * entries, removed and unknown keys). test/errors/precheck.test.ts and test/errors/parse-if-valid.test.ts hold
 * their code to zod's verdict over them.
 */
import type { z } from 'zod';
import { ForwardRequest } from '../../schemas/forward.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import { OipInferenceRequest } from '../../schemas/oip.js';
import { WeightsRequest } from '../../schemas/weights.js';

export const repeat = <T>(n: number, value: T): T[] => new Array<T>(n).fill(value);

export const BASES: [string, z.ZodType, unknown[]][] = [
  [
    'ForwardRequest',
    ForwardRequest,
    [
      {
        inputs: [
          [
            [1, 0],
            [0, 1],
            [0.5, 0.5],
          ],
          [
            [1, 1],
            [0, 0],
            [1, 0],
          ],
        ],
        hiddenSize: 2,
        seed: 3,
        mask: [
          [true, false, true],
          [true, true, true],
        ],
        lengths: [3, 2],
        initialState: [
          [0, 0],
          [0.5, 0.5],
        ],
        returnSequences: false,
        outputFormat: 'flat',
      },
      {
        inputs: { shape: [1, 2, 2], data: [1, 0, 0, 1] },
        layers: [
          { hiddenSize: 2, activation: 'relu' },
          { hiddenSize: 1, useBias: false, clip: 2 },
        ],
        bidirectional: { mergeMode: null },
        initialState: [[[0, 0]], [[0, 0]], [[0]], [[0]]],
      },
      {
        text: ['hello', ['h', 'e']],
        vocabulary: ['h', 'e', 'l', 'o'],
        weights: { kernel: [[1], [0], [0], [1]], recurrentKernel: [[0.5]], bias: [0] },
      },
      {
        text: ['abc'],
        vocabulary: 'abc',
        weights: [
          { kernel: [[1], [0], [0]], recurrentKernel: [[0.5]], bias: [0] },
          { kernel: [[1]], recurrentKernel: [[0.5]], bias: [0] },
        ],
        pytorchWeights: { weight_ih_l0: [[1, 0]], bias_ih_l0: [0] },
        onnxWeights: [{ W: [[[1, 0]]], R: [[[0.5]]], B: [[0, 0]] }],
        zeroOutputForMask: true,
      },
    ],
  ],
  [
    'WeightsRequest',
    WeightsRequest,
    [
      { inputDim: 4, hiddenSize: 2, seed: 42 },
      { inputDim: 1, weights: { kernel: [[1]], recurrentKernel: [[1]] }, goBackwards: true },
    ],
  ],
  [
    'ModelForwardRequest',
    ModelForwardRequest,
    [{ inputs: [[[1, 0, 0, 0]]], mask: [[true]], lengths: [1], returnState: false }, { text: ['hello'] }],
  ],
  [
    'OipInferenceRequest',
    OipInferenceRequest,
    [
      {
        id: 'a',
        parameters: { p: 1, q: 'x', r: true },
        inputs: [{ name: 'input', shape: [1, 2, 2], datatype: 'FP32', data: [1, 0, 0, 1] }],
        outputs: [{ name: 'output' }],
      },
      {
        inputs: [
          {
            name: 'input',
            shape: [1, 2, 2],
            datatype: 'FP32',
            data: [
              [
                [1, 0],
                [0, 1],
              ],
            ],
          },
        ],
      },
    ],
  ],
];

/** Values on or next to some boundary, of every JSON kind. */
const ODD: unknown[] = [
  0,
  -1,
  1.5,
  2 ** 53,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'tanh',
  'FP32',
  true,
  false,
  null,
  [],
  [1],
  [[1]],
  {},
  [{}],
];

/** Every container and key in a body (the body's root has the container null). */
function locations(body: unknown): [unknown[] | Record<string, unknown>, string | number][] {
  const out: [unknown[] | Record<string, unknown>, string | number][] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push([value, i]);
        walk(item);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        out.push([value as Record<string, unknown>, key]);
        walk(item);
      }
    }
  };
  walk(body);
  return out;
}

export function mutate(body: unknown, random: () => number): unknown {
  const copy = structuredClone(body);
  const mutations = random() < 0.5 ? 1 + Math.floor(random() * 4) : 20 + Math.floor(random() * 30);
  // The places of the unmutated copy: a place inside a value replaced since is mutated in vain, which is fine.
  const places = locations(copy);
  if (places.length === 0) return copy;
  for (let m = 0; m < mutations; m++) {
    const [container, key] = places[Math.floor(random() * places.length)];
    const odd = structuredClone(ODD[Math.floor(random() * ODD.length)]);
    const choice = random();
    const many = 1 + Math.floor(random() * 30);
    if (Array.isArray(container)) {
      const i = key as number;
      if (choice < 0.5) container[i] = odd;
      else if (choice < 0.7) container.push(...repeat(many, container[i]));
      else if (choice < 0.9) container.push(...repeat(many, odd));
      else container.splice(i, 1);
    } else {
      const object = container as Record<string, unknown>;
      if (choice < 0.5) object[key] = odd;
      else if (choice < 0.7) delete object[key];
      else for (let k = 0; k < many; k++) object[`${key}_${m}_${k}`] = odd;
    }
  }
  return copy;
}
