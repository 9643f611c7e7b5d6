// bench/tools/svg.mjs - a small SVG chart writer (bar charts with min-max whiskers, line charts)
// for BENCHMARKS.md. Written here because no installed npm package renders SVG without a browser
// (uplot needs a DOM, asciichart draws text).
const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
  '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/* Round step for about n ticks over [0, hi]. */
function niceStep(hi, n) {
  const raw = hi / n;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function frame(width, height, title, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>
${body}
</svg>
`;
}

/**
 * Horizontal bars: rows [{ name, value, lo, hi, highlight }], drawn from 0 with a min-max whisker.
 */
export function barChart({ title, unit, rows, width = 760 }) {
  const left = 150;
  const right = 90;
  const top = 36;
  const barH = 22;
  const gap = 8;
  const height = top + rows.length * (barH + gap) + 40;
  const hi = Math.max(...rows.map((r) => r.hi ?? r.value)) || 1;
  const step = niceStep(hi, 6);
  const xmax = Math.ceil(hi / step) * step;
  const plotW = width - left - right;
  const x = (v) => left + (v / xmax) * plotW;
  let body = '';
  for (let t = 0; t <= xmax + 1e-9; t += step) {
    body += `<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${height - 34}" stroke="#e5e5e5"/>`;
    body += `<text x="${x(t)}" y="${height - 20}" text-anchor="middle" fill="#555">${fmt(t)}</text>`;
  }
  body += `<text x="${left + plotW / 2}" y="${height - 4}" text-anchor="middle" fill="#333">${esc(unit)}</text>`;
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const color = r.highlight ? PALETTE[0] : PALETTE[1];
    body += `<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(r.name)}</text>`;
    body += `<rect x="${left}" y="${y}" width="${Math.max(1, x(r.value) - left)}" height="${barH}" fill="${color}" opacity="0.85"/>`;
    if (r.lo != null && r.hi != null) {
      const cy = y + barH / 2;
      body += `<line x1="${x(r.lo)}" y1="${cy}" x2="${x(r.hi)}" y2="${cy}" stroke="black"/>`;
      body += `<line x1="${x(r.lo)}" y1="${cy - 5}" x2="${x(r.lo)}" y2="${cy + 5}" stroke="black"/>`;
      body += `<line x1="${x(r.hi)}" y1="${cy - 5}" x2="${x(r.hi)}" y2="${cy + 5}" stroke="black"/>`;
    }
    body += `<text x="${Math.max(x(r.value), x(r.hi ?? r.value)) + 6}" y="${y + barH / 2 + 4}">${fmt(r.value)}</text>`;
  });
  return frame(width, height, title, body);
}

/**
 * Lines: series [{ name, points: [[x, y], ...] }] with optional horizontal and vertical markers
 * hlines/vlines [{ at, label }].
 */
export function lineChart({ title, xLabel, yLabel, series, hlines = [], vlines = [], width = 860, height = 460 }) {
  const left = 70;
  const right = 170;
  const top = 36;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(vlines.map((v) => v.at));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(hlines.map((h) => h.at));
  const xHi = Math.max(...xs, 1e-9);
  const yHi = Math.max(...ys, 1e-9);
  const xStep = niceStep(xHi, 8);
  const yStep = niceStep(yHi, 6);
  const xmax = Math.ceil(xHi / xStep) * xStep;
  const ymax = Math.ceil(yHi / yStep) * yStep;
  const X = (v) => left + (v / xmax) * plotW;
  const Y = (v) => top + plotH - (v / ymax) * plotH;
  let body = '';
  for (let t = 0; t <= xmax + 1e-9; t += xStep) {
    body += `<line x1="${X(t)}" y1="${top}" x2="${X(t)}" y2="${top + plotH}" stroke="#eee"/>`;
    body += `<text x="${X(t)}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${fmt(t)}</text>`;
  }
  for (let t = 0; t <= ymax + 1e-9; t += yStep) {
    body += `<line x1="${left}" y1="${Y(t)}" x2="${left + plotW}" y2="${Y(t)}" stroke="#eee"/>`;
    body += `<text x="${left - 6}" y="${Y(t) + 4}" text-anchor="end" fill="#555">${fmt(t)}</text>`;
  }
  body += `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`;
  body += `<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle">${esc(xLabel)}</text>`;
  body += `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`;
  for (const h of hlines) {
    body += `<line x1="${left}" y1="${Y(h.at)}" x2="${left + plotW}" y2="${Y(h.at)}" stroke="#555" stroke-dasharray="6 4"/>`;
    body += `<text x="${left + plotW - 4}" y="${Y(h.at) - 4}" text-anchor="end" fill="#555">${esc(h.label)}</text>`;
  }
  for (const v of vlines) {
    body += `<line x1="${X(v.at)}" y1="${top}" x2="${X(v.at)}" y2="${top + plotH}" stroke="#555" stroke-dasharray="6 4"/>`;
    body += `<text x="${X(v.at) + 4}" y="${top + 14}" fill="#555">${esc(v.label)}</text>`;
  }
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`).join(' ');
    body += `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.6}"/>`;
    const ly = top + 10 + i * 18;
    body += `<line x1="${left + plotW + 12}" y1="${ly}" x2="${left + plotW + 32}" y2="${ly}" stroke="${color}" stroke-width="3"/>`;
    body += `<text x="${left + plotW + 38}" y="${ly + 4}">${esc(s.name)}</text>`;
  });
  return frame(width, height, title, body);
}
