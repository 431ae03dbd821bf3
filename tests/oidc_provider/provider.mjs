// A real OpenID Connect provider for idp-sync's integration tests: the certified npm
// `oidc-provider`, on a free loopback port, started by tests/it/support/oidc_provider.rs.
//
//   node provider.mjs '<options JSON>'
//
// Options: { "accounts": [{ "sub", "email", "name", "given_name", "family_name", "groups" }],
//            "id_token_claims": bool }
// With id_token_claims the ID token carries the scopes' claims (groups among them);
// without, they are only in userinfo (oidc-provider's conformant default for the code
// flow), which is how "groups from userinfo" is tested.
//
// It prints one JSON line {"issuer": "..."} on stdout once it listens. Clients are
// registered by the test through dynamic registration (RFC 7591, POST /reg) with the
// client_id and client_secret the test chose. Sign-in is its own minimal interaction:
// GET /interaction/:uid shows a form asking for the account id (so a browser can use
// it), POST /interaction/:uid/login signs that account in, and consent is granted
// automatically when the provider asks for it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// oidc-provider's notices go to stdout, which carries only the issuer line.
console.log = console.error;
console.info = console.error;

const options = JSON.parse(process.argv[2] ?? '{}');
const accounts = new Map((options.accounts ?? []).map((a) => [a.sub, a]));

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: !options.id_token_claims,
  features: {
    devInteractions: { enabled: false },
    registration: {
      enabled: true,
      idFactory: (ctx) => ctx.oidc.body.client_id ?? randomBytes(8).toString('hex'),
      secretFactory: (ctx) => ctx.oidc.body.client_secret ?? randomBytes(24).toString('hex'),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { email_verified: true, ...account, sub };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error', err));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// Grants what the client asked for, as a user clicking "Allow" would.
async function grantConsent(details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  return grant.save();
}

const handler = provider.callback();
server.on('request', async (req, res) => {
  const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url);
  if (!match) return handler(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      const grantId = await grantConsent(details);
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (match[2] && req.method === 'POST') {
      const login = (await readForm(req)).get('login') ?? '';
      if (!accounts.has(login)) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end(`unknown account ${login}`);
      }
      return await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(`<!doctype html><title>Test IdP sign-in</title>
<form method="post" action="/interaction/${escape(details.uid)}/login">
<label>Account <input name="login" autofocus></label> <button type="submit">Sign in</button>
</form>`);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(`interaction failed: ${err.message}`);
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
// Stop with the test process (stdin closes when the parent goes away).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
