import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, type Me } from './api/client';
import { Admin } from './pages/admin';
import { Approvals } from './pages/approvals';
import { Catalog } from './pages/catalog';
import { Evidence } from './pages/evidence';
import { Findings } from './pages/findings';
import { Overview } from './pages/overview';
import { Controls } from './pages/controls';
import { Access } from './pages/access';
import { Policies } from './pages/policies';
import { SignIn } from './pages/signin';
import './styles.css';

const PAGES = [
  { path: '/', label: 'Overview', view: Overview },
  { path: '/catalog', label: 'Catalog', view: Catalog },
  { path: '/findings', label: 'Findings', view: Findings },
  { path: '/approvals', label: 'Approvals', view: Approvals },
  { path: '/evidence', label: 'Evidence', view: Evidence },
  { path: '/controls', label: 'Controls', view: Controls },
  { path: '/access', label: 'Access', view: Access },
  { path: '/policies', label: 'Policies', view: Policies },
  { path: '/admin', label: 'Administration', view: Admin },
] as const;

/** In-console navigation without reloading the page. */
export function navigate(path: string) {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => {
    if (path === '/signin') return setMe(null);
    api.GET('/v1/session').then(({ data }) => {
      if (!data) return navigate(`/signin?return_to=${encodeURIComponent(location.pathname)}`);
      setCsrfToken(data.csrf_token);
      setMe(data as Me);
    });
  }, [path === '/signin']);

  if (path === '/signin') return <SignIn />;
  if (!me) return <main id="main"><p role="status">Loading…</p></main>;
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const View = page.view;
  const signOut = async () => {
    // Not part of /v1 (so not in the typed client): ends the session and clears its cookie.
    await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': me.csrf_token ?? '' } }).catch(() => undefined);
    location.assign('/signin');
  };
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <span class="brand">Custos</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={p.path} aria-current={p.path === page.path ? 'page' : undefined} onClick={(e) => { e.preventDefault(); navigate(p.path); }}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.name} <span class="role">({me.role.replace('_', ' ')})</span>{' '}
          <button type="button" onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{page.label}</h1>
        <View me={me} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
