export const MASKING_STRATEGIES = ['show_last', 'email_domain', 'redact'] as const;
export type MaskingStrategy = (typeof MASKING_STRATEGIES)[number];

export interface MaskingParams {
  /** show_last: how many trailing letters or digits stay visible. */
  visible?: number;
  /** show_last: the character that replaces hidden letters and digits. */
  mask_char?: string;
  /** redact: what the whole value becomes. */
  replacement?: string;
}

export interface MaskingRuleLike {
  strategy: MaskingStrategy;
  params: MaskingParams;
}

const ALPHANUMERIC = /[\p{L}\p{N}]/u;

/** Hides all letters and digits but the last `visible`, keeping separators: 123-45-6789 → ***-**-6789. */
function showLast(value: string, visible: number, maskChar: string): string {
  const chars = [...value];
  let toKeep = visible;
  for (let i = chars.length - 1; i >= 0; i--) {
    if (!ALPHANUMERIC.test(chars[i]!)) continue;
    if (toKeep > 0) toKeep--;
    else chars[i] = maskChar;
  }
  return chars.join('');
}

/** Applies a masking rule to one value (seed 001 §5.2). A value the rule cannot read is redacted whole. */
export function applyMask(rule: MaskingRuleLike, value: string): string {
  switch (rule.strategy) {
    case 'show_last':
      return showLast(value, rule.params.visible ?? 4, rule.params.mask_char ?? '*');
    case 'email_domain': {
      const at = value.lastIndexOf('@');
      return at > 0 && at < value.length - 1 ? `***@${value.slice(at + 1)}` : '***';
    }
    case 'redact':
      return rule.params.replacement ?? '[REDACTED]';
  }
}

/** Which params each strategy takes; others are refused so a rule means what it says. */
export const STRATEGY_PARAMS: Record<MaskingStrategy, Array<keyof MaskingParams>> = {
  show_last: ['visible', 'mask_char'],
  email_domain: [],
  redact: ['replacement'],
};
