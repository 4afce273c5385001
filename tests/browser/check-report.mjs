// Open a sparkplane HTML report in headless Chromium and check it.
//
//   node tests/browser/check-report.mjs REPORT.html SCREENSHOT.png [REPORT2.html SCREENSHOT2.png …]
//
// Uses Debian's chromium (SPARKPLANE_CHROMIUM, default /usr/bin/chromium) through npm
// playwright-core. Every request other than the report file itself is recorded and aborted.
// Prints one JSON object per report, one per line: external_requests, console_errors, charts (data points per
// svg[data-chart]), luma_stddev / distinct_colors of the full-page screenshot (decoded here
// with node's zlib: no image library), and exits 1 when a check fails.
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

const pairs = process.argv.slice(2);
if (pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error('usage: node check-report.mjs REPORT.html SCREENSHOT.png [REPORT2.html SCREENSHOT2.png …]');
  process.exit(2);
}
const executablePath = process.env.SPARKPLANE_CHROMIUM || '/usr/bin/chromium';

/** Decode an 8-bit, non-interlaced PNG (what Chromium writes) into {width, height, channels, data}. */
function decodePng(buf) {
  const sig = buf.subarray(0, 8).toString('hex');
  if (sig !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let pos = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.subarray(pos + 4, pos + 8).toString('latin1');
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      bitDepth = body[8];
      colorType = body[9];
      interlace = body[12];
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + len;
  }
  if (bitDepth !== 8 || interlace !== 0) throw new Error(`unsupported PNG (depth ${bitDepth}, interlace ${interlace})`);
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  if (!channels) throw new Error(`unsupported colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = out.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad filter ${filter}`);
      }
      cur[i] = v & 0xff;
    }
    prev = cur;
  }
  return { width, height, channels, data: out };
}

function pixelStats(img) {
  const { width, height, channels, data } = img;
  let n = 0, sum = 0, sumSq = 0;
  const colors = new Set();
  for (let i = 0; i < width * height; i++) {
    const o = i * channels;
    const r = data[o], g = channels >= 3 ? data[o + 1] : r, b = channels >= 3 ? data[o + 2] : r;
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    n++; sum += l; sumSq += l * l;
    if (colors.size < 100000) colors.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { luma_mean: mean, luma_stddev: Math.sqrt(Math.max(0, sumSq / n - mean * mean)), distinct_colors: colors.size };
}

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  for (let i = 0; i < pairs.length; i += 2) {
    const result = await check(pairs[i], pairs[i + 1]);
    console.log(JSON.stringify(result));
    if (result.failures.length) failed = true;
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

async function check(reportArg, pngArg) {
  const reportUrl = pathToFileURL(resolve(reportArg)).href;
  const result = { report: reportUrl, external_requests: [], console_errors: [], charts: {} };
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === reportUrl) return route.continue();
      result.external_requests.push(url);
      return route.abort();
    });
    page.on('request', (req) => {
      const url = req.url();
      if (url !== reportUrl && !url.startsWith('data:') && !result.external_requests.includes(url)) {
        result.external_requests.push(url);
      }
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') result.console_errors.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => result.console_errors.push(`pageerror: ${err.message}`));
    const resp = await page.goto(reportUrl, { waitUntil: 'load' });
    result.status = resp ? resp.status() : null;
    result.charts = await page.evaluate(() => {
      const out = {};
      for (const svg of document.querySelectorAll('svg[data-chart]')) {
        const box = svg.getBoundingClientRect();
        out[svg.dataset.chart] = box.width > 0 && box.height > 0 ? svg.querySelectorAll('[data-point]').length : 0;
      }
      return out;
    });
    result.insight_cards = await page.locator('article.card').count();
    result.title = await page.title();
    const png = await page.screenshot({ fullPage: true, type: 'png' });
    writeFileSync(pngArg, png);
    const img = decodePng(png);
    Object.assign(result, { screenshot: resolve(pngArg), width: img.width, height: img.height }, pixelStats(img));
  } finally {
    await context.close();
  }
  const failures = [];
  if (result.external_requests.length) failures.push('network requests were made');
  if (result.console_errors.length) failures.push('console errors');
  for (const c of ['timeline', 'usage', 'distribution']) {
    if (!(result.charts[c] > 0)) failures.push(`chart ${c} has no data points`);
  }
  if (!(result.luma_stddev > 8) || !(result.distinct_colors > 64)) failures.push('screenshot looks blank');
  result.failures = failures;
  return result;
}
