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

export function loadDashboardPage(path = join(import.meta.dirname, 'page.html')): DashboardPage {
  const html = readFileSync(path, 'utf8');
  const scripts = inlineBlocks(html, 'script');
  const styles = inlineBlocks(html, 'style');
  if (scripts.length === 0 || styles.length === 0) throw new Error(`${path}: expected inline <script> and <style> blocks`);
  // Hashes rather than 'unsafe-inline': chain data (monikers, CIDs, reasons) is user-written text.
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256Source).join(' ')}`,
    `style-src ${styles.map(sha256Source).join(' ')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

/** A route registrar (`RegisterRoutes`); the page needs nothing from the RestContext. */
export function registerDashboardRoutes(app: FastifyInstance): void {
  const page = loadDashboardPage();
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
