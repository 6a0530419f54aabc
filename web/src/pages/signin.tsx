import { useEffect, useState } from 'preact/hooks';

/** Sign-in: SSO through the organisation's IdP, or the demo's one-time link. */
export function SignIn() {
  const params = new URLSearchParams(location.search);
  const error = params.get('error');
  const returnTo = params.get('return_to') ?? '/';
  const [config, setConfig] = useState<{ sso: boolean; demo_link: boolean } | null>(null);
  useEffect(() => {
    fetch('/auth/config').then((r) => r.json()).then(setConfig);
  }, []);
  return (
    <main id="main" class="signin">
      <h1>Sign in to Custos</h1>
      {error && <p class="alert" role="alert">{error}</p>}
      {config?.sso && (
        <p>
          <a class="button primary" href={`/auth/login?return_to=${encodeURIComponent(returnTo)}`}>Sign in with SSO</a>
        </p>
      )}
      {config && !config.sso && (
        <p>No identity provider is configured (CUSTOS_OIDC_ISSUER). {config.demo_link ? 'Use the one-time sign-in link Custos printed at start-up.' : 'Machines use API keys; see the README for SSO.'}</p>
      )}
    </main>
  );
}
