import { FrameReader } from './frame-reader.ts';

/**
 * Where one topic lives in Redis. The topic sits in a `{…}` hash tag in every key, so in Redis Cluster the publish
 * script's keys share a slot; the channel carries the same tag so the script could move to sharded pub/sub.
 *
 * - `seq`: the INCR counter. It never expires: a hub that stays subscribed to a quiet topic for days must not see
 *   the count restart at 1 and take new messages for duplicates.
 * - `log`: the retained frames, oldest first; `times`: each frame's ts, in lockstep, so age trimming reads a
 *   number instead of a whole frame. Both expire a while after the topic's last publish.
 */
export interface TopicKeys {
  readonly topic: string;
  readonly topicJson: string;
  readonly seq: string;
  readonly log: string;
  readonly times: string;
  readonly channel: string;
  /** For this topic's frames; reused for every message, see {@link FrameReader}. */
  readonly reader: FrameReader;
}

/** Key and channel names under one prefix, cached per topic because every publish and receipt needs them. */
export class KeySpace {
  readonly #topics = new Map<string, TopicKeys>();

  constructor(readonly prefix: string) {}

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
        channel: `${base}:msg`,
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
