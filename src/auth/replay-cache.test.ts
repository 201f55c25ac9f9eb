import { MemoryReplayCache } from './replay-cache.js';

describe('MemoryReplayCache: a jti is accepted once while its token could be accepted', () => {
  test('the second use of a key before it expires is a replay; after expiry the key is forgotten', async () => {
    let now = 1_000_000;
    const cache = new MemoryReplayCache(10, () => now);
    expect(await cache.remember('iss\u0000a', now + 300_000)).toBe(true);
    expect(await cache.remember('iss\u0000a', now + 300_000)).toBe(false);
    expect(await cache.remember('iss\u0000b', now + 300_000)).toBe(true);
    now += 300_001;
    expect(await cache.remember('iss\u0000a', now + 300_000)).toBe(true);
  });

  test('when full of live entries it refuses new ones (fails closed) and frees expired ones first', async () => {
    let now = 0;
    const cache = new MemoryReplayCache(3, () => now);
    for (const k of ['a', 'b', 'c']) expect(await cache.remember(k, 1000)).toBe(true);
    expect(await cache.remember('d', 1000)).toBe(false);
    now = 1001;
    expect(await cache.remember('d', 5000)).toBe(true);
    expect(cache.size).toBe(1);
  });
});
