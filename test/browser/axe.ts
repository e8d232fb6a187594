/**
 * Accessibility checks for the browser tests (issue 15: "accessible (keyboard, labels, contrast)"):
 * axe-core, the engine behind most accessibility audits, run in the page against WCAG 2.x A and AA
 * rules. A violation of serious or critical impact fails the test, each listed with its rule, what
 * it means and the elements it found.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Runs axe-core on the page as it is now; throws an AssertionError listing serious and critical WCAG A/AA violations. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations)`)) as AxeViolation[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${what}: accessibility violations`,
  );
}
