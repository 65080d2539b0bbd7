import { ChatModMessage, ChatRoomMessage, ChatState, defaultChatSettings, MuteList, topicName, WordList, type ChatSettings, type Mute } from '@opshub/schema';
import type { ChatMessage, ModChatMessage } from '@opshub/schema';
import { getJson } from '../api/hub-api.ts';
import type { LiveSocket } from '../live/live-socket.svelte.ts';
import { SnapshotSync, type SyncedTopic } from './snapshot-sync.ts';

/** A chat message as pages hold it: the moderator's view (with the original) when known. */
export type ChatView = ChatMessage & Partial<Pick<ModChatMessage, 'original' | 'originalName'>>;

/** How many messages a page keeps: the hub's page size. Older ones scroll away. */
const keep = 200;

/**
 * A room's chat, live: `GET …/chat/{room}` plus `event/{e}/chat/{room}`; moderators also follow `…/mod` (held
 * messages, originals of masked ones, mutes, the word list) and read the word list and mutes over REST.
 */
export class ChatModel {
  messages: ChatView[] = $state.raw([]);
  held: ModChatMessage[] = $state.raw([]);
  settings: ChatSettings = $state(defaultChatSettings);
  words: string[] = $state.raw([]);
  mutes: Mute[] = $state.raw([]);
  error: string | undefined = $state();
  loaded = $state(false);

  readonly #messages = new Map<string, ChatView>();
  readonly #held = new Map<string, ModChatMessage>();
  readonly #mutes = new Map<string, Mute>();
  readonly #sync: SnapshotSync;

  constructor(private readonly deps: { event: string; room: string; token: string; live: LiveSocket; moderator: boolean; fetch?: typeof fetch }) {
    const { event, room } = deps;
    const topics: SyncedTopic[] = [{ topic: topicName({ kind: 'chat', event, room }), message: (d) => this.applyRoom(d) }];
    if (deps.moderator) topics.push({ topic: topicName({ kind: 'chat.mod', event, room }), message: (d) => this.applyMod(d) });
    this.#sync = new SnapshotSync({
      live: deps.live,
      topics,
      load: async () => {
        const f = deps.fetch ?? fetch;
        const base = `/api/v1/events/${encodeURIComponent(event)}`;
        const state = await getJson(f, `${base}/chat/${encodeURIComponent(room)}`, deps.token, ChatState);
        this.#messages.clear();
        this.#held.clear();
        for (const m of state.messages) this.#messages.set(m.id, m);
        for (const m of state.held ?? []) this.#held.set(m.id, m);
        this.settings = state.settings;
        if (deps.moderator) {
          const [words, mutes] = await Promise.all([getJson(f, `${base}/moderation/words`, deps.token, WordList), getJson(f, `${base}/moderation/mutes`, deps.token, MuteList)]);
          this.words = words.words;
          this.#mutes.clear();
          for (const m of mutes.mutes) this.#mutes.set(m.user, m);
        }
        this.loaded = true;
        this.error = undefined;
        return deps.moderator ? [state.seq, state.modSeq] : [state.seq];
      },
      onError: (message) => (this.error = message),
      onChange: () => this.#publish(),
    });
  }

  start(): () => void {
    return this.#sync.start();
  }

  applyRoom(data: unknown): void {
    const parsed = ChatRoomMessage.safeParse(data);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.type === 'message') {
      this.#messages.set(m.message.id, { ...this.#messages.get(m.message.id), ...m.message });
      this.#held.delete(m.message.id);
    } else if (m.type === 'deleted') {
      this.#messages.delete(m.id);
    } else {
      this.settings = m.settings;
    }
  }

  applyMod(data: unknown): void {
    const parsed = ChatModMessage.safeParse(data);
    if (!parsed.success) return;
    const m = parsed.data;
    switch (m.type) {
      case 'held':
        this.#held.set(m.message.id, m.message);
        break;
      case 'flagged':
      case 'approved':
        this.#held.delete(m.message.id);
        if (m.message.status === 'visible') this.#messages.set(m.message.id, { ...this.#messages.get(m.message.id), ...m.message });
        break;
      case 'deleted':
        this.#messages.delete(m.id);
        this.#held.delete(m.id);
        break;
      case 'muted':
        this.#mutes.set(m.user, { user: m.user, until: m.until, reason: m.reason, by: m.by, at: Date.now() });
        break;
      case 'unmuted':
        this.#mutes.delete(m.user);
        break;
      case 'words':
        this.words = m.words;
        break;
      case 'settings':
        this.settings = m.settings;
        break;
    }
  }

  /** Sends a message; answers what became of it (`visible`, `held`; `masked` when the filter starred words out). */
  async send(text: string, name: string | undefined) {
    return this.deps.live.command('chat.send', { event: this.deps.event, room: this.deps.room, text, ...(name ? { name } : {}) });
  }

  async remove(id: string): Promise<void> {
    await this.deps.live.command('chat.delete', { event: this.deps.event, id });
    this.#messages.delete(id);
    this.#held.delete(id);
    this.#publish();
  }

  async approve(id: string): Promise<void> {
    const message = await this.deps.live.command('chat.approve', { event: this.deps.event, id });
    this.applyMod({ type: 'approved', message });
    this.#publish();
  }

  async mute(user: string, seconds: number, reason: string | undefined): Promise<void> {
    const result = await this.deps.live.command('chat.mute', { event: this.deps.event, user, seconds, room: this.deps.room, ...(reason ? { reason } : {}) });
    this.#mutes.set(user, { user, until: result.until, reason: reason ?? null, by: 'you', at: Date.now() });
    this.#publish();
  }

  async unmute(user: string): Promise<void> {
    await this.deps.live.command('chat.unmute', { event: this.deps.event, user, room: this.deps.room });
    this.#mutes.delete(user);
    this.#publish();
  }

  async editWords(change: { add?: string[]; remove?: string[] }): Promise<void> {
    const result = await this.deps.live.command('chat.words', { event: this.deps.event, add: change.add ?? [], remove: change.remove ?? [], room: this.deps.room });
    this.words = result.words;
  }

  async configure(change: Partial<ChatSettings>): Promise<void> {
    this.settings = await this.deps.live.command('chat.settings', { event: this.deps.event, room: this.deps.room, ...change });
  }

  /** Mutes still running at `now` (the hub ends them on its own clock; this only hides the expired). */
  activeMutes(now: number): Mute[] {
    return this.mutes.filter((m) => m.until > now);
  }

  #publish(): void {
    const sorted = [...this.#messages.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    if (sorted.length > keep) for (const old of sorted.splice(0, sorted.length - keep)) this.#messages.delete(old.id);
    this.messages = sorted;
    this.held = [...this.#held.values()].sort((a, b) => a.at - b.at);
    this.mutes = [...this.#mutes.values()].sort((a, b) => a.until - b.until);
  }
}
