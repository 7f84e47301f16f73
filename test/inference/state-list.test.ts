/**
 * state-list.ts writes an answer's list of states: one entry bare, any other number as a JSON array. Held to the
 * exact JSON text for zero, one and several entries.
 */
import t from 'tap';
import { writeStateList } from '../../src/inference/state-list.js';

const written = (entries: readonly number[][]): string => {
  let text = '{"output":0';
  writeStateList(
    'states',
    entries,
    (raw) => {
      text += raw;
    },
    (entry) => {
      text += JSON.stringify(entry);
    },
  );
  return `${text}}`;
};

t.test('one state bare, several as an array, in the order given', async (t) => {
  t.equal(written([[1, 2]]), '{"output":0,"states":[1,2]}');
  t.same(JSON.parse(written([[1, 2]])).states, [1, 2]);
  t.equal(written([[1], [2, 3]]), '{"output":0,"states":[[1],[2,3]]}');
  t.same(JSON.parse(written([[1], [2], [3]])).states, [[1], [2], [3]]);
  t.equal(written([]), '{"output":0,"states":[]}', 'none is an empty array');
});
