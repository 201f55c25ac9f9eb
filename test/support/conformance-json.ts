/** JSON helpers shared by the conformance checker's modules (./conformance.ts). */
export type Json = Record<string, unknown>;
/** Where problems go: "<JSON path>: <what is wrong> [<rule>]". */
export type Sink = (where: string, message: string, rule: string) => void;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const objs = (v: unknown): Json[] => arr(v).filter(isObj);
/** The JSON path of child k under path p. */
export const at = (p: string, k: string | number): string =>
  typeof k === 'number' ? `${p}[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${p}.${k}` : `${p}['${k}']`;
export const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));
