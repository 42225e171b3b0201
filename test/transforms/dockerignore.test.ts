import { inMemoryBuildContext } from '../../src/engine/build-context.js';
import { proposeDockerignore } from '../../transforms/dockerignore/index.js';

const COPY_ALL = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n';

function propose(files: Record<string, string>, dockerfile = COPY_ALL, existing?: string) {
  return proposeDockerignore({ context: inMemoryBuildContext({ Dockerfile: dockerfile, ...files }), dockerfiles: [dockerfile], existing });
}

describe('proposeDockerignore', () => {
  test('creates the file with entries for what exists, in a fixed order', () => {
    const result = propose({
      '.git/HEAD': 'ref\n',
      'node_modules/a/index.js': '',
      'app/__pycache__/m.pyc': '',
      'app/main.py': '',
      'logs/today.log': '',
      '.env': 'TOKEN=1\n',
      '.env.example': 'TOKEN=\n',
      '.env.production': 'TOKEN=2\n',
      '.idea/workspace.xml': '',
      'src/.DS_Store': '',
      'src/x.swp': '',
    });
    expect(result.output).toBe(
      '# added by dockopt\n.git\nnode_modules\n**/__pycache__\n.idea\n**/.DS_Store\n**/*.log\n**/*.swp\n.env\n.env.production\n',
    );
    expect(result.added).toEqual(['.git', 'node_modules', '**/__pycache__', '.idea', '**/.DS_Store', '**/*.log', '**/*.swp', '.env', '.env.production']);
    expect(result.notes).toEqual([]);
  });

  test('nothing that does not exist, and nothing when the context is clean', () => {
    expect(propose({ 'package.json': '{}', 'server.js': '' })).toEqual({ output: '', added: [], notes: [] });
    expect(propose({ 'package.json': '{}' }, COPY_ALL, '# mine\ntmp\n')).toEqual({ output: '# mine\ntmp\n', added: [], notes: [] });
  });

  test('extends an existing file after a blank line, keeping every user line and skipping what it already excludes', () => {
    const existing = '# mine\n.git/\n!keep.log\n';
    const result = propose({ '.git/HEAD': '', 'node_modules/a/index.js': '', 'keep.log': '' }, COPY_ALL, existing);
    expect(result.output).toBe('# mine\n.git/\n!keep.log\n\n# added by dockopt\nnode_modules\n');
    expect(result.notes).toEqual(['*.log not added: the .dockerignore re-includes keep.log with a ! pattern']);
  });

  test('is idempotent', () => {
    const files = { '.git/HEAD': '', 'web/node_modules/a/index.js': '', 'debug.log': '', '.env': '' };
    const first = propose(files);
    const second = propose(files, COPY_ALL, first.output);
    expect(second).toEqual({ output: first.output, added: [], notes: [] });
  });

  test('keeps CRLF line endings', () => {
    const result = propose({ '.git/HEAD': '', 'debug.log': '' }, COPY_ALL, '# mine\r\ntmp\r\n');
    expect(result.output).toBe('# mine\r\ntmp\r\n\r\n# added by dockopt\r\n.git\r\n*.log\r\n');
  });

  test('ends an existing last line without a newline first', () => {
    const result = propose({ '.git/HEAD': '' }, COPY_ALL, 'tmp');
    expect(result.output).toBe('tmp\n\n# added by dockopt\n.git\n');
  });

  test('never ignores what a COPY or ADD names, with a note', () => {
    const dockerfile = 'FROM alpine\nCOPY debug.log /logs/\nADD ["node_modules/pkg", "/opt/pkg"]\nCOPY --from=build /src/.git /x\nCOPY .env.production ./\n';
    const result = propose({ 'debug.log': '', 'node_modules/pkg/index.js': '', '.git/HEAD': '', '.env.production': 'A=1' }, dockerfile);
    expect(result.added).toEqual(['.git']);
    expect(result.notes).toEqual([
      'node_modules not added: `ADD ["node_modules/pkg", "/opt/pkg"]` copies node_modules',
      '*.log not added: `COPY debug.log /logs/` copies debug.log',
      '.env.production not added: `COPY .env.production ./` copies .env.production',
    ]);
  });

  test('COPY globs and variables count as naming what they may match', () => {
    const result = propose({ 'a.log': '', 'x/.env': '' }, 'FROM alpine\nARG DIR=x\nCOPY *.log /logs/\nCOPY ${DIR}/.env /app/\n');
    expect(result.added).toEqual([]);
    expect(result.notes).toHaveLength(2);
  });

  test('junk inside a copied directory is ignored; a secret inside one is not', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n';
    const result = propose({ 'web/node_modules/a.js': '', 'web/index.js': '', 'web/tls/server.key': key }, 'FROM nginx\nCOPY web/ /usr/share/nginx/html/\n');
    expect(result.added).toEqual(['**/node_modules']);
    expect(result.notes).toEqual(['web/tls/server.key not added: `COPY web/ /usr/share/nginx/html/` copies web/tls/server.key']);
  });

  test('private keys only when they hold one; build output only next to its build file; virtualenvs only with pyvenv.cfg', () => {
    const result = propose({
      'certs/ca.pem': '-----BEGIN CERTIFICATE-----\n',
      'deploy/id_rsa': '-----BEGIN OPENSSH PRIVATE KEY-----\n',
      'target/app.jar': '',
      'rust/Cargo.toml': '',
      'rust/target/debug/app': '',
      '.venv/pyvenv.cfg': '',
      'venv/README': 'not a virtualenv',
    });
    expect(result.added).toEqual(['.venv', 'rust/target', 'deploy/id_rsa']);
  });

  test('a build output directory a COPY takes from stays', () => {
    const result = propose({ 'pom.xml': '', 'target/app.jar': '', 'src/Main.java': '' }, 'FROM eclipse-temurin:21\nCOPY target/app.jar /app.jar\n');
    expect(result.added).toEqual([]);
    expect(result.notes).toEqual(['target not added: `COPY target/app.jar /app.jar` copies target']);
  });
});
