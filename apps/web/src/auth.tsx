import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { User } from '@kinora/contracts';
import { api } from './api.js';

interface AuthValue {
  user: User | null;
  /** True until the stored session has been checked. */
  loading: boolean;
  register(body: { username: string; email: string; password: string; displayName?: string }): Promise<void>;
  login(login: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(api.signedIn);
  useEffect(() => {
    if (api.signedIn) {
      api
        .me()
        .then(setUser)
        .catch(() => setUser(null))
        .finally(() => setLoading(false));
    }
    return api.onTokens((t) => {
      if (!t) setUser(null);
    });
  }, []);
  const value: AuthValue = {
    user,
    loading,
    register: async (body) => setUser(await api.register(body)),
    login: async (login, password) => setUser(await api.login(login, password)),
    logout: async () => {
      await api.logout();
      setUser(null);
    },
  };
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside <AuthProvider>');
  return a;
}
