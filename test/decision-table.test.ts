/**
 * DECISIONS.md §4: one named test per row of the decision table, through HTTP, with requests shaped
 * like an EHR's (full prefetch). Every answer is also run through the conformance check.
 */
import { cardText, coverageInfo, example, orderSignRequest, postHook, testApp } from './support/hook-client.js';

const { app } = testApp();

describe('DECISIONS §4 decision table (order-sign, full prefetch)', () => {
  test('M1 Medica Central commercial, CPT 20560 → not-covered, warning: investigative, PA not applicable, retrospective review, MP9672', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('order-sign-M1-medica-commercial.json'));
    expect(status).toBe(200);
    expect(coverageInfo(body)).toEqual([
      expect.objectContaining({ coverage: 'Coverage/cov-medica-commercial', covered: 'not-covered', paNeeded: undefined, infoNeeded: [], billingCode: '20560' }),
    ]);
    expect(body.cards).toHaveLength(1);
    const [card] = body.cards;
    expect(card.indicator).toBe('warning');
    expect(card.summary).toMatch(/Medica Central/);
    expect(card.source.label).toBe('Medica Central');
    const text = cardText(card);
    expect(text).toMatch(/investigative \/ unproven/i);
    expect(text).toMatch(/NOT COVERED/);
    expect(text).toMatch(/Prior authorization is not applicable/i);
    expect(text).toMatch(/retrospective review and denial/i);
    expect(text).toMatch(/MP9672/);
    expect(text).not.toMatch(/government program/);
  });

  test('M1 Medica Central with an unknown product line → treated as commercial, and the card says so', async () => {
    const req = orderSignRequest({ patient: 'pat-gus', coverages: ['Coverage/cov-medica-unknown'], orders: ['ServiceRequest/sr-dn-20560'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body)[0]).toMatchObject({ covered: 'not-covered', paNeeded: undefined });
    expect(body.cards[0].detail).toMatch(/treated as commercial/);
    expect(body.cards[0].detail).toMatch(/rule M1/);
  });

  test('M2 Medica Central Medicaid (payer only as display), CPT 20561 → not-covered, warning, applies unless the government program requires different coverage', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-M2-medica-medicaid.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'not-covered', paNeeded: undefined, billingCode: '20561' })]);
    const [card] = body.cards;
    expect(card.indicator).toBe('warning');
    expect(card.summary).toMatch(/Medica Central \(Medicaid\)/);
    expect(cardText(card)).toMatch(/unless the government program requires different coverage/);
    expect(cardText(card)).toMatch(/Prior authorization is not applicable/i);
    expect(card.detail).toMatch(/matched by name \(name "Medica Central" on the payor reference\)/);
  });

  test('M2 Medica Central Medicare Advantage (SOPT 112) → not-covered with the government-program clause', async () => {
    const req = orderSignRequest({ patient: 'pat-gus', coverages: ['Coverage/cov-medica-ma'], orders: ['ServiceRequest/sr-dn-20560'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body)[0]?.covered).toBe('not-covered');
    expect(body.cards[0].summary).toMatch(/Medicare Advantage/);
    expect(body.cards[0].detail).toMatch(/rule M2/);
  });

  test('M3 Medica Central, CPT 20999 without dry-needling text → conditional, no-auth, info-needed OTH, info card', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-M3-medica-unlisted-20999.json'));
    expect(coverageInfo(body)).toEqual([
      expect.objectContaining({ covered: 'conditional', paNeeded: 'no-auth', infoNeeded: ['OTH'], billingCode: '20999' }),
    ]);
    expect(coverageInfo(body)[0]?.reasonText).toMatch(/unlisted code/);
    const [card] = body.cards;
    expect(card.indicator).toBe('info');
    expect(card.summary).toMatch(/if this unlisted procedure \(CPT 20999\) is dry needling, it is not covered/);
    expect(card.detail).toMatch(/MP9672/);
  });

  test('M3 under CRD 2.2 → info-needed detail-code and a policy-link detail', async () => {
    const req = example('order-sign-M3-medica-unlisted-20999.json');
    req.extension = { 'davinci-crd.requestedVersion': '2.2' };
    const { body } = await postHook(app, 'crd-order-sign', req);
    const [info] = coverageInfo(body);
    expect(info?.infoNeeded).toEqual(['detail-code']);
    expect(JSON.stringify(info?.details)).toMatch(/policy-link/);
  });

  test('B1 BCBS MA commercial PPO, ambulatory encounter → not-covered, warning: investigational, not a covered service outpatient', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-B1-bcbsma-outpatient.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ coverage: 'Coverage/cov-bcbsma-ppo', covered: 'not-covered', paNeeded: undefined, infoNeeded: [] })]);
    const [card] = body.cards;
    expect(card.indicator).toBe('warning');
    expect(card.summary).toMatch(/Blue Cross Blue Shield of Massachusetts/);
    expect(cardText(card)).toMatch(/INVESTIGATIONAL/);
    expect(cardText(card)).toMatch(/not a covered service/);
    expect(card.detail).toMatch(/care setting outpatient \(Encounter\/enc-anna-ambulatory class AMB\)/);
    expect(card.detail).toMatch(/matched by identifier \(NAIC company code 53228 on Organization\/org-bcbsma sent with the request\)/);
  });

  test('B2 BCBS MA commercial, inpatient encounter → conditional, auth-needed, info-needed OTH, warning: precertification required', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-B2-bcbsma-inpatient.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'conditional', paNeeded: 'auth-needed', infoNeeded: ['OTH'] })]);
    expect(coverageInfo(body)[0]?.reasonText).toMatch(/precertification is required/);
    const [card] = body.cards;
    expect(card.indicator).toBe('warning');
    expect(cardText(card)).toMatch(/INVESTIGATIONAL/);
    expect(cardText(card)).toMatch(/precertification \/ preauthorization IS REQUIRED/);
    expect(cardText(card)).toMatch(/inpatient/);
  });

  test('B3 BCBS MA, unknown product and unknown setting → conditional, pa conditional, info-needed location; card gives both outcomes and the commercial assumption', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-B3-bcbsma-setting-unknown.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'conditional', paNeeded: 'conditional', infoNeeded: ['location'] })]);
    const [card] = body.cards;
    expect(card.indicator).toBe('warning');
    expect(card.detail).toMatch(/\*\*outpatient\*\*, it is \*\*not a covered service\*\*/);
    expect(card.detail).toMatch(/\*\*inpatient\*\*, \*\*precertification is required\*\*/);
    expect(card.detail).toMatch(/treated as commercial/);
    expect(card.detail).toMatch(/care setting unknown/);
  });

  test('B4 BCBS MA Medicare Advantage (SOPT 111) → conditional, pa conditional, info-needed OTH, info card pointing to policy 132', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-B4-bcbsma-medicare-advantage.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'conditional', paNeeded: 'conditional', infoNeeded: ['OTH'] })]);
    const [card] = body.cards;
    expect(card.indicator).toBe('info');
    expect(cardText(card)).toMatch(/does not apply/);
    expect(cardText(card)).toMatch(/policy 132, Medicare Advantage Management/);
  });

  test('B4 BCBS MA Medicare Advantage known only by plan name "Medicare PPO Blue" → B4', async () => {
    const req = orderSignRequest({ patient: 'pat-carl', coverages: ['Coverage/cov-bcbsma-ma-by-name'], orders: ['ServiceRequest/sr-dn-20560'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards[0].detail).toMatch(/rule B4/);
    expect(body.cards[0].detail).toMatch(/Medicare PPO Blue/);
  });

  test('D1 Medica Central, date of service before 2024-01-01 → no determination, no card, no systemAction', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('order-sign-D1-before-policy-effective.json'));
    expect(status).toBe(200);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('D1 BCBS MA, date of service before 2016-09-01 → no determination, no card', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], orders: ['ServiceRequest/sr-dn-2016-text'] });
    // The Coverage must be active then, or C1 would answer instead.
    req.prefetch.coverage.entry[0].resource.period = { start: '2015-01-01' };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('C1 BCBS MA Coverage not active on the date of service → not-covered, warning: no active coverage', async () => {
    const { body } = await postHook(app, 'crd-order-sign', example('order-sign-C1-coverage-not-active.json'));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ coverage: 'Coverage/cov-ivy-expired', covered: 'not-covered', paNeeded: undefined, reasonCodes: [] })]);
    expect(body.cards[0].indicator).toBe('warning');
    expect(cardText(body.cards[0])).toMatch(/no active coverage on 2026-12-01/);
  });

  test('C1 Medica Central Coverage cancelled, under CRD 2.2 → not-covered with reason code no-active-coverage', async () => {
    const req = orderSignRequest({ patient: 'pat-eve', coverages: ['Coverage/cov-medica-commercial'], orders: ['ServiceRequest/sr-dn-20560'] });
    req.prefetch.coverage.entry[0].resource.status = 'cancelled';
    req.extension = { 'davinci-crd.requestedVersion': '2.2' };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'not-covered', reasonCodes: ['no-active-coverage'] })]);
    expect(body.cards[0].summary).toMatch(/Medica Central: no active coverage/);
  });

  test('X1 not dry needling (trigger-point injection, acupuncture, therapeutic exercise) → no card, no systemAction', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('order-sign-X1-not-dry-needling.json'));
    expect(status).toBe(200);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('X1 BCBS MA, CPT 20999 without dry-needling text → not in BCBS MA scope: no card', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], orders: ['ServiceRequest/sr-20999-unlisted'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });
});
