import { FrameReader } from './frame-reader.ts';
import { keySlot } from './key-slot.ts';

/**
 * Where one topic lives in Redis. The topic sits in a `{…}` hash tag in every key and the channel, so in a Redis
 * Cluster the publish script's keys and its sharded channel share one slot, on one primary.
 *
 * - `seq`: the INCR counter. It never expires: a hub that stays subscribed to a quiet topic for days must not see
 *   the count restart at 1 and take new messages for duplicates.
 * - `log`: the retained frames, oldest first; `times`: each frame's ts, in lockstep, so age trimming reads a
 *   number instead of a whole frame; `bytes`: the log's total UTF-8 bytes, for the byte cap. All three expire a
 *   while after the topic's last publish.
 */
export interface TopicKeys {
  readonly topic: string;
  readonly topicJson: string;
  readonly seq: string;
  readonly log: string;
  readonly times: string;
  readonly bytes: string;
  readonly channel: string;
  /** The Redis Cluster slot of every key and the channel (they share the topic's hash tag). */
  readonly slot: number;
  /** For this topic's frames; reused for every message, see {@link FrameReader}. */
  readonly reader: FrameReader;
}

/** Key and channel names under one prefix, cached per topic because every publish and receipt needs them. */
export class KeySpace {
  readonly #topics = new Map<string, TopicKeys>();

  constructor(readonly prefix: string) {
    // A brace in the prefix would become the hash tag of every key, putting all topics in one cluster slot.
    if (/[{}]/.test(prefix)) throw new RangeError(`a bus key prefix must not contain { or }, got "${prefix}"`);
  }

  /**
   * @example new KeySpace('opshub:').topic('event/x/alerts').seq; // 'opshub:{event/x/alerts}:seq'
   */
  topic(topic: string): TopicKeys {
    let keys = this.#topics.get(topic);
    if (keys === undefined) {
      // The cache only saves string building; past this size it is cheaper to start over than to track use.
      if (this.#topics.size >= 10_000) this.#topics.clear();
      const base = `${this.prefix}{${topic}}`;
      const topicJson = JSON.stringify(topic);
      keys = {
        topic,
        topicJson,
        seq: `${base}:seq`,
        log: `${base}:log`,
        times: `${base}:ts`,
        bytes: `${base}:bytes`,
        channel: `${base}:msg`,
        slot: keySlot(`${base}:seq`),
        reader: new FrameReader(topic, topicJson),
      };
      this.#topics.set(topic, keys);
    }
    return keys;
  }

  /**
   * Signal channels start with `signal:` where topic channels start with `{`, so the two never collide.
   * @example new KeySpace('opshub:').signalChannel('yjs/event/x/gate'); // 'opshub:signal:yjs/event/x/gate'
   */
  signalChannel(channel: string): string {
    return `${this.prefix}signal:${channel}`;
  }
}
