/** Runs after every test file (jest setupFilesAfterEnv): nothing the service logged may hold a token, a JWT or a patient name. */
import { afterAll, expect } from '@jest/globals';
import { leaks } from './log-scan.js';

afterAll(() => {
  expect(leaks).toEqual([]);
});
