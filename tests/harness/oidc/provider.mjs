// A real OpenID Provider for the sign-in tests: panva's oidc-provider (OpenID
// Certified), its own login form (devInteractions: any user name, any password),
// discovery, JWKS, RS256-signed ID tokens, PKCE required.
// Usage: node provider.mjs CONFIG.json; CONFIG holds issuer, port, clients,
// jwks (private keys) and users ({"login": {"email": ..., "groups": [...], "roles": [...]}}).
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: { openid: ['sub'], email: ['email'], profile: ['name', 'preferred_username'],
            groups: ['groups', 'roles'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // the scope's claims in the ID token too, as Entra ID puts groups there
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...(config.users[id] ?? {}) }),
  }),
});
provider.proxy = false;
const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
