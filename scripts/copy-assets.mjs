// Part of `npm run build`: what the compiled modules read beside them.
// - Each built-in transform reads its docs from the README.md next to its
//   module (src/engine/docs.ts), so dist/transforms/<id>/ needs the page too.
// - The shell parser loads the bash grammar's WASM build from dist/grammar/
//   (src/shell/script.ts): copied from the tree-sitter-bash release pinned in
//   devDependencies, with its licence, so that installing dockopt does not
//   pull that package's native builds and C sources.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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

const require = createRequire(import.meta.url);
const grammarPackage = path.dirname(require.resolve('tree-sitter-bash/package.json'));
const grammarTarget = path.join(root, 'dist', 'grammar');
mkdirSync(grammarTarget, { recursive: true });
copyFileSync(path.join(grammarPackage, 'tree-sitter-bash.wasm'), path.join(grammarTarget, 'tree-sitter-bash.wasm'));
copyFileSync(path.join(grammarPackage, 'LICENSE'), path.join(grammarTarget, 'LICENSE.tree-sitter-bash'));
