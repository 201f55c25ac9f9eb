import { setTimeout as sleep } from 'node:timers/promises';
import { newRecordId } from './ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisecondsOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newRecordId', () => {
  it('is an RFC 9562 version-7 UUID carrying the current time in milliseconds', () => {
    const before = Date.now();
    const id = newRecordId();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
  });

  it('sorts ids made in a later millisecond after earlier ones, so index inserts go to the end', async () => {
    const early = Array.from({ length: 50 }, newRecordId);
    await sleep(3);
    const late = Array.from({ length: 50 }, newRecordId);
    const latestEarly = [...early].sort().at(-1)!;
    const earliestLate = [...late].sort()[0]!;
    expect(earliestLate > latestEarly).toBe(true);
  });

  it('draws the rest at random for each id, not a counter within the millisecond', () => {
    const ids = Array.from({ length: 5000 }, newRecordId);
    expect(new Set(ids).size).toBe(ids.length);
    // With uuid's counter (v7() without options) each id of a millisecond is the one before plus one;
    // drawn at random, that happens with probability 2^-32.
    const sequence = (id: string): number => {
      const b = Buffer.from(id.replace(/-/g, ''), 'hex');
      // uuid's 32-bit sequence: around the version nibble and the variant bits (RFC 9562, method 1).
      return (((b[6]! & 0x0f) << 28) | (b[7]! << 20) | ((b[8]! & 0x3f) << 14) | (b[9]! << 6) | (b[10]! >> 2)) >>> 0;
    };
    let sameMs = 0;
    let consecutive = 0;
    for (let i = 1; i < ids.length; i++) {
      if (millisecondsOf(ids[i]!) !== millisecondsOf(ids[i - 1]!)) continue;
      sameMs++;
      if (sequence(ids[i]!) === sequence(ids[i - 1]!) + 1) consecutive++;
    }
    expect(sameMs).toBeGreaterThan(100);
    expect(consecutive).toBeLessThan(5);
  });
});
