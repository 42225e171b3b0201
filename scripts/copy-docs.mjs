// Part of `npm run build`: each built-in transform reads its docs from the
// README.md next to its module (src/engine/docs.ts), so the compiled module
// in dist/transforms/<id>/ needs the page beside it too.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const entry of readdirSync(path.join(root, 'transforms'), { withFileTypes: true })) {
  const page = path.join(root, 'transforms', entry.name, 'README.md');
  if (!entry.isDirectory() || !existsSync(page)) continue;
  const target = path.join(root, 'dist', 'transforms', entry.name);
  mkdirSync(target, { recursive: true });
  copyFileSync(page, path.join(target, 'README.md'));
}
