// A small, deliberately wrong OpenID Connect provider for idp-sync's refusal tests: it
// answers like a provider (discovery, authorize, token, JWKS, userinfo) but its ID tokens
// are crafted to break one rule each, which a correct provider (provider.mjs) never does.
// No dependencies beyond Node itself.
//
//   node evil.mjs '<options JSON>'
//
// Options: { "mode": ..., "client_id": "...", "account": { "sub", "email", "groups" } }
// Modes:
//   good            a correct token (proves the harness signs in when nothing is wrong)
//   other-issuer    iss is another provider
//   wrong-key       signed by a key that is not in the JWKS, under the published kid
//   wrong-nonce     a nonce the relying party never sent
//   wrong-audience  aud is another client
//   alg-none        {"alg": "none"} and no signature
//   expired         exp an hour ago
//   rotated-key     signed by a second key that the JWKS only lists from the first token
//                   request on (key rotation: the relying party must fetch the keys again)
//   no-email        a correct token without email, and a userinfo endpoint that fails
//   thin            a correct token without email and groups, and a failing userinfo
//   huge-keys       a JWKS document of 2 MiB (the relying party must not read it all)
//
// Prints {"issuer": "..."} on stdout once it listens. The authorize endpoint signs the
// account in at once (no form) and redirects to the client with a one-time code.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

const options = JSON.parse(process.argv[2] ?? '{}');
const { mode = 'good', client_id: clientId, account } = options;

const keyA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicJwk = (pair, kid) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' });
let rotated = false;

const codes = new Map(); // code -> { nonce, challenge, redirectUri }
const b64url = (data) => Buffer.from(data).toString('base64url');

function idToken(issuer, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: mode === 'other-issuer' ? 'https://other-idp.example.com' : issuer,
    sub: account.sub,
    aud: mode === 'wrong-audience' ? 'another-client' : clientId,
    iat: mode === 'expired' ? now - 7200 : now,
    exp: mode === 'expired' ? now - 3600 : now + 300,
    nonce: mode === 'wrong-nonce' ? 'a-nonce-nobody-sent' : nonce,
    email: account.email,
    email_verified: true,
    groups: account.groups,
  };
  if (mode === 'no-email' || mode === 'thin') delete claims.email;
  if (mode === 'thin') delete claims.groups;
  if (mode === 'alg-none') {
    return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
  }
  const [key, kid] = {
    'wrong-key': [keyB, 'a'],
    'rotated-key': [keyB, 'b'],
  }[mode] ?? [keyA, 'a'];
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key.privateKey))}`;
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    case '/jwks': {
      if (mode === 'huge-keys') return json(res, 200, { keys: [], padding: 'x'.repeat(2 << 20) });
      const keys = [publicJwk(keyA, 'a')];
      if (mode === 'rotated-key' && rotated) keys.push(publicJwk(keyB, 'b'));
      return json(res, 200, { keys });
    }
    case '/authorize': {
      const q = url.searchParams;
      const code = randomBytes(16).toString('hex');
      codes.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge'), redirectUri: q.get('redirect_uri') });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(303, { location: back.toString() });
      return res.end();
    }
    case '/token': {
      const body = await form(req);
      const grant = codes.get(body.get('code'));
      codes.delete(body.get('code'));
      const verifier = body.get('code_verifier') ?? '';
      if (!grant || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
          || body.get('redirect_uri') !== grant.redirectUri) {
        return json(res, 400, { error: 'invalid_grant' });
      }
      rotated = true;
      return json(res, 200, {
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: idToken(issuer, grant.nonce),
      });
    }
    case '/userinfo':
      if (mode === 'no-email' || mode === 'thin') return json(res, 503, { error: 'temporarily_unavailable' });
      return json(res, 200, { sub: account.sub, email: account.email, groups: account.groups });
    default:
      return json(res, 404, { error: 'not_found' });
  }
});

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
