/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against the
 * real platform: the gateway serves the built console. Elements are found by role and label, as a
 * person finds them; every screen is checked with axe (no serious or critical violation), and a
 * screenshot of each step is saved under test-results/console/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminAccount,
  createAccount,
  createApiKey,
  createEvent,
  createReward,
  postActivities,
  signIn as apiSignIn,
  type Account,
} from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(root, 'test-results', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_TIMEOUT = 15_000;

interface Receiver {
  url: string;
  received: { id: string; type: string }[];
  close(): Promise<void>;
}

/** A game server's webhook endpoint on loopback: answers 204 and keeps what it got. */
async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ id: String(req.headers['webhook-id']), type: (JSON.parse(body) as { type: string }).type });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the console in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  let player: Account;
  let apiKey: string;
  let receiver: Receiver;
  const axeFindings: { screen: string; id: string; impact: string; nodes: string[] }[] = [];
  const cspViolations: string[] = [];
  let step = 0;
  const timings: Record<string, number> = {};

  /** A fresh browser context (its own sessionStorage): one person at one browser. */
  async function open(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) {
        cspViolations.push(`after step ${step} at ${page.url()}: ${msg.text()}`);
      }
    });
    return { context, page };
  }

  /** Screenshot of a step, and axe on the screen as it is: serious or critical findings fail the test. */
  async function check(page: Page, screen: string) {
    step++;
    await page.screenshot({ path: join(SHOTS, `${String(step).padStart(2, '0')}-${screen}.png`), fullPage: true });
    const result = await new AxeBuilder({ page }).analyze();
    for (const v of result.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        axeFindings.push({
          screen,
          id: v.id,
          impact: v.impact,
          nodes: v.nodes.map(
            (n) => `${n.target.join(' ')}: ${n.html.slice(0, 120)} — ${n.failureSummary?.slice(0, 200)}`,
          ),
        });
      }
    }
  }

  async function signIn(page: Page, account: { email: string; password: string }) {
    await page.goto(stack.gatewayUrl);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(account.email);
    await page.getByRole('textbox', { name: 'Password' }).fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  const nav = (page: Page, name: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  /** A node of the condition builder: its fieldset, named by its legend. */
  const node = (page: Page, name: string) => page.getByRole('group', { name, exact: true });
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText (cells come apart), not the DOM's
  const text = async (locator: Locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
  /**
   * A fresh admin token for the test's own API calls (tokens live 30 s here). Signing in ends the
   * admin's other sessions, so this is never called while the admin uses the browser.
   */
  const adminToken = () => apiSignIn(stack, admin.email, admin.password);

  beforeAll(async () => {
    if (!existsSync(join(root, 'apps/console/dist/index.html'))) {
      throw new Error('The console is not built: run `pnpm --filter @rewards/console build` (pnpm test does)');
    }
    mkdirSync(SHOTS, { recursive: true });
    // Short-lived access tokens: the console must refresh them itself while the flows run.
    receiver = await startReceiver();
    stack = await startStack({ env: { ACCESS_TOKEN_TTL_SECONDS: '30', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    admin = await adminAccount(stack);
    [operator, auditor, player] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
      createAccount(stack, admin.token, { label: 'player' }),
    ]);
    apiKey = (await createApiKey(stack, admin.token)).key;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await receiver?.close();
  });

  it('serves the console under a strict Content-Security-Policy, and / redirects to it', async () => {
    const home = await fetch(stack.gatewayUrl, { redirect: 'manual' });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/console/');
    const page = await fetch(`${stack.gatewayUrl}/console/events/anything`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toBe(
      `default-src 'self'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; ` +
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'",
    );
    const html = await page.text();
    expect(html).toContain(`<meta name="csp-nonce" content="${nonce}"`);
    // Nothing from another host, no inline script.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('an operator builds ALL(LOGIN_DAYS 1, ACTIVITY_COUNT QUEST_CLEARED 2), adds stock 5, activates', async () => {
    const { context, page } = await open();
    await page.goto(stack.gatewayUrl);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await check(page, 'sign-in');

    const started = Date.now();
    await page.getByLabel('Email').fill(operator.email);
    await page.getByRole('textbox', { name: 'Password' }).fill(operator.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    await page.getByText('No events match these filters.').waitFor();
    timings.signInToEvents = Date.now() - started;
    // Operators see operator screens only.
    expect(await nav(page, 'Approval queue').count()).toBe(1);
    expect(await nav(page, 'Users').count()).toBe(0);
    expect(await nav(page, 'Audit log').count()).toBe(0);
    await check(page, 'operator-events-empty');

    // A reload keeps the session (it lives in the tab), and nothing is in localStorage.
    await page.reload();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    const stored = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: sessionStorage.getItem('rewards.console.session'),
    }));
    const firstTokens = JSON.parse(stored.session!) as { accessToken: string; refreshToken: string };
    expect(stored.local).not.toContain(firstTokens.accessToken);
    expect(stored.local).not.toContain(firstTokens.refreshToken);

    await page.getByRole('link', { name: 'New event' }).click();
    await page.getByRole('heading', { name: 'New event' }).waitFor();
    const title = `Daily quests ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Description').fill('Log in and clear two quests.');
    // The time-zone picker starts at Asia/Seoul.
    expect(await page.getByRole('combobox', { name: 'Time zone' }).inputValue()).toBe('Asia/Seoul');
    await page.getByLabel('Approval').selectOption('AUTO');
    // Started yesterday, in Seoul's local time.
    const yesterday = new Date(Date.now() - 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 16);
    await page.getByLabel('Starts').fill(yesterday);

    // The builder: ALL of a LOGIN_DAYS leaf and an ACTIVITY_COUNT leaf.
    await node(page, 'Condition').getByLabel('Type').first().selectOption('ALL');
    await node(page, 'Condition 1').getByLabel('Type').selectOption('LOGIN_DAYS');
    await node(page, 'Condition 1').getByLabel('Days').fill('1');
    await page.getByRole('button', { name: 'Add condition to Condition', exact: true }).click();
    await node(page, 'Condition 2').getByLabel('Type').selectOption('ACTIVITY_COUNT');
    await node(page, 'Condition 2').getByLabel('Times').fill('2');
    await check(page, 'operator-event-form');

    // Sent with an activity name that is not UPPER_SNAKE: the API's validation error shows on that field.
    const activity = node(page, 'Condition 2').getByLabel('Activity');
    await activity.fill('quest cleared');
    await page.getByRole('button', { name: 'Create event' }).click();
    await page.getByText('The event was not saved').waitFor();
    await expect.poll(() => activity.getAttribute('aria-invalid')).toBe('true');
    expect(await text(node(page, 'Condition 2'))).toContain('must be UPPER_SNAKE_CASE');
    await check(page, 'operator-event-form-error');

    await activity.fill('QUEST_CLEARED');
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = JSON.parse(await page.getByLabel('Condition as JSON').inputValue());
    expect(json).toEqual({
      type: 'ALL',
      of: [
        { type: 'LOGIN_DAYS', days: 1 },
        { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 2 },
      ],
    });
    await check(page, 'operator-condition-json');
    await page.getByRole('button', { name: 'Create event' }).click();
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();

    // A reward with stock 5.
    const rewardForm = page.getByRole('form', { name: 'Add a reward' });
    await rewardForm.getByLabel('Type').selectOption('ITEM');
    await rewardForm.getByLabel('Name').fill('Gold chest');
    await rewardForm.getByLabel('Item code').fill('CHEST_GOLD');
    await rewardForm.getByLabel('Quantity').fill('1');
    await rewardForm.getByLabel('Stock').fill('5');
    await rewardForm.getByRole('button', { name: 'Add reward' }).click();
    const rewards = page.getByRole('region', { name: 'Rewards' });
    await rewards.getByRole('cell', { name: 'Gold chest' }).waitFor();
    expect(await text(rewards.getByRole('row', { name: /Gold chest/ }))).toBe('Gold chest Item CHEST_GOLD 1 5 5');

    // Activate, with a confirmation.
    await page.getByRole('button', { name: 'Activate' }).click();
    const dialog = page.getByRole('dialog', { name: `Activate “${title}”?` });
    await check(page, 'operator-activate-confirm');
    await dialog.getByRole('button', { name: 'Activate' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText('Active', { exact: true }).first().waitFor();
    await page.getByRole('region', { name: 'Statistics' }).getByRole('table').first().waitFor();
    await check(page, 'operator-event-active');

    const token = await adminToken();
    const events = await stack.client.call('listEvents', { token, query: { status: 'ACTIVE' } });
    const created = events.body.items.find((e) => e.title === title)!;
    expect(created).toMatchObject({
      status: 'ACTIVE',
      timezone: 'Asia/Seoul',
      approval: 'AUTO',
      description: 'Log in and clear two quests.',
      condition: json,
    });
    const listed = await stack.client.call('listRewards', { token, params: { id: created.id } });
    expect(listed.body.items).toMatchObject([
      { type: 'ITEM', name: 'Gold chest', itemCode: 'CHEST_GOLD', quantity: 1, stock: 5, remaining: 5 },
    ]);

    // The session outlived its first 30-second access token: the console refreshed it.
    await page.waitForTimeout(Math.max(0, 35_000 - (Date.now() - started)));
    await nav(page, 'Events').click();
    await page.getByRole('link', { name: title }).waitFor();
    // The status filter.
    await page.getByLabel('Status').selectOption('DRAFT');
    await page.getByText('No events match these filters.').waitFor();
    await page.getByLabel('Status').selectOption('ACTIVE');
    await page.getByRole('link', { name: title }).click();
    // Edit: the form comes back with the event's values; a new title is saved.
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: `Edit “${title}”` }).waitFor();
    expect(await node(page, 'Condition 2').getByLabel('Activity').inputValue()).toBe('QUEST_CLEARED');
    await page.getByLabel('Title').fill(`${title}!`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: `${title}!`, level: 1 }).waitFor();
    const later = JSON.parse((await page.evaluate(() => sessionStorage.getItem('rewards.console.session')))!);
    expect(later.refreshToken).not.toBe(firstTokens.refreshToken);

    // Sign-out ends the session in the tab.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('rewards.console.session'))).toBeNull();
    await context.close();
  });

  it('a player sees its progress, claims, sees it approved and the reward under my rewards', async () => {
    const events = await stack.client.call('listEvents', { token: await adminToken(), query: { status: 'ACTIVE' } });
    const event = events.body.items.find((e) => e.title.startsWith('Daily quests'))!;
    await postActivities(stack, apiKey, [
      { userId: player.id, type: 'QUEST_CLEARED', occurredAt: new Date().toISOString() },
    ]);
    const { context, page } = await open();
    await signIn(page, player);
    await page.getByRole('heading', { name: 'Player view', level: 1 }).waitFor();
    // Players see the player view only.
    expect(await nav(page, 'Events').count()).toBe(0);
    const card = page.getByRole('article', { name: event.title });
    const progress = card.getByRole('list', { name: `Progress in ${event.title}` });
    // Today's sign-in reaches the event service through auth's outbox.
    await progress.getByText('1 of 1 days').waitFor({ timeout: 20_000 });
    await progress.getByText('1 of 2 × QUEST_CLEARED').waitFor();
    await check(page, 'player-progress');

    await postActivities(stack, apiKey, [
      { userId: player.id, type: 'QUEST_CLEARED', occurredAt: new Date().toISOString() },
    ]);
    await page.reload();
    await progress.getByText('2 of 2 × QUEST_CLEARED').waitFor();
    await card.getByRole('button', { name: `Claim the rewards of ${event.title}` }).click();
    await card.getByText('Approved: the rewards are yours').waitFor();
    const mine = page.getByRole('table', { name: 'My rewards' });
    await mine.getByRole('cell', { name: 'Gold chest' }).waitFor();
    await check(page, 'player-claimed');

    const grants = await stack.client.call('grantsFeed', { token: await adminToken(), query: { userId: player.id } });
    expect(grants.body.items).toMatchObject([{ name: 'Gold chest', quantity: 1, eventId: event.id }]);
    await context.close();
  });

  it("an operator bulk-approves a MANUAL event's pending claims", async () => {
    const ready = { type: 'ACTIVITY_COUNT', activity: 'READY', count: 1 } as const;
    const token = await adminToken();
    const event = await createEvent(stack, token, ready, {
      approval: 'MANUAL',
      title: `Manual ${randomBytes(3).toString('hex')}`,
    });
    await createReward(stack, token, event.id, { type: 'POINT', name: 'Review points', quantity: 100 });
    const claimants = await Promise.all([1, 2, 3].map(() => createAccount(stack, token)));
    await postActivities(
      stack,
      apiKey,
      claimants.map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
    const claims = [];
    for (const p of claimants) {
      const res = await stack.client.call('createClaim', { token: p.token, params: { id: event.id } });
      expect(res.body.claim.status).toBe('PENDING');
      claims.push(res.body.claim);
    }

    const { context, page } = await open();
    await signIn(page, operator);
    await nav(page, 'Approval queue').click();
    await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption({ label: event.title });
    const rows = page.getByRole('table').getByRole('row');
    await expect.poll(() => rows.count()).toBe(4);
    await check(page, 'operator-queue');

    // Reject one with a reason, then approve the other two in bulk.
    const first = claimants[0]!;
    await page.getByRole('checkbox', { name: new RegExp(first.id.slice(0, 8)) }).check();
    await page.getByRole('button', { name: 'Reject selected (1)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reject 1 claim(s)' });
    await dialog.getByLabel('Reason').fill('Duplicate account');
    await check(page, 'operator-reject-reason');
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await page.getByText('1 decided, 0 refused.').waitFor();
    await expect.poll(() => rows.count()).toBe(3);

    await page.getByRole('checkbox', { name: 'Select all claims' }).check();
    await page.getByRole('button', { name: 'Approve selected (2)' }).click();
    await page.getByText('2 decided, 0 refused.').waitFor();
    await page.getByText('No claims are waiting for a decision.').waitFor();
    await check(page, 'operator-queue-decided');

    const after = await stack.client.call('listClaims', { token: await adminToken(), query: { eventId: event.id } });
    const byId = new Map(after.body.items.map((c) => [c.id, c]));
    expect(byId.get(claims[0]!.id)).toMatchObject({ status: 'REJECTED', note: 'Duplicate account' });
    expect(byId.get(claims[1]!.id)).toMatchObject({ status: 'APPROVED', decidedBy: operator.id });
    expect(byId.get(claims[2]!.id)).toMatchObject({ status: 'APPROVED', decidedBy: operator.id });
    await context.close();
  });

  it('an auditor reads the claim history and the audit log, and verifies the chain', async () => {
    const { context, page } = await open();
    await signIn(page, auditor);
    expect(await nav(page, 'Approval queue').count()).toBe(0);
    await nav(page, 'Claim history').click();
    await page.getByRole('heading', { name: 'Claim history' }).waitFor();
    await page.getByRole('cell', { name: 'Duplicate account' }).waitFor();
    await check(page, 'auditor-claims');

    await nav(page, 'Audit log').click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page
      .getByRole('button', { name: /Changes of claim\.approve/ })
      .first()
      .click();
    await page
      .getByRole('table', { name: /Changes of claim\.approve/ })
      .getByText('status (changed)')
      .waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText('The chain is intact').waitFor();
    await check(page, 'auditor-audit-verified');
    await context.close();
  });

  it('an admin creates an API key (shown once, it works) and a webhook, and sees a test delivery', async () => {
    const { context, page } = await open();
    await signIn(page, admin);
    await nav(page, 'Users').click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByRole('cell', { name: player.email, exact: true }).waitFor();
    await check(page, 'admin-users');

    await nav(page, 'API keys').click();
    const form = page.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Name').fill('game server one');
    await form.getByLabel(/grants:read/).check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByLabel('The new API key').textContent())!.trim();
    expect(key.length).toBeGreaterThan(20);
    await check(page, 'admin-api-key-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByLabel('The new API key').count()).toBe(0);
    await page.getByRole('cell', { name: 'game server one' }).waitFor();

    const feed = await stack.client.call('grantsFeed', { apiKey: key });
    expect(feed.status).toBe(200);

    // A webhook: its secret shown once, a test message sent and seen delivered.
    await nav(page, 'Webhooks').click();
    const hookForm = page.getByRole('form', { name: 'Create a webhook' });
    await hookForm.getByLabel('URL').fill(`${receiver.url}/hooks/rewards`);
    await hookForm.getByRole('button', { name: 'Create webhook' }).click();
    const secret = (await page.getByLabel('The signing secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Send a test message' }).click();
    const deliveries = page.getByRole('table', { name: /Deliveries to/ });
    await deliveries.getByRole('row', { name: /webhook\.test.*Delivered/ }).waitFor({ timeout: 20_000 });
    await check(page, 'admin-webhook-delivered');
    expect(receiver.received.map((r) => r.type)).toContain('webhook.test');
    await context.close();
  });

  it('speaks Korean when the browser does', async () => {
    const context = await browser.newContext({ locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(stack.gatewayUrl);
    await page.getByRole('heading', { name: '로그인' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ko');
    await check(page, 'sign-in-korean');
    await context.close();
  });

  it('has no serious or critical accessibility finding on any screen, and no CSP violation', () => {
    console.info(`sign-in to the events list: ${timings.signInToEvents} ms; screenshots in ${SHOTS}`);
    expect(step).toBeGreaterThanOrEqual(15);
    expect(axeFindings).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
