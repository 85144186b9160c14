import type { Rule } from 'eslint';

declare const plugin: { rules: { 'no-cross-package': Rule.RuleModule; 'no-sibling-plugin': Rule.RuleModule } };
export default plugin;
