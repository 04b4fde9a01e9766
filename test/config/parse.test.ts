import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { PaasError } from '../../src/errors.js';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

function errorOf(text: string, file = '/srv/shop/paas.yml'): PaasError {
  try {
    parseConfig(text, file);
  } catch (error) {
    if (error instanceof PaasError) return error;
    throw error;
  }
  throw new Error('expected parseConfig to throw');
}

const problemsOf = (text: string): string[] => errorOf(text).details;

describe('parseConfig: valid files', () => {
  it('maps every key of a full file to AppConfig', () => {
    const text = lines(
      'app: shop',
      'hosts: [ssh://deploy@203.0.113.10, ops@web2.example.com]',
      'build:',
      '  dockerfile: docker/Dockerfile.prod',
      '  stack: node',
      '  args: { NODE_OPTIONS: "--max-old-space-size=512", VERSION: 1.10 }',
      'port: 8080',
      'processes:',
      '  web: 2',
      '  worker: { replicas: 1, command: "node worker.js", memory: 512m, cpus: 0.5 }',
      '  cron: { command: node cron.js }',
      '  idle: 0',
      'healthcheck: { path: /up, status: 200, timeout: 5s, interval: 500ms, successes: 2 }',
      'domains: [shop.example.com, "*.shop.example.com"]',
      'balance: least_conn',
      'env: { LOG_LEVEL: info, WORKERS: 4, DEBUG: false, RATIO: 0x1F }',
      'keep_releases: 5',
    );
    expect(parseConfig(text, 'paas.yml')).toEqual({
      app: 'shop',
      hosts: ['ssh://deploy@203.0.113.10', 'ops@web2.example.com'],
      build: {
        dockerfile: 'docker/Dockerfile.prod',
        stack: 'node',
        args: { NODE_OPTIONS: '--max-old-space-size=512', VERSION: '1.10' },
      },
      port: 8080,
      processes: {
        web: { replicas: 2 },
        worker: { replicas: 1, command: 'node worker.js', memoryBytes: 512 * 1024 ** 2, cpus: 0.5 },
        cron: { replicas: 1, command: 'node cron.js' },
        idle: { replicas: 0 },
      },
      healthcheck: { path: '/up', status: 200, timeoutMs: 5000, intervalMs: 500, successes: 2 },
      domains: ['shop.example.com', '*.shop.example.com'],
      balance: 'least_conn',
      env: { LOG_LEVEL: 'info', WORKERS: '4', DEBUG: 'false', RATIO: '0x1F' },
      keepReleases: 5,
    });
  });

  it.each([
    ['an empty file', ''],
    ['only comments', lines('# nothing yet', '# app: shop')],
    ['a null document', lines('~')],
    ['a byte order mark and nothing else', '\uFEFF'],
  ])('reads %s as {}', (_, text) => {
    expect(parseConfig(text, 'paas.yml')).toEqual({});
  });

  it('treats a key with no value as not set', () => {
    expect(parseConfig(lines('app: shop', 'healthcheck:', 'build: { stack: }', 'port: 3000'), 'paas.yml')).toEqual({
      app: 'shop',
      build: {},
      port: 3000,
    });
  });

  it('follows aliases', () => {
    expect(parseConfig(lines('processes:', '  web: &replicas 2', '  worker: *replicas'), 'paas.yml')).toEqual({
      processes: { web: { replicas: 2 }, worker: { replicas: 2 } },
    });
  });

  it('counts columns from the first visible character when the file starts with a byte order mark', () => {
    expect(problemsOf('\uFEFFport: http\n')).toEqual(['paas.yml:1:7 port: expected a whole number between 1 and 65535, got "http"']);
  });
});

describe('parseConfig: the error', () => {
  it('is one PaasError of kind config, naming the file, with every problem and a hint', () => {
    const error = errorOf(lines('app: Shop', 'port: 0'));
    expect(error.kind).toBe('config');
    expect(error.message).toBe('paas.yml has 2 problems');
    expect(error.where).toBe('/srv/shop/paas.yml');
    expect(error.hint).toBe('see docs/paas-yml.md for every key');
    expect(errorOf(lines('port: 0')).message).toBe('paas.yml has 1 problem');
    expect(errorOf(lines('port: 0'), 'config/paas.prod.yml').details).toEqual([
      'paas.prod.yml:1:7 port: expected a whole number between 1 and 65535, got 0',
    ]);
  });

  it('reports several problems at once, in the order of the file', () => {
    const text = lines(
      'app: shop',
      'hosts: [ftp://x]',
      'helthcheck: { path: /up }',
      'processes:',
      '  web: two',
      'healthcheck:',
      '  timeout: 5 parsecs',
      'balance: random',
      'port: 8080',
      'port: 8081',
    );
    const error = errorOf(text);
    expect(error.message).toBe('paas.yml has 6 problems');
    expect(error.details).toEqual([
      'paas.yml:2:9 hosts[0]: "ftp://x" is not an SSH host (expected ssh://user@host:port, user@host or host)',
      'paas.yml:3:1 unknown key "helthcheck" (did you mean "healthcheck"?)',
      'paas.yml:5:8 processes.web: expected a whole number >= 0 or a map, got "two"',
      'paas.yml:7:12 healthcheck.timeout: "5 parsecs" is not a duration (examples: 5s, 500ms, 2m)',
      'paas.yml:8:10 balance: "random" is not one of round_robin, least_conn, ip_hash, weighted',
      'paas.yml:10:1 Map keys must be unique',
    ]);
  });
});

describe('parseConfig: each problem, at its line and column', () => {
  it.each([
    // unknown keys: at the key, with the closest known key when there is one
    [lines('app: shop', 'domain: [a.example.com]'), 'paas.yml:2:1 unknown key "domain" (did you mean "domains"?)'],
    [lines('keepReleases: 3'), 'paas.yml:1:1 unknown key "keepReleases" (did you mean "keep_releases"?)'],
    [lines('colour: red'), 'paas.yml:1:1 unknown key "colour"'],
    [lines('worker_wait: -1s'), 'paas.yml:1:14 worker_wait: "-1s" is not a duration (examples: 3s, 500ms, 1m)'],
    [lines('worker_wait: 11m'), 'paas.yml:1:14 worker_wait: "11m" is longer than 10m'],
    [lines('healthcheck:', '  path: /up', '  tiemout: 5s'), 'paas.yml:3:3 healthcheck: unknown key "tiemout" (did you mean "timeout"?)'],
    [lines('build: { dockerfle: Dockerfile }'), 'paas.yml:1:10 build: unknown key "dockerfle" (did you mean "dockerfile"?)'],
    [lines('processes:', '  web: { replica: 2 }'), 'paas.yml:2:10 processes.web: unknown key "replica" (did you mean "replicas"?)'],
    // app
    [lines('app: Shop'), 'paas.yml:1:6 app: "Shop" is not a valid app name (lowercase letters, digits and dashes, starting with a letter, at most 63 characters)'],
    [lines('app: 42'), 'paas.yml:1:6 app: expected a string, got 42'],
    // hosts
    [lines('hosts: deploy@web1'), 'paas.yml:1:8 hosts: expected a list of SSH hosts, got "deploy@web1"'],
    [lines('hosts:', '  - web1', '  - 22'), 'paas.yml:3:5 hosts[1]: expected a string, got 22'],
    [lines('hosts: [web1, ssh://web1:22, web1]'), 'paas.yml:1:30 hosts[2]: "web1" is already listed as hosts[0]'],
    // build
    [lines('build: node'), 'paas.yml:1:8 build: expected a map, got "node"'],
    [lines('build:', '  dockerfile: ../Dockerfile'), 'paas.yml:2:15 build.dockerfile: "../Dockerfile" points outside the app directory'],
    [lines('build:', '  dockerfile: a/../../Dockerfile'), 'paas.yml:2:15 build.dockerfile: "a/../../Dockerfile" points outside the app directory'],
    [lines('build:', '  dockerfile: /etc/Dockerfile'), 'paas.yml:2:15 build.dockerfile: "/etc/Dockerfile" must be a path relative to the app directory'],
    [lines('build:', '  dockerfile: docker/'), 'paas.yml:2:15 build.dockerfile: "docker/" is a directory, expected the path of a file'],
    [lines('build:', '  dockerfile: ""'), 'paas.yml:2:15 build.dockerfile: must not be empty'],
    [lines('build:', '  stack: java'), 'paas.yml:2:10 build.stack: "java" is not one of dockerfile, node, python, go, ruby, static'],
    [lines('build:', '  args: { NODE-ENV: x }'), 'paas.yml:2:11 build.args: "NODE-ENV" is not a valid variable name (letters, digits and underscores, not starting with a digit)'],
    [lines('build:', '  args: { A: [1] }'), 'paas.yml:2:14 build.args.A: expected a string, number or boolean, got a list'],
    // port and keep_releases
    [lines('port: 70000'), 'paas.yml:1:7 port: expected a whole number between 1 and 65535, got 70000'],
    [lines('port: 80.5'), 'paas.yml:1:7 port: expected a whole number between 1 and 65535, got 80.5'],
    [lines('port: "8080"'), 'paas.yml:1:7 port: expected a whole number between 1 and 65535, got "8080"'],
    [lines('keep_releases: 0'), 'paas.yml:1:16 keep_releases: expected a whole number between 1 and 100, got 0'],
    // processes
    [lines('processes: [web]'), 'paas.yml:1:12 processes: expected a map, got a list'],
    [lines('processes:', '  Web: 1'), 'paas.yml:2:3 processes: "Web" is not a valid process type (lowercase letters, digits, dashes and underscores, starting with a letter, at most 30 characters)'],
    [lines('processes:', '  web: -1'), 'paas.yml:2:8 processes.web: expected a whole number >= 0 or a map, got -1'],
    [lines('processes:', '  web:'), 'paas.yml:2:7 processes.web: expected a whole number >= 0 or a map, got nothing'],
    [lines('processes: { web }'), 'paas.yml:1:14 processes.web: expected a whole number >= 0 or a map, got nothing'],
    [lines('processes:', '  web: { replicas: 1.5 }'), 'paas.yml:2:20 processes.web.replicas: expected a whole number >= 0, got 1.5'],
    [lines('processes:', '  web: { command: "" }'), 'paas.yml:2:19 processes.web.command: must not be empty'],
    [lines('processes:', '  web: { memory: lots }'), 'paas.yml:2:18 processes.web.memory: "lots" is not a memory size (examples: 512m, 1g)'],
    [lines('processes:', '  web: { memory: 1m }'), 'paas.yml:2:18 processes.web.memory: "1m" is less than 6m, Docker\'s minimum'],
    [lines('processes:', '  web: { memory: [1g] }'), 'paas.yml:2:18 processes.web.memory: expected a memory size (examples: 512m, 1g), got a list'],
    [lines('processes:', '  web: { cpus: 0 }'), 'paas.yml:2:16 processes.web.cpus: expected a number of CPUs greater than 0 (such as 0.5 or 2), got 0'],
    // healthcheck
    [lines('healthcheck: /up'), 'paas.yml:1:14 healthcheck: expected a map, got "/up"'],
    [lines('healthcheck:', '  path: up'), 'paas.yml:2:9 healthcheck.path: "up" must start with "/"'],
    [lines('healthcheck:', '  path: "/up now"'), 'paas.yml:2:9 healthcheck.path: "/up now" must not contain spaces or control characters'],
    [lines('healthcheck:', '  path: "/up\\n"'), 'paas.yml:2:9 healthcheck.path: "/up\\n" must not contain spaces or control characters'],
    [lines('healthcheck:', '  status: 700'), 'paas.yml:2:11 healthcheck.status: expected a whole number between 100 and 599, got 700'],
    [lines('healthcheck:', '  interval: 0s'), 'paas.yml:2:13 healthcheck.interval: "0s" must be more than 0'],
    [lines('healthcheck:', '  timeout: -5'), 'paas.yml:2:12 healthcheck.timeout: -5 is not a duration (examples: 5s, 500ms, 2m)'],
    [lines('healthcheck:', '  timeout: { s: 5 }'), 'paas.yml:2:12 healthcheck.timeout: expected a duration (examples: 5s, 500ms, 2m), got a map'],
    [lines('healthcheck:', '  successes: 0'), 'paas.yml:2:14 healthcheck.successes: expected a whole number >= 1, got 0'],
    // domains, balance, env
    [lines('domains: shop.example.com'), 'paas.yml:1:10 domains: expected a list of domains, got "shop.example.com"'],
    [lines('domains: [a.example.com, b.example.com, a.example.com]'), 'paas.yml:1:41 domains[2]: "a.example.com" is already listed as domains[0]'],
    [lines('balance: 1'), 'paas.yml:1:10 balance: expected a string, got 1'],
    [lines('env: [A=1]'), 'paas.yml:1:6 env: expected a map, got a list'],
    [lines('env:', '  2FA: x'), 'paas.yml:2:3 env: "2FA" is not a valid variable name (letters, digits and underscores, not starting with a digit)'],
    [lines('env:', '  EMPTY:'), 'paas.yml:2:9 env.EMPTY: expected a string, number or boolean, got nothing'],
    [lines('env:', '  NESTED: { a: 1 }'), 'paas.yml:2:11 env.NESTED: expected a string, number or boolean, got a map'],
    // aliases
    [lines('port: *nope'), 'paas.yml:1:7 unknown alias *nope'],
  ])('%j', (text, detail) => {
    expect(problemsOf(text)).toEqual([detail]);
  });
});

describe('parseConfig: YAML itself', () => {
  it.each([
    ['a list', lines('- app: shop'), 'paas.yml:1:1 expected a map of settings (such as "app: shop") at the top level, got a list'],
    ['a string', lines('shop'), 'paas.yml:1:1 expected a map of settings (such as "app: shop") at the top level, got "shop"'],
    ['a number', lines('42'), 'paas.yml:1:1 expected a map of settings (such as "app: shop") at the top level, got 42'],
  ])('reports a top level that is %s at 1:1', (_, text, detail) => {
    expect(problemsOf(text)).toEqual([detail]);
  });

  it('reports syntax errors with their position and the first line of yaml\'s message, and nothing else', () => {
    expect(problemsOf(lines('app: shop', 'processes:', '\tweb: 1', 'port: nope'))).toEqual([
      'paas.yml:3:1 Tabs are not allowed as indentation',
    ]);
    expect(problemsOf(lines('app: "shop', 'port: 80'))).toEqual(['paas.yml:3:1 Missing closing "quote']);
    expect(problemsOf(lines('app: shop', '---', 'app: other'))).toEqual([
      'paas.yml:2:1 Source contains multiple documents; please use YAML.parseAllDocuments()',
    ]);
  });

  it('reports duplicate keys together with the other problems', () => {
    expect(problemsOf(lines('env:', '  A: 1', '  A: 2', 'port: 1', 'port: x'))).toEqual([
      'paas.yml:3:3 Map keys must be unique',
      'paas.yml:5:1 Map keys must be unique',
      'paas.yml:5:7 port: expected a whole number between 1 and 65535, got "x"',
    ]);
  });
});

describe('parseConfig: hostile domains', () => {
  it('rejects each with a message that shows it escaped', () => {
    const text = lines(
      'domains:',
      '  - "shop example.com"',
      '  - "shop.example.com;"',
      '  - "shop.example.com { }"',
      '  - "shop.example.com\\nevil.com"',
      '  - "$host.example.com"',
      `  - ${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(55)}.com`,
      '  - Shop.Example.com',
    );
    const shown = `"${'a'.repeat(59)}…"`;
    expect(problemsOf(text)).toEqual([
      'paas.yml:2:5 domains[0]: "shop example.com" is not a valid hostname: a space is not allowed (only letters, digits, dashes and dots)',
      'paas.yml:3:5 domains[1]: "shop.example.com;" is not a valid hostname: ";" is not allowed (only letters, digits, dashes and dots)',
      'paas.yml:4:5 domains[2]: "shop.example.com { }" is not a valid hostname: a space is not allowed (only letters, digits, dashes and dots)',
      'paas.yml:5:5 domains[3]: "shop.example.com\\nevil.com" is not a valid hostname: a line break is not allowed (only letters, digits, dashes and dots)',
      'paas.yml:6:5 domains[4]: "$host.example.com" is not a valid hostname: "$" is not allowed (only letters, digits, dashes and dots)',
      `paas.yml:7:5 domains[5]: ${shown} is not a valid hostname: it is 303 characters long, at most 253 are allowed`,
      'paas.yml:8:5 domains[6]: "Shop.Example.com" is not a valid hostname: use lowercase ("shop.example.com")',
    ]);
  });
});

describe('parseConfig: what a host would refuse, refused at its line', () => {
  it.each([
    [lines('processes:', '  web: 101'), 'paas.yml:2:8 processes.web: 101 replicas, at most 100 per release are allowed'],
    [lines('processes:', '  web: { replicas: 101 }'), 'paas.yml:2:20 processes.web.replicas: 101 replicas, at most 100 per release are allowed'],
    [lines('processes:', `  web: { command: ${'x'.repeat(16_385)} }`), 'paas.yml:2:19 processes.web.command: is 16385 characters long, at most 16384 are allowed'],
    [lines('processes:', '  web: { command: "a\\0b" }'), 'paas.yml:2:19 processes.web.command: contains a NUL byte, which no program can be given'],
    [lines('env:', '  A: "a\\0b"'), 'paas.yml:2:6 env.A: the value contains a NUL byte, which an environment variable cannot hold'],
    [lines('build:', '  args: { A: "\\0" }'), 'paas.yml:2:14 build.args.A: the value contains a NUL byte, which an environment variable cannot hold'],
    [lines('env:', `  A: ${'y'.repeat(32 * 1024 + 1)}`), 'paas.yml:2:6 env.A: the value is 32769 bytes long, at most 32768 are allowed (keep large data in a file of the app)'],
    [lines('env:', `  A: ${'é'.repeat(16 * 1024 + 1)}`), 'paas.yml:2:6 env.A: the value is 32770 bytes long, at most 32768 are allowed (keep large data in a file of the app)'],
  ])('%#', (text, detail) => {
    expect(problemsOf(text)).toEqual([detail]);
  });

  it('accepts the largest values a host takes', () => {
    const text = lines('processes:', '  web: 100', `  worker: { replicas: 0, command: ${'x'.repeat(16_384)} }`, 'env:', `  A: ${'y'.repeat(32 * 1024)}`);
    const config = parseConfig(text, 'paas.yml');
    expect(config.processes?.web).toEqual({ replicas: 100 });
    expect(config.processes?.worker?.command).toHaveLength(16_384);
    expect(config.env?.A).toHaveLength(32 * 1024);
  });
});

describe('parseConfig: volumes', () => {
  it('reads a path, or a path and the process types that mount it', () => {
    const config = parseConfig(lines('volumes:', '  data: /app/data', '  uploads: { path: /app/public/uploads, processes: [web, worker] }'), '/srv/shop/paas.yml');
    expect(config.volumes).toEqual({ data: { path: '/app/data' }, uploads: { path: '/app/public/uploads', processes: ['web', 'worker'] } });
  });

  it('names each bad entry by its line', () => {
    expect(problemsOf(lines(
      'volumes:',
      '  Data: /app/data',
      '  logs: app/logs',
      '  cache: { processes: [web] }',
      '  tmp: /tmp',
      '  files: { path: /files, processes: [] }',
      '  up: { path: /up, processes: [Web] }',
      '  more: [1]',
    ))).toEqual([
      'paas.yml:2:3 volumes: "Data" is not a valid volume name (lowercase letters, digits and dashes, starting with a letter, at most 30 characters)',
      'paas.yml:3:9 volumes.logs: "app/logs" is not a valid mount path: it must be absolute, such as /app/data',
      'paas.yml:4:10 volumes.cache: path is required, e.g. { path: /app/data, processes: [web] }',
      'paas.yml:5:8 volumes.tmp: "/tmp" is not a valid mount path: it would hide a system directory of the container',
      'paas.yml:6:10 volumes.files.processes: list at least one process type, or leave it out for every type',
      'paas.yml:7:32 volumes.up.processes[0]: "Web" is not a valid process type (lowercase letters, digits, dashes and underscores, starting with a letter, at most 30 characters)',
      'paas.yml:8:9 volumes.more: expected a mount path (such as /app/data) or { path, processes }, got a list',
    ]);
  });

  it('refuses two volumes at one path', () => {
    expect(problemsOf(lines('volumes:', '  a: /data', '  b: /data'))).toEqual(['paas.yml:2:3 volumes.b: /data is already the path of volumes.a']);
  });
});

describe('parseConfig: tls', () => {
  it('tls: auto, or a map with hsts and redirect', () => {
    expect(parseConfig(lines('tls: auto'), 'paas.yml').tls).toEqual({ certificate: 'auto' });
    expect(parseConfig(lines('tls:', '  certificate: auto', '  hsts: true', '  redirect: false'), 'paas.yml').tls).toEqual({ certificate: 'auto', hsts: true, redirect: false });
  });

  it('names each bad form by its line', () => {
    expect(problemsOf(lines('tls: on'))).toEqual(['paas.yml:1:6 tls: expected auto or { certificate: auto, hsts, redirect }, got "on"']);
    expect(problemsOf(lines('tls: { hsts: true }'))).toEqual(['paas.yml:1:6 tls: certificate is required, e.g. { certificate: auto, hsts: true }']);
    expect(problemsOf(lines('tls: { certificate: ./cert.pem, hsts: yes }'))).toEqual([
      'paas.yml:1:21 tls.certificate: expected auto (the hosts get the certificate from their ACME CA), got "./cert.pem"; a certificate of your own goes in with paas certs:add',
      'paas.yml:1:39 tls.hsts: expected true or false, got "yes"',
    ]);
  });

  it('is refused with the swarm engine, at its line', () => {
    expect(problemsOf(lines('engine: swarm', 'tls: auto'))).toEqual(['paas.yml:2:6 tls: not for engine: swarm yet: bring a certificate with paas certs:add (see docs/cluster.md)']);
  });
});
