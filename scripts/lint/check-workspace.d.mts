export declare const DEPLOYABLES: string[];
export declare function importsOf(text: string): Set<string>;
export declare function checkWorkspace(root: string): string[];
export declare function main(argv: string[], io?: { out: (s: string) => void; err: (s: string) => void }): number;
export declare function ignoredSources(root: string): string[];
