import type { Heatmap } from '@opshub/schema';

/** One cell of the matrix chart: `x` the column index, `y` the row label, `v` the value, `t` the column's start. */
export interface HeatCell {
  readonly x: number;
  readonly y: string;
  readonly v: number;
  readonly t: number;
}

/**
 * The heatmap's matrix as chartjs-chart-matrix data points, and the largest value (for the colour scale).
 * @example cellsOf(heatmap).cells[0] // { x: 0, y: 'Booth 1', v: 12, t: 1780300800000 }
 */
export function cellsOf(heatmap: Pick<Heatmap, 'rows' | 'columns' | 'values'>): { cells: HeatCell[]; max: number } {
  const cells: HeatCell[] = [];
  let max = 0;
  heatmap.rows.forEach((row, r) => {
    heatmap.columns.forEach((t, c) => {
      const v = heatmap.values[r]?.[c] ?? 0;
      if (v > max) max = v;
      cells.push({ x: c, y: row.label, v, t });
    });
  });
  return { cells, max };
}

/**
 * The fill of a cell: the accent colour with an opacity that grows with the value (a floor keeps small values visible
 * against the background; zero stays empty).
 * @example cellColor(5, 10, '#ffd23f') // 'rgba(255, 210, 63, 0.55)'
 */
export function cellColor(v: number, max: number, hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  const alpha = v <= 0 || max <= 0 ? 0.04 : 0.1 + 0.9 * (v / max);
  return `rgba(${r}, ${g}, ${b}, ${Number(alpha.toFixed(2))})`;
}
