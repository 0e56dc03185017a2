// The quick start of a package's README, so the tests run exactly what the
// docs tell people to paste.
import fs from 'node:fs/promises';
import path from 'node:path';

/** The first ```js block under the README's "## Quick start" heading. */
export async function quickStart(packageDir) {
  const text = await fs.readFile(path.join(packageDir, 'README.md'), 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) throw new Error(`${packageDir}/README.md has no "## Quick start" section`);
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error(`${packageDir}/README.md's quick start has no js block`);
  return m[1];
}

/**
 * Writes `code` as a module inside `packageDir` (so `@oneauth/*` resolves
 * through the workspace) and answers its path and a remover.
 */
export async function asModule(packageDir, code) {
  const file = path.join(packageDir, 'test', `.quickstart-${process.pid}-${Date.now()}.mjs`);
  await fs.writeFile(file, code);
  return { file, remove: () => fs.rm(file, { force: true }) };
}
