import { afterAll, beforeAll, expect, it } from 'vitest';
import { readScans } from '@opshub/replica';
import { minter } from '../support/test-hub.ts';
import { EdgeFleet, until } from './edge-fleet.ts';
import { GateClient } from './gate-client.ts';

let fleet: EdgeFleet;
beforeAll(async () => {
  fleet = await EdgeFleet.create('inter');
  await fleet.startHub();
  await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify({ id: 'inter', name: 'Interop', zones: [{ id: 'hall', name: 'Hall', capacity: 50 }], gates: [{ id: 'main', name: 'Main', zone: 'hall' }] }) });
  await fleet.api('/api/v1/events/inter/tickets', { method: 'POST', body: JSON.stringify([{ code: 'K1', holder: 'Kim' }]) });
}, 60_000);
afterAll(() => fleet?.close());

it('an unmodified y-websocket provider on the hub sees a scan made at an edge agent', async () => {
  await fleet.startAgent('main-1', 'main');
  await until(() => fleet.status('main-1'), (s) => s.online && s.tickets === 1, 'agent synced');
  const reader = await GateClient.connect(fleet.hubPort, 'inter', await minter.mint({ sub: 'r', role: 'staff', events: ['inter'] }));
  const { verdict } = await fleet.scan('main-1', 'K1');
  expect(verdict).toBe('admitted');
  await reader.until((doc) => readScans(doc).some((s) => s.code === 'K1' && s.gate === 'main'));
  reader.close();
}, 60_000);

it('admits a box-office ticket sold after the gate lost its uplink, and a revocation that reached the gate still wins', async () => {
  // While the gate is still online, a ticket is sold and then revoked: the revocation reaches its replica.
  const revokedSale = (await (await fleet.api('/api/v1/events/inter/tickets/issue', { method: 'POST', body: JSON.stringify({ holder: 'Refunded', type: 'door' }) })).json()) as { code: string; token: string };
  await fleet.api(`/api/v1/events/inter/tickets/${revokedSale.code}/revoke`, { method: 'POST' });
  const agentUrl = fleet.agents.get('main-1')!.url;
  await until(
    async () => (await (await fetch(`${agentUrl}/lookup?q=Refunded`)).json()) as { results: { status: string }[] },
    (r) => r.results[0]?.status === 'revoked',
    'revocation on the agent',
  );
  // Reached it means on its disk too: the agent applies an update first and writes it a moment later.
  await until(() => fleet.status('main-1'), (s) => s.unsaved === 0, 'revocation saved on the agent');

  // The gate loses its uplink (restarted pointing at an address where no hub answers); then the box office sells.
  await fleet.killAgent('main-1');
  const sale = (await (await fleet.api('/api/v1/events/inter/tickets/issue', { method: 'POST', body: JSON.stringify({ holder: 'Door Buyer', type: 'door', zones: ['hall'] }) })).json()) as { code: string; token: string };
  expect(sale.token.split('.')).toHaveLength(3);
  await fleet.startAgent('main-1', 'main', [], 'ws://127.0.0.1:9');
  expect((await fleet.status('main-1')).online).toBe(false);

  expect((await fleet.scan('main-1', sale.token)).verdict).toBe('admitted');
  expect((await fleet.scan('main-1', revokedSale.token)).verdict).toBe('revoked');
  const forged = sale.token.slice(0, -4) + (sale.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  expect((await fleet.scan('main-1', forged)).verdict).toBe('invalid');

  // Back online: the hub records the door sale's admission.
  await fleet.killAgent('main-1');
  await fleet.startAgent('main-1', 'main');
  await until(
    async () => (await (await fleet.api('/api/v1/events/inter/checkins/summary')).json()) as { checkedIn: number },
    (s) => s.checkedIn === 2,
    'door sale checked in at the hub',
  );
}, 90_000);
