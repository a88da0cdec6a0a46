/** Hand-made unsigned JWTs: the SDK only reads `exp`, never verifies. */

export function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unsignedJwt(claims: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.c2lnbmF0dXJl`;
}

/** Now, in the JWT's unit (seconds), from the (possibly fake) clock. */
export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}
