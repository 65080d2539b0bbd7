import { PollsMessage, PollsState, topicName, type CommandArgs, type Poll } from '@opshub/schema';
import { getJson } from '../api/hub-api.ts';
import type { LiveSocket } from '../live/live-socket.svelte.ts';
import { currentPoll, openPolls } from './poll-results-view.ts';
import { SnapshotSync } from './snapshot-sync.ts';

export type PollView = Poll & { myVote: string[] | null };

/**
 * A session's polls (and the event-wide ones), live: `GET …/polls?session=S` plus `event/{e}/polls`. Moderators also
 * see their drafts (from REST and from their own commands: drafts are never published). Live results replace a
 * poll's tallies; a closed poll's final results are never overwritten by a stale live tally.
 */
export class PollsModel {
  polls: PollView[] = $state.raw([]);
  error: string | undefined = $state();
  loaded = $state(false);
  /** the poll the room is looking at (the open one opened last, else the one closed last) */
  readonly current = $derived(currentPoll(this.polls));
  readonly open = $derived(openPolls(this.polls));
  readonly #byId = new Map<string, PollView>();
  readonly #sync: SnapshotSync;

  constructor(private readonly deps: { event: string; session: string; token: string; live: LiveSocket; fetch?: typeof fetch }) {
    this.#sync = new SnapshotSync({
      live: deps.live,
      topics: [{ topic: topicName({ kind: 'polls', event: deps.event }), message: (data) => this.apply(data) }],
      load: async () => {
        const path = `/api/v1/events/${encodeURIComponent(deps.event)}/polls?session=${encodeURIComponent(deps.session)}`;
        const state = await getJson(deps.fetch ?? fetch, path, deps.token, PollsState);
        this.#byId.clear();
        for (const poll of state.polls) this.#byId.set(poll.id, poll);
        this.loaded = true;
        this.error = undefined;
        return [state.seq];
      },
      onError: (message) => (this.error = message),
      onChange: () => this.#publish(),
    });
  }

  start(): () => void {
    return this.#sync.start();
  }

  /** Applies one `event/{e}/polls` message. */
  apply(data: unknown): void {
    const parsed = PollsMessage.safeParse(data);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'poll') {
      if (!this.#mine(message.poll.session)) return;
      this.#upsert(message.poll);
    } else {
      const poll = this.#byId.get(message.poll);
      // Closing publishes the final results after every live tally: a live tally never replaces them.
      if (!poll || poll.status === 'closed') return;
      this.#byId.set(poll.id, { ...poll, results: message.results });
    }
  }

  /** Votes; on success the poll remembers the answers as the hub counted them. */
  async vote(args: CommandArgs<'poll.vote'>): Promise<void> {
    const result = await this.deps.live.command('poll.vote', args);
    const poll = this.#byId.get(result.poll);
    if (poll) this.#byId.set(poll.id, { ...poll, myVote: result.answers });
    this.#publish();
  }

  async create(args: Omit<CommandArgs<'poll.create'>, 'event' | 'session'>): Promise<Poll> {
    return this.#moderate(this.deps.live.command('poll.create', { ...args, event: this.deps.event, session: this.deps.session }));
  }

  openPoll(poll: string): Promise<Poll> {
    return this.#moderate(this.deps.live.command('poll.open', { event: this.deps.event, poll }));
  }

  closePoll(poll: string): Promise<Poll> {
    return this.#moderate(this.deps.live.command('poll.close', { event: this.deps.event, poll }));
  }

  allowChange(poll: string, allowChange: boolean): Promise<Poll> {
    return this.#moderate(this.deps.live.command('poll.settings', { event: this.deps.event, poll, allowChange }));
  }

  async #moderate(command: Promise<Poll>): Promise<Poll> {
    const poll = await command;
    this.#upsert(poll);
    this.#publish();
    return poll;
  }

  #mine(session: string | null): boolean {
    return session === null || session === this.deps.session;
  }

  #upsert(poll: Poll): void {
    const before = this.#byId.get(poll.id);
    // A command's answer can arrive after a newer message about the same poll: never step back to an earlier status.
    if (before && rank(before.status) > rank(poll.status)) return;
    this.#byId.set(poll.id, { ...poll, myVote: before?.myVote ?? null });
  }

  #publish(): void {
    this.polls = [...this.#byId.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }
}

const rank = (status: Poll['status']) => (status === 'draft' ? 0 : status === 'open' ? 1 : 2);
