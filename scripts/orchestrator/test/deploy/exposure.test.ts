import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { ROOT } from '../helpers/docker.js';

// What the stacks open, read from the files users deploy (the Docker tests run them).
const compose = (dir: string) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: `${dir}/${f}`, doc: parse(readFileSync(join(ROOT, dir, f), 'utf8')) }));

t.test('Compose publishes on loopback unless the user says otherwise', async (t) => {
  for (const { file, doc } of compose('compose')) {
    for (const [name, svc] of Object.entries<Record<string, unknown>>(doc.services ?? {})) {
      for (const port of (svc.ports as string[] | undefined) ?? []) {
        // "${X_PUBLISH:-127.0.0.1:8090}:8080": the default is an address on loopback.
        t.match(String(port), /^\$\{[A-Z_]+_PUBLISH:-127\.0\.0\.1:\d*\}:\d+$/, `${file} ${name}: ${port}`);
      }
    }
  }
});

t.test('Swarm stacks publish nothing unless asked: only the opt-in publish-* files have ports', async (t) => {
  const files = compose('compose/swarm');
  t.ok(
    files.some((f) => f.file.endsWith('publish-microservices.yaml')),
    'the opt-in files are there',
  );
  for (const { file, doc } of files) {
    for (const [name, svc] of Object.entries<Record<string, unknown>>(doc.services ?? {})) {
      const ports = (svc.ports as unknown[] | undefined) ?? [];
      if (file.includes('/publish-')) t.ok(ports.length > 0, `${file} ${name}: publishes (when asked)`);
      else t.same(ports, [], `${file} ${name}: no published port`);
    }
  }
});

t.test('no Prometheus lifecycle API (POST /-/quit) in any stack', async (t) => {
  for (const { file, doc } of [...compose('compose'), ...compose('compose/swarm')]) {
    for (const [name, svc] of Object.entries<Record<string, unknown>>(doc.services ?? {})) {
      const args = [
        ...((svc.command as string[] | undefined) ?? []),
        ...((svc.entrypoint as string[] | undefined) ?? []),
      ];
      t.notOk(args.includes('--web.enable-lifecycle'), `${file} ${name}`);
    }
  }
});

t.test('the Swarm manager listens on loopback unless asked', async (t) => {
  const script = readFileSync(join(ROOT, 'scripts/docker/swarm.sh'), 'utf8');
  const init = script.slice(
    script.indexOf('docker swarm init'),
    script.indexOf('>/dev/null', script.indexOf('docker swarm init')),
  );
  t.match(init, /--listen-addr "\$\{SWARM_LISTEN_ADDR:-127\.0\.0\.1:2377\}"/);
  t.match(init, /--advertise-addr "\$\{SWARM_ADVERTISE_ADDR:-127\.0\.0\.1\}"/);
});
