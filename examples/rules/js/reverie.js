// Helpers for a reverie rule in JavaScript (made by `reverie rule new --lang js`).
//
// - `guarded`: componentize-js returns a contract error (`result<_, string>`) for whatever a
//   method throws, but only a string can cross: a thrown `Error` aborts the rule with "expected a
//   string, received [object]" and its message is lost. Guarded, anything thrown becomes its text
//   and its stack, which the report shows as the rule's error.
// - `settingOr` and `integer`: a setting from the host config, parsed, with a clear error when
//   it is wrong.

// The host keeps at most this many interaction ids per pattern.
export const MAX_EVIDENCE = 5000;

// The resource's methods the host calls.
const METHODS = ['detect', 'analyse', 'finish'];

/** The text of a thrown value: a string as it is, an `Error` as `String(e)` and its stack. */
export function errorText(thrown) {
  if (typeof thrown === 'string') return thrown;
  let text;
  try {
    text = String(thrown);
    if (text === '[object Object]') text = JSON.stringify(thrown);
  } catch {
    text = Object.prototype.toString.call(thrown);
  }
  const stack = thrown !== null && typeof thrown === 'object' && typeof thrown.stack === 'string'
    ? thrown.stack.trimEnd()
    : '';
  return stack ? `${text}\n${stack}` : text;
}

function errorsAsText(method) {
  return function (...args) {
    try {
      return method.apply(this, args);
    } catch (thrown) {
      throw errorText(thrown);
    }
  };
}

/**
 * Wrap the exported interface `{ info, Analyser }` so that anything `Analyser.create`,
 * `detect`, `analyse` or `finish` throws reaches the host as text. Returns it.
 */
export function guarded(rule) {
  const Analyser = rule.Analyser;
  Analyser.create = errorsAsText(Analyser.create);
  for (const name of METHODS) {
    const method = Analyser.prototype[name];
    Analyser.prototype[name] = typeof method === 'function'
      ? errorsAsText(method)
      : function () {
          throw `Analyser.${name} is not implemented, yet the host called it: ` +
            `info() declares its stage`;
        };
  }
  return rule;
}

/**
 * The setting `name` of the cycle's context parsed by `parse` (e.g. `integer`), or `fallback`
 * when the operator set none. A value `parse` refuses fails the rule with a message naming the
 * setting, as the Rust SDK's `setting_or` does.
 */
export function settingOr(context, name, fallback, parse) {
  const found = context.settings.find(([key]) => key === name);
  if (found === undefined) return fallback;
  try {
    return parse(found[1].trim());
  } catch {
    throw `setting \`${name}\`: cannot parse ${JSON.stringify(found[1])}`;
  }
}

/** A whole number of zero or more, as a setting's text gives it; throws otherwise. */
export function integer(text) {
  if (!/^\d+$/.test(text)) throw new Error(`not a whole number: ${text}`);
  return Number(text);
}
