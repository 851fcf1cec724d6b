import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { noBrowser, screenshots, testBrowser } from '../harness/browser';
import { gtidflow } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/** What an operator sees of a switchover in the Temporal Web UI, in a real browser. Screenshots: .gtidflow/web-ui/. */
describe('the Web UI', { skip: noBrowser() }, () => {
  const sandbox = testSandbox('web-ui');
  const browser = testBrowser();
  const screenshot = screenshots('web-ui');
  let ui: string;
  let page: Page;
  let oldPrimary: string;
  let candidate: string;
  let switchover: { n: string; workflowId: string };

  before(async () => {
    const endpoints = await sandbox.up();
    ui = endpoints.temporal.ui!;
    // A new sandbox's primary is its first server.
    [oldPrimary, candidate] = endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`);
    const promote = await gtidflow(['promote', 'sandbox', '--candidate', candidate], sandbox.env);
    assert.equal(promote.code, 0, promote.stderr);
    const [, n, workflowId] = /switchover #(\d+) started: (\S+)/.exec(promote.stdout)!;
    switchover = { n, workflowId };
    page = await browser.page();
  });

  test('the workflow list, filtered by GtidflowCluster, shows the conductor and the switchover; its link opens the history', async () => {
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent('GtidflowCluster="sandbox"')}`);
    const link = page.getByRole('link', { name: switchover.workflowId, exact: true });
    await link.waitFor();
    await page.getByRole('link', { name: 'cluster:sandbox', exact: true }).waitFor();
    // The URL's query became the list's filter (the UI shows it as one), not text it ignored.
    await page.getByRole('button', { name: /GtidflowCluster\s*=\s*"sandbox"/ }).waitFor();
    await screenshot(page, 'workflows');
    await link.click();
    await page.waitForURL(new RegExp(`/namespaces/default/workflows/${encodeURIComponent(switchover.workflowId)}/[0-9a-f-]+/history$`));
  });

  test('the switchover history shows a summary on every activity', async () => {
    // The timeline names each activity "<type> • <summary>".
    const fenced = page.getByText(`fencePrimary • ${fenceSummary(oldPrimary)}`, { exact: true });
    await fenced.waitFor();
    await page.getByText(`promote • promote ${candidate}`, { exact: true }).waitFor();
    await fenced.scrollIntoViewIfNeeded();
    await screenshot(page, 'switchover-history');
  });

  test('User Metadata shows the summary the conductor set, the details and the steps the switchover went through', async () => {
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await page.waitForURL(/\/user-metadata$/);
    await markdownUnder(page, 'Summary').getByText(`switchover #${switchover.n} of cluster sandbox to ${candidate}`, { exact: true }).waitFor();
    await markdownUnder(page, 'Details').getByText(`primary before: ${oldPrimary}`).waitFor();
    // Current details: the worker answers the Web UI's metadata query with the last step first, then the ones before.
    const steps = markdownUnder(page, 'Current Details');
    await steps.getByText(`done: ${candidate} is primary, ${oldPrimary} replicates from it`).waitFor();
    await steps.getByText(`promoting ${candidate}`, { exact: true }).waitFor();
    await page.getByText(fenceSummary(oldPrimary), { exact: true }).waitFor();
    await screenshot(page, 'switchover-user-metadata');
  });
});

/** The summary of a switchover's fence of the old primary (workflows/operations/switchover.ts). */
const fenceSummary = (oldPrimary: string) => `read_only on ${oldPrimary}, its client sessions ended, its final position read`;

/** The Web UI renders summaries and details as markdown, each in an iframe of its own below its heading. */
function markdownUnder(page: Page, heading: string) {
  return page.locator(`xpath=//h3[normalize-space()="${heading}"]/ancestor::div[contains(@class, "surface-information")][1]/following-sibling::*[1]//iframe`).contentFrame();
}
