// Loaded into every test process of the unit lane (make test-unit): a unit test starts no
// process and opens no port, so the lane can run its files in parallel on any machine. A test
// that does either fails here with the reason; it belongs in *.integration.test.ts.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const refuse = (what) =>
  function refused() {
    throw new Error(`unit lane: ${what}; a test that does this is an integration test (*.integration.test.ts)`);
  };

net.Server.prototype.listen = refuse('a port was opened (net.Server.listen)');
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'])
  childProcess[name] = refuse(`a process was started (child_process.${name})`);
syncBuiltinESMExports();
