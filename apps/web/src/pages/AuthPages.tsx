import { useState, type FormEvent } from 'react';
import { useAuth } from '../auth.js';
import { Link, useRouter } from '../router.js';
import { ErrorMessage } from '../ui.js';

function useSubmit(action: () => Promise<void>) {
  const { navigate, query } = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
      navigate(query.get('next') ?? '/', { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return { busy, error, onSubmit };
}

export function SignIn() {
  const { login } = useAuth();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, onSubmit } = useSubmit(() => login(name, password));
  return (
    <section className="page narrow">
      <h1>Sign in</h1>
      <form className="form" onSubmit={onSubmit}>
        <label>
          Username or email
          <input name="login" autoComplete="username" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        New here? <Link to="/register">Create an account</Link>
      </p>
    </section>
  );
}

export function Register() {
  const { register } = useAuth();
  const [form, setForm] = useState({ username: '', email: '', password: '', displayName: '' });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const { busy, error, onSubmit } = useSubmit(() =>
    register({ username: form.username, email: form.email, password: form.password, ...(form.displayName ? { displayName: form.displayName } : {}) }),
  );
  return (
    <section className="page narrow">
      <h1>Create an account</h1>
      <form className="form" onSubmit={onSubmit}>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={30} pattern="[A-Za-z0-9_.\-]+" value={form.username} onChange={set('username')} />
          <small>3–30 characters: letters, digits, _ . -</small>
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} />
        </label>
        <label>
          Display name (optional)
          <input name="displayName" autoComplete="name" value={form.displayName} onChange={set('displayName')} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" required minLength={8} value={form.password} onChange={set('password')} />
          <small>At least 8 characters</small>
        </label>
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Register'}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </section>
  );
}
