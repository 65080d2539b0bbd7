/**
 * A weighted word-cloud layout of our own (no package): font sizes by frequency, placed on an Archimedean spiral
 * from the centre, each word in the first spot where its box overlaps nothing placed before and stays inside the
 * area. The most frequent word lands in the middle; a word that finds no room is left out rather than overlapped.
 * Deterministic: the same words give the same picture on the moderator's screen and the projector.
 */

export interface CloudWord {
  readonly text: string;
  readonly count: number;
}

export interface PlacedWord extends CloudWord {
  /** centre of the word's box */
  readonly x: number;
  readonly y: number;
  /** font size, in the layout's units */
  readonly size: number;
  readonly width: number;
  readonly height: number;
  /** 0 for the most frequent word, counting up: pages pick colours by rank */
  readonly rank: number;
}

export interface CloudOptions {
  readonly width: number;
  readonly height: number;
  readonly minSize?: number;
  readonly maxSize?: number;
  /** space kept between boxes */
  readonly padding?: number;
  /** width of `text` at font size `size` (a canvas measure in the browser; an estimate elsewhere) */
  readonly measure?: (text: string, size: number) => number;
}

/** A measure good enough without a canvas: an average glyph is about 0.58 em wide in a bold sans-serif. */
export const estimateWidth = (text: string, size: number): number => [...text].length * size * 0.58;

interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/**
 * Lays words out in a `width` × `height` area.
 * @example layoutWordCloud([{ text: 'rust', count: 9 }, { text: 'go', count: 3 }], { width: 800, height: 450 })
 *   // [{ text: 'rust', x: 400, y: 225, size: 96, ... }, { text: 'go', ... }]
 */
export function layoutWordCloud(words: readonly CloudWord[], options: CloudOptions): PlacedWord[] {
  const { width, height } = options;
  const minSize = options.minSize ?? Math.max(12, height / 22);
  const maxSize = options.maxSize ?? Math.max(minSize, height / 4.5);
  const padding = options.padding ?? Math.max(2, minSize / 5);
  const measure = options.measure ?? estimateWidth;
  const sorted = [...words].filter((w) => w.count > 0 && w.text.length > 0).sort((a, b) => b.count - a.count || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  if (sorted.length === 0) return [];

  // Area tracks the square root of the count: a word said four times as often looks twice as big, not four times.
  const most = Math.sqrt(sorted[0]!.count);
  const least = Math.sqrt(sorted[sorted.length - 1]!.count);
  const sizeOf = (count: number) => (most === least ? (sorted.length === 1 ? maxSize : (minSize + maxSize) / 2) : minSize + ((Math.sqrt(count) - least) / (most - least)) * (maxSize - minSize));

  // Many words at those sizes would not fit: shrink them all alike until their boxes cover about half the area,
  // which a spiral packs without leaving most of them out.
  const area = sorted.reduce((sum, w) => {
    const size = sizeOf(w.count);
    return sum + (measure(w.text, size) + padding) * (size * 1.05 + padding);
  }, 0);
  const fit = Math.min(1, Math.sqrt((0.5 * width * height) / area));

  const placed: PlacedWord[] = [];
  const boxes: Box[] = [];
  const cx = width / 2;
  const cy = height / 2;
  // The spiral is stretched to the area's aspect ratio so a wide area fills sideways, not just in a circle.
  const aspect = width / height;
  // Turns of the spiral `spacing` apart, sampled about every `spacing` along it (finer near the centre).
  const spacing = Math.max(2, minSize / 3);
  const maxRadius = Math.hypot(width, height) / 2;

  sorted.forEach((word, rank) => {
    let size = Math.max(Math.min(minSize, 10), sizeOf(word.count) * fit);
    // A word wider than the whole area is shrunk to fit before it is placed.
    const fullWidth = measure(word.text, size);
    if (fullWidth > width - 2 * padding) size = Math.max(1, size * ((width - 2 * padding) / fullWidth));
    const w = measure(word.text, size);
    const h = size * 1.05;
    for (let t = 0; ; ) {
      const r = (spacing * t) / (2 * Math.PI);
      if (r > maxRadius) return; // no room left for this one
      const x = cx + r * Math.cos(t) * Math.sqrt(aspect);
      const y = cy + (r * Math.sin(t)) / Math.sqrt(aspect);
      t += Math.min(0.35, spacing / Math.max(r, 1));
      const box = { left: x - w / 2, top: y - h / 2, right: x + w / 2, bottom: y + h / 2 };
      if (box.left < 0 || box.top < 0 || box.right > width || box.bottom > height) continue;
      if (boxes.some((b) => overlaps(b, box, padding))) continue;
      boxes.push(box);
      placed.push({ text: word.text, count: word.count, x, y, size, width: w, height: h, rank });
      return;
    }
  });
  return placed;
}

function overlaps(a: Box, b: Box, padding: number): boolean {
  return a.left < b.right + padding && b.left < a.right + padding && a.top < b.bottom + padding && b.top < a.bottom + padding;
}
