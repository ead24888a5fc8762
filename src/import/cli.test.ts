import assert from 'node:assert/strict';
import { formatSeconds } from './cli';

describe('import command line', () => {
  it('formats an ETA', () => {
    assert.deepEqual([0, 42.4, 185, 3720].map(formatSeconds), ['0s', '42s', '3m05s', '1h02m']);
  });
});
