// Seeded generator of hostile and ordinary Dockerfiles, shared by the CI fuzz
// test (test/fuzz.test.ts, a few hundred cases) and the release fuzz run
// (bench/fuzz.mjs, thousands). The same seed always gives the same files, so a
// failure is reproduced by its seed and index alone.
//
// A file is built from instruction fragments (shell chains with continuations,
// comments and quoting, heredocs, exec and shell forms, every instruction),
// then roughened: line endings, a BOM, the escape directive, a missing final
// newline, and mutations (characters cut, doubled or inserted, lines swapped).

/** mulberry32: a tiny seeded PRNG. */
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASES = [
  'debian:bookworm',
  'debian:bookworm-slim',
  'ubuntu:24.04',
  'alpine:3.20',
  'python:3.12-slim',
  'python:3.12',
  'node:20',
  'node:20-bookworm-slim',
  'golang:1.22',
  'rust:1.79',
  'eclipse-temurin:21-jdk',
  'maven:3.9-eclipse-temurin-21',
  'fedora:40',
  'gcc:13',
  'scratch',
  '${BASE}',
  'ghcr.io/org/app:1.2',
  'registry.example.com:5000/team/base@sha256:' + 'a'.repeat(64),
];

const COMMANDS = [
  'apt-get update',
  'apt-get install -y curl ca-certificates',
  'apt-get install -y --no-install-recommends build-essential git',
  'apt-get update && apt-get install -y python3-dev libpq-dev',
  'rm -rf /var/lib/apt/lists/*',
  'apt install -y git',
  'apk add --no-cache bash',
  'apk update && apk add curl',
  'dnf install -y nginx && dnf clean all',
  'yum install -y httpd',
  'zypper install -y vim',
  'pip install -r requirements.txt',
  'pip install --no-cache-dir flask',
  'python3 -m pip install requests',
  'npm ci',
  'npm install',
  'npm run build',
  'npm ci --omit=dev',
  'yarn install --frozen-lockfile',
  'pnpm install',
  'go mod download',
  'go build -o /app/server ./cmd/server',
  'CGO_ENABLED=0 go build -o /out/app .',
  'cargo build --release',
  'mvn -B package -DskipTests',
  'gradle build',
  'make',
  'make install',
  './configure && make && make install',
  'gcc -O2 -o /usr/local/bin/hello hello.c',
  'gem install bundler && bundle install',
  'composer install',
  'cd /app',
  'cd src && make',
  'export PATH=/opt/bin:$PATH',
  'export A=1 B="two words"',
  'A=1',
  'set -eux',
  'umask 022',
  'echo hello',
  'echo "$HOME" > /etc/motd',
  "echo 'single quoted && not a chain'",
  'echo "apt-get install x" > /notes.txt',
  'printf "%s\\n" a b c',
  'curl -fsSL https://example.com/install.sh | sh',
  'curl -fsSL https://example.com/x.tar.gz | tar -xz -C /opt',
  'wget -qO- https://example.com/key | gpg --dearmor > /usr/share/keyrings/x.gpg',
  'useradd --system --create-home app',
  'groupadd -r app && useradd -r -g app app',
  'adduser -D app',
  'chown -R app:app /app',
  'chmod +x /entrypoint.sh',
  'mkdir -p /app/data',
  'ln -s /usr/bin/python3 /usr/bin/python',
  'if [ -f setup.sh ]; then ./setup.sh; fi',
  'for f in a b; do echo "$f"; done',
  'case "$X" in a) echo a;; *) echo b;; esac',
  '(cd /tmp && make)',
  '{ echo a; echo b; }',
  'test -d /x || mkdir /x',
  'false; true',
  'sleep 1 &',
  'trap "echo bye" EXIT',
  'source /etc/profile',
  '. /etc/os-release',
  'exit 0',
  'echo $(date) > /built',
  'echo `uname -a`',
  'useradd app # create the user',
  'x=$((1 + 2)) && echo $x',
  'ls | grep -v foo | wc -l',
  'echo "unterminated',
  "echo 'unterminated",
  'echo ${A:-default} ${#B}',
];

const OTHERS = [
  'WORKDIR /app',
  'WORKDIR src',
  'COPY . .',
  'COPY . /app',
  'COPY package.json package-lock.json ./',
  'COPY requirements.txt .',
  'COPY --chown=app:app . /app',
  'COPY --from=build /app/dist /app/dist',
  'COPY --link go.mod go.sum ./',
  'ADD . /app',
  'ADD app.tar.gz /opt/',
  'ADD https://example.com/x.txt /x.txt',
  'ENV PORT=8080',
  'ENV A=1 B="two words"',
  'ENV LEGACY value with spaces',
  'ENV PATH=/app/bin:$PATH',
  'ARG VERSION=1.0',
  'ARG BASE=debian:bookworm',
  'ARG NODE_ENV',
  'USER root',
  'USER app',
  'USER 1000:1000',
  'EXPOSE 8080',
  'EXPOSE 80/tcp 443',
  'LABEL a="b"',
  'LABEL org.opencontainers.image.source="https://example.com"',
  'MAINTAINER Jane Doe <jane@example.com>',
  'VOLUME /data',
  'STOPSIGNAL SIGTERM',
  'HEALTHCHECK CMD curl -f http://localhost/ || exit 1',
  'HEALTHCHECK --interval=30s CMD ["curl", "-f", "http://localhost/"]',
  'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
  'SHELL ["pwsh", "-Command"]',
  'ONBUILD RUN echo onbuild',
  'RUN ["/bin/sh", "-c", "echo exec"]',
  'RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt',
  'RUN --network=none echo offline',
  'RUN <<EOF\necho heredoc\nEOF',
  'RUN <<-EOT bash\n\techo tabbed\n\tEOT',
  'RUN --mount=type=cache,target=/var/cache/apt <<"EOF"\napt-get update\nEOF',
  'COPY <<EOF /etc/conf\nkey=value\nEOF',
  '# a comment',
  '#',
  '',
  '   ',
  '# dockopt-ignore',
  '# dockopt-ignore merge-runs',
  '# dockopt-ignore-file',
];

const TAILS = [
  'CMD ["./app"]',
  'CMD node server.js',
  'CMD ["node", "server.js"]',
  'CMD python -m http.server 8000',
  'CMD echo "$HOME" && sleep 1',
  "CMD exec python -m http.server 'port 8000'",
  'CMD python app.py --port $PORT',
  'ENTRYPOINT ["python", "main.py"]',
  'ENTRYPOINT /usr/local/bin/run --flag',
  '',
];

/** Fragments BuildKit refuses (or that once broke dockopt): rare, so that most files get through to the transforms. */
const BROKEN = ['RUN', 'RUN <<EOF', 'FROOM nothing', 'UNKNOWN instruction', 'RUN ["echo", "unterminated exec"', 'CMD', 'CMD ["unterminated"', 'ENV', 'COPY', 'FROM', 'ARG'];

/** Odd characters a mutation inserts: quoting, escapes, expansions, line breaks, astral and zero-width characters. */
const NOISE = ['\\', '"', "'", '$', '`', '(', ')', '{', '}', '&&', '||', ';', '|', '<<', '#', '\n', '\r', '\r\n', '\t', ' \\\n', '=', '[', ']', '\u{1F433}', '\u200b', '\uFEFF', '-', '--'];

function pick(rand, items) {
  return items[Math.floor(rand() * items.length)];
}

function shellRun(rand, escape) {
  const count = 1 + Math.floor(rand() * (rand() < 0.1 ? 12 : 4));
  const parts = Array.from({ length: count }, () => pick(rand, COMMANDS));
  const joiner = pick(rand, [' && ', ' && ', '; ', ' || ', ' | ']);
  const flags = pick(rand, ['', '', '', '--mount=type=cache,target=/root/.cache ', '--network=none ', '--mount=type=secret,id=token ']);
  if (rand() < 0.5) return `RUN ${flags}${parts.join(joiner)}`;
  // Continuation lines, sometimes with a comment or a blank line inside (BuildKit drops them).
  const lines = parts.map((part, index) => {
    const lead = index === 0 ? '' : rand() < 0.8 ? '    ' : '\t';
    const sep = index === parts.length - 1 ? '' : `${joiner.trimEnd()} ${escape}`;
    return `${lead}${part}${sep}`;
  });
  if (lines.length > 1 && rand() < 0.25) lines.splice(1 + Math.floor(rand() * (lines.length - 1)), 0, pick(rand, ['    # inner comment', '', '  #']));
  return `RUN ${flags}${lines.join('\n')}`;
}

function instruction(rand, escape) {
  const roll = rand();
  if (roll < 0.015) return pick(rand, BROKEN);
  if (roll < 0.5) return shellRun(rand, escape);
  if (roll < 0.9) return pick(rand, OTHERS);
  return `FROM ${pick(rand, BASES)}${rand() < 0.5 ? ` AS stage${Math.floor(rand() * 3)}` : ''}`;
}

function mutate(rand, text) {
  const chars = [...text];
  const edits = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < edits && chars.length > 0; i++) {
    const at = Math.floor(rand() * chars.length);
    const kind = rand();
    if (kind < 0.35) chars.splice(at, 1 + Math.floor(rand() * 3));
    else if (kind < 0.75) chars.splice(at, 0, pick(rand, NOISE));
    else if (kind < 0.9) chars.splice(at, 0, ...chars.slice(at, at + 1 + Math.floor(rand() * 20)));
    else {
      const lines = chars.join('').split('\n');
      const a = Math.floor(rand() * lines.length);
      const b = Math.floor(rand() * lines.length);
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join('\n');
    }
  }
  return chars.join('');
}

/** One generated Dockerfile: mostly well-formed, often odd, sometimes broken. */
export function fuzzDockerfile(rand) {
  const backtick = rand() < 0.1;
  const escape = backtick ? '`' : '\\';
  const lines = [];
  if (backtick) lines.push('# escape=`');
  else if (rand() < 0.05) lines.push('# syntax=docker/dockerfile:1');
  const base = pick(rand, BASES);
  // ${BASE} needs its ARG (mostly): a FROM that expands to nothing is an error.
  if (base === '${BASE}' ? rand() < 0.9 : rand() < 0.05) lines.push(`ARG BASE=${pick(rand, BASES.filter((other) => other !== '${BASE}'))}`);
  if (rand() > 0.03) lines.push(`FROM ${rand() < 0.1 ? '--platform=linux/amd64 ' : ''}${base}${rand() < 0.2 ? ' AS build' : ''}`);
  const length = 1 + Math.floor(rand() * 14);
  for (let i = 0; i < length; i++) lines.push(instruction(rand, escape));
  lines.push(pick(rand, TAILS));
  let text = lines.join('\n');
  if (backtick) text = text.replace(/ \\\n/g, ' `\n');
  if (rand() < 0.2) text = mutate(rand, text);
  const eol = pick(rand, ['\n', '\n', '\n', '\r\n', '\r']);
  if (eol !== '\n') text = text.replace(/\n/g, eol);
  if (rand() < 0.85) text += eol;
  if (rand() < 0.08) text = `\uFEFF${text}`;
  return text;
}

/** `count` Dockerfiles from `seed`, each with its index (the seed and index reproduce it). */
export function* fuzzCorpus(seed, count) {
  const rand = random(seed);
  for (let index = 0; index < count; index++) yield { index, text: fuzzDockerfile(rand) };
}
