// A real OpenID Connect provider for the portal's browser tests: npm `oidc-provider` on
// loopback, plain http (the server is started with --oidc-insecure-loopback).
//
//   node tests/browser/oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Accounts (any password works in oidc-provider's dev interactions):
//   alice  alice@example.com  email_verified: true   (on instance A's access policies)
//   dave   dave@example.com   email_verified: true   (on instance B's)
//   bob    bob@example.com    email_verified: true   (on no policy)
//   carol  carol@example.com  email_verified: false  (listed by e-mail, not verified)
//   erin   erin@corp.example  email_verified: false  (bound by issuer + subject to a user on B)
// Prints `ready <issuer>` on stdout once listening.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: node oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}
const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Analyst' },
  dave: { email: 'dave@example.com', email_verified: true, name: 'Dave Data' },
  bob: { email: 'bob@example.com', email_verified: true, name: 'Bob Outsider' },
  carol: { email: 'carol@example.com', email_verified: false, name: 'Carol Unverified' },
  erin: { email: 'erin@corp.example', email_verified: false, name: 'Erin Bound' },
};
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    const a = ACCOUNTS[id];
    if (!a) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: a.email, email_verified: a.email_verified, name: a.name };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  cookies: { keys: ['sparkplane-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
