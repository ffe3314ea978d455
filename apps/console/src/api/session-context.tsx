import type { Role, User } from '@rewards/contracts';
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Session } from './session';

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in user (null when signed out) and whether a kept session is still being restored. */
export function useUser(): { user: User | null; restoring: boolean } {
  const session = useSession();
  const user = useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.user,
  );
  const [restoring, setRestoring] = useState(() => session.signedIn && !session.user);
  useEffect(() => {
    if (!restoring) return;
    session
      .loadUser()
      .catch(() => undefined)
      .finally(() => setRestoring(false));
  }, [restoring, session]);
  return { user, restoring };
}

export const hasRole = (user: User | null, ...roles: Role[]) => !!user && user.roles.some((r) => roles.includes(r));
