/**
 * `/metrics` as a venue's operations team relies on it: every family `docs/api.md` documents exists on a real hub,
 * the traffic counters move when traffic flows, and the alerting rules and dashboard in `deploy/` name only families
 * that exist (a renamed metric would otherwise silence an alert without anyone noticing).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** The families in docs/api.md's "Metrics" table. */
async function documentedFamilies(): Promise<string[]> {
  const doc = await readFile(repo('docs/api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Metrics\n'), doc.indexOf('\n## ', doc.indexOf('\n## Metrics\n') + 5));
  return [...section.matchAll(/^\| `(opshub_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

/** Sample values by name and labels, from Prometheus text. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

function total(values: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of values) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

/** Metric names an expression uses, with histogram suffixes folded into their family. */
function familiesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(opshub_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('/metrics', () => {
  let hub: TestHub;
  let families: string[];
  const event = 'metrics-day';

  beforeAll(async () => {
    hub = await startTestHub();
    families = await documentedFamilies();
    const created = await hub.api('/api/v1/events', {
      method: 'POST',
      claims: { role: 'admin', events: ['*'] },
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: event, name: 'Metrics', zones: [{ id: 'hall', name: 'Hall', capacity: 10 }], gates: [{ id: 'north', name: 'North', zone: 'hall' }] }),
    });
    expect(created.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await hub?.close();
  });

  const scrape = async () => {
    const res = await fetch(`${hub.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('has every documented family, and the traffic counters move under traffic', async () => {
    expect(families.length).toBeGreaterThan(25);
    const before = samples(await scrape());

    const staff = await TestClient.connect(hub.wsUrl, await hub.token({ role: 'staff', events: [event] }));
    await staff.subscribe(`event/${event}/announcements`);
    for (let i = 0; i < 5; i++) {
      const answer = await staff.command('announce.send', { event, text: `Doors open in ${5 - i} minutes`, level: 'info' });
      expect(answer.op).toBe('ok');
    }
    await staff.next((f) => f.op === 'msg' && (f.data as { text?: string }).text === 'Doors open in 1 minutes');
    staff.send({ op: 'sub', topic: 'no/such/topic' }); // answered with err: a rejected frame
    await staff.next((f) => f.op === 'err');
    await staff.close();
    expect((await hub.api(`/api/v1/events/${event}`, { claims: { role: 'staff', events: [event] } })).status).toBe(200);
    expect((await hub.api('/api/v1/events/no-such-event', { claims: { role: 'admin', events: ['*'] } })).status).toBe(404);

    let text = '';
    // The analytics relay ships the announcements' outbox rows on its own schedule: wait for it rather than sleep.
    const deadline = Date.now() + 30_000;
    for (;;) {
      text = await scrape();
      if (total(samples(text), 'opshub_analytics_relay_shipped') >= total(before, 'opshub_analytics_relay_shipped') + 5 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const missing = families.filter((family) => !text.includes(`# TYPE ${family} `));
    expect(missing).toEqual([]);

    const after = samples(text);
    const moved = (name: string) => total(after, name) - total(before, name);
    expect(moved('opshub_ws_frames_in_total')).toBeGreaterThanOrEqual(7);
    expect(moved('opshub_ws_frames_out_total')).toBeGreaterThanOrEqual(5);
    expect(moved('opshub_publish_deliver_seconds_count')).toBeGreaterThanOrEqual(5);
    expect(moved('opshub_ws_frames_rejected_total')).toBeGreaterThanOrEqual(1);
    expect(moved('opshub_ws_closes_total')).toBeGreaterThanOrEqual(1);
    expect(after.get('opshub_http_requests_total{status="404"}') ?? 0).toBeGreaterThan(before.get('opshub_http_requests_total{status="404"}') ?? 0);
    expect(moved('opshub_analytics_relay_shipped')).toBeGreaterThanOrEqual(5);
    expect(after.get('opshub_bus_healthy')).toBe(1);
    expect(after.get('opshub_store_healthy')).toBe(1);
  }, 120_000);

  it('deploy/ rules and dashboard use only families the hub has', async () => {
    const known = new Set(families);
    const rules = parseYaml(await readFile(repo('deploy/prometheus/opshub-rules.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alerts = rules.groups.flatMap((group) => group.rules);
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining(['OpshubGateOffline', 'OpshubBusLag', 'OpshubPublishDeliverSlow', 'OpshubSlowConsumers', 'OpshubAnalyticsQueueDeep', 'OpshubPushFailing']),
    );
    const dashboard = JSON.parse(await readFile(repo('deploy/grafana/opshub-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = [...alerts.map((rule) => rule.expr), ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))];
    const unknown = exprs.flatMap(familiesIn).filter((family) => !known.has(family));
    expect(unknown).toEqual([]);
    expect(exprs.flatMap(familiesIn).length).toBeGreaterThan(15);
  });
});
