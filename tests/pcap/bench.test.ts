import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { benchPcap } from '../../src/bench/pcap_bench.js';

describe('benchPcap', () => {
  it('measures both readers on the same file, agrees on the 5-tuples and deletes its temp files', async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('pktpath-bench-'));
    const results = await benchPcap({ packets: 20_000 });
    expect(results.map((r) => r.unit)).toEqual(['packets/s', 'packets/s', 'packets/s', 'MiB/s', 'packets/s', 'x faster']);
    for (const r of results) expect(r.value).toBeGreaterThan(0);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('pktpath-bench-'))).toEqual(before);
  });
});
