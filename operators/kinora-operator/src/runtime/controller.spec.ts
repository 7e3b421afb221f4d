import { describe, expect, it } from '@jest/globals';
import { Controller, splitKey } from './controller.js';
import type { Informer, InformerEvent } from './informer.js';
import type { KubeObject } from './kube-client.js';
import { silentLogger } from './logger.js';
import { OperatorMetrics } from './metrics.js';

/** An informer's event side only: what the controller subscribes to. */
function source() {
  const handlers: ((ev: InformerEvent, obj: KubeObject) => void)[] = [];
  return {
    informer: { on: (h: (ev: InformerEvent, obj: KubeObject) => void) => handlers.push(h) } as unknown as Informer,
    emit: (ev: InformerEvent, obj: KubeObject) => handlers.forEach((h) => h(ev, obj)),
  };
}
const obj = (name: string, generation = 1, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, namespace: 'ns', generation, ...extra } });
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Controller', () => {
  it('reconciles keys from the primary and from owned objects, retries errors with backoff and counts them', async () => {
    const primary = source();
    const owned = source();
    const seen: string[] = [];
    let failures = 1;
    const metrics = new OperatorMetrics();
    const c = new Controller({
      kind: 'Thing',
      primary: primary.informer,
      owned: [{ informer: owned.informer, ownerKind: 'Thing' }],
      metrics,
      logger: silentLogger,
      queue: { baseDelayMs: 10 },
      reconciler: {
        async reconcile(key) {
          seen.push(key);
          if (key === 'ns/bad' && failures-- > 0) throw new Error('boom');
        },
      },
    });
    c.start();
    primary.emit('add', obj('a'));
    owned.emit('add', obj('child', 1, { ownerReferences: [{ kind: 'Thing', name: 'b', controller: true }, { kind: 'Other', name: 'x', controller: false }] }));
    primary.emit('add', obj('bad'));
    await until(() => seen.filter((k) => k === 'ns/bad').length === 2);
    expect(new Set(seen)).toEqual(new Set(['ns/a', 'ns/b', 'ns/bad']));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/kinora_operator_reconcile_total\{kind="Thing",result="error"\} 1/);
    expect(text).toMatch(/kinora_operator_reconcile_errors_total\{kind="Thing"\} 1/);
    expect(text).toMatch(/kinora_operator_reconcile_total\{kind="Thing",result="success"\} 3/);
    await c.stop();
  });

  it('with generationChangedOnly, skips status-only updates of the primary but not spec changes or deletions', async () => {
    const primary = source();
    const seen: string[] = [];
    const c = new Controller({
      kind: 'Thing',
      primary: primary.informer,
      generationChangedOnly: true,
      metrics: new OperatorMetrics(),
      logger: silentLogger,
      reconciler: { reconcile: async (key) => void seen.push(key) },
    });
    c.start();
    primary.emit('add', obj('a', 1));
    await until(() => seen.length === 1);
    primary.emit('update', obj('a', 1));
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toHaveLength(1);
    primary.emit('update', obj('a', 2));
    await until(() => seen.length === 2);
    primary.emit('update', obj('a', 2, { deletionTimestamp: '2026-12-06T00:00:00Z' }));
    await until(() => seen.length === 3);
    await c.stop();
  });

  it('requeues after the delay a pass asks for, and stop() waits for the pass in flight', async () => {
    const primary = source();
    const times: number[] = [];
    let release: () => void = () => {};
    const c = new Controller({
      kind: 'Thing',
      primary: primary.informer,
      metrics: new OperatorMetrics(),
      logger: silentLogger,
      reconciler: {
        async reconcile() {
          times.push(Date.now());
          if (times.length === 1) return { requeueAfterMs: 50 };
          await new Promise<void>((r) => (release = r));
        },
      },
    });
    c.start();
    primary.emit('add', obj('a'));
    await until(() => times.length === 2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(45);
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('splits keys', () => {
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('cluster-scoped')).toEqual({ namespace: '', name: 'cluster-scoped' });
  });
});
