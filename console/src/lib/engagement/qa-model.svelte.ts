import { QaMessage, QaModMessage, QaState, topicName, type ModQuestion, type QaSettings, type Question } from '@opshub/schema';
import { defaultQaSettings } from '@opshub/schema';
import { getJson } from '../api/hub-api.ts';
import type { LiveSocket } from '../live/live-socket.svelte.ts';
import { pinnedQuestion, sortQuestions, type QuestionOrder } from './question-order.ts';
import { SnapshotSync, type SyncedTopic } from './snapshot-sync.ts';

/** A question as the pages hold it: moderator fields when known, and whether this person upvoted it. */
export type QuestionView = Question & Partial<Pick<ModQuestion, 'flagged' | 'originalText'>> & { upvoted: boolean };

/**
 * A session's Q&A, live. The audience (`moderator: false`) follows `event/{e}/qa/{s}`, which only ever carries
 * approved questions; moderators also follow `…/mod` with every question in every state. Upvote counts arrive on
 * the audience topic for both. `mine` keeps the questions this person asked that are still waiting for a moderator
 * (only the asker is told about them, by the `qa.ask` answer).
 */
export class QaModel {
  questions: QuestionView[] = $state.raw([]);
  settings: QaSettings = $state(defaultQaSettings);
  order: QuestionOrder = $state('votes');
  error: string | undefined = $state();
  loaded = $state(false);
  /** questions this person asked that moderators have not approved yet */
  mine: ModQuestion[] = $state.raw([]);

  readonly approved = $derived(sortQuestions(this.questions.filter((q) => q.status === 'approved'), this.order));
  readonly pending = $derived(sortQuestions(this.questions.filter((q) => q.status === 'pending'), 'votes'));
  readonly rejected = $derived(sortQuestions(this.questions.filter((q) => q.status === 'rejected'), 'recent'));
  readonly pinned = $derived(pinnedQuestion(this.questions));

  readonly #byId = new Map<string, QuestionView>();
  readonly #mine = new Map<string, ModQuestion>();
  readonly #sync: SnapshotSync;

  constructor(private readonly deps: { event: string; session: string; token: string; live: LiveSocket; moderator: boolean; fetch?: typeof fetch }) {
    const { event, session } = deps;
    const topics: SyncedTopic[] = [{ topic: topicName({ kind: 'qa', event, session }), message: (d) => this.applyPublic(d) }];
    if (deps.moderator) topics.push({ topic: topicName({ kind: 'qa.mod', event, session }), message: (d) => this.applyMod(d) });
    this.#sync = new SnapshotSync({
      live: deps.live,
      topics,
      load: async () => {
        // Moderators ask for every status; the hub gives attendees approved questions whatever they ask for.
        const path = `/api/v1/events/${encodeURIComponent(event)}/qa/${encodeURIComponent(session)}?order=votes&status=${deps.moderator ? 'all' : 'approved'}`;
        const state = await getJson(deps.fetch ?? fetch, path, deps.token, QaState);
        this.#byId.clear();
        for (const q of state.questions) this.#byId.set(q.id, q);
        this.settings = state.settings;
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

  /** Applies one `event/{e}/qa/{s}` message. */
  applyPublic(data: unknown): void {
    const parsed = QaMessage.safeParse(data);
    if (!parsed.success) return;
    const m = parsed.data;
    switch (m.type) {
      case 'question':
        this.#upsert(m.question);
        this.#mine.delete(m.question.id);
        break;
      case 'removed':
        // Moderators hear about the rejection on their own topic, with the question's new state.
        if (!this.deps.moderator) this.#byId.delete(m.id);
        break;
      case 'upvotes':
        for (const [id, upvotes] of Object.entries(m.counts)) {
          const q = this.#byId.get(id);
          // Counts never decrease; a replayed older count must not take one back.
          if (q && upvotes > q.upvotes) this.#byId.set(id, { ...q, upvotes });
        }
        break;
      case 'settings':
        this.settings = m.settings;
        break;
    }
  }

  /** Applies one `event/{e}/qa/{s}/mod` message. */
  applyMod(data: unknown): void {
    const parsed = QaModMessage.safeParse(data);
    if (!parsed.success) return;
    if (parsed.data.type === 'question') this.#upsert(parsed.data.question);
    else this.settings = parsed.data.settings;
  }

  async ask(text: string, options: { anonymous: boolean; name: string | undefined }): Promise<ModQuestion> {
    const result = await this.deps.live.command('qa.ask', {
      event: this.deps.event,
      session: this.deps.session,
      text,
      anonymous: options.anonymous,
      ...(options.name && !options.anonymous ? { name: options.name } : {}),
    });
    if (result.status === 'pending') this.#mine.set(result.id, result.question);
    else if (!this.deps.moderator && result.status === 'approved') this.#upsert(result.question);
    this.#publish();
    return result.question;
  }

  async upvote(id: string): Promise<void> {
    const result = await this.deps.live.command('qa.upvote', { event: this.deps.event, id });
    const q = this.#byId.get(id);
    if (q) this.#byId.set(id, { ...q, upvoted: true, upvotes: Math.max(q.upvotes, result.upvotes) });
    this.#publish();
  }

  approve = (id: string) => this.#moderate(this.deps.live.command('qa.approve', { event: this.deps.event, id }));
  reject = (id: string) => this.#moderate(this.deps.live.command('qa.reject', { event: this.deps.event, id }));
  edit = (id: string, text: string) => this.#moderate(this.deps.live.command('qa.edit', { event: this.deps.event, id, text }));
  pin = (id: string, pinned: boolean) => this.#moderate(this.deps.live.command('qa.pin', { event: this.deps.event, id, pinned }));
  answer = (id: string, answered: boolean) => this.#moderate(this.deps.live.command('qa.answer', { event: this.deps.event, id, answered }));

  async configure(change: Partial<QaSettings>): Promise<void> {
    this.settings = await this.deps.live.command('qa.settings', { event: this.deps.event, session: this.deps.session, ...change });
  }

  async #moderate(command: Promise<ModQuestion>): Promise<void> {
    this.#upsert(await command);
    this.#publish();
  }

  #upsert(question: Question | (ModQuestion & { upvoted?: boolean })): void {
    if (question.session !== this.deps.session) return;
    const before = this.#byId.get(question.id);
    this.#byId.set(question.id, {
      ...before,
      ...question,
      upvoted: ('upvoted' in question ? question.upvoted : undefined) ?? before?.upvoted ?? false,
      upvotes: Math.max(question.upvotes, before?.upvotes ?? 0),
    });
  }

  #publish(): void {
    this.questions = [...this.#byId.values()];
    this.mine = [...this.#mine.values()].filter((q) => !this.#byId.has(q.id));
  }
}
