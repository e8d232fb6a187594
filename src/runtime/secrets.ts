/**
 * Credentials: auth tokens and API key secrets are random, stored as SHA-256 hashes and
 * compared in constant time. An account's auth token is also kept sealed (AES-256-GCM with the
 * server key) because webhook signatures are HMACs keyed by the token itself (spec §11).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret: 32 lowercase hex digits (128 bits), the shape of a Twilio auth token. */
export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

/** SHA-256 of a secret, hex. High-entropy secrets need no slow hash. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Encrypts with a 32-byte key: `iv.tag.ciphertext`, base64url parts. */
export function seal(plaintext: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

/** Decrypts {@link seal}'s output. Throws if the key is wrong or the data was altered. */
export function unseal(sealed: string, key: Buffer): string {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (iv === undefined || tag === undefined || body === undefined) throw new Error('sealed secret is malformed');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
}
