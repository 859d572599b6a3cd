/**
 * Where `r3mesd init` points CometBFT's proxy_app and where `r3mesd start` listens when no
 * --abci is given: the unix socket in the node home, or whatever proxy_app says.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { getTomlString, setTomlValue } from '../../app/node/comet-config.ts';
import { defaultAbciAddress, nodeHome, startAbciAddress } from '../../app/node/home.ts';

const CONFIG = `# top
proxy_app = "tcp://127.0.0.1:26658"
moniker = "a \\"quoted\\" name" # comment

[rpc]
laddr = "tcp://127.0.0.1:26657"

[p2p]
laddr = "tcp://0.0.0.0:26656"
`;

t.test('getTomlString reads a string key of a section', async (t) => {
  t.equal(getTomlString(CONFIG, '', 'proxy_app'), 'tcp://127.0.0.1:26658');
  t.equal(getTomlString(CONFIG, '', 'moniker'), 'a "quoted" name');
  t.equal(getTomlString(CONFIG, 'p2p', 'laddr'), 'tcp://0.0.0.0:26656');
  t.equal(getTomlString(CONFIG, 'rpc', 'laddr'), 'tcp://127.0.0.1:26657');
  t.equal(getTomlString(CONFIG, '', 'laddr'), undefined);
  t.equal(getTomlString(setTomlValue(CONFIG, '', 'proxy_app', 'unix:///x/abci.sock'), '', 'proxy_app'), 'unix:///x/abci.sock');
});

t.test('the default ABCI address is the unix socket in the (absolute) home; start follows proxy_app', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-abci-addr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const home = nodeHome(relative(process.cwd(), dir));
  t.equal(defaultAbciAddress(home), `unix://${join(dir, 'abci.sock')}`, 'absolute even for a relative --home');
  t.equal(startAbciAddress(home), `unix://${join(dir, 'abci.sock')}`, 'no config.toml: the socket');
  mkdirSync(join(dir, 'config'));
  writeFileSync(home.configToml, CONFIG);
  t.equal(startAbciAddress(home), 'tcp://127.0.0.1:26658', 'proxy_app over TCP: start listens there');
  writeFileSync(home.configToml, setTomlValue(CONFIG, '', 'proxy_app', 'unix:///elsewhere/app.sock'));
  t.equal(startAbciAddress(home), 'unix:///elsewhere/app.sock');
  writeFileSync(home.configToml, setTomlValue(CONFIG, '', 'proxy_app', 'kvstore'));
  t.equal(startAbciAddress(home), `unix://${join(dir, 'abci.sock')}`, 'a built-in app name is no address: the socket');
});
