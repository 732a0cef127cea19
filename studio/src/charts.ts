// Small SVG charts drawn from data the page already holds: a line chart (the training loss, the
// earnings over time) and the lineage graph of an adapter.

import { s } from './dom';

export interface Point {
  x: number;
  y: number;
}

/** A line chart of `points` with its axes' ranges written at the corners. */
export function lineChart(points: Point[], labels: { x: string; y: string; format?: (y: number) => string; fromZero?: boolean }, width = 520, height = 200): SVGElement {
  const pad = { left: 56, right: 12, top: 12, bottom: 28 };
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': `${labels.y} by ${labels.x}` });
  const plot = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  svg.append(s('rect', { x: pad.left, y: pad.top, width: plot.w, height: plot.h, class: 'plot' }));
  if (points.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, 'no data yet'));
    return svg;
  }
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  // A loss curve is drawn between its own extremes; earnings from zero.
  const [y0, y1] = [labels.fromZero ? Math.min(0, ...ys) : Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad.left + (x1 === x0 ? plot.w / 2 : ((x - x0) / (x1 - x0)) * plot.w);
  const sy = (y: number) => pad.top + plot.h - (y1 === y0 ? plot.h / 2 : ((y - y0) / (y1 - y0)) * plot.h);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  svg.append(s('path', { d: path, class: 'line' }));
  for (const p of points.length <= 60 ? points : []) svg.append(s('circle', { cx: sx(p.x), cy: sy(p.y), r: 2.5, class: 'dot' }));
  const format = labels.format ?? ((y: number) => y.toFixed(3));
  svg.append(
    s('text', { x: pad.left - 4, y: pad.top + 10, 'text-anchor': 'end' }, format(y1)),
    s('text', { x: pad.left - 4, y: pad.top + plot.h, 'text-anchor': 'end' }, format(y0)),
    s('text', { x: pad.left, y: height - 8 }, `${labels.x} ${x0}`),
    s('text', { x: width - pad.right, y: height - 8, 'text-anchor': 'end' }, `${x1}`),
    s('text', { x: pad.left + plot.w / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, labels.y),
  );
  return svg;
}

export interface LineageNode {
  label: string;
  detail: string;
}

/**
 * The lineage of an adapter: the base model → the adapter ← the datanet version ← its
 * contributions (one box each, at most a dozen drawn).
 */
export function lineageGraph(base: LineageNode, adapter: LineageNode, version: LineageNode, contributions: LineageNode[]): SVGElement {
  const shown = contributions.slice(0, 12);
  const box = { w: 190, h: 46 };
  const rowGap = 56;
  const height = Math.max(3 * rowGap, shown.length * rowGap) + 20;
  const width = 4 * box.w + 3 * 50 + 20;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'lineage', role: 'img', 'aria-label': 'model lineage' });
  svg.append(
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z' }))),
  );
  const column = (i: number) => 10 + i * (box.w + 50);
  const middle = height / 2 - box.h / 2;
  const node = (x: number, y: number, n: LineageNode, kind: string) => {
    svg.append(
      s('g', { class: `node ${kind}` },
        s('rect', { x, y, width: box.w, height: box.h, rx: 6 }),
        s('text', { x: x + 8, y: y + 18, class: 'title' }, n.label),
        s('text', { x: x + 8, y: y + 36, class: 'detail' }, n.detail)),
    );
  };
  const arrow = (x1: number, y1: number, x2: number, y2: number) =>
    svg.append(s('line', { x1, y1, x2, y2, class: 'edge', 'marker-end': 'url(#arrow)' }));
  // Columns, left to right: base, adapter, version, contributions; arrows point at the adapter.
  node(column(0), middle, base, 'base');
  node(column(1), middle, adapter, 'adapter');
  node(column(2), middle, version, 'version');
  arrow(column(0) + box.w, middle + box.h / 2, column(1), middle + box.h / 2);
  arrow(column(2), middle + box.h / 2, column(1) + box.w, middle + box.h / 2);
  const top = height / 2 - (shown.length * rowGap) / 2 + (rowGap - box.h) / 2;
  shown.forEach((c, i) => {
    const y = top + i * rowGap;
    node(column(3), y, c, 'contribution');
    arrow(column(3), y + box.h / 2, column(2) + box.w, middle + box.h / 2);
  });
  return svg;
}
