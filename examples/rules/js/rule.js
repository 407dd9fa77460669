// `failing-tools`: a reverie rule.
//
// As made by `reverie rule new`, it finds the tools whose calls fail, one pattern per tool,
// from the structure of the log alone (a tool call with an error), never from the words of
// messages. Change it into your own: keep `info()` honest about the inputs it reads, give every
// pattern a stable key, and list every interaction that shows it.
//
// componentize-js finds the rule by names, so keep them: the module exports `rule` (the
// contract's exported interface), an object with `info` and the class `Analyser` (its resource).

import { MAX_EVIDENCE, guarded, integer, settingOr } from './reverie.js';

// The rule's own version; keep it in step with package.json.
const VERSION = '0.1.0';

class Analyser {
  constructor(minOccurrences) {
    // A tool is reported once this many interactions show its calls failing.
    this.minOccurrences = minOccurrences;
    // Per tool, the interactions where a call failed, in window order.
    this.failing = new Map();
  }

  static create(context) {
    return new Analyser(settingOr(context, 'min_occurrences', 1, integer));
  }

  analyse(chunk) {
    for (const interaction of chunk.interactions) {
      for (const call of interaction.toolCalls) {
        // An absent `option` is `undefined`.
        if (call.error === undefined) continue;
        if (!this.failing.has(call.name)) this.failing.set(call.name, []);
        const ids = this.failing.get(call.name);
        if (ids[ids.length - 1] !== interaction.id) ids.push(interaction.id);
      }
    }
  }

  finish() {
    const patterns = [...this.failing]
      .filter(([, ids]) => ids.length >= this.minOccurrences)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([tool, ids]) => ({
        key: `failing-tools/${tool}`,
        title: `\`${tool}\` calls fail`,
        description: `${ids.length} interactions had a \`${tool}\` call that returned an error, e.g. ${ids[0]}.`,
        severity: 'medium',
        occurrences: ids.length,
        evidence: ids.slice(0, MAX_EVIDENCE),
      }));
    return { patterns, suggestions: [], metrics: [] };
  }
}

// `guarded`: anything a method throws reaches the host as the rule's error, as text with its stack.
export const rule = guarded({
  info() {
    return {
      name: 'failing-tools',
      version: VERSION,
      description: 'Tools whose calls fail, one pattern per tool.',
      stages: ['analyse'],
      // Only tool calls are copied into the sandbox: declare no more than you read.
      inputs: { toolCalls: true },
      settings: [
        {
          name: 'min_occurrences',
          description: 'Report a tool once this many interactions show it failing (default 1).',
          defaultValue: '1',
        },
      ],
    };
  },
  Analyser,
});
