import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.js';
import type { HookName } from '../hooks/service-definitions.js';
import type { CareSettingsDoc } from '../policy/types.js';
import { applyCareSetting, type CareSettingChoice } from './care-setting-choice.js';

/**
 * Named scenarios for the card view and the hook CLI. They are the example requests of `cds-hooks/`
 * (complete CDS Hooks requests with full prefetch, copied from the fixtures in `fhir-resources/`),
 * listed by `cds-hooks/examples.json` with the decision-table row each shows: data, not code per row.
 */
export interface Scenario {
  /** The example's file name without `.json`, e.g. `order-sign-B2-bcbsma-inpatient`. */
  name: string;
  hook: HookName;
  /** Decision-table row (`M1` … `X1`), `multiple`, or `error` for DECISIONS §5. */
  row: string;
  /** The HTTP status the service answers with. */
  status: number;
  description: string;
}

/** A CDS Hooks request as JSON (CDS Hooks 2.0 §HTTP Request). */
export interface CdsHooksRequestJson {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: Record<string, unknown>;
  context: Record<string, unknown>;
  prefetch?: Record<string, unknown>;
  extension?: Record<string, unknown>;
}

export interface ScenarioChoices {
  careSetting?: CareSettingChoice;
}

export class ScenarioNotFound extends Error {
  constructor(
    readonly query: string,
    readonly candidates: string[],
  ) {
    super(
      candidates.length > 1
        ? `"${query}" matches several scenarios: ${candidates.join(', ')}`
        : `No scenario "${query}"; the scenarios are the example names in cds-hooks/examples.json`,
    );
  }
}

const HOOKS: readonly HookName[] = ['order-sign', 'order-select', 'order-dispatch', 'appointment-book'];

interface ManifestEntry { file: string; service: string; row: string; status: number; description: string }

export const defaultScenarioDir = (): string => join(projectRoot, 'cds-hooks');

export class ScenarioBook {
  private readonly byName = new Map<string, { scenario: Scenario; request: CdsHooksRequestJson }>();

  private constructor(entries: Array<{ scenario: Scenario; request: CdsHooksRequestJson }>) {
    for (const entry of entries) this.byName.set(entry.scenario.name, entry);
  }

  /** Reads `examples.json` and every request it lists; a missing or mislabelled file throws, naming it. */
  static load(dir: string = defaultScenarioDir()): ScenarioBook {
    const manifest = JSON.parse(readFileSync(join(dir, 'examples.json'), 'utf8')) as ManifestEntry[];
    return new ScenarioBook(
      manifest.map((entry) => {
        const hook = HOOKS.find((h) => h === entry.service);
        if (!hook) throw new Error(`${join(dir, 'examples.json')}: ${entry.file} names an unknown hook "${entry.service}"`);
        const request = JSON.parse(readFileSync(join(dir, entry.file), 'utf8')) as CdsHooksRequestJson;
        if (request.hook !== hook) throw new Error(`${join(dir, entry.file)}: hook "${request.hook}", but examples.json says "${hook}"`);
        const scenario: Scenario = {
          name: entry.file.replace(/\.json$/, ''),
          hook,
          row: entry.row,
          status: entry.status,
          description: entry.description,
        };
        return { scenario, request };
      }),
    );
  }

  list(): Scenario[] {
    return [...this.byName.values()].map((e) => ({ ...e.scenario }));
  }

  get(name: string): Scenario | undefined {
    const entry = this.byName.get(name);
    return entry ? { ...entry.scenario } : undefined;
  }

  /**
   * The scenario named exactly `query`, else the only one whose name contains it (case ignored);
   * when several do, the only order-sign one among them (the primary CRD hook), so `B2` means
   * `order-sign-B2-bcbsma-inpatient`.
   */
  find(query: string): Scenario {
    const exact = this.byName.get(query);
    if (exact) return { ...exact.scenario };
    const wanted = query.toLowerCase();
    const matches = [...this.byName.values()].filter((e) => e.scenario.name.toLowerCase().includes(wanted)).map((e) => e.scenario);
    const orderSign = matches.filter((s) => s.hook === 'order-sign');
    const found = matches.length === 1 ? matches[0] : orderSign.length === 1 ? orderSign[0] : undefined;
    if (!found) throw new ScenarioNotFound(query, matches.map((s) => s.name));
    return { ...found };
  }

  /**
   * A fresh request for the scenario: a deep copy with a new `hookInstance` (CDS Hooks: unique per
   * call), with the user's choices applied.
   */
  request(name: string, choices: ScenarioChoices, careSettings: CareSettingsDoc): CdsHooksRequestJson {
    const entry = this.byName.get(name);
    if (!entry) throw new ScenarioNotFound(name, []);
    const request = structuredClone(entry.request);
    request.hookInstance = randomUUID();
    if (choices.careSetting && choices.careSetting !== 'as-recorded') applyCareSetting(request, choices.careSetting, careSettings);
    return request;
  }
}
