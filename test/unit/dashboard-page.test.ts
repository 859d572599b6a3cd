/**
 * The dashboard page's model API (`r3mesd start --model-api`): the URL checked, handed to the
 * page as an escaped meta attribute, and its origin (only) added to the CSP's connect-src.
 */
import t from 'tap';
import { loadDashboardPage, modelApiBase } from '../../app/rest/dashboard/routes.ts';

t.test('without a model API: connect-src self only, no meta', (t) => {
  const page = loadDashboardPage();
  t.match(page.contentSecurityPolicy, /connect-src 'self';/);
  t.notMatch(page.html, /<meta name="r3mes-model-api"/);
  t.end();
});

t.test('with a model API: the meta and exactly its origin in connect-src', (t) => {
  const page = loadDashboardPage(undefined, { modelApi: 'http://127.0.0.1:8080/v1/' });
  t.match(page.contentSecurityPolicy, /connect-src 'self' http:\/\/127\.0\.0\.1:8080;/);
  t.match(page.html, /<meta name="r3mes-model-api" content="http:\/\/127\.0\.0\.1:8080\/v1">/, 'trailing slash dropped');
  t.same(modelApiBase('https://models.example.org/api/v1'), { base: 'https://models.example.org/api/v1', origin: 'https://models.example.org' });
  t.equal(modelApiBase('http://h:1/a"b').base, 'http://h:1/a%22b', 'a quote in the path is percent-encoded by URL');
  t.end();
});

t.test('a bad model API URL is refused, naming the flag', (t) => {
  for (const bad of ['not a url', 'ftp://host/v1', 'http://host/v1?x=1', 'http://host/v1#f', 'http://user:pw@host/v1', 'javascript:alert(1)']) {
    t.throws(() => loadDashboardPage(undefined, { modelApi: bad }), /--model-api/, bad);
  }
  t.end();
});
