import { ApiError, PushSubscriptionState, VapidPublicKey, type PushLevel } from '@opshub/schema';
import { HubApiError } from '../api/hub-api.ts';

/**
 * The audience page's side of web push: the service worker, the browser's permission, its push subscription, and
 * telling the hub (`/api/v1/.../push/...`). Plain TypeScript over the browser's APIs; `NotifyMe.svelte` drives it.
 *
 * Permission is asked only from {@link PushClient.enable}, which the page calls from a tap on "Notify me about this
 * event": browsers punish sites that ask on load (Chrome quiets them, Safari refuses without a gesture), and people
 * say no to a question they did not ask for.
 */

/** What a person chose to receive, kept on the device per event. */
export interface PushChoices {
  readonly announcements: PushLevel;
  readonly sessions: readonly string[];
}

export type PushAvailability =
  /** this browser has no web push (an iPhone's Safari has it only for apps added to the Home Screen) */
  | 'unsupported'
  /** the person (or a policy) blocked notifications for this site */
  | 'denied'
  | 'available';

/** The service worker's scope: the audience pages only. */
export const workerScope = '/live/';
/** How long a browser may take to reach its push service before the page says so. */
const SUBSCRIBE_TIMEOUT_MS = 20_000;

export interface PushClientDeps {
  readonly event: string;
  readonly token: string;
  readonly fetch?: typeof fetch;
  readonly storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  readonly navigator?: Navigator;
  readonly notification?: typeof Notification | undefined;
  /** SvelteKit builds the worker as a module in dev and as a classic script for production */
  readonly workerType?: WorkerType;
}

export class PushClient {
  readonly #d: Required<Omit<PushClientDeps, 'notification'>> & { notification: typeof Notification | undefined };

  constructor(deps: PushClientDeps) {
    this.#d = {
      fetch: (...args) => fetch(...args),
      storage: localStorage,
      navigator,
      notification: typeof Notification === 'undefined' ? undefined : Notification,
      workerType: 'classic',
      ...deps,
    };
  }

  /** Whether push can work here at all, without asking anything. */
  availability(): PushAvailability {
    const { navigator: nav, notification } = this.#d;
    if (!('serviceWorker' in nav) || typeof PushManager === 'undefined' || !notification) return 'unsupported';
    return notification.permission === 'denied' ? 'denied' : 'available';
  }

  /** Registers (or finds) the audience service worker. Called on load: it asks the person nothing. */
  async registration(): Promise<ServiceWorkerRegistration> {
    return this.#d.navigator.serviceWorker.register('/service-worker.js', { scope: workerScope, type: this.#d.workerType });
  }

  /** The choices stored on this device when this browser is subscribed for the event (permission granted, subscription alive). */
  async current(): Promise<PushChoices | undefined> {
    if (this.availability() !== 'available' || this.#d.notification?.permission !== 'granted') return undefined;
    const subscription = await (await this.registration()).pushManager.getSubscription();
    const choices = this.#stored();
    return subscription && choices ? choices : undefined;
  }

  /**
   * Asks for permission (call it from a tap), subscribes the browser with the hub's VAPID key, and registers the
   * subscription with the hub. Resolves with what is now received.
   * @throws {PushSetupError} with words for the person: permission refused, push service unreachable, hub refused
   */
  async enable(choices: PushChoices): Promise<PushChoices> {
    const { notification } = this.#d;
    if (!notification || this.availability() === 'unsupported') throw new PushSetupError('unsupported', 'This browser cannot show notifications from a web page.');
    const permission = await notification.requestPermission();
    if (permission !== 'granted') {
      throw new PushSetupError('denied', permission === 'denied' ? 'Notifications are blocked for this site. Allow them in the browser\'s site settings, then try again.' : 'You did not allow notifications, so none will be sent.');
    }
    const registration = await this.registration();
    await this.#d.navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      const key = await this.#vapidKey();
      try {
        subscription = await withTimeout(
          registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
          SUBSCRIBE_TIMEOUT_MS,
        );
      } catch (error) {
        throw new PushSetupError('push_service', `Your browser could not reach its push service${error instanceof Error && error.message ? ` (${error.message})` : ''}. Check the connection and try again.`);
      }
    }
    return this.#register(subscription, choices);
  }

  /** Sends changed choices for the browser's existing subscription. */
  async update(choices: PushChoices): Promise<PushChoices> {
    const subscription = await (await this.registration()).pushManager.getSubscription();
    if (!subscription) throw new PushSetupError('push_service', 'This browser is no longer subscribed: turn notifications on again.');
    return this.#register(subscription, choices);
  }

  /** Stops pushes to this browser for the event: the hub forgets the subscription, the browser drops it. */
  async disable(): Promise<void> {
    const subscription = await (await this.registration()).pushManager.getSubscription();
    if (subscription) {
      const response = await this.#call('DELETE', { endpoint: subscription.endpoint });
      // 404: the hub had already forgotten it (it expired, or another device's session removed it).
      if (!response.ok && response.status !== 404) throw await hubError(response);
      await subscription.unsubscribe();
    }
    this.#d.storage.removeItem(this.#key());
  }

  async #register(subscription: PushSubscription, choices: PushChoices): Promise<PushChoices> {
    const response = await this.#call('POST', { subscription: subscription.toJSON(), announcements: choices.announcements, sessions: choices.sessions });
    if (!response.ok) throw await hubError(response);
    const state = PushSubscriptionState.parse(await response.json());
    const stored: PushChoices = { announcements: state.announcements, sessions: state.sessions };
    this.#d.storage.setItem(this.#key(), JSON.stringify(stored));
    return stored;
  }

  async #vapidKey(): Promise<Uint8Array<ArrayBuffer>> {
    const response = await this.#d.fetch('/api/v1/push/vapid-public-key', { headers: { accept: 'application/json' } });
    if (!response.ok) throw await hubError(response);
    return base64UrlBytes(VapidPublicKey.parse(await response.json()).key);
  }

  #call(method: 'POST' | 'DELETE', body: unknown): Promise<Response> {
    return this.#d.fetch(`/api/v1/events/${encodeURIComponent(this.#d.event)}/push/subscriptions`, {
      method,
      headers: { authorization: `Bearer ${this.#d.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  }

  #stored(): PushChoices | undefined {
    try {
      const value = JSON.parse(this.#d.storage.getItem(this.#key()) ?? 'null') as PushChoices | null;
      return value && typeof value.announcements === 'string' && Array.isArray(value.sessions) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  #key(): string {
    return `opshub.push.${this.#d.event}`;
  }
}

/** Why turning notifications on did not work, in words for the person. */
export class PushSetupError extends Error {
  override readonly name = 'PushSetupError';
  constructor(
    readonly reason: 'unsupported' | 'denied' | 'push_service' | 'hub',
    message: string,
  ) {
    super(message);
  }
}

async function hubError(response: Response): Promise<PushSetupError> {
  const parsed = ApiError.safeParse(await response.json().catch(() => undefined));
  const error = new HubApiError(response.status, parsed.success ? parsed.data.error : 'internal', parsed.success ? parsed.data.message : `HTTP ${response.status}`);
  return new PushSetupError('hub', `The event service refused the subscription: ${error.message}`);
}

/** `applicationServerKey` wants the raw key bytes. */
export function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}
