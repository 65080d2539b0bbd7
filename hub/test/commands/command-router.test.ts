import { describe, expect, it } from 'vitest';
import { commands, type CommandName } from '@opshub/schema';
import { BusUnavailableError } from '../../src/bus/bus.ts';
import { CommandRouter, type CommandHandlers } from '../../src/commands/command-router.ts';

/** Handlers that record their calls: what the router lets through is what this test observes. */
function recordingHandlers(calls: string[]): CommandHandlers {
  return Object.fromEntries(Object.keys(commands).map((name) => [name, async () => (calls.push(name), {})])) as unknown as CommandHandlers;
}

describe('CommandRouter while the bus is unreachable', () => {
  const claims = { sub: 'ana', role: 'admin' as const, events: ['*'] };
  const down = { isHealthy: () => false, kind: 'redis' as const };

  it('refuses a command that always publishes before its handler writes anything', async () => {
    const calls: string[] = [];
    const router = new CommandRouter(recordingHandlers(calls), down);
    await expect(router.run('announce.send', { event: 'expo', text: 'hi', level: 'info' }, { claims })).rejects.toBeInstanceOf(BusUnavailableError);
    expect(calls).toEqual([]);
  });

  it('leaves commands that publish only sometimes to their handler', async () => {
    const calls: string[] = [];
    const router = new CommandRouter(recordingHandlers(calls), down);
    const sometimes = (Object.keys(commands) as CommandName[]).filter((n) => 'publishesSometimes' in commands[n]);
    expect(sometimes.sort()).toEqual(['announce.shown', 'chat.mute', 'chat.unmute', 'chat.words', 'poll.create']);
    await router.run('chat.unmute', { event: 'expo', user: 'att-1' }, { claims });
    expect(calls).toEqual(['chat.unmute']);
  });
});
