// Browser acceptance test of the sparkplane web portal: real Chromium (Debian's, through npm
// playwright-core) against `sparkplane serve` and a real OIDC provider (oidc-provider.mjs).
// Driven by crates/sparkplane/tests/portal_browser.rs, which starts both and seeds the data.
//
// Environment: BASE (https://127.0.0.1:PORT), ISSUER, INSTANCE_A, INSTANCE_B, APP_B (summary
// id of a run of instance B), SHOTS (screenshot directory), SPARKPLANE_CHROMIUM (optional).
// Prints one line per passed check; exits 1 on the first failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing ${k}`); process.exit(2); } return v; };
const BASE = env('BASE'), ISSUER = env('ISSUER'), A = env('INSTANCE_A'), B = env('INSTANCE_B');
const APP_B = env('APP_B'), SHOTS = env('SHOTS');
mkdirSync(SHOTS, { recursive: true });

function check(cond, what) {
  if (!cond) { console.error(`FAIL: ${what}`); throw new Error(what); }
  console.log(`ok: ${what}`);
}

async function oidcLogin(ctx, who) {
  const page = await ctx.newPage();
  const first = await page.goto(`${BASE}/ui/`);
  check(page.url().includes('/ui/login'), `${who}: an anonymous visit lands on the login page (${first.status()})`);
  await page.click('#sso');
  try {
    await page.waitForURL((u) => u.toString().startsWith(ISSUER), { timeout: 15000 });
  } catch (e) {
    console.error(`still at ${page.url()}: ${(await page.textContent('body')).slice(0, 500)}`);
    throw e;
  }
  await page.fill('input[name=login]', who);
  await page.fill('input[name=password]', 'any-password');
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  // oidc-provider's consent step (first login of a user).
  for (let i = 0; i < 3 && page.url().startsWith(ISSUER); i++) {
    const button = page.locator('button');
    if ((await button.count()) === 0) {
      console.error(`provider page ${page.url()}: ${(await page.content()).match(/"errorCode":"[^"]*"/)}`);
      break;
    }
    await Promise.all([page.waitForLoadState('load'), button.last().click()]);
  }
  await page.waitForURL((u) => u.toString().startsWith(BASE), { timeout: 15000 });
  await page.waitForLoadState('load');
  return page;
}

const browser = await chromium.launch({
  executablePath: process.env.SPARKPLANE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
let failed = false;
try {
  // 1. A listed user logs in through the provider and sees the instance's runs and an app.
  const alice = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  const page = await oidcLogin(alice, 'alice');
  check(new URL(page.url()).pathname === '/ui/', 'alice: logged in, on the instances page');
  const cookies = await alice.cookies(BASE);
  const sess = cookies.find((c) => c.name === '__Host-sparkplane_session');
  check(sess && sess.secure && sess.httpOnly && sess.sameSite === 'Lax', 'session cookie is Secure, HttpOnly, SameSite=Lax');
  check((await page.locator(`a.card[href="/ui/i/${A}"]`).count()) === 1, 'alice sees instance A');
  check((await page.locator(`a.card[href="/ui/i/${B}"]`).count()) === 0, 'alice does not see instance B');
  await page.click(`a.card[href="/ui/i/${A}"]`);
  await page.waitForSelector('table.runs tr.run');
  const runs = await page.locator('table.runs tr.run').count();
  check(runs >= 5, `alice sees instance A's runs (${runs})`);
  check((await page.locator('.chip').count()) > 0, 'the run list shows insights');
  await page.screenshot({ path: `${SHOTS}/portal-runs.png` });
  // Filters and search.
  await page.fill('input[name=q]', 'zzz-no-such-app');
  await Promise.all([page.waitForLoadState('load'), page.click('form.filters button[type=submit]')]);
  check((await page.locator('table.runs tr.run').count()) === 0, 'search narrows the list');
  await page.goto(`${BASE}/ui/i/${A}`);
  // Live refresh: the polled fragment answers for this session.
  const poll = await page.evaluate(async (u) => (await fetch(u, { headers: { 'x-portal-poll': '1' } })).status, await page.getAttribute('#runs', 'data-poll'));
  check(poll === 200, 'the live-refresh fragment answers 200');
  // The app page with its charts.
  const spillRow = page.locator('table.runs tr.run', { hasText: 'spill' }).first();
  const target = (await spillRow.count()) ? spillRow : page.locator('table.runs tr.run').first();
  await Promise.all([page.waitForLoadState('load'), target.locator('a.run-name').click()]);
  await page.waitForSelector('svg[data-chart]');
  const charts = await page.$$eval('svg[data-chart]', (l) => l.map((s) => s.getAttribute('data-chart')));
  check(['timeline', 'usage', 'distribution'].every((c) => charts.includes(c)), `app page has its charts (${charts.join(', ')})`);
  check((await page.locator('svg[data-chart=timeline] rect.job').count()) > 0, 'the timeline has job bars');
  check((await page.locator('article.insight').count()) > 0, 'the app page shows insights');
  await page.screenshot({ path: `${SHOTS}/portal-app.png` });
  await page.locator('svg[data-chart=timeline]').evaluate((e) => e.scrollIntoView());
  await page.screenshot({ path: `${SHOTS}/portal-app-charts.png` });

  // 2. Instance B's URLs are 404 for a user of instance A.
  let r = await page.goto(`${BASE}/ui/i/${B}`);
  check(r.status() === 404, `instance B's run list is 404 for alice (${r.status()})`);
  r = await page.goto(`${BASE}/ui/i/${B}/apps/${APP_B}`);
  check(r.status() === 404, `an app of instance B is 404 for alice (${r.status()})`);

  // 3. A form post without (or with a wrong) CSRF token is refused.
  await page.goto(`${BASE}/ui/i/${A}/settings`);
  const token = await page.getAttribute('#grant-form input[name=csrf]', 'value');
  check(token && token.length > 20, 'settings form carries a CSRF token');
  const noToken = await page.evaluate(async (u) => (await fetch(u, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'op=grant&principal=dave%40example.com&role=Reader', redirect: 'manual' })).status, `${BASE}/ui/i/${A}/settings/access`);
  check(noToken === 403, `form post without CSRF token refused (${noToken})`);
  const wrong = await page.evaluate(async (u) => (await fetch(u, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=AAAA&op=grant&principal=dave%40example.com&role=Reader', redirect: 'manual' })).status, `${BASE}/ui/i/${A}/settings/access`);
  check(wrong === 403, `form post with a wrong CSRF token refused (${wrong})`);
  const noLogoutToken = await page.evaluate(async (u) => (await fetch(u, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '', redirect: 'manual' })).status, `${BASE}/ui/logout`);
  check(noLogoutToken === 403, `logout without CSRF token refused (${noLogoutToken})`);
  r = await page.goto(`${BASE}/ui/i/${B}/settings`);
  check(r.status() === 404, 'instance B settings are 404 for alice');

  // 4. Logout ends the session (also server-side: the old cookie no longer works).
  await page.goto(`${BASE}/ui/`);
  await Promise.all([page.waitForLoadState('load'), page.click('#logout')]);
  check(page.url().includes('/ui/login'), 'logout returns to the login page');
  r = await page.goto(`${BASE}/ui/i/${A}`);
  check(page.url().includes('/ui/login'), 'after logout the run list asks for login again');
  const replay = await browser.newContext({ ignoreHTTPSErrors: true });
  await replay.addCookies([{ ...sess }]);
  const rp = await replay.newPage();
  await rp.goto(`${BASE}/ui/i/${A}`);
  check(rp.url().includes('/ui/login'), 'the old session cookie is dead after logout');
  await replay.close();
  await alice.close();

  // 5. An unlisted user sees "not authorized" and no data.
  for (const [who, what] of [['bob', 'an unlisted user'], ['carol', 'a listed e-mail that is not verified']]) {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const p = await oidcLogin(ctx, who);
    check((await p.locator('#not-authorized').count()) === 1, `${what} (${who}) sees "Not authorized"`);
    check(!(await ctx.cookies(BASE)).some((c) => c.name === '__Host-sparkplane_session'), `${who} gets no session`);
    const rr = await p.goto(`${BASE}/ui/i/${A}`);
    check(p.url().includes('/ui/login'), `${who} cannot open instance A (${rr.status()})`);
    await ctx.close();
  }

  // 6. The user of instance B sees B and not A.
  const dctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const d = await oidcLogin(dctx, 'dave');
  check((await d.locator(`a.card[href="/ui/i/${B}"]`).count()) === 1, 'dave sees instance B');
  r = await d.goto(`${BASE}/ui/i/${A}`);
  check(r.status() === 404, 'instance A is 404 for dave');
  await dctx.close();

  // 7. A user bound by OIDC identity (issuer + subject), whose e-mail is not verified, gets in.
  const ectx = await browser.newContext({ ignoreHTTPSErrors: true });
  const e = await oidcLogin(ectx, 'erin');
  check((await e.locator(`a.card[href="/ui/i/${B}"]`).count()) === 1, 'erin (bound by issuer + subject) sees instance B');
  r = await e.goto(`${BASE}/ui/i/${A}`);
  check(r.status() === 404, 'instance A is 404 for erin');
  await ectx.close();
} catch (e) {
  failed = true;
  console.error(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
