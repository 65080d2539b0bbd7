import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '@opshub/deploy/cluster/poll-until';
import type { Claims } from '@opshub/schema';
import { spawnAgent, type AgentProcess } from '../../../../edge-agent/test/helpers.ts';
import { ResumingClient, sleep } from './resuming-client.ts';

export interface LoadOptions {
  /** edge agents, one per gate (each its own process, dialling the balancer) */
  readonly gates: number;
  /** pause between two scans at one gate */
  readonly scanEveryMs: number;
  /** attendees changing their vote in the open poll */
  readonly voters: number;
  readonly voteEveryMs: number;
  /** attendees chatting in one room (the hub allows one message a second per person) */
  readonly chatters: number;
  readonly chatEveryMs: number;
}

export interface LoadStage {
  /** the balancer, `http://host:port` */
  readonly url: string;
  readonly event: string;
  readonly room: string;
  readonly poll: string;
  /** ticket codes the gates scan, each once */
  readonly codes: readonly string[];
  mint(claims: Claims): Promise<string>;
}

/**
 * A steady event day through the load balancer: gates admitting attendees (real `opshub-edge` processes syncing with
 * the hub over `/yjs`), attendees voting and chatting, and a control room following check-ins, the poll and the chat.
 * Every write keeps its acknowledgement, so the drill can ask the Store afterwards whether any acknowledged write
 * went missing: an `admitted` verdict from a gate, the last vote an attendee had acknowledged, each `ok` of a chat
 * message.
 */
export class EventDayLoad {
  readonly agents: (AgentProcess & { gate: string; data: string })[] = [];
  controlRoom!: ResumingClient;
  readonly voters: ResumingClient[] = [];
  readonly chatters: ResumingClient[] = [];
  /** codes a gate answered `admitted` (on its disk: acknowledged) */
  readonly admitted: string[] = [];
  /** scans a gate could not answer (HTTP failure): none expected, the gate decides alone */
  readonly scanFailures: string[] = [];
  /** each voter's last acknowledged choice */
  readonly ackedVotes = new Map<string, string>();
  /** chat message ids the hub acknowledged */
  readonly ackedChats: string[] = [];
  /** command answers other than ok (bus or Store down): retried for votes, not for chat */
  readonly refused = new Map<string, number>();
  #running = true;
  #loops: Promise<void>[] = [];
  readonly #dirs: string[] = [];

  private constructor(
    private readonly stage: LoadStage,
    private readonly options: LoadOptions,
  ) {}

  /** Starts every client and agent (agents are ready once they hold the roster) and the load loops. */
  static async start(stage: LoadStage, options: LoadOptions): Promise<EventDayLoad> {
    const load = new EventDayLoad(stage, options);
    try {
      await load.#start();
    } catch (error) {
      await load.stop();
      throw error;
    }
    return load;
  }

  async #start(): Promise<void> {
    const { stage, options } = this;
    const ws = `${stage.url.replace(/^http/, 'ws')}/ws`;
    const e = stage.event;
    const staff = await stage.mint({ sub: 'control-room', role: 'staff', events: [e] });
    // The control room keeps the chat's message ids: each acknowledged message must reach it exactly once.
    this.controlRoom = new ResumingClient('control-room', ws, staff, [`event/${e}/checkins`, `event/${e}/polls`, `event/${e}/chat/${stage.room}`], (t) => t.includes('/chat/'));
    await this.controlRoom.start();
    for (let i = 0; i < options.voters; i++) {
      const token = await stage.mint({ sub: `voter-${i}`, role: 'attendee', events: [e] });
      this.voters.push(new ResumingClient(`voter-${i}`, ws, token, [`event/${e}/polls`]));
    }
    for (let i = 0; i < options.chatters; i++) {
      const token = await stage.mint({ sub: `chatter-${i}`, role: 'attendee', events: [e] });
      this.chatters.push(new ResumingClient(`chatter-${i}`, ws, token, [`event/${e}/chat/${stage.room}`]));
    }
    await Promise.all([...this.voters, ...this.chatters].map((c) => c.start()));

    const hub = stage.url.replace(/^http/, 'ws');
    await Promise.all(
      Array.from({ length: options.gates }, async (_, i) => {
        const gate = `g${i + 1}`;
        const data = await mkdtemp(join(tmpdir(), `opshub-chaos-${gate}-`));
        this.#dirs.push(data);
        const token = await stage.mint({ sub: `agent-${gate}`, role: 'gate', events: [e], gate });
        const agent = await spawnAgent(['--hub', hub, '--event', e, '--gate', gate, '--token', token, '--port', '0', '--data', data, '--device', `laptop-${gate}`]);
        this.agents.push({ ...agent, gate, data });
      }),
    );
    // A gate admits only tickets its replica holds: wait for the roster on every laptop.
    await Promise.all(
      this.agents.map((agent) =>
        pollUntil(`gate ${agent.gate} to receive the roster`, async () => (await this.#status(agent)).tickets === stage.codes.length, {
          timeoutMs: 90_000,
          process: runningState(agent.child),
          story: () => agent.output().slice(-1500),
        }),
      ),
    );

    this.#loops = [
      ...this.agents.map((agent, i) => this.#scanLoop(agent, stage.codes.filter((_, n) => n % this.agents.length === i))),
      ...this.voters.map((voter, i) => this.#voteLoop(voter, i)),
      ...this.chatters.map((chatter, i) => this.#chatLoop(chatter, i)),
    ];
  }

  /** Every socket client of the load (the control room first). */
  get clients(): ResumingClient[] {
    return [...(this.controlRoom ? [this.controlRoom] : []), ...this.voters, ...this.chatters];
  }

  async #status(agent: { url: string }): Promise<{ online: boolean; pending: number; tickets: number; scans: number }> {
    return (await (await fetch(`${agent.url}/status`, { signal: AbortSignal.timeout(5000) })).json()) as never;
  }

  /** Every gate's `/status`. */
  statuses(): Promise<{ gate: string; online: boolean; pending: number; tickets: number; scans: number }[]> {
    return Promise.all(this.agents.map(async (agent) => ({ gate: agent.gate, ...(await this.#status(agent)) })));
  }

  async #scanLoop(agent: { url: string; gate: string }, codes: readonly string[]): Promise<void> {
    for (const code of codes) {
      if (!this.#running) return;
      try {
        const res = await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) });
        const body = (await res.json()) as { verdict?: string };
        if (res.status === 200 && body.verdict === 'admitted') this.admitted.push(code);
        else this.scanFailures.push(`${agent.gate} ${code}: ${res.status} ${JSON.stringify(body)}`);
      } catch (error) {
        this.scanFailures.push(`${agent.gate} ${code}: ${String(error)}`);
      }
      await sleep(this.options.scanEveryMs);
    }
  }

  /** Changes its vote every few seconds; a vote not acknowledged is sent again until it is, then the next one. */
  async #voteLoop(voter: ResumingClient, i: number): Promise<void> {
    await sleep(Math.random() * this.options.voteEveryMs);
    for (let round = 0; this.#running; round++) {
      // Option ids are the options' 1-based positions.
      const choice = String(1 + ((i + round) % 2));
      while (this.#running) {
        const answer = await voter.command('poll.vote', { event: this.stage.event, poll: this.stage.poll, options: [choice] });
        if (answer?.op === 'ok') {
          this.ackedVotes.set(voter.name, choice);
          break;
        }
        this.#refused(answer ? `poll.vote ${answer.code}` : 'poll.vote unanswered');
        // A refusal other than a backend outage (or no answer at all) would be refused again: the drill reports it.
        if (answer !== undefined && answer.code !== 'unavailable' && answer.code !== 'internal') break;
        await sleep(300);
      }
      await sleep(this.options.voteEveryMs);
    }
  }

  async #chatLoop(chatter: ResumingClient, i: number): Promise<void> {
    await sleep(Math.random() * this.options.chatEveryMs);
    for (let n = 0; this.#running; n++) {
      const answer = await chatter.command('chat.send', { event: this.stage.event, room: this.stage.room, text: `hello ${i}.${n}` });
      if (answer?.op === 'ok') this.ackedChats.push(String(answer.result?.id));
      else this.#refused(answer ? `chat.send ${answer.code}` : 'chat.send unanswered');
      await sleep(this.options.chatEveryMs);
    }
  }

  #refused(what: string): void {
    this.refused.set(what, (this.refused.get(what) ?? 0) + 1);
  }

  /** Stops the loops (a vote in flight finishes or is given up); clients and agents stay connected. */
  async quiesce(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async stop(): Promise<void> {
    await this.quiesce();
    for (const client of this.clients) client.stop();
    for (const agent of this.agents) {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    await Promise.all(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** A child process's liveness as {@link pollUntil} reads it: a gate that exited will never hold the roster. */
function runningState(child: ChildProcess): { readonly running: boolean } {
  return {
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
  };
}
