import { lazy, Suspense, useState, type FormEvent } from 'react';
import { AuthProvider, useAuth } from './auth.js';
import { Link, matchPath, Router, useRouter } from './router.js';
import { Home } from './pages/Home.js';
import { SignIn, Register } from './pages/AuthPages.js';
import { Loading } from './ui.js';

// The watch and upload pages bring the player and the tus client: loaded when first visited.
const Watch = lazy(() => import('./pages/Watch.js'));
const Upload = lazy(() => import('./pages/Upload.js'));
const Channel = lazy(() => import('./pages/Channel.js'));
const Studio = lazy(() => import('./pages/Studio.js'));
const Subscriptions = lazy(() => import('./pages/Subscriptions.js'));
// The bell (and the socket it keeps) is loaded after the page: it stays out of every page's initial JavaScript.
const NotificationsMenu = lazy(() => import('./notifications/Notifications.js').then((m) => ({ default: m.NotificationsMenu })));

function Header() {
  const { user, logout, loading } = useAuth();
  const { navigate, query, path } = useRouter();
  const [q, setQ] = useState(path === '/search' ? (query.get('q') ?? '') : '');
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`);
  };
  return (
    <header className="header">
      <Link to="/" className="brand" aria-label="Kinora home">
        Kinora
      </Link>
      <form role="search" className="search" onSubmit={onSearch}>
        <label htmlFor="search-q" className="visually-hidden">
          Search videos
        </label>
        <input id="search-q" type="search" placeholder="Search" value={q} onChange={(e) => setQ(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      <nav className="account" aria-label="Account">
        {loading ? null : user ? (
          <>
            <Link to="/upload" className="button primary">
              Upload
            </Link>
            <Link to="/studio" aria-current={path === '/studio' ? 'page' : undefined}>
              Studio
            </Link>
            <Suspense fallback={null}>
              <NotificationsMenu userId={user.id} />
            </Suspense>
            <span className="who" data-testid="signed-in-as">
              {user.displayName || user.username}
            </span>
            <button type="button" onClick={() => void logout().then(() => navigate('/'))}>
              Sign out
            </button>
          </>
        ) : (
          <>
            <Link to="/signin">Sign in</Link>
            <Link to="/register" className="button primary">
              Register
            </Link>
          </>
        )}
      </nav>
    </header>
  );
}

function Routes() {
  const { path, query } = useRouter();
  const watch = matchPath('/watch/:id', path);
  const channel = matchPath('/channel/:id', path);
  let page;
  if (path === '/') page = <Home mode="home" />;
  else if (path === '/trending') page = <Home mode="trending" />;
  else if (path === '/search') page = <Home mode="search" q={query.get('q') ?? ''} />;
  else if (path === '/signin') page = <SignIn />;
  else if (path === '/register') page = <Register />;
  else if (path === '/upload') page = <Upload />;
  else if (path === '/studio') page = <Studio />;
  else if (path === '/feed/subscriptions') page = <Subscriptions />;
  else if (channel) page = <Channel id={channel['id']!} key={channel['id']} />;
  else if (watch) page = <Watch id={watch['id']!} key={watch['id']} />;
  else
    page = (
      <section className="page">
        <h1>Page not found</h1>
        <p>
          There is nothing at this address. <Link to="/">Go to the home page</Link>.
        </p>
      </section>
    );
  return <Suspense fallback={<Loading />}>{page}</Suspense>;
}

export function App() {
  return (
    <Router>
      <AuthProvider>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <Header />
        <main id="main" tabIndex={-1}>
          <Routes />
        </main>
      </AuthProvider>
    </Router>
  );
}
