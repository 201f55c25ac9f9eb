import { v7 } from 'uuid';

/**
 * A new id for something the records database keys by it: a card's `uuid`, a coverage-assertion-id,
 * an audit row. RFC 9562 version 7: the first 48 bits are the time in milliseconds, so ids made
 * close together sort together and each insert lands at the end of its B-tree index instead of on
 * a random page; with random (version 4) keys every write touched a different leaf page of each
 * index. Measured in docs/performance.md: about a fifth less CPU per recorded call, and half the
 * p99 of a durable commit.
 *
 * `v7({})`, not `v7()`: with options, uuid draws the 31-bit sequence at random for every id instead
 * of counting up within a millisecond, so 73 bits of each id are random (an id seen does not tell
 * its neighbours), and ids of the same millisecond still share their index page.
 */
export function newRecordId(): string {
  return v7({});
}
