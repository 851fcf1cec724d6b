import * as fs from 'node:fs';
import * as path from 'node:path';
import { after } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (client/setup.sh installs it); playwright-core never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run on this machine, or false when they can. */
export function noBrowser(): string | false {
  return fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: client/setup.sh installs the Debian package chromium where apt-get can`;
}

/**
 * A headless chromium of one test file's own (or suite's, called inside
 * describe), closed when it ends; `page()` opens a page on it whose every
 * wait gives up after 20 s.
 */
export function testBrowser(): { page(): Promise<Page> } {
  let browser: Browser | undefined;
  after(() => browser?.close());
  return {
    async page() {
      // --no-sandbox: the tests run as root, where chromium refuses to start its sandbox.
      browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(20_000);
      return page;
    },
  };
}

/** Saves screenshots under .gtidflow/<dir>/ of the repository (git-ignored), for a person to look at; returns a function taking one. */
export function screenshots(dir: string): (page: Page, name: string) => Promise<void> {
  const where = path.join(__dirname, '..', '..', '.gtidflow', dir);
  fs.mkdirSync(where, { recursive: true });
  return async (page, name) => {
    await page.screenshot({ path: path.join(where, `${name}.png`) });
  };
}
