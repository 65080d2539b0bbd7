import { DisplayName } from '@opshub/schema';

const storageKey = 'opshub.display-name';

/**
 * The name an attendee chose to show with chat messages and questions, kept on this device. Optional: without one,
 * chat shows the opaque id and questions are nameless.
 * @example const names = new DisplayNames(localStorage); names.set(' Dana '); names.get() // 'Dana'
 */
export class DisplayNames {
  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>) {}

  get(): string {
    return this.storage.getItem(storageKey) ?? '';
  }

  /** Stores a valid name (trimmed) or clears it; answers what will be sent (undefined: none). */
  set(raw: string): string | undefined {
    const parsed = DisplayName.safeParse(raw);
    if (!parsed.success) {
      this.storage.removeItem(storageKey);
      return undefined;
    }
    this.storage.setItem(storageKey, parsed.data);
    return parsed.data;
  }
}

/** The name to send, or undefined when empty or too long (the hub would refuse the whole command). */
export function nameToSend(raw: string): string | undefined {
  const parsed = DisplayName.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
