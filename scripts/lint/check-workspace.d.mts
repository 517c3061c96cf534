export declare const DEPLOYABLES: string[];
export declare function importsOf(text: string): Set<string>;
export declare function checkWorkspace(root: string): string[];
