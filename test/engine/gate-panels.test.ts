/**
 * gate-panels.ts packs a column range of a vertical stack of matrices into the panels the asm.js kernel reads:
 * blocks of COLUMN_BLOCK columns, then single columns, each with every part's rows in stack order. Held to the
 * packed order worked by hand, the sizes, the cache per kernel and layout key, and the bias row fill.
 */
import t from 'tap';
import { COLUMN_BLOCK } from '../../src/engine/asm-kernels.js';
import { fillRows, packSegments, segmentSize } from '../../src/engine/gate-panels.js';

/** A [rows, n] matrix whose element [r][c] is base + 10·r + c. */
const matrix = (rows: number, n: number, base: number) =>
  Float32Array.from({ length: rows * n }, (_, i) => base + 10 * Math.floor(i / n) + (i % n));

t.test('panels: blocks of COLUMN_BLOCK columns, then single columns; every part’s rows in order', async (t) => {
  t.equal(COLUMN_BLOCK, 4);
  const w = matrix(2, 6, 0);
  const u = matrix(1, 6, 100);
  const parts = [
    { matrix: w, rows: 2 },
    { matrix: u, rows: 1 },
  ];
  // Columns 0..4 of the stack [w; u] (n = 6): one block of columns 0-3, then column 4 alone.
  const segment = { parts, n: 6, from: 0, to: 5 };
  t.equal(segmentSize(segment), 3 * 5);
  const packed = packSegments('test a', w, u, [segment]);
  t.same([...packed], [0, 1, 2, 3, 10, 11, 12, 13, 100, 101, 102, 103, 4, 14, 104]);
  t.equal(packSegments('test a', w, u, [segment]), packed, 'cached per kernel and key');
  t.not(packSegments('test b', w, u, [segment]), packed, 'another layout, packed again');
  // Two segments one after the other: column 5 of w alone, then columns 1..2 of u.
  const two = packSegments('test c', w, u, [
    { parts: [parts[0]], n: 6, from: 5, to: 6 },
    { parts: [parts[1]], n: 6, from: 1, to: 3 },
  ]);
  t.same([...two], [5, 15, 101, 102]);
});

t.test('fillRows: count rows of n accumulators, each the bias range', async (t) => {
  const acc = new Float64Array(8).fill(-1);
  fillRows(acc, 1, Float32Array.of(9, 1, 2, 3), 1, 2, 3);
  t.same([...acc], [-1, 1, 2, 3, 1, 2, 3, -1]);
});
