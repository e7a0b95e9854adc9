/** Cost model: the formula, and `--cost FILE` validation. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { CostModel, DEFAULT_COST, loadCostFile, parseCostJson } from '../../src/workers/cost.js';

describe('cost model', () => {
  it('base + per hook + per rule + per conntrack lookup/insert + per NAT', () => {
    const m = new CostModel({ base: 1000, perHook: 10, perRule: 2, ctLookup: 100, ctInsert: 500, nat: 50 });
    expect(m.cost(0, 0, 0, 0, 0)).toBe(1000);
    expect(m.cost(5, 40, 1, 1, 2)).toBe(1000 + 50 + 80 + 100 + 500 + 100);
    expect(m.costOf({ hooks: 2, rules: 3, ctLookups: 0, ctInserts: 0, nats: 0 })).toBe(1026);
  });
  it('defaults are the documented ones and non-negative', () => {
    const m = new CostModel();
    expect(m.p).toEqual(DEFAULT_COST);
    for (const v of Object.values(DEFAULT_COST)) expect(v).toBeGreaterThanOrEqual(0);
  });
  it('a file overrides some keys, keeps the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppq-cost-'));
    try {
      const f = join(dir, 'cost.json');
      writeFileSync(f, '{"base": 700, "perRule": 4.5}');
      const m = loadCostFile(f);
      expect([m.p.base, m.p.perRule, m.p.nat]).toEqual([700, 4.5, DEFAULT_COST.nat]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it.each([
    ['{"base": 1', /c\.json: not valid JSON/],
    ['[1, 2]', /expected a JSON object/],
    ['{"bsae": 1}', /c\.json \.bsae: unknown cost; the keys are base, perHook/],
    ['{"base": -1}', /c\.json \.base: expected a non-negative number/],
    ['{"nat": "80"}', /\.nat: expected a non-negative number of ns, found "80"/],
  ])('refuses %s with a ConfigError naming the file and key', (text, msg) => {
    expect(() => parseCostJson(text, 'c.json')).toThrow(ConfigError);
    expect(() => parseCostJson(text, 'c.json')).toThrow(msg);
  });
});
