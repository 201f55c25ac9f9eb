/**
 * The log scan (test/support/log-scan.ts) runs after every test file over everything the service
 * logged. These tests show it can fail: it finds a JWT, a registered access token and a patient name.
 */
import { clientJwt } from './support/clients.js';
import { findLeaks, registerRequestSecrets } from './support/log-scan.js';

test('it finds a JWT anywhere in a log line', async () => {
  const token = await clientJwt('/cds-services');
  expect(findLeaks(JSON.stringify({ event: 'x', header: `Bearer ${token}` }))).toContain('a JWT');
  expect(findLeaks(JSON.stringify({ event: 'x', iss: 'https://ehr', jti: 'abc-123' }))).toEqual([]);
});

test('it finds the access tokens and patient names of requests the tests sent', () => {
  registerRequestSecrets({
    fhirAuthorization: { access_token: 'tok-9f8e7d6c5b' },
    prefetch: { patient: { resourceType: 'Patient', name: [{ family: 'Zyxwvuts', given: ['Qwerty'] }] } },
  });
  expect(findLeaks('{"note":"token tok-9f8e7d6c5b"}')).toEqual(['"tok-9f8e7d6c5b"']);
  expect(findLeaks('{"who":"Qwerty Zyxwvuts"}')).toEqual(['"Zyxwvuts"', '"Qwerty"']);
});

test('it knows the fixture patients’ names without being told', () => {
  expect(findLeaks('{"patient":"Kowalczyk"}')).toEqual(['"Kowalczyk"']);
});
