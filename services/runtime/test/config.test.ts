import { Type } from '@sinclair/typebox';
import t from 'tap';
import { BaseConfig, ConfigError, loadConfig } from '../src/config.js';

const Schema = Type.Object({ ...BaseConfig.properties, MODEL_PATH: Type.String({ minLength: 1 }) });

t.test('defaults and conversion from strings', async (t) => {
  const c = loadConfig(Schema, { PORT: '8080', MODEL_PATH: '/m.json' });
  t.equal(c.PORT, 8080);
  t.equal(c.HOST, '127.0.0.1');
  t.equal(c.LOG_LEVEL, 'warn');
  t.equal(c.BODY_LIMIT_BYTES, 1024 * 1024);
  t.equal(c.REPLICA_ID, undefined);
});

t.test('each bad variable is named in one line', async (t) => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ PORT: 'eighty', MODEL_PATH: '/m' }, /^invalid environment variable PORT: .*got "eighty"/],
    [{ PORT: '70000', MODEL_PATH: '/m' }, /^invalid environment variable PORT: /],
    [{ PORT: '1', LOG_LEVEL: 'loud', MODEL_PATH: '/m' }, /^invalid environment variable LOG_LEVEL: /],
    [{ PORT: '1' }, /^invalid environment variable MODEL_PATH: .*it is not set/],
    [{ PORT: '1', MODEL_PATH: '/m', BODY_LIMIT_BYTES: '10' }, /^invalid environment variable BODY_LIMIT_BYTES/],
  ];
  for (const [env, re] of cases) {
    try {
      loadConfig(Schema, env);
      t.fail(`accepted ${JSON.stringify(env)}`);
    } catch (err) {
      t.type(err, ConfigError);
      t.match((err as Error).message, re);
      t.notMatch((err as Error).message, /\n/, 'one line');
    }
  }
});
