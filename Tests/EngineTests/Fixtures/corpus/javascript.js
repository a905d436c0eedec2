'use strict';

const DEFAULTS = Object.freeze({ retries: 3, delayMs: 250, backoff: 2.0 });

/**
 * Fetch JSON with retries and exponential backoff.
 * @param {string} url
 * @param {{retries?: number, delayMs?: number}} [options]
 */
async function fetchJSON(url, options = {}) {
  const { retries, delayMs, backoff } = { ...DEFAULTS, ...options };
  let lastError = null;
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      const res = await fetch(url, { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      return await res.json();
    } catch (err) {
      lastError = err;
      const wait = delayMs * backoff ** attempt;
      console.warn(`attempt ${attempt + 1}/${retries + 1} failed: ${err.message}; retrying in ${wait}ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  throw lastError ?? new Error('unreachable');
}

export class Cache extends Map {
  #hits = 0;
  get(key) {
    if (this.has(key)) this.#hits++;
    return super.get(key);
  }
  get hits() { return this.#hits; }
}

const $el = document.querySelector('#app > .list li:nth-child(2n+1)');
const re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@example\.com$/i;
console.log(re.test('user@example.com') && $el !== null ? 'ok' : "nope", 0x1F, 1e-7, 10_000n);
