import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { putTickets, readMeta, revoke, writeMeta } from '../src/gate-doc.ts';
import { resolveTicket } from '../src/resolve-ticket.ts';
import { generateEventKeys, InvalidTicketTokenError, looksLikeTicketToken, signTicket, verifyTicketToken } from '../src/signed-ticket.ts';
import { ticket } from './fixtures.ts';

const claims = { event: 'expo', code: 'BOX-77', holder: 'Ada Lovelace', type: 'day', zones: ['hall'] };

describe('signed ticket tokens', async () => {
  const keys = await generateEventKeys();
  const other = await generateEventKeys();

  it('verifies offline and returns the claims', async () => {
    const token = await signTicket(claims, keys.privateJwk);
    expect(looksLikeTicketToken(token)).toBe(true);
    expect(looksLikeTicketToken('T-1001')).toBe(false);
    expect(await verifyTicketToken(token, keys.publicJwk, { event: 'expo' })).toEqual(claims);
  });

  it('rejects a token signed with another key (forged)', async () => {
    const forged = await signTicket(claims, other.privateJwk);
    await expect(verifyTicketToken(forged, keys.publicJwk, { event: 'expo' })).rejects.toThrow(InvalidTicketTokenError);
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = (await signTicket(claims, keys.privateJwk)).split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, type: 'vip' })).toString('base64url');
    await expect(verifyTicketToken(`${header}.${payload}.${signature}`, keys.publicJwk, { event: 'expo' })).rejects.toThrow(/does not verify/);
  });

  it("rejects another event's token, signed by that event's key", async () => {
    const token = await signTicket({ ...claims, event: 'other-expo' }, keys.privateJwk);
    await expect(verifyTicketToken(token, keys.publicJwk, { event: 'expo' })).rejects.toThrow(/for event other-expo/);
  });

  it('rejects when there is no key yet', async () => {
    const token = await signTicket(claims, keys.privateJwk);
    await expect(verifyTicketToken(token, undefined, { event: 'expo' })).rejects.toThrow(/no event key/);
  });

  describe('resolveTicket', () => {
    const doc = new Y.Doc();
    writeMeta(doc, { event: 'expo', name: 'Expo', timezone: 'UTC', zones: [], gates: [], publicKey: keys.publicJwk });
    putTickets(doc, { 'T-1': ticket() });

    it('finds roster codes', async () => {
      expect(await resolveTicket(doc, 'T-1')).toMatchObject({ code: 'T-1', ticket: { holder: 'Ada Lovelace', source: 'roster' } });
      expect(await resolveTicket(doc, 'NOPE')).toEqual({ code: 'NOPE' });
    });

    it('admits a token not in the roster by its signature, recording its code', async () => {
      expect(readMeta(doc)?.publicKey).toEqual(keys.publicJwk);
      const token = await signTicket(claims, keys.privateJwk);
      expect(await resolveTicket(doc, token)).toMatchObject({ code: 'BOX-77', ticket: { holder: 'Ada Lovelace', zones: ['hall'], status: 'valid', source: 'token' } });
    });

    it('lets a revocation in the roster win over a valid signature', async () => {
      const token = await signTicket({ ...claims, code: 'BOX-78' }, keys.privateJwk);
      revoke(doc, 'BOX-78');
      expect(await resolveTicket(doc, token)).toMatchObject({ code: 'BOX-78', ticket: { status: 'revoked' } });
    });

    it('reports a forged token as unknown', async () => {
      const forged = await signTicket(claims, other.privateJwk);
      const resolution = await resolveTicket(doc, forged);
      expect(resolution.ticket).toBeUndefined();
      expect(resolution.problem).toMatch(/does not verify/);
    });
  });
});
