/**
 * The dashboard: one read-only HTML page (inline CSS and script, nothing
 * fetched from elsewhere) at `GET /` and `GET /dashboard`. The page polls this
 * same REST server's JSON routes; the server only hands out the file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const DASHBOARD_PATHS = ['/', '/dashboard'] as const;

export interface DashboardPage {
  html: string;
  /** Allows exactly the page's own inline `<style>` and `<script>` blocks, and fetches to this origin. */
  contentSecurityPolicy: string;
}

function inlineBlocks(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((match) => match[1]);
}

const sha256Source = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export interface DashboardOptions {
  /** A serving node's API base URL (`r3mesd start --model-api`): the prompt box's target. */
  modelApi?: string;
}

/** The model API base URL, checked (http/https, no query or fragment) and without a trailing slash. */
export function modelApiBase(url: string): { base: string; origin: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--model-api: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:8080/v1)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--model-api: ${url} is not http(s)`);
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') throw new Error(`--model-api: ${url} has a query, fragment or credentials`);
  return { base: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`, origin: parsed.origin };
}

const escapeAttribute = (text: string): string => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function loadDashboardPage(path = join(import.meta.dirname, 'page.html'), options: DashboardOptions = {}): DashboardPage {
  const api = options.modelApi === undefined || options.modelApi === '' ? undefined : modelApiBase(options.modelApi);
  let html = readFileSync(path, 'utf8');
  // The prompt box reads its target from this meta (no script change: the CSP hashes stay the page's own).
  if (api !== undefined) html = html.replace('<head>', `<head>\n<meta name="r3mes-model-api" content="${escapeAttribute(api.base)}">`);
  const scripts = inlineBlocks(html, 'script');
  const styles = inlineBlocks(html, 'style');
  if (scripts.length === 0 || styles.length === 0) throw new Error(`${path}: expected inline <script> and <style> blocks`);
  // Hashes rather than 'unsafe-inline': chain data (monikers, CIDs, reasons) is user-written text.
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256Source).join(' ')}`,
    `style-src ${styles.map(sha256Source).join(' ')}`,
    `connect-src 'self'${api === undefined ? '' : ` ${api.origin}`}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

/** A route registrar (`RegisterRoutes`); the page needs nothing from the RestContext. */
export function registerDashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): void {
  const page = loadDashboardPage(undefined, options);
  for (const url of DASHBOARD_PATHS) {
    // hide: an HTML page for people, not part of the JSON API that /openapi.json describes.
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', page.contentSecurityPolicy)
        .send(page.html));
  }
}
