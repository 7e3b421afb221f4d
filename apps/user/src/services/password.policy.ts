const COMMON = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyuiop', 'qwerty123',
  'iloveyou', 'sunshine', 'princess', 'football', 'baseball', 'welcome1', 'abc12345', 'letmein1', 'admin123',
  'passw0rd', 'trustno1', '11111111', '00000000', 'superman', 'starwars', 'whatever', 'computer', 'internet',
]);

/**
 * Rules beyond the minimum length of the schema: a password is weak when it is a well-known one, a single repeated
 * character, or contains the username or the email's local part. Returns the reason, or undefined when acceptable.
 */
export function passwordWeakness(password: string, ctx: { username?: string; email?: string }): string | undefined {
  if (password.length < 8) return 'must be at least 8 characters';
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'is too common';
  if (/^(.)\1*$/.test(password)) return 'must not be one repeated character';
  if (ctx.username && ctx.username.length >= 3 && lower.includes(ctx.username.toLowerCase())) return 'must not contain the username';
  const local = ctx.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 3 && lower.includes(local)) return 'must not contain the email address';
  return undefined;
}
