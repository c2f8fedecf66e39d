/*
 * The demo page's entry: three views behind hash links (#walkthrough,
 * #benchmark, #playground), each filled on its first visit so that opening
 * the page starts no GPU work until a view asks for it.
 */
import './style.css';
import { attention } from './backend.js';
import { mountBenchmark } from './benchmark.js';
import { mountPlayground } from './playground.js';
import { mountWalkthrough } from './walkthrough.js';

const VIEWS: Record<string, (root: HTMLElement) => void> = {
  walkthrough: mountWalkthrough,
  benchmark: mountBenchmark,
  playground: mountPlayground,
};
const mounted = new Set<string>();

/** Shows the view the location's hash names (the walkthrough by default), filling it on first show. */
function show(): void {
  const name = location.hash.slice(1) in VIEWS ? location.hash.slice(1) : 'walkthrough';
  for (const key of Object.keys(VIEWS)) {
    const section = document.getElementById(key)!;
    section.hidden = key !== name;
    document.querySelector(`nav a[data-view="${key}"]`)?.classList.toggle('active', key === name);
  }
  if (!mounted.has(name)) {
    mounted.add(name);
    VIEWS[name]!(document.getElementById(name)!);
  }
  if (name !== 'walkthrough') void attention();
}

window.addEventListener('hashchange', show);
show();
